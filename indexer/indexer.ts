/**
 * Follows the TraceAnchor contract and mirrors its events into the mirror store (SQLite or
 * PostgreSQL, mirror/store.ts).
 *
 * Each range is read (async: headers, logs, headers again), checked to belong to one chain, and
 * then applied in one transaction (ChainStore, mirror/write/chain.ts) that also moves the cursor, if its first block's parent is
 * the indexed block. Up to `concurrency` ranges are read at once, ahead of the cursor, but applied
 * strictly in order. If the next block's parent is not the indexed block, the reads ahead are
 * dropped, the indexer walks back to the common ancestor, rolls back everything above it in one
 * transaction, and goes on from there. Range sizes follow the answers (indexer/range.ts).
 *
 * On PostgreSQL several indexers may share one database; one writes at a time, the leader, which
 * holds an advisory lock and writes on the lock's own session (indexer/leader.ts). The others stand
 * by (state "standby") and take over from the cursor when it goes; a leader whose lock session
 * fails stops writing at once and stands by too. SQLite has one writer: always the leader.
 */
import { runMigrations } from "../mirror/db";
import { isTransientPgError } from "../mirror/pg/chain";
import type { MirrorStore } from "../mirror/store";
import {
  ChainMovedError,
  IndexerConfigError,
  IndexerStoppedError,
  isRetryable,
  LogRangeTooLargeError,
  ReorgTooDeepError,
} from "./errors";
import { createPgLeadership, NotLeaderError, soleWriter } from "./leader";
import type { Leadership, Role } from "./leader";
import { backoffDelay, createRangeSizer, DEFAULT_TARGET_LOGS, DEFAULT_TARGET_MS } from "./range";
import { createChainClient } from "./rpc";
import type { BlockHeader, ChainClient, ChainLog, ProviderLike } from "./rpc";
import { createChainStore } from "../mirror/write/chain";
import type { Cursor } from "../mirror/write/chain";

/** pino-compatible. */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface IndexerConfig {
  /** Blocks below the head before a row counts as final. Default 0 on chain 31337, else 12. */
  readonly confirmations?: number;
  /** First block to read (the deployment block). Default 0. */
  readonly fromBlock?: number;
  /** Wait between polls once caught up. Default 2000 ms. */
  readonly pollIntervalMs?: number;
  /** Largest eth_getLogs range, in blocks. Default 2000. */
  readonly maxRange?: number;
  /** An eth_getLogs answer with more logs shrinks the range; under half of it (and of targetMs) grows it. Default 1000. */
  readonly targetLogs?: number;
  /** An eth_getLogs answer slower than this shrinks the range. Default 1000 ms. */
  readonly targetMs?: number;
  /** Ranges read at once ahead of the one being applied (applied in order all the same). Default 2. */
  readonly concurrency?: number;
  /** Block hashes kept for reorg detection; a deeper reorg is fatal. Default 128. */
  readonly reorgWindow?: number;
  /** The head is "stalled" after not moving for this many poll intervals. Default 30. */
  readonly stallPolls?: number;
  /** Per-call RPC timeout. Default 30 000 ms. */
  readonly rpcTimeoutMs?: number;
  /** First retry delay; doubles per attempt up to `retryMaxMs`, with jitter. Default 250 ms. */
  readonly retryBaseMs?: number;
  /** Default 30 000 ms. */
  readonly retryMaxMs?: number;
  /** PostgreSQL: how often a standby tries the writer lock. Default 1000 ms. */
  readonly standbyPollMs?: number;
}

export interface CreateIndexerOptions {
  /** The mirror to write (writable: the indexer applies SQLite's migrations, PostgreSQL's ran at openStore). */
  readonly store: MirrorStore;
  readonly provider: ProviderLike;
  /** The TraceAnchor contract address. */
  readonly contract: string;
  readonly log: Logger;
  readonly config?: IndexerConfig;
}

/** "standby": waiting for the writer lock that another indexer holds (PostgreSQL). */
export type IndexerState = "idle" | "running" | "standby" | "stopped" | "failed";

