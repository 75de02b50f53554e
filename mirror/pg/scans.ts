/**
 * Scan counts on PostgreSQL (`trace_state.scan_counts`, migration 006), one table for every API
 * replica of the database. A replica keeps no count of its own: each scan is written, and the count
 * a request gets is the database's count right after its scan.
 *
 * Group commit, not a statement per request. The scans and reads of one event-loop turn, and those
 * that arrive while a statement runs, go in one multi-row `INSERT … ON CONFLICT DO UPDATE … RETURNING`
 * (one round trip); at most one statement per counter runs at a time, so under load the batches grow
 * instead of the round trips. Each request's promise settles with its own row of the answer.
 *
 * Several replicas: the upsert adds to the row under its row lock, so concurrent scans of one serial
 * add up exactly and each is counted once; "the same client again does not count" compares with the
 * row's last client under that lock too. Rows go in sorted by key, so two replicas' batches lock rows
 * in the same order and do not deadlock (a deadlock or serialization failure is retried anyway). A
 * statement that fails rejects the requests it carried, and nothing of it is written.
 *
 * One batch row per serial: the scans of a serial in a batch must all be by one client (only the
 * first can count, against the row's last client); a scan by another client waits for the next
 * statement, which follows at once.
 *
 *   pgScanSalt(pool, fresh): Promise<string>        the database's salt (`fresh` if none was kept)
 *   createPgScanCounter(pool, options?): PgScanCounter
 */
import type { Pool } from "./db";

export interface PgScanCount {
  readonly count: number;
  /** Unix seconds. */
  readonly firstScanAt: number;
}

export interface PgScanCounter {
  /** Counts a scan of (gtin, serial) by `client` (already a salted hash) unless it was the last client. */
  record(gtin: string, serial: string, client: string, now: number): Promise<PgScanCount>;
  get(gtin: string, serial: string): Promise<PgScanCount | undefined>;
  /** Resolves once every request made before it is answered. */
  flush(): Promise<void>;
  /** Flushes; later calls reject. */
  close(): Promise<void>;
}

export interface PgScanOptions {
  /** Most serials in one statement (default 4000); the rest go in the next one. */
  readonly maxPending?: number;
  /** Told when a statement failed (its requests are rejected with the error). */
  readonly onWriteError?: (message: string) => void;
}

const UPSERT =
  "INSERT INTO trace_state.scan_counts AS s (gtin, serial, count, first_scan_at, last_client) " +
  "SELECT gtin, serial, 1, first_scan_at, last_client FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[]) AS b (gtin, serial, first_scan_at, last_client) " +
  "ON CONFLICT (gtin, serial) DO UPDATE SET count = s.count + CASE WHEN s.last_client = excluded.last_client THEN 0 ELSE 1 END, last_client = excluded.last_client " +
  "RETURNING gtin, serial, count, first_scan_at";

const READ =
  "SELECT c.gtin, c.serial, c.count, c.first_scan_at FROM trace_state.scan_counts c " +
  "JOIN unnest($1::text[], $2::text[]) AS k (gtin, serial) ON c.gtin = k.gtin AND c.serial = k.serial";

/** Both in one statement: the serials read are none of those written, so the snapshot is the truth for them. */
const UPSERT_AND_READ =
  `WITH up AS (${UPSERT}) SELECT gtin, serial, count, first_scan_at FROM up UNION ALL ` +
  READ.replace("$1", "$5").replace("$2", "$6");

/** A deadlock or a serialization failure: nothing was written, the same statement may simply run again. */
const RETRYABLE = new Set(["40P01", "40001"]);
const ATTEMPTS = 3;

