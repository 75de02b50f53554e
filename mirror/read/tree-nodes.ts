/** The serialised Merkle tree of a batch, as the ingester stored it. */
import type { Database } from "better-sqlite3";
import { BATCH_OF } from "./anchors";

export interface TreeNodesRepository {
  get(brandId: number, root: string): Buffer | undefined;
}

export function createTreeNodesRepository(db: Database): TreeNodesRepository {
  const select = db.prepare<[number, string], { nodes: Buffer }>(
    `SELECT nodes FROM tree_nodes WHERE batch_id = ${BATCH_OF}`,
  );
  return {
    get: (brandId, root) => select.get(brandId, root)?.nodes,
  };
}
