/**
 * `traceanchor capture token create | list | revoke`: the bearer tokens a brand's systems send to
 * the EPCIS capture interface (POST /epcis/capture). A token is printed once, when it is made; the
 * store keeps only its SHA-256. The tokens live in the EPCIS store beside the mirror: the SQLite
 * file TRACE_EPCIS_DB (default data/epcis.db) beside a SQLite TRACE_DB, or the PostgreSQL database
 * of a postgres:// TRACE_DB.
 */
import { isPostgresUrl } from "../../mirror/engine";
import { openDatabase } from "../../mirror/db";
import { openEpcisStore, sqliteEpcisStore, type EpcisStore } from "../../mirror/epcis/store";
import { createToken, listTokens, revokeToken } from "../../mirror/epcis/tokens";
import { openStore } from "../../mirror/store";
import { ConfigError, type Config } from "../lib/config";
import type { Output } from "../lib/output";
import { parseBrandId } from "./brand";

async function withEpcisStore<T>(config: Config, work: (store: EpcisStore) => Promise<T>): Promise<T> {
  if (!isPostgresUrl(config.db)) {
    const store = sqliteEpcisStore(openDatabase(config.epcisDb));
    try {
      return await work(store);
    } finally {
      await store.close();
    }
  }
  const mirror = await openStore({ db: config.db, application: "traceanchor-capture" });
  try {
    return await work(openEpcisStore(mirror, config.epcisDb));
  } finally {
    await mirror.close();
  }
}

function brandNumber(value: string): number {
  const id = parseBrandId(value);
  if (id > BigInt(Number.MAX_SAFE_INTEGER)) throw new ConfigError(`--brand is too large: ${value}`);
  return Number(id);
}

export async function createTokenCommand(
  config: Config,
  options: { brand: string; label?: string },
  out: Output,
): Promise<void> {
  const brandId = brandNumber(options.brand);
  const label = (options.label ?? "").trim();
  if (label.length > 200) throw new ConfigError("--label must be at most 200 characters");
  const made = await withEpcisStore(config, (store) => createToken(store, { brandId, label }));
  out.info(`capture token ${made.tokenId} for brand ${brandId}${label === "" ? "" : ` (${label})`}:`);
  out.info(made.token);
  out.info("It is shown only now: store it where the brand's system reads it (Authorization: Bearer <token>).");
  out.jsonOnly({ token: made.token, tokenId: made.tokenId, brandId: String(brandId) });
}

export async function listTokensCommand(config: Config, options: { brand?: string }, out: Output): Promise<void> {
  const brandId = options.brand === undefined ? undefined : brandNumber(options.brand);
  const tokens = await withEpcisStore(config, (store) => listTokens(store, brandId));
  for (const t of tokens) {
    const state = t.revokedAt === null ? "valid" : `revoked ${new Date(t.revokedAt).toISOString()}`;
    out.info(`${t.tokenId}  brand ${t.brandId}  ${new Date(t.createdAt).toISOString()}  ${state}  ${t.label}`);
  }
  if (tokens.length === 0) out.info("no capture tokens");
  out.jsonOnly({
    tokens: tokens.map((t) => ({
      tokenId: t.tokenId,
      brandId: String(t.brandId),
      label: t.label,
      createdAt: new Date(t.createdAt).toISOString(),
      revokedAt: t.revokedAt === null ? null : new Date(t.revokedAt).toISOString(),
    })),
  });
}

export async function revokeTokenCommand(config: Config, tokenId: string, out: Output): Promise<void> {
  if (!/^tok_[0-9a-f]{16}$/.test(tokenId)) throw new ConfigError(`not a capture token id: "${tokenId}"`);
  const revoked = await withEpcisStore(config, (store) => revokeToken(store, tokenId));
  if (!revoked) throw new ConfigError(`no valid capture token ${tokenId} (unknown, or already revoked)`);
  out.info(`capture token ${tokenId} revoked: it is refused from now on`);
  out.result({ tokenId, revoked: true });
}
