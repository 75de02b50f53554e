/**
 * Scan counts, on either engine. Nothing personal is stored: only a salted hash of the last
 * scanning client, so that one client re-scanning the same label does not count twice in a row. The
 * salt lives with the counts.
 *
 *   createScansRepository(target, options?): ScansRepository
 *
 * `target` is a writable SQLite handle (its own file, TRACE_SCANS_DB: the mirror is read-only to the
 * API) or the mirror's PostgreSQL store (table trace_state.scan_counts, shared by every replica; see
 * mirror/pg/scans.ts for how it batches and counts under concurrency).
 *
 * SQLite: reads run on the caller's connection. Writes of a file database run in a worker thread
 * with its own connection (WAL lets it commit while the event loop reads), so the random-page
 * upserts and the WAL writes of a flush never stall requests; an in-memory database is written in
 * line. The methods are synchronous inside; their promises are already settled.
 */
import { createHash, randomBytes } from "node:crypto";
import { Worker } from "node:worker_threads";
import type { Database } from "better-sqlite3";
import { lift } from "../../mirror/async";
import { createPgScanCounter, pgScanSalt } from "../../mirror/pg/scans";
import { readBatch } from "../../mirror/read";
import type { PgStore } from "../../mirror/store";

export interface ScanCount {
  readonly count: number;
  /** Unix seconds. */
  readonly firstScanAt: number;
}

export interface ScansRepository {
  /**
   * Counts one scan of (gtin, serial) by `client` (an address; only its salted hash is kept) and
   * returns the count with it.
   */
  record(gtin: string, serial: string, client: string, now: number): Promise<ScanCount>;
  get(gtin: string, serial: string): Promise<ScanCount | undefined>;
  /**
   * Writes buffered scans now (SQLite also does every `flushMs` and when `maxPending` keys wait);
   * resolves once they are written or failed (see `onWriteError`).
   */
  flush(): Promise<void>;
  /** Flushes, stops the timer, and waits for the writer thread to commit and close. */
  close(): Promise<void>;
}

/**
 * SQLite buffers scans in memory and writes them in one transaction per `flushMs` (a commit per scan
 * would cost more than the rest of the request); a crash loses at most that window of counts. A
 * flush also happens once `maxPending` serials wait, kept small so one flush stalls the event loop
 * ~2 ms, not ~20. PostgreSQL writes every scan before answering, batched per event-loop turn (no
 * timer); `maxPending` caps the serials of one statement.
 */
export interface ScansOptions {
  readonly flushMs?: number;
  readonly maxPending?: number;
  /** SQLite: where writes run, a worker thread (default for a file database) or in line. */
  readonly writer?: "worker" | "inline";
  /**
   * Told when a batch of counts could not be written. SQLite keeps it and retries it with the next
   * flush; PostgreSQL rejects the requests it carried.
   */
  readonly onWriteError?: (message: string) => void;
}

export function createScansRepository(target: Database | PgStore, options: ScansOptions = {}): ScansRepository {
  return isPgStore(target) ? pgScans(target, options) : lift(sqliteScans(target, options));
}

const isPgStore = (target: Database | PgStore): target is PgStore => (target as Partial<PgStore>).engine === "postgres";

const MAX_CLIENT_HASHES = 10_000;

/**
 * The salted hash of each recent client address, so a busy client costs one sha256, not one per
 * scan. Kept in memory only, bounded, dropped whole when full.
 */
function clientHasher(salt: string): (client: string) => string {
  const hashes = new Map<string, string>();
  return (client) => {
    let hash = hashes.get(client);
    if (hash === undefined) {
      hash = createHash("sha256").update(salt).update(client).digest("base64url").slice(0, 16);
      if (hashes.size >= MAX_CLIENT_HASHES) hashes.clear();
      hashes.set(client, hash);
    }
    return hash;
  };
}

function pgScans(store: PgStore, options: ScansOptions): ScansRepository {
  const counter = createPgScanCounter(store.pool, {
    maxPending: options.maxPending,
    onWriteError: options.onWriteError,
  });
  // Read once, on the first scan; its failure is that scan's (and the next one tries again).
  let hasher: Promise<(client: string) => string> | undefined;
  let hash: ((client: string) => string) | undefined;
  const hashOf = async (client: string): Promise<string> => {
    if (hash !== undefined) return hash(client);
    hasher ??= pgScanSalt(store.pool, randomBytes(16).toString("hex")).then(clientHasher, (error: unknown) => {
      hasher = undefined;
      throw error;
    });
    hash = await hasher;
    return hash(client);
  };
  return {
    record: async (gtin, serial, client, now) => counter.record(gtin, serial, await hashOf(client), now),
    get: (gtin, serial) => counter.get(gtin, serial),
    flush: () => counter.flush(),
    close: () => counter.close(),
  };
}