export interface IndexerStatus {
  readonly state: IndexerState;
  /** Whether this process holds the writer lock (SQLite: always the leader). */
  readonly role: Role;
  readonly chainId: number | null;
  readonly contract: string;
  /** Latest head seen. */
  readonly head: number | null;
  /** Last block whose events are all in the database (a standby reads it once a poll). */
  readonly indexedBlock: number | null;
  readonly indexedHash: string | null;
  readonly confirmations: number | null;
  /** head - confirmations: rows with block_number ≤ finalizedBlock are final. */
  readonly finalizedBlock: number | null;
  /** True when the head has not moved for stallPolls × pollIntervalMs. */
  readonly stalled: boolean;
  readonly lastHeadChangeAt: string | null;
  readonly eventsIndexed: number;
  readonly reorgs: number;
  readonly lastReorg: { readonly depth: number; readonly ancestor: number; readonly removedEvents: number } | null;
  readonly rangeSize: number;
  /** The last retryable error, cleared by the next successful step. */
  readonly lastError: { readonly name: string; readonly message: string } | null;
  readonly consecutiveFailures: number;
  /** Set when indexing stopped for good. */
  readonly fatal: { readonly name: string; readonly code: string; readonly message: string } | null;
}

export interface SyncResult {
  /** The head the step caught up to. */
  readonly head: number;
  /** Events applied by this call. */
  readonly indexed: number;
}

export interface Indexer {
  /**
   * Runs until stop() or a fatal error; the promise settles then (it never rejects). On PostgreSQL
   * it holds the writer lock while it runs, standing by whenever another indexer holds it.
   */
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Catches up with the head once, retrying transient faults; rejects on a fatal error. On
   * PostgreSQL it waits for the writer lock first (standby) and gives it back after, unless start()
   * holds it; it rejects with NotLeaderError if the lock is lost on the way.
   */
  syncOnce(): Promise<SyncResult>;
  status(): IndexerStatus;
}

const HEADER_CHUNK = 32;
const DEFAULT_CONCURRENCY = 2;

/** One range as read from the chain: its logs and the headers they need, all of one chain. */
interface RangeRead {
  readonly from: number;
  readonly first: BlockHeader;
  readonly last: BlockHeader;
  readonly logs: ChainLog[];
  readonly headers: Map<number, BlockHeader>;
}

