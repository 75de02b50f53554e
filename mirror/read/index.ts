/**
 * The mirror's read side: the repositories the API reads through, on either engine, and the
 * mirror's version (moves with every commit by the indexer or an upload; the repositories' memos
 * and the API's follow it).
 *
 *   createMirrorReader(store | sqliteHandle): MirrorReader
 *
 * Every repository method returns a promise. On SQLite the repositories are synchronous inside
 * (better-sqlite3) and each call first enters the turn's read transaction (read-batch.ts), so one
 * request's reads see one snapshot and resolve within the same turn. On PostgreSQL (mirror/pg/read.ts)
 * each method is one statement on the read pool, and the version is polled from mirror_version.
 */
import type { Database } from "better-sqlite3";
import { lift, type Async } from "../async";
import type { Engine, MirrorStore } from "../store";
import { createPgReader } from "../pg/read";
import { createAnchorsRepository, type AnchorsRepository } from "./anchors";
import { createBrandsRepository, type BrandsRepository } from "./brands";
import { mirrorVersion, type MirrorVersion } from "./cache";
import { createCursorRepository, type CursorRepository } from "./cursor";
import { createItemsRepository, type ItemsRepository } from "./items";
import { readBatch, type ReadBatch } from "./read-batch";
import { createRecordsRepository, type RecordsRepository } from "./records";
import { createTreeNodesRepository, type TreeNodesRepository } from "./tree-nodes";

export interface MirrorReader {
  readonly engine: Engine;
  readonly cursor: Async<CursorRepository>;
  readonly brands: Async<BrandsRepository>;
  readonly anchors: Async<AnchorsRepository>;
  readonly records: Async<RecordsRepository>;
  readonly items: Async<ItemsRepository>;
  readonly treeNodes: Async<TreeNodesRepository>;
  /** Moves whenever the indexer (or an upload) commits to the mirror; the memos above follow it. */
  readonly version: MirrorVersion;
  /**
   * How far the streaming standby this reader reads from (TRACE_DB_READ_URL) is behind the primary;
   * null when it reads the primary (or SQLite). Rejects when the standby or primary cannot answer.
   */
  standbyLag(): Promise<StandbyLag | null>;
  /** Stops background work (PostgreSQL's version poll); the store itself is closed by its owner. */
  close(): void;
}

export interface StandbyLag {
  /** Seconds since the last replayed transaction's commit on the primary; 0 when no WAL is outstanding. */
  readonly seconds: number | null;
  /** Bytes of WAL the primary has written that the standby has not replayed. */
  readonly bytes: number | null;
}

export function createMirrorReader(target: MirrorStore | Database): MirrorReader {
  if ("engine" in target && target.engine === "postgres") return createPgReader(target);
  return createSqliteReader("engine" in target ? target.db : target);
}

function createSqliteReader(db: Database): MirrorReader {
  // Item lookups hit random pages of a large file: map it and keep hot pages in SQLite's cache
  // instead of paying a read() per B-tree page. Both are per-connection and allowed read-only.
  db.pragma("mmap_size = 4294967296");
  db.pragma("cache_size = -65536");
  const dataVersion = db.prepare<[], number>("PRAGMA data_version").pluck();
  const version = mirrorVersion(() => dataVersion.get() ?? 0);
  const reads: ReadBatch = readBatch(db, { onBegin: () => version.pin(), onEnd: () => version.unpin() });
  const enter = (): void => reads.enter();
  return {
    engine: "sqlite",
    cursor: lift(createCursorRepository(db, version), enter),
    brands: lift(createBrandsRepository(db, version), enter),
    anchors: lift(createAnchorsRepository(db), enter),
    records: lift(createRecordsRepository(db), enter),
    items: lift(createItemsRepository(db, version), enter),
    treeNodes: lift(createTreeNodesRepository(db), enter),
    version,
    standbyLag: () => Promise.resolve(null),
    close: () => reads.leave(),
  };
}

export type {
  AnchorsRepository,
  BrandsRepository,
  CursorRepository,
  ItemsRepository,
  RecordsRepository,
  TreeNodesRepository,
};
export type { MirrorVersion, ReadBatch };
export { memoAsync, mirrorVersion, polledVersion, ttlCache, versionedCache } from "./cache";
export type { TtlCache } from "./cache";
export { readBatch } from "./read-batch";
