/** The mirror's read repositories over one read-only handle (mirror/read), plus the tree cache that serves proofs from them. */
import type { Database } from "better-sqlite3";
import { createMirrorReader, type MirrorReader } from "../mirror/read";
import { createTreeCache, type TreeCache } from "./trees";

export interface Mirror extends Omit<MirrorReader, "treeNodes"> {
  readonly trees: TreeCache;
}

export function createMirror(db: Database, options: { treeCacheBytes: number }): Mirror {
  const { treeNodes, ...reader } = createMirrorReader(db);
  return {
    ...reader,
    trees: createTreeCache({ treeNodes, records: reader.records, maxBytes: options.treeCacheBytes }),
  };
}
