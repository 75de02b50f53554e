/**
 * Scan counts, in their own writable SQLite file (the mirror is read-only to the API). Nothing
 * personal is stored: only a salted hash of the last scanning client, so that one client
 * re-scanning the same label does not count twice in a row. The salt lives in the file.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Database } from "better-sqlite3";
import { readBatch } from "../read-batch";

export interface ScanCount {
  readonly count: number;
  /** Unix seconds. */
  readonly firstScanAt: number;
}

export interface ScansRepository {
  /** Counts one scan of (gtin, serial) by `client` (an address; only its salted hash is kept). */
  record(gtin: string, serial: string, client: string, now: number): ScanCount;
  get(gtin: string, serial: string): ScanCount | undefined;
  /** Writes buffered scans (also done every `flushMs` and when `maxPending` keys wait). */
  flush(): void;
  /** Flushes and stops the timer. */
  close(): void;
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

const MAX_CLIENT_HASHES = 10_000;

interface Pending {
  readonly gtin: string;
  readonly serial: string;
  readonly base: number;
  delta: number;
  readonly first: number;
  last: string | null;
}

/**
 * Scans are buffered in memory and written in one transaction per `flushMs` (a commit per scan would
 * cost more than the rest of the request); a crash loses at most that window of counts. A flush also
 * happens once `maxPending` serials wait, kept small so one flush stalls the event loop ~2 ms, not ~20.
 */
export function createScansRepository(db: Database, options: { flushMs?: number; maxPending?: number } = {}): ScansRepository {
  const flushMs = options.flushMs ?? 250;
  const maxPending = options.maxPending ?? 4000;
  db.exec(SCHEMA);
  db.prepare("INSERT OR IGNORE INTO scan_meta (key, value) VALUES ('salt', ?)").run(randomBytes(16).toString("hex"));
  const salt = (db.prepare("SELECT value FROM scan_meta WHERE key = 'salt'").get() as { value: string }).value;
  const statements = {
    get: db.prepare<[string, string], { count: number; first_scan_at: number; last_client: string }>(
      "SELECT count, first_scan_at, last_client FROM scan_counts WHERE gtin = ? AND serial = ?",
    ),
    upsert: db.prepare<[string, string, number, number, string, number]>(
      "INSERT INTO scan_counts (gtin, serial, count, first_scan_at, last_client) VALUES (?, ?, ?, ?, ?) " +
        "ON CONFLICT (gtin, serial) DO UPDATE SET count = count + ?, last_client = excluded.last_client",
    ),
  };
  const pending = new Map<string, Pending>();
  // The salted hash of each recent client address, so a busy client costs one sha256, not one per scan.
  // Kept in memory only, bounded, dropped whole when full.
  const clientHashes = new Map<string, string>();
  const clientHash = (client: string): string => {
    let hash = clientHashes.get(client);
    if (hash === undefined) {
      hash = createHash("sha256").update(salt).update(client).digest("base64url").slice(0, 16);
      if (clientHashes.size >= MAX_CLIENT_HASHES) clientHashes.clear();
      clientHashes.set(client, hash);
    }
    return hash;
  };

  // The reads of one event-loop turn share a transaction; it ends before every write.
  const reads = readBatch(db);
  const write = db.transaction(() => {
    for (const p of pending.values()) {
      if (p.last === null) continue;
      statements.upsert.run(p.gtin, p.serial, p.base + p.delta, p.first, p.last, p.delta);
    }
    pending.clear();
  });
  const flush = (): void => {
    reads.leave();
    write();
  };
  const timer = setInterval(() => flush(), flushMs);
  timer.unref();

  return {
    record(gtin, serial, client, now) {
      const key = `${gtin}\u0000${serial}`;
      let p = pending.get(key);
      if (p === undefined) {
        reads.enter();
        const row = statements.get.get(gtin, serial);
        p = { gtin, serial, base: row?.count ?? 0, delta: 0, first: row?.first_scan_at ?? now, last: row?.last_client ?? null };
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
      const p = pending.get(`${gtin}\u0000${serial}`);
      if (p !== undefined) return p.base + p.delta === 0 ? undefined : { count: p.base + p.delta, firstScanAt: p.first };
      reads.enter();
      const row = statements.get.get(gtin, serial);
      return row === undefined ? undefined : { count: row.count, firstScanAt: row.first_scan_at };
    },
    flush: () => flush(),
    close() {
      clearInterval(timer);
      flush();
    },
  };
}
