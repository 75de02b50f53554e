/** The mirror's read repositories (mirror/read, either engine), plus the tree cache that serves proofs from them. */
import { createMirrorReader, type MirrorReader } from "../mirror/read";
import type { MirrorStore } from "../mirror/store";
import type { Database } from "better-sqlite3";
import { createTreeCache, type TreeCache } from "./trees";

export interface Mirror extends Omit<MirrorReader, "treeNodes"> {
  readonly trees: TreeCache;
}

export function createMirror(target: MirrorStore | Database, options: { treeCacheBytes: number }): Mirror {
  const { treeNodes, ...reader } = createMirrorReader(target);
  return {
    ...reader,
    trees: createTreeCache({ treeNodes, records: reader.records, maxBytes: options.treeCacheBytes }),
  };
}
