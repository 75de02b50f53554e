/**
 * Capture tokens: bearer tokens that may capture EPCIS events for one brand. A token is shown once,
 * when it is made; only its SHA-256 is stored, so a copy of the store gives no one a usable token.
 *
 *   createToken(store, { brandId, label?, now? }): { token, tokenId, brandId, label, createdAt }
 *   listTokens(store, brandId?): TokenInfo[]          newest first, revoked ones included
 *   revokeToken(store, tokenId, now?): boolean        false when no such token (or already revoked)
 *   tokenOf(store, bearer): TokenInfo | undefined     the valid (unrevoked) token with that value
 */
import { createHash, randomBytes } from "node:crypto";
import { all, run, runEpcis } from "./capture-sql";
import type { EpcisStore } from "./store";

export interface TokenInfo {
  readonly tokenId: string;
  readonly brandId: number;
  readonly label: string;
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

export interface NewToken extends TokenInfo {
  /** The bearer token itself: shown once, never stored. */
  readonly token: string;
}

interface TokenRow {
  token_id: string;
  brand_id: number;
  label: string;
  created_at: number;
  revoked_at: number | null;
}

const COLUMNS = "token_id, brand_id, label, created_at, revoked_at";
/** Bearer tokens are "tac_" and 43 base64url characters (32 random bytes). */
const TOKEN_PATTERN = /^tac_[A-Za-z0-9_-]{43}$/;

export function tokenHash(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

function toInfo(row: TokenRow): TokenInfo {
  return {
    tokenId: row.token_id,
    brandId: Number(row.brand_id),
    label: row.label,
    createdAt: Number(row.created_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}

export async function createToken(
  store: EpcisStore,
  options: { brandId: number; label?: string; now?: number },
): Promise<NewToken> {
  const token = `tac_${randomBytes(32).toString("base64url")}`;
  const tokenId = `tok_${randomBytes(8).toString("hex")}`;
  const createdAt = options.now ?? Date.now();
  const label = options.label ?? "";
  await runEpcis(store, function* () {
    yield* run("INSERT INTO epcis_tokens (token_id, brand_id, label, token_hash, created_at) VALUES (?, ?, ?, ?, ?)", [
      tokenId,
      options.brandId,
      label,
      tokenHash(token),
      createdAt,
    ]);
  });
  return { token, tokenId, brandId: options.brandId, label, createdAt, revokedAt: null };
}

export async function listTokens(store: EpcisStore, brandId?: number): Promise<TokenInfo[]> {
  const rows = await runEpcis(store, function* () {
    return brandId === undefined
      ? yield* all<TokenRow>(`SELECT ${COLUMNS} FROM epcis_tokens ORDER BY created_at DESC, token_id`)
      : yield* all<TokenRow>(
          `SELECT ${COLUMNS} FROM epcis_tokens WHERE brand_id = ? ORDER BY created_at DESC, token_id`,
          [brandId],
        );
  });
  return rows.map(toInfo);
}

export async function revokeToken(store: EpcisStore, tokenId: string, now = Date.now()): Promise<boolean> {
  const changed = await runEpcis(store, function* () {
    return yield* run("UPDATE epcis_tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL", [
      now,
      tokenId,
    ]);
  });
  return changed > 0;
}

export async function tokenOf(store: EpcisStore, bearer: string): Promise<TokenInfo | undefined> {
  if (!TOKEN_PATTERN.test(bearer)) return undefined;
  const rows = await runEpcis(store, function* () {
    return yield* all<TokenRow>(`SELECT ${COLUMNS} FROM epcis_tokens WHERE token_hash = ? AND revoked_at IS NULL`, [
      tokenHash(bearer),
    ]);
  });
  const row = rows[0];
  return row === undefined ? undefined : toInfo(row);
}
