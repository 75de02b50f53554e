/**
 * The mirror's read side over one handle: the repositories the API reads through, the mirror's
 * version (moves with every commit by the indexer or an upload; the repositories' memos follow it)
 * and the per-turn read transaction the item route runs in.
 *
 *   createMirrorReader(db): MirrorReader
 */
import type { Database } from "better-sqlite3";
import { createAnchorsRepository, type AnchorsRepository } from "./anchors";
import { createBrandsRepository, type BrandsRepository } from "./brands";
import { mirrorVersion, type MirrorVersion } from "./cache";
import { createCursorRepository, type CursorRepository } from "./cursor";
import { createItemsRepository, type ItemsRepository } from "./items";
import { readBatch, type ReadBatch } from "./read-batch";
import { createRecordsRepository, type RecordsRepository } from "./records";
import { createTreeNodesRepository, type TreeNodesRepository } from "./tree-nodes";

export interface MirrorReader {
  readonly cursor: CursorRepository;
  readonly brands: BrandsRepository;
  readonly anchors: AnchorsRepository;
  readonly records: RecordsRepository;
  readonly items: ItemsRepository;
  readonly treeNodes: TreeNodesRepository;
  /** Moves whenever the indexer (or an upload) commits to the mirror; the memos above follow it. */
  readonly version: MirrorVersion;
  /** One read transaction per event-loop turn for the item route's statements. */
  readonly reads: ReadBatch;
}

export function createMirrorReader(db: Database): MirrorReader {
  // Item lookups hit random pages of a large file: map it and keep hot pages in SQLite's cache
  // instead of paying a read() per B-tree page. Both are per-connection and allowed read-only.
  db.pragma("mmap_size = 4294967296");
  db.pragma("cache_size = -65536");
  const dataVersion = db.prepare<[], number>("PRAGMA data_version").pluck();
  const version = mirrorVersion(() => dataVersion.get() ?? 0);
  return {
    cursor: createCursorRepository(db, version),
    brands: createBrandsRepository(db, version),
    anchors: createAnchorsRepository(db),
    records: createRecordsRepository(db),
    items: createItemsRepository(db, version),
    treeNodes: createTreeNodesRepository(db),
    version,
    reads: readBatch(db, { onBegin: () => version.pin(), onEnd: () => version.unpin() }),
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
export { mirrorVersion, ttlCache, versionedCache } from "./cache";
export type { TtlCache } from "./cache";
export { readBatch } from "./read-batch";
