/**
 * Where the EPCIS 2.0 capture and query state lives (tokens, capture jobs, captured events and their
 * query index, the capture worker's batches, named queries, subscriptions): not in the mirror,
 * which the chain rebuilds and this state cannot be.
 *
 *   openEpcisStore(mirror, sqliteFile): EpcisStore
 *
 * With a SQLite mirror it is a SQLite file of its own (TRACE_EPCIS_DB, default data/epcis.db),
 * migrated from migrations/epcis-sqlite/. With a PostgreSQL mirror it is the trace_state schema of
 * the same database (migration postgres/008_epcis.sql, applied with the mirror's), shared by every
 * replica; the tables and columns are the same on both engines.
 */
import path from "node:path";
import { openDatabase, runMigrations, type Db } from "../db";
import type { Pool } from "../pg/db";
import type { MirrorStore } from "../store";

export const EPCIS_SQLITE_MIGRATIONS = path.join(__dirname, "..", "migrations", "epcis-sqlite");

export interface SqliteEpcisStore {
  readonly engine: "sqlite";
  /** A writable handle on the EPCIS file (WAL). */
  readonly db: Db;
  close(): Promise<void>;
}

export interface PgEpcisStore {
  readonly engine: "postgres";
  /** The mirror's primary pool; the tables are in schema trace_state. */
  readonly pool: Pool;
  /** Closing leaves the pool to the mirror store that owns it. */
  close(): Promise<void>;
}

export type EpcisStore = SqliteEpcisStore | PgEpcisStore;

/** Opens (and on SQLite migrates) the EPCIS store beside `mirror`. */
export function openEpcisStore(mirror: MirrorStore, sqliteFile: string): EpcisStore {
  if (mirror.engine === "postgres") return { engine: "postgres", pool: mirror.pool, close: () => Promise.resolve() };
  return sqliteEpcisStore(openDatabase(sqliteFile));
}

/** A SQLite handle (a file or `:memory:`) as an EPCIS store, migrated. Closing it closes the handle. */
export function sqliteEpcisStore(db: Db): SqliteEpcisStore {
  runMigrations(db, EPCIS_SQLITE_MIGRATIONS);
  // A capture's 202 promises its events are stored: every commit reaches the disk, not only the WAL
  // in the page cache (which survives a killed process, not a power cut). Documents that arrive
  // together share a commit (capture-sql.ts, runEpcisGrouped), so the fsync is paid once for them.
  db.pragma("synchronous = FULL");
  // Every captured event inserts into a dozen indexes, three of them (content hash, eventID, EPC) at
  // random places. Statement and savepoint journals in memory, not temp files: with them on disk a
  // 100-event document cost about 4,400 pwrite calls at 1M events stored, with them here about 900.
  db.pragma("temp_store = MEMORY");
  // Those random index pages stay cached (128 MiB, not SQLite's 2 MiB), and the WAL is checkpointed
  // every 64 MiB rather than 4 MiB, so that a page changed by many commits is copied back once.
  db.pragma("cache_size = -131072");
  db.pragma("wal_autocheckpoint = 16384");
  return { engine: "sqlite", db, close: () => Promise.resolve(void db.close()) };
}
