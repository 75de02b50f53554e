/** The repositories over one read-only mirror handle, plus the tree cache that serves proofs from it. */
import type { Database } from "better-sqlite3";
import { mirrorVersion, type MirrorVersion } from "./cache";
import { readBatch, type ReadBatch } from "./read-batch";
import { createAnchorsRepository, type AnchorsRepository } from "./repositories/anchors";
import { createBrandsRepository, type BrandsRepository } from "./repositories/brands";
import { createCursorRepository, type CursorRepository } from "./repositories/cursor";
import { createItemsRepository, type ItemsRepository } from "./repositories/items";
import { createRecordsRepository, type RecordsRepository } from "./repositories/records";
import { createTreeNodesRepository } from "./repositories/tree-nodes";
import { createTreeCache, type TreeCache } from "./trees";

export interface Mirror {
  readonly cursor: CursorRepository;
  readonly brands: BrandsRepository;
  readonly anchors: AnchorsRepository;
  readonly records: RecordsRepository;
  readonly items: ItemsRepository;
  readonly trees: TreeCache;
  /** Moves whenever the indexer (or an upload) commits to the mirror; the memos above follow it. */
  readonly version: MirrorVersion;
  /** One read transaction per event-loop turn for the item route's statements. */
  readonly reads: ReadBatch;
}

export function createMirror(db: Database, options: { treeCacheBytes: number }): Mirror {
  // Item lookups hit random pages of a large file: map it and keep hot pages in SQLite's cache
  // instead of paying a read() per B-tree page. Both are per-connection and allowed read-only.
  db.pragma("mmap_size = 4294967296");
  db.pragma("cache_size = -65536");
  const records = createRecordsRepository(db);
  const dataVersion = db.prepare<[], number>("PRAGMA data_version").pluck();
  const version = mirrorVersion(() => dataVersion.get() ?? 0);
  return {
    cursor: createCursorRepository(db, version),
    brands: createBrandsRepository(db, version),
    anchors: createAnchorsRepository(db),
    records,
    items: createItemsRepository(db, version),
    trees: createTreeCache({ treeNodes: createTreeNodesRepository(db), records, maxBytes: options.treeCacheBytes }),
    version,
    reads: readBatch(db, { onBegin: () => version.pin(), onEnd: () => version.unpin() }),
  };
}
