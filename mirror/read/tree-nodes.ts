/** The serialised Merkle tree of a batch, as the ingester stored it. */
import type { Database } from "better-sqlite3";

export interface TreeNodesRepository {
  get(brandId: number, root: string): Buffer | undefined;
}

export function createTreeNodesRepository(db: Database): TreeNodesRepository {
  const select = db.prepare<[number, string], { nodes: Buffer }>(
    "SELECT nodes FROM tree_nodes WHERE brand_id = ? AND root = ?",
  );
  return {
    get: (brandId, root) => select.get(brandId, root)?.nodes,
  };
}