export function createIndexer(options: CreateIndexerOptions): Indexer {
  const { store: mirror, log } = options;
  if (!/^0x[0-9a-fA-F]{40}$/.test(options.contract))
    throw new IndexerConfigError(`contract is not an address: ${options.contract}`);
  const contract = options.contract.toLowerCase();
  const config = {
    fromBlock: options.config?.fromBlock ?? 0,
    pollIntervalMs: options.config?.pollIntervalMs ?? 2000,
    maxRange: options.config?.maxRange ?? 2000,
    targetLogs: options.config?.targetLogs ?? DEFAULT_TARGET_LOGS,
    targetMs: options.config?.targetMs ?? DEFAULT_TARGET_MS,
    concurrency: options.config?.concurrency ?? DEFAULT_CONCURRENCY,
    reorgWindow: options.config?.reorgWindow ?? 128,
    stallPolls: options.config?.stallPolls ?? 30,
    retryBaseMs: options.config?.retryBaseMs ?? 250,
    retryMaxMs: options.config?.retryMaxMs ?? 30_000,
    standbyPollMs: options.config?.standbyPollMs ?? 1000,
  };
  for (const [key, value] of Object.entries(config)) {
    if (!Number.isSafeInteger(value) || value < (key === "fromBlock" ? 0 : 1))
      throw new IndexerConfigError(`config.${key} must be a positive integer, got ${value}`);
  }
  const configuredConfirmations = options.config?.confirmations;
  if (
    configuredConfirmations !== undefined &&
    (!Number.isSafeInteger(configuredConfirmations) || configuredConfirmations < 0)
  ) {
    throw new IndexerConfigError(`config.confirmations must be a non-negative integer, got ${configuredConfirmations}`);
  }
  if (mirror.readonly) throw new IndexerConfigError(`the mirror at ${mirror.location} is open read-only`);

  // PostgreSQL's migrations ran when the store was opened; a SQLite handle may be fresh.
  if (mirror.engine === "sqlite") runMigrations(mirror.db);
  const leadership: Leadership = mirror.engine === "postgres" ? createPgLeadership(mirror.pool, log) : soleWriter();
  const store = createChainStore(mirror, {
    reorgWindow: config.reorgWindow,
    ...(mirror.engine === "postgres" ? { session: () => leadership.session() } : {}),
  });
  /** Errors worth another try: our retryable ones, SQLite's busy, PostgreSQL's connection faults. */
  const retryable = (error: unknown): boolean =>
    isRetryable(error) || (mirror.engine === "postgres" && isTransientPgError(error));
  const client: ChainClient = createChainClient(options.provider, {
    timeoutMs: options.config?.rpcTimeoutMs ?? 30_000,
  });
  const sizer = createRangeSizer({
    maxRange: config.maxRange,
    targetLogs: config.targetLogs,
    targetMs: config.targetMs,
  });

  let chainId: number | null = null;
  let confirmations: number | null = null;
  let state: IndexerState = "idle";
  let standingBy = false;
  /** The cursor as last written or read, for status() (which is synchronous). */
  let cursorSeen: Cursor | undefined;
  let cursorReads = 0;
  /** Whether this leadership term has opened (created or checked) the cursor. */
  let cursorOpened = false;
  let head: number | null = null;
  let lastHeadChangeAt: number | null = null;
  let stallLogged = false;
  let eventsIndexed = 0;
  let reorgs = 0;
  let lastReorg: IndexerStatus["lastReorg"] = null;
  let lastError: IndexerStatus["lastError"] = null;
  let consecutiveFailures = 0;
  let fatal: Error | null = null;
  let stopping = false;
  let loop: Promise<void> | null = null;
  const wakers = new Set<() => void>();

  const stallAfterMs = config.stallPolls * config.pollIntervalMs;

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      wakers.add(wake);
    });
  }

  const wakeAll = (): void => {
    for (const wake of [...wakers]) wake();
  };

  // status() shows the mirror's cursor before the first sync too.
  refreshCursor().catch(() => undefined);

  leadership.onLost((cause) => {
    cursorOpened = false;
    standingBy = true;
    log.warn({ err: errorSummary(cause) }, "writer lock lost; standing by");
    wakeAll();
  });

  function checkStopping(): void {
    if (stopping) throw new IndexerStoppedError();
    if (leadership.role !== "leader") throw new NotLeaderError();
  }

  /** Runs `fn` until it succeeds, backing off on retryable errors; rethrows the rest. */
  async function retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      checkStopping();
      const sizeBefore = sizer.size;
      try {
        const result = await fn();
        lastError = null;
        consecutiveFailures = 0;
        return result;
      } catch (error) {
        // Whatever failed, a lost lock means this process must not write again: stand by.
        if (leadership.role !== "leader" && !(error instanceof IndexerStoppedError))
          throw error instanceof NotLeaderError ? error : new NotLeaderError({ cause: error });
        if (!retryable(error)) throw error;
        consecutiveFailures++;
        lastError = errorSummary(error);
        if (error instanceof LogRangeTooLargeError) {
          // readRange told the sizer already; a smaller range is worth trying at once.
          log.debug(
            { from: error.fromBlock, to: error.toBlock, rangeSize: sizer.size },
            "eth_getLogs range refused; shrinking",
          );
          if (sizer.size < sizeBefore) {
            attempt = -1;
            continue;
          }
        }
        if (error instanceof ChainMovedError && attempt === 0) {
          log.info({ err: lastError }, "chain moved while reading; reading again");
          continue;
        }
        const delay = backoffDelay(attempt, config.retryBaseMs, config.retryMaxMs);
        log.warn({ what, attempt: attempt + 1, delayMs: delay, err: lastError }, "retryable error; backing off");
        await sleep(delay);
      }
    }
  }

  function observeHead(next: number): void {
    const now = Date.now();
    if (next !== head) {
      if (stallLogged) log.info({ head: next }, "head moving again");
      head = next;
      lastHeadChangeAt = now;
      stallLogged = false;
    } else if (lastHeadChangeAt !== null && now - lastHeadChangeAt > stallAfterMs && !stallLogged) {
      stallLogged = true;
      log.warn({ head, sinceMs: now - lastHeadChangeAt }, "head has not moved; RPC or chain stalled?");
    }
  }

  /** Re-reads the cursor after a write (or a standby's poll), for status(). */
  async function refreshCursor(): Promise<void> {
    const seq = ++cursorReads;
    const cursor = await store.cursor();
    // Reads on a pool may come back out of order; the newest read wins.
    if (seq === cursorReads) cursorSeen = cursor;
  }

  async function ensureChain(): Promise<Cursor> {
    if (chainId === null) {
      chainId = await retrying("eth_chainId", () => client.chainId());
      confirmations = configuredConfirmations ?? (chainId === 31337 ? 0 : 12);
    }
    // Created or checked once per leadership term; another leader may have moved it since, so read it.
    const cursor = cursorOpened ? await store.cursor() : await store.openCursor(chainId, contract, config.fromBlock);
    if (cursor === undefined) throw new Error("cursor vanished");
    cursorOpened = true;
    cursorReads++;
    cursorSeen = cursor;
    return cursor;
  }

  const finalizedOf = (at: number): number => Math.max(config.fromBlock - 1, at - (confirmations ?? 0));

  /** Walks back to the newest stored block the chain still has, and rolls back above it. */
  async function reconcile(cursor: Cursor): Promise<void> {
    const lowest = cursor.blockNumber - config.reorgWindow;
    const stored = (await store.storedBlocks(cursor.blockNumber)).filter((block) => block.number >= lowest);
    let ancestor: { number: number; hash: string | null } | null = null;
    for (let i = 0; i < stored.length && ancestor === null; i += HEADER_CHUNK) {
      const chunk = stored.slice(i, i + HEADER_CHUNK);
      const remote = await client.headers(chunk.map((block) => block.number));
      ancestor = chunk.find((block) => remote.get(block.number)?.hash === block.hash) ?? null;
    }
    if (ancestor === null) {
      // Nothing we stored survives; that is fine only if all we indexed lies within the window.
      if (cursor.blockNumber - (cursor.fromBlock - 1) > config.reorgWindow)
        throw new ReorgTooDeepError(cursor.blockNumber, config.reorgWindow);
      ancestor = { number: cursor.fromBlock - 1, hash: null };
    }
    if (ancestor.number === cursor.blockNumber) {
      // The indexed block is still canonical, yet the next block's parent is not it: the node (or a
      // load balancer mixing nodes) answered inconsistently. Nothing to roll back; read again later.
      throw new ChainMovedError(
        `block ${cursor.blockNumber + 1} does not extend block ${cursor.blockNumber}, which is still canonical`,
      );
    }
    checkStopping();
    const removedEvents = await store.rollbackTo(ancestor.number, ancestor.hash);
    await refreshCursor();
    reorgs++;
    lastReorg = { depth: cursor.blockNumber - ancestor.number, ancestor: ancestor.number, removedEvents };
    log.warn({ ...lastReorg, from: cursor.blockNumber }, "chain reorganised; rolled back to common ancestor");
  }

  /** The contract's logs in `from..to`; tells the sizer how the eth_getLogs went. */
  async function readLogs(from: number, to: number): Promise<ChainLog[]> {
    const started = performance.now();
    let logs: ChainLog[];
    try {
      logs = await client.logs(contract, from, to);
    } catch (error) {
      if (error instanceof LogRangeTooLargeError) sizer.refused(error.fromBlock, error.toBlock, error);
      throw error;
    }
    sizer.answered({ fromBlock: from, toBlock: to, logs: logs.length, ms: performance.now() - started });
    return logs;
  }

  /**
   * Reads `from..to` with the head at `current`: the first and last headers and those within
   * reorgWindow of the head, which must link; the logs; then the headers of blocks with logs and the
   * last one again, which must not have changed. Does not look at the cursor; tells the sizer how
   * the eth_getLogs went.
   *
   * Within the window the logs are asked for only once the headers are in, so that the headers
   * before and after bracket them. Below it (where a reorg is past repair anyway: ReorgTooDeepError)
   * the two go out at once, one round trip less per range.
   */
  async function readRange(from: number, to: number, current: number): Promise<RangeRead> {
    const windowStart = Math.max(from, current - config.reorgWindow);
    const wanted = [from, to];
    for (let n = windowStart; n <= to; n++) wanted.push(n);
    const early = windowStart > to ? readLogs(from, to) : undefined;
    early?.catch(() => undefined); // awaited below, unless the headers fail first
    const pre = await client.headers(wanted);
    const headers = new Map<number, BlockHeader>();
    for (const [n, header] of pre) {
      if (header === null) throw new ChainMovedError(`block ${n} vanished (head was ${current})`);
      headers.set(n, header);
    }
    const first = headers.get(from);
    const last = headers.get(to);
    if (first === undefined || last === undefined) throw new ChainMovedError(`headers ${from}/${to} missing`);
    for (const header of headers.values()) {
      const parent = headers.get(header.number - 1);
      if (parent !== undefined && header.parentHash !== parent.hash)
        throw new ChainMovedError(`block ${header.number} does not extend ${parent.number}`);
    }
    const logs = await (early ?? readLogs(from, to));

    // Headers read before the logs pin the chain; re-reading the last one afterwards shows it held.
    const after = await client.headers(
      [...new Set(logs.map((entry) => entry.blockNumber))].filter((n) => !headers.has(n)).concat(to),
    );
    for (const [n, header] of after) {
      if (header === null) throw new ChainMovedError(`block ${n} vanished while reading logs`);
      if (n === to && header.hash !== last.hash) throw new ChainMovedError(`block ${to} changed while reading logs`);
      headers.set(n, header);
    }
    for (const entry of logs) {
      if (headers.get(entry.blockNumber)?.hash !== entry.blockHash) {
        throw new ChainMovedError(
          `log ${entry.blockNumber}/${entry.logIndex} is from block ${entry.blockHash}, not the canonical one`,
        );
      }
    }
    return { from, first, last, logs, headers };
  }

  /**
   * Indexes up to the head seen at its start, or repairs one reorg. Returns that head, or null when
   * caught up. `onApplied` hears of every range applied, also when a later one fails.
   */
  async function step(onApplied: (events: number) => void): Promise<number | null> {
    const cursor = await ensureChain();
    const current = await client.blockNumber();
    observeHead(current);
    if (cursor.blockNumber >= current) {
      // Nothing new, but the chain may have been replaced by one as long or shorter.
      if (cursor.blockHash !== null) {
        const mine = await client.header(cursor.blockNumber);
        if (mine?.hash !== cursor.blockHash) {
          await reconcile(cursor);
          return current;
        }
      }
      checkStopping();
      await store.setHead(current, finalizedOf(current));
      await refreshCursor();
      return null;
    }

    // Reads run ahead of the cursor; whatever happens to one, those behind it are dropped unapplied.
    const ahead: Promise<RangeRead>[] = [];
    let next = cursor.blockNumber + 1;
    const readAhead = (): void => {
      while (ahead.length < config.concurrency && next <= current) {
        const to = sizer.end(next, current);
        const read = readRange(next, to, current);
        read.catch(() => undefined); // seen when its turn comes, or dropped with the others
        ahead.push(read);
        next = to + 1;
      }
    };
    let tipHash = cursor.blockHash;
    readAhead();
    for (let read = ahead.shift(); read !== undefined; read = ahead.shift()) {
      const range = await read;
      if (tipHash !== null && range.first.parentHash !== tipHash) {
        const now = await store.cursor();
        if (now === undefined) throw new Error("cursor vanished");
        await reconcile(now);
        return current;
      }
      checkStopping();
      readAhead();
      // SQLite applies synchronously, holding the event loop: first let the reads just queued go
      // out (the transport batches them on setImmediate) and the answers already in be taken in,
      // so the node works on the next ranges while this one is written.
      await turn();
      checkStopping();
      const applied = await store.applyRange({
        logs: range.logs,
        headers: range.headers,
        to: range.last,
        head: current,
        finalizedBlock: finalizedOf(current),
      });
      await refreshCursor();
      tipHash = range.last.hash;
      eventsIndexed += applied;
      onApplied(applied);
      if (applied > 0 || range.last.number === current)
        log.debug(
          { from: range.from, to: range.last.number, logs: range.logs.length, applied, rangeSize: sizer.size },
          "indexed range",
        );
    }
    return current;
  }

  let acquiring: Promise<boolean> | null = null;

  /**
   * Waits until this process holds the writer lock (true), trying every standbyPollMs and reading
   * the cursor meanwhile, or until stop() (false). A SQLite mirror leads at once.
   */
  function lead(): Promise<boolean> {
    acquiring ??= (async () => {
      let logged = false;
      while (!stopping) {
        try {
          if (await leadership.tryAcquire()) return true;
          if (!logged) log.info({ lock: "traceanchor-indexer" }, "another indexer holds the writer lock; standing by");
          logged = true;
          standingBy = true;
          await refreshCursor();
        } catch (error) {
          standingBy = true;
          log.warn({ err: errorSummary(error) }, "cannot reach the writer lock; trying again");
        }
        await sleep(config.standbyPollMs);
      }
      return false;
    })().finally(() => {
      acquiring = null;
      standingBy = false;
    });
    return acquiring;
  }

  let inflight: Promise<SyncResult> | null = null;

  /** One catch-up at a time: a second caller shares the one in flight. */
  function syncOnce(): Promise<SyncResult> {
    inflight ??= leadAndCatchUp().finally(() => {
      inflight = null;
    });
    return inflight;
  }

  /** A catch-up under the writer lock: taken for it (and given back after) unless start() holds it. */
  async function leadAndCatchUp(): Promise<SyncResult> {
    if (fatal !== null) throw fatal;
    const held = leadership.role === "leader";
    if (!held && !(await lead())) throw new IndexerStoppedError();
    try {
      return await catchUp();
    } finally {
      if (!held && loop === null) await leadership.release();
    }
  }

  async function catchUp(): Promise<SyncResult> {
    let indexed = 0;
    let reached = head ?? 0;
    const count = (events: number): void => {
      indexed += events;
    };
    try {
      for (;;) {
        const result = await retrying("sync step", () => step(count));
        if (result === null) break;
        reached = result;
      }
      return { head: head ?? reached, indexed };
    } catch (error) {
      if (!(error instanceof IndexerStoppedError) && !(error instanceof NotLeaderError) && !retryable(error)) {
        fatal = error as Error;
        state = "failed";
        log.error({ err: { name: fatal.name, message: fatal.message } }, "indexing stopped: fatal error");
      }
      throw error;
    }
  }

  /** start()'s loop: lead, follow the chain while leading, stand by again when the lock goes. */
  async function run(): Promise<void> {
    while (!stopping && fatal === null) {
      if (!(await lead())) break;
      while (!stopping && fatal === null && leadership.role === "leader") {
        try {
          await syncOnce();
        } catch {
          // Fatal errors are recorded by catchUp; a stop or a lost lock ends the loop below.
        }
        if (stopping || fatal !== null || leadership.role !== "leader") break;
        await sleep(config.pollIntervalMs);
      }
      // The lock is gone (or we stop): close what is left of its session before trying again.
      await leadership.release();
      // A standby that kept polling should win the lock over the process whose session just failed.
      if (!stopping && fatal === null) await sleep(2 * config.standbyPollMs);
    }
  }

  return {
    start() {
      if (loop !== null) return loop;
      stopping = false;
      state = fatal === null ? "running" : "failed";
      loop = run().finally(() => {
        state = fatal === null ? "stopped" : "failed";
        loop = null;
      });
      return loop;
    },
    async stop() {
      stopping = true;
      wakeAll();
      if (loop !== null) await loop;
      if (inflight !== null) await inflight.catch(() => undefined);
      await leadership.release();
      if (fatal === null) state = "stopped";
    },
    syncOnce,
    status() {
      const cursor = cursorSeen;
      const now = Date.now();
      return {
        state: standingBy && (state === "running" || state === "idle") ? "standby" : state,
        role: leadership.role,
        chainId,
        contract,
        head,
        indexedBlock: cursor?.blockNumber ?? null,
        indexedHash: cursor?.blockHash ?? null,
        confirmations,
        finalizedBlock: head === null || confirmations === null ? null : finalizedOf(head),
        stalled: lastHeadChangeAt !== null && now - lastHeadChangeAt > stallAfterMs,
        lastHeadChangeAt: lastHeadChangeAt === null ? null : new Date(lastHeadChangeAt).toISOString(),
        eventsIndexed,
        reorgs,
        lastReorg,
        rangeSize: sizer.size,
        lastError,
        consecutiveFailures,
        fatal:
          fatal === null
            ? null
            : { name: fatal.name, code: (fatal as { code?: string }).code ?? "UNKNOWN", message: fatal.message },
      };
    },
  };
}

/** One turn of the event loop: timers and I/O callbacks queued so far run before what follows. */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function errorSummary(error: unknown): { readonly name: string; readonly message: string } {
  return error instanceof Error
    ? { name: error.name, message: error.message }
    : { name: "Error", message: String(error) };
}
