/**
 * The indexer's settings from the environment, parsed once into a frozen object; a bad value fails
 * fast with the variable's name. Only entry points call this.
 *
 * TRACE_RPC_URL            JSON-RPC endpoint (default http://127.0.0.1:8545)
 * TRACE_CONTRACT           TraceAnchor address (default: deployments/<chainId>.json)
 * TRACE_DB                 SQLite file (default data/trace.db) or postgres:// URL
 * TRACE_CONFIRMATIONS      blocks before a row is final (default 0 on chain 31337, else 12)
 * TRACE_INDEX_FROM_BLOCK   first block to read (default: deployments/<chainId>.json blockNumber, else 0)
 * TRACE_INDEX_POLL_MS      poll interval once caught up (default 2000)
 * TRACE_INDEX_MAX_RANGE    largest eth_getLogs range (default 2000)
 * TRACE_INDEX_TARGET_LOGS  logs per eth_getLogs answer above which the range shrinks (default 1000)
 * TRACE_INDEX_TARGET_MS    eth_getLogs answer time above which the range shrinks (default 1000)
 * TRACE_INDEX_CONCURRENCY  ranges read at once ahead of the one applied (default 2)
 * TRACE_INDEX_REORG_WINDOW block hashes kept for reorg detection (default 128)
 * TRACE_LOG_LEVEL          debug | info | warn | error (default info)
 */
import { IndexerConfigError } from "./errors";
import type { IndexerConfig } from "./indexer";

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface IndexerEnv {
  readonly rpcUrl: string;
  readonly contract: string | undefined;
  readonly dbPath: string;
  readonly confirmations: number | undefined;
  readonly fromBlock: number | undefined;
  readonly pollIntervalMs: number | undefined;
  readonly maxRange: number | undefined;
  readonly targetLogs: number | undefined;
  readonly targetMs: number | undefined;
  readonly concurrency: number | undefined;
  readonly reorgWindow: number | undefined;
  readonly logLevel: LogLevel;
}

function integer(env: NodeJS.ProcessEnv, name: string, min: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  if (!/^\d+$/.test(raw)) throw new IndexerConfigError(`${name} must be an integer ≥ ${min}, got "${raw}"`);
  const value = Number.parseInt(raw, 10);
  if (!Number.isSafeInteger(value) || value < min)
    throw new IndexerConfigError(`${name} must be an integer ≥ ${min}, got "${raw}"`);
  return value;
}

export function parseIndexerEnv(env: NodeJS.ProcessEnv = process.env): IndexerEnv {
  const contract = env.TRACE_CONTRACT === "" ? undefined : env.TRACE_CONTRACT;
  if (contract !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(contract))
    throw new IndexerConfigError(`TRACE_CONTRACT is not an address: "${contract}"`);
  const logLevel = env.TRACE_LOG_LEVEL ?? "info";
  if (!["debug", "info", "warn", "error"].includes(logLevel))
    throw new IndexerConfigError(`TRACE_LOG_LEVEL must be debug, info, warn or error, got "${logLevel}"`);
  return Object.freeze({
    rpcUrl: env.TRACE_RPC_URL ?? "http://127.0.0.1:8545",
    contract,
    dbPath: env.TRACE_DB ?? "data/trace.db",
    confirmations: integer(env, "TRACE_CONFIRMATIONS", 0),
    fromBlock: integer(env, "TRACE_INDEX_FROM_BLOCK", 0),
    pollIntervalMs: integer(env, "TRACE_INDEX_POLL_MS", 1),
    maxRange: integer(env, "TRACE_INDEX_MAX_RANGE", 1),
    targetLogs: integer(env, "TRACE_INDEX_TARGET_LOGS", 1),
    targetMs: integer(env, "TRACE_INDEX_TARGET_MS", 1),
    concurrency: integer(env, "TRACE_INDEX_CONCURRENCY", 1),
    reorgWindow: integer(env, "TRACE_INDEX_REORG_WINDOW", 1),
    logLevel: logLevel as LogLevel,
  });
}

/**
 * What the environment sets of an indexer's config (TRACE_CONFIRMATIONS, TRACE_INDEX_FROM_BLOCK,
 * _POLL_MS, _MAX_RANGE, _TARGET_LOGS, _TARGET_MS, _CONCURRENCY, _REORG_WINDOW): only the variables
 * given, so createIndexer's defaults and a caller's own choices fill the rest.
 */
export function indexerTuning(
  env: IndexerEnv,
): Pick<
  IndexerConfig,
  | "confirmations"
  | "fromBlock"
  | "pollIntervalMs"
  | "maxRange"
  | "targetLogs"
  | "targetMs"
  | "concurrency"
  | "reorgWindow"
> {
  return {
    ...(env.confirmations === undefined ? {} : { confirmations: env.confirmations }),
    ...(env.fromBlock === undefined ? {} : { fromBlock: env.fromBlock }),
    ...(env.pollIntervalMs === undefined ? {} : { pollIntervalMs: env.pollIntervalMs }),
    ...(env.maxRange === undefined ? {} : { maxRange: env.maxRange }),
    ...(env.targetLogs === undefined ? {} : { targetLogs: env.targetLogs }),
    ...(env.targetMs === undefined ? {} : { targetMs: env.targetMs }),
    ...(env.concurrency === undefined ? {} : { concurrency: env.concurrency }),
    ...(env.reorgWindow === undefined ? {} : { reorgWindow: env.reorgWindow }),
  };
}
