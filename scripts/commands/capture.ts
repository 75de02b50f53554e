/**
 * `traceanchor capture token create | list | revoke`: the bearer tokens a brand's systems send to
 * the EPCIS capture interface (POST /epcis/capture). A token is printed once, when it is made; the
 * store keeps only its SHA-256. The tokens live in the EPCIS store beside the mirror: the SQLite
 * file TRACE_EPCIS_DB (default data/epcis.db) beside a SQLite TRACE_DB, or the PostgreSQL database
 * of a postgres:// TRACE_DB.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { JsonRpcProvider } from "ethers";
import type { Logger } from "pino";
import type { CaptureDeps } from "../../api/epcis/capture";
import { isPostgresUrl } from "../../mirror/engine";
import { openDatabase } from "../../mirror/db";
import { openEpcisStore, sqliteEpcisStore, type EpcisStore } from "../../mirror/epcis/store";
import { createToken, listTokens, revokeToken } from "../../mirror/epcis/tokens";
import { openStore, type MirrorStore } from "../../mirror/store";
import { ConfigError, confirmationsFor, type Config } from "../lib/config";
import { readDeployment } from "../lib/deployments";
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

/**
 * Runs `connect`, and twice more after a chain error: a node may reset a kept-alive connection that
 * sat idle while the API loaded (Hardhat's node closes them after 5 s), which is no reason to turn
 * capture off.
 */
async function retryChainErrors<T>(connect: () => Promise<T>, chainError: new (...args: never[]) => Error): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect();
    } catch (error) {
      if (!(error instanceof chainError) || attempt === 3) throw error;
      await sleep(500 * attempt);
    }
  }
}

export interface CaptureServiceOptions {
  readonly config: Config;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The writable mirror store: the EPCIS state lives beside it (or in it, on PostgreSQL). */
  readonly mirror: MirrorStore;
  /** The API's mirror store, to read the brands' submitters from. */
  readonly reader: MirrorStore;
  readonly provider: JsonRpcProvider;
  readonly log: Logger;
  readonly out: Output;
  /** Whether this process anchors captured events now (on PostgreSQL: while its indexer leads). */
  readonly leads: () => boolean;
}

export interface CaptureService {
  readonly deps: CaptureDeps;
  stop(): Promise<void>;
}

/**
 * `serve`'s part of EPCIS capture: the capture routes' deps and the anchoring worker, with the
 * service's key. Without a key that needs no prompt (TRACE_PRIVATE_KEY, or TRACE_KEYSTORE with
 * TRACE_KEYSTORE_PASSWORD) capture stays off: events nobody can anchor are not accepted.
 */
export async function startCaptureService(options: CaptureServiceOptions): Promise<CaptureService | undefined> {
  const { config, env, log, out } = options;
  if (config.privateKey === undefined && (config.keystore === undefined || config.keystorePassword === undefined)) {
    out.note("EPCIS capture is off: set TRACE_PRIVATE_KEY (or TRACE_KEYSTORE and TRACE_KEYSTORE_PASSWORD)");
    return undefined;
  }
  // Loaded only by `serve`: the token commands start without ethers, Fastify or the worker.
  const [
    { createAnchorChain },
    { parseCaptureLimitsEnv },
    { createMirrorReader },
    workerModule,
    { ChainError, chainIdOf, connectRegistry, createSigner },
  ] = await Promise.all([
    import("../../api/epcis/anchor-chain"),
    import("../../api/epcis/capture"),
    import("../../mirror/read"),
    import("../../mirror/epcis/worker"),
    import("../lib/chain"),
  ]);
  const { createCaptureWorker, parseCaptureBatchEnv } = workerModule;
  const limits = parseCaptureLimitsEnv(env);
  const batching = parseCaptureBatchEnv(env);
  const connect = async (): Promise<Awaited<ReturnType<typeof createAnchorChain>>> => {
    const signer = await createSigner(config, options.provider);
    const registry = await connectRegistry(config, signer, options.provider);
    const chainId = await chainIdOf(options.provider, config);
    const deployment = readDeployment(config.deploymentsDir, chainId);
    const address = await registry.getAddress();
    const fromBlock = deployment?.contract.toLowerCase() === address.toLowerCase() ? deployment.blockNumber : 0;
    return createAnchorChain({ registry, signer, fromBlock, confirmations: confirmationsFor(config, chainId) });
  };
  let chain: Awaited<ReturnType<typeof createAnchorChain>>;
  try {
    chain = await retryChainErrors(connect, ChainError);
  } catch (error) {
    // The API serves without the chain (serve --no-index); only capture, which must anchor, waits for it.
    out.note(`EPCIS capture is off: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
  const store = openEpcisStore(options.mirror, config.epcisDb);
  const reader = createMirrorReader(options.reader);
  const worker = createCaptureWorker({
    store,
    chain,
    contentDir: config.contentDir,
    log,
    config: batching,
    active: options.leads,
  });
  worker.start();
  out.note(
    `EPCIS capture on: anchored by ${chain.account} every ${batching.batchSeconds} s or ${batching.batchEvents} events`,
  );
  return {
    deps: { store, account: chain.account, submitters: (brandId) => reader.brands.submitters(brandId), limits },
    async stop() {
      await worker.stop();
      reader.close();
      await store.close();
    },
  };
}