/** The SQLite repository, synchronous inside (`createScansRepository` lifts it). */
interface SqliteScans {
  record(gtin: string, serial: string, client: string, now: number): ScanCount;
  get(gtin: string, serial: string): ScanCount | undefined;
  flush(): Promise<void>;
  close(): Promise<void>;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS scan_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS scan_counts (
  gtin TEXT NOT NULL,
  serial TEXT NOT NULL,
  count INTEGER NOT NULL,
  first_scan_at INTEGER NOT NULL,
  last_client TEXT NOT NULL,
  PRIMARY KEY (gtin, serial)
) WITHOUT ROWID;
`;

/**
 * Every write adds only its own scans (`count` is the number added), so the result does not depend
 * on which batches commit, in which order, or how often one is retried.
 */
const UPSERT =
  "INSERT INTO scan_counts (gtin, serial, count, first_scan_at, last_client) VALUES (?, ?, ?, ?, ?) " +
  "ON CONFLICT (gtin, serial) DO UPDATE SET count = count + excluded.count, last_client = excluded.last_client";

/** One row of a flush: gtin, serial, scans added, first scan, last client hash. */
type Row = [string, string, number, number, string];

/**
 * The writer thread: one connection, one transaction per batch, an answer per batch. Plain
 * JavaScript evaluated by the Worker, so it runs the same from the TypeScript sources and dist/.
 */
const WRITER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma("busy_timeout = 5000");
db.pragma("synchronous = NORMAL");
const upsert = db.prepare(workerData.upsert);
const write = db.transaction((rows) => { for (const r of rows) upsert.run(r[0], r[1], r[2], r[3], r[4]); });
parentPort.on("message", (message) => {
  if (message.close) { db.close(); parentPort.close(); return; }
  try { write(message.rows); parentPort.postMessage({ id: message.id }); }
  catch (err) { parentPort.postMessage({ id: message.id, error: String((err && err.message) || err) }); }
});
`;

const keyOf = (gtin: string, serial: string): string => `${gtin}\u0000${serial}`;

interface Pending {
  readonly gtin: string;
  readonly serial: string;
  readonly base: number;
  delta: number;
  readonly first: number;
  last: string | null;
}

function sqliteScans(db: Database, options: ScansOptions): SqliteScans {
  const flushMs = options.flushMs ?? 250;
  const maxPending = options.maxPending ?? 4000;
  db.exec(SCHEMA);
  db.prepare("INSERT OR IGNORE INTO scan_meta (key, value) VALUES ('salt', ?)").run(randomBytes(16).toString("hex"));
  const salt = (db.prepare("SELECT value FROM scan_meta WHERE key = 'salt'").get() as { value: string }).value;
  const statements = {
    get: db.prepare<[string, string], { count: number; first_scan_at: number; last_client: string }>(
      "SELECT count, first_scan_at, last_client FROM scan_counts WHERE gtin = ? AND serial = ?",
    ),
    upsert: db.prepare<Row>(UPSERT),
  };
  const pending = new Map<string, Pending>();
  const clientHash = clientHasher(salt);

  // The reads of one event-loop turn share a transaction; it ends before every write.
  const reads = readBatch(db);
  // Only keys with scans added are written, so each has a last client.
  const rowOf = (p: Pending): Row => [p.gtin, p.serial, p.delta, p.first, p.last as string];
  // A key scanned again only by its last client added nothing: nothing to write for it.
  const drain = (): Pending[] => {
    const batch = [...pending.values()].filter((p) => p.delta > 0);
    pending.clear();
    return batch;
  };

  // Counts handed to the writer thread and not yet committed, by key: reads see them until then.
  const inflight = new Map<string, Pending>();
  const batches = new Map<number, Pending[]>();
  // Settled when the writer has answered each batch in flight: what `flush()` waits for.
  const answers = new Map<number, { readonly promise: Promise<void>; readonly resolve: () => void }>();
  let nextBatch = 0;
  const walOk = (): boolean => String(db.pragma("journal_mode = WAL", { simple: true })).toLowerCase() === "wal";
  // The writer thread needs WAL, so that it can commit while this connection reads.
  const useWorker =
    (options.writer ?? "worker") === "worker" && !db.memory && db.name !== "" && db.name !== ":memory:" && walOk();
  let worker = useWorker
    ? new Worker(WRITER_SOURCE, {
        eval: true,
        workerData: { driver: require.resolve("better-sqlite3"), file: db.name, upsert: UPSERT },
      })
    : undefined;
  let closing = false;

  /**
   * Ends a batch: its counts leave `inflight`; a batch not written goes back into the next flush,
   * its scans added to the newest count of each key (pending, else a newer batch in flight), so
   * reads keep showing the same totals and the file ends up with each scan once.
   */
  const settle = (id: number, error: string | undefined): void => {
    const batch = batches.get(id) ?? [];
    batches.delete(id);
    finish(batch, error);
    answers.get(id)?.resolve();
    answers.delete(id);
  };
  const finish = (batch: readonly Pending[], error: string | undefined): void => {
    // A read transaction opened before the commit would not see it: end it before reads lose the
    // in-flight counts.
    reads.leave();
    for (const p of batch) {
      const key = keyOf(p.gtin, p.serial);
      if (inflight.get(key) === p) inflight.delete(key);
      if (error === undefined) continue;
      const newer = pending.get(key);
      const sent = inflight.get(key);
      if (newer !== undefined) pending.set(key, { ...newer, base: newer.base - p.delta, delta: newer.delta + p.delta });
      else if (sent !== undefined)
        pending.set(key, { ...sent, base: sent.base + sent.delta - p.delta, delta: p.delta });
      else pending.set(key, p);
    }
    if (error !== undefined) options.onWriteError?.(error);
  };
  /** The thread is gone: what it held is written in line from now on. */
  const writerGone = (why: string): void => {
    worker = undefined;
    for (const id of [...batches.keys()]) settle(id, why);
  };
  if (worker !== undefined) {
    // Idle, the thread does not keep the process alive; close() holds it until the last commit.
    worker.unref();
    worker.on("message", (message: { id: number; error?: string }) => settle(message.id, message.error));
    worker.on("error", (err: Error) => writerGone(`scan writer thread failed: ${err.message}`));
    worker.on("exit", (code: number) => {
      if (!closing && worker !== undefined) writerGone(`scan writer thread exited (code ${code})`);
    });
  }

  const writeInline = db.transaction((batch: Pending[]) => {
    for (const p of batch) statements.upsert.run(...rowOf(p));
  });
  const flush = (): void => {
    if (pending.size === 0) return;
    const batch = drain();
    if (batch.length === 0) return;
    if (worker === undefined) {
      reads.leave();
      try {
        writeInline(batch);
      } catch (err) {
        finish(batch, `scan counts not written: ${err instanceof Error ? err.message : String(err)}`);
      }
      return;
    }
    const id = nextBatch++;
    batches.set(id, batch);
    let resolve = (): void => undefined;
    const promise = new Promise<void>((done) => (resolve = done));
    answers.set(id, { promise, resolve });
    for (const p of batch) inflight.set(keyOf(p.gtin, p.serial), p);
    worker.postMessage({ id, rows: batch.map(rowOf) });
  };
  const timer = setInterval(() => flush(), flushMs);
  timer.unref();

  return {
    record(gtin, serial, client, now) {
      const key = keyOf(gtin, serial);
      let p = pending.get(key);
      if (p === undefined) {
        const sent = inflight.get(key);
        if (sent !== undefined) {
          p = { gtin, serial, base: sent.base + sent.delta, delta: 0, first: sent.first, last: sent.last };
        } else {
          reads.enter();
          const row = statements.get.get(gtin, serial);
          p = {
            gtin,
            serial,
            base: row?.count ?? 0,
            delta: 0,
            first: row?.first_scan_at ?? now,
            last: row?.last_client ?? null,
          };
        }
        pending.set(key, p);
      }
      const hash = clientHash(client);
      if (hash !== p.last) {
        p.delta++;
        p.last = hash;
      }
      const counted = { count: p.base + p.delta, firstScanAt: p.first };
      if (pending.size >= maxPending) flush();
      return counted;
    },
    get(gtin, serial) {
      const key = keyOf(gtin, serial);
      const p = pending.get(key) ?? inflight.get(key);
      if (p !== undefined)
        return p.base + p.delta === 0 ? undefined : { count: p.base + p.delta, firstScanAt: p.first };
      reads.enter();
      const row = statements.get.get(gtin, serial);
      return row === undefined ? undefined : { count: row.count, firstScanAt: row.first_scan_at };
    },
    async flush() {
      flush();
      await Promise.all([...answers.values()].map((answer) => answer.promise));
    },
    async close() {
      clearInterval(timer);
      flush();
      const thread = worker;
      if (thread !== undefined) {
        closing = true;
        // Keep the process alive until the thread has committed the last batch and closed.
        thread.ref();
        // The writer handles messages in order: every batch is answered before it closes.
        const exited = new Promise<void>((resolve) => thread.once("exit", () => resolve()));
        thread.postMessage({ close: true });
        await exited;
        if (batches.size > 0) writerGone("scan writer thread closed before answering");
        worker = undefined;
      }
      // Whatever it could not write is written here, in line.
      flush();
    },
  };
}