export async function pgScanSalt(pool: Pool, fresh: string): Promise<string> {
  // Two statements: the SELECT's snapshot must include another replica's salt that won the race.
  await pool.query("INSERT INTO trace_state.scan_meta (key, value) VALUES ('salt', $1) ON CONFLICT (key) DO NOTHING", [
    fresh,
  ]);
  const row = await pool.query<{ value: string }>("SELECT value FROM trace_state.scan_meta WHERE key = 'salt'");
  const salt = row.rows[0]?.value;
  if (salt === undefined) throw new Error("trace_state.scan_meta has no salt after writing one");
  return salt;
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

type Op =
  | { readonly kind: "record"; readonly client: string; readonly now: number; readonly waiter: Waiter<PgScanCount> }
  | { readonly kind: "get"; readonly waiter: Waiter<PgScanCount | undefined> };

interface Queue {
  readonly gtin: string;
  readonly serial: string;
  readonly ops: Op[];
}

/** What one statement carries for one serial: its ops, and the scan to write if any is a scan. */
interface Segment {
  readonly key: string;
  readonly gtin: string;
  readonly serial: string;
  readonly ops: readonly Op[];
  readonly scan: { readonly client: string; readonly now: number } | undefined;
}

interface Row {
  gtin: string;
  serial: string;
  count: number;
  first_scan_at: number;
}

const keyOf = (gtin: string, serial: string): string => `${gtin}\u0000${serial}`;

/** The leading ops of a queue whose scans are all by one client, taken off the queue. */
function takeSegment(key: string, queue: Queue): Segment {
  let scan: Segment["scan"];
  let n = 0;
  for (const op of queue.ops) {
    if (op.kind === "record") {
      if (scan === undefined) scan = { client: op.client, now: op.now };
      else if (op.client !== scan.client) break;
    }
    n++;
  }
  return { key, gtin: queue.gtin, serial: queue.serial, ops: queue.ops.splice(0, n), scan };
}

const byKey = (a: Segment, b: Segment): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

function statementOf(segments: readonly Segment[]): { name: string; text: string; values: unknown[] } {
  const writes = segments.filter((s) => s.scan !== undefined).sort(byKey);
  const reads = segments.filter((s) => s.scan === undefined);
  const written = [
    writes.map((s) => s.gtin),
    writes.map((s) => s.serial),
    writes.map((s) => s.scan?.now),
    writes.map((s) => s.scan?.client),
  ];
  const read = [reads.map((s) => s.gtin), reads.map((s) => s.serial)];
  if (reads.length === 0) return { name: "trace-scans-upsert", text: UPSERT, values: written };
  if (writes.length === 0) return { name: "trace-scans-read", text: READ, values: read };
  return { name: "trace-scans-upsert-read", text: UPSERT_AND_READ, values: [...written, ...read] };
}

function answer(segments: readonly Segment[], rows: readonly Row[]): void {
  const byRow = new Map<string, PgScanCount>();
  for (const row of rows) byRow.set(keyOf(row.gtin, row.serial), { count: row.count, firstScanAt: row.first_scan_at });
  for (const segment of segments) {
    const counted = byRow.get(segment.key);
    for (const op of segment.ops) {
      if (op.kind === "get") op.waiter.resolve(counted);
      else if (counted !== undefined) op.waiter.resolve(counted);
      else op.waiter.reject(new Error(`scan of ${segment.gtin}/${segment.serial} not returned by the upsert`));
    }
  }
}

function fail(segments: readonly Segment[], error: Error): void {
  for (const segment of segments) for (const op of segment.ops) op.waiter.reject(error);
}

export function createPgScanCounter(pool: Pool, options: PgScanOptions = {}): PgScanCounter {
  const maxPending = options.maxPending ?? 4000;
  // Serials with requests waiting for a statement, in arrival order.
  const queues = new Map<string, Queue>();
  let running: Promise<void> | undefined;
  let scheduled = false;
  let closed = false;

  const take = (): Segment[] => {
    const segments: Segment[] = [];
    for (const [key, queue] of queues) {
      if (segments.length >= maxPending) break;
      segments.push(takeSegment(key, queue));
      if (queue.ops.length === 0) queues.delete(key);
    }
    return segments;
  };

  const write = async (): Promise<void> => {
    const segments = take();
    if (segments.length === 0) return;
    const statement = statementOf(segments);
    for (let attempt = 1; ; attempt++) {
      try {
        answer(segments, (await pool.query<Row>(statement)).rows);
        return;
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        const code = (err as { code?: unknown }).code;
        if (typeof code === "string" && RETRYABLE.has(code) && attempt < ATTEMPTS) continue;
        fail(segments, error);
        options.onWriteError?.(`scan counts not written: ${error.message}`);
        return;
      }
    }
  };

  const start = (): Promise<void> => {
    const run = write().finally(() => {
      running = undefined;
      if (queues.size > 0) schedule();
    });
    running = run;
    return run;
  };
  // After the turn's I/O callbacks, so that the requests of one turn share a statement.
  const schedule = (): void => {
    if (scheduled || running !== undefined) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      if (running === undefined && queues.size > 0) void start();
    });
  };

  const enqueue = <T>(gtin: string, serial: string, op: (waiter: Waiter<T>) => Op): Promise<T> => {
    if (closed) return Promise.reject(new Error("scan counter closed"));
    return new Promise<T>((resolve, reject) => {
      const key = keyOf(gtin, serial);
      let queue = queues.get(key);
      if (queue === undefined) {
        queue = { gtin, serial, ops: [] };
        queues.set(key, queue);
      }
      queue.ops.push(op({ resolve, reject }));
      schedule();
    });
  };

  const flush = async (): Promise<void> => {
    while (running !== undefined || queues.size > 0) await (running ?? start());
  };

  return {
    record: (gtin, serial, client, now) =>
      enqueue<PgScanCount>(gtin, serial, (waiter) => ({ kind: "record", client, now, waiter })),
    get: (gtin, serial) => enqueue<PgScanCount | undefined>(gtin, serial, (waiter) => ({ kind: "get", waiter })),
    flush,
    async close() {
      closed = true;
      await flush();
    },
  };
}
