/**
 * Named errors for the indexer, split the way the run loop treats them:
 *
 * - `RetryableError`: may succeed if tried again (RPC faults, a chain that moved while we read it).
 *   The loop backs off and retries; it never exits on one and never records "no events" for a range
 *   it failed to read.
 * - `FatalIndexerError`: retrying cannot help (a reorg deeper than the window, a database that
 *   belongs to another chain or contract, an unusable schema). Indexing stops and `status()` shows it.
 *
 * Every wrapper keeps the original as `cause`. The mirror's own errors (`MigrationError`,
 * `ChainMismatchError`: fatal too) live in mirror/errors.ts and are re-exported here.
 */
import { MirrorError } from "../mirror/errors";

export { ChainMismatchError, MigrationError, MirrorError } from "../mirror/errors";

export class IndexerError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export class RetryableError extends IndexerError {}

/** An RPC call failed in a way that may pass on retry: timeout, 429, 5xx, reset, bad JSON. */
export class RetryableRpcError extends RetryableError {
  readonly method: string;

  constructor(method: string, message: string, options?: ErrorOptions) {
    super("RPC_RETRYABLE", `${method}: ${message}`, options);
    this.method = method;
  }
}

/**
 * eth_getLogs refused the block range (too many results, range too wide, response too large), or
 * did not answer it in time. `suggestedTo` is the last block of a range the provider said would
 * work, when it said so; `blockLimit` is true when the provider caps the number of blocks itself.
 */
export class LogRangeTooLargeError extends RetryableError {
  readonly fromBlock: number;
  readonly toBlock: number;
  readonly suggestedTo: number | undefined;
  readonly blockLimit: boolean;

  constructor(
    fromBlock: number,
    toBlock: number,
    refusal: { readonly suggestedTo: number | undefined; readonly blockLimit: boolean },
    options?: ErrorOptions,
  ) {
    super(
      "LOG_RANGE_TOO_LARGE",
      `eth_getLogs refused blocks ${fromBlock}..${toBlock}` +
        (refusal.suggestedTo === undefined ? "" : `; provider suggests ..${refusal.suggestedTo}`),
      options,
    );
    this.fromBlock = fromBlock;
    this.toBlock = toBlock;
    this.suggestedTo = refusal.suggestedTo;
    this.blockLimit = refusal.blockLimit;
  }
}

/** The chain changed between the reads of one range (a header or log hash no longer matches). */
export class ChainMovedError extends RetryableError {
  constructor(message: string, options?: ErrorOptions) {
    super("CHAIN_MOVED", message, options);
  }
}

/** The database is busy (another writer holds the lock). */
export class DatabaseBusyError extends RetryableError {
  constructor(options?: ErrorOptions) {
    super("DB_BUSY", "database is locked by another writer", options);
  }
}

export class FatalIndexerError extends IndexerError {}

/** The chain reorganised below the oldest block hash we keep; the mirror cannot be repaired in place. */
export class ReorgTooDeepError extends FatalIndexerError {
  readonly cursorBlock: number;
  readonly reorgWindow: number;

  constructor(cursorBlock: number, reorgWindow: number, options?: ErrorOptions) {
    super(
      "REORG_TOO_DEEP",
      `no common ancestor within ${reorgWindow} blocks below indexed block ${cursorBlock}; ` +
        "rebuild the database from scratch (delete it and restart the indexer)",
      options,
    );
    this.cursorBlock = cursorBlock;
    this.reorgWindow = reorgWindow;
  }
}

/** Bad indexer configuration. */
export class IndexerConfigError extends FatalIndexerError {
  constructor(message: string, options?: ErrorOptions) {
    super("CONFIG", message, options);
  }
}

/** The indexer was stopped while a call was waiting or retrying. */
export class IndexerStoppedError extends IndexerError {
  constructor() {
    super("STOPPED", "indexer stopped");
  }
}

/**
 * Whether the run loop should retry `error`. Our own classes say so; SQLite's "busy" is retryable;
 * anything else (a SQLite constraint, a TypeError) is a bug or a broken disk and is fatal.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof RetryableError) return true;
  if (error instanceof IndexerError || error instanceof MirrorError) return false;
  const code = (error as { code?: unknown } | null)?.code;
  return code === "SQLITE_BUSY" || code === "SQLITE_LOCKED";
}
