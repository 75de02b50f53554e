/**
 * Rows written directly, not folded from chain events: fixture mirrors for tests and benchmarks
 * (a mirror of a chain that never ran). The indexer never uses this; contents still go through
 * `storeContent` (mirror/write/content.ts), so seeded batches are stored exactly as ingested ones.
 *
 *   createSeeder(db): Seeder
 */
import type { Db } from "../db";
import type { AnchorRow, ContentStatus } from "../types";

/** An anchor row to seed: the mirror's own fields, plus the block hash the reorg window keys on. */
export interface SeedAnchor extends Pick<
  AnchorRow,
  | "brandId"
  | "root"
  | "kind"
  | "leafCount"
  | "contentUri"
  | "submitter"
  | "blockNumber"
  | "txHash"
  | "logIndex"
  | "blockTime"
> {
  readonly blockHash: string;
  readonly revoked?: {
    readonly block: number;
    readonly by: string;
    readonly reason: string;
    readonly tx: string;
    readonly log: number;
    readonly time: number;
  };
  /** Default 'pending': store the contents with storeContent, which sets 'ok'. */
  readonly contentStatus?: ContentStatus;
  readonly contentError?: string | null;
}

export interface Seeder {
  cursor(row: {
    chainId: number;
    contract: string;
    fromBlock: number;
    blockNumber: number;
    blockHash: string;
    headBlock: number;
    finalizedBlock: number;
  }): void;
  block(row: { number: number; hash: string; parentHash: string; timestamp: number }): void;
  brand(row: {
    brandId: number;
    admin: string;
    name: string;
    block: number;
    tx: string;
    log: number;
    time: number;
  }): void;
  prefix(row: { prefix: string; brandId: number; block: number; tx: string; log: number; time: number }): void;
  submitter(row: {
    brandId: number;
    account: string;
    role: string | null;
    roleRaw: string;
    block: number;
    tx: string;
    log: number;
    time: number;
  }): void;
  anchor(row: SeedAnchor): void;
  /** Sets an anchor's revocation (what the indexer's Revoked event does). */
  revoke(brandId: number, root: string, revocation: { block: number; by: string; reason: string }): void;
  /** Removes an anchor and its contents (what a reorg does to it). */
  removeAnchor(brandId: number, root: string): void;
  /** Sets a brand's admin (what an admin transfer does). */
  setAdmin(brandId: number, admin: string): void;
  /** Releases a prefix (what PrefixReleased does). */
  releasePrefix(prefix: string): void;
}

export function createSeeder(db: Db): Seeder {
  const statements = {
    cursor: db.prepare(
      "INSERT INTO cursor (id, chain_id, contract, from_block, block_number, block_hash, head_block, finalized_block) VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
    ),
    block: db.prepare("INSERT INTO blocks (number, hash, parent_hash, timestamp) VALUES (?, ?, ?, ?)"),
    brand: db.prepare(
      "INSERT INTO brands (brand_id, admin, pending_admin, name, registered_block, registered_tx, registered_log, registered_time, updated_block) " +
        "VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?)",
    ),
    prefix: db.prepare(
      "INSERT INTO prefixes (prefix, brand_id, assigned_block, assigned_tx, assigned_log, assigned_time) VALUES (?, ?, ?, ?, ?, ?)",
    ),
    submitter: db.prepare(
      "INSERT INTO submitters (brand_id, account, role, role_raw, set_block, set_tx, set_log, set_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    anchor: db.prepare(
      "INSERT INTO anchors (brand_id, root, kind, leaf_count, content_uri, submitter, block_number, block_hash, tx_hash, tx_index, log_index, block_time, " +
        "revoked_at_block, revoked_by, revoke_reason, revoke_tx, revoke_log, revoked_time, content_status, content_error) " +
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    revoke: db.prepare(
      "UPDATE anchors SET revoked_at_block = ?, revoked_by = ?, revoke_reason = ? WHERE brand_id = ? AND root = ?",
    ),
    removeAnchor: db.prepare("DELETE FROM anchors WHERE brand_id = ? AND root = ?"),
    setAdmin: db.prepare("UPDATE brands SET admin = ? WHERE brand_id = ?"),
    releasePrefix: db.prepare("DELETE FROM prefixes WHERE prefix = ?"),
  };
  return {
    cursor: (r) =>
      void statements.cursor.run(
        r.chainId,
        r.contract,
        r.fromBlock,
        r.blockNumber,
        r.blockHash,
        r.headBlock,
        r.finalizedBlock,
      ),
    block: (r) => void statements.block.run(r.number, r.hash, r.parentHash, r.timestamp),
    brand: (r) => void statements.brand.run(r.brandId, r.admin, r.name, r.block, r.tx, r.log, r.time, r.block),
    prefix: (r) => void statements.prefix.run(r.prefix, r.brandId, r.block, r.tx, r.log, r.time),
    submitter: (r) =>
      void statements.submitter.run(r.brandId, r.account, r.role, r.roleRaw, r.block, r.tx, r.log, r.time),
    anchor(a) {
      const r = a.revoked;
      statements.anchor.run(
        a.brandId,
        a.root,
        a.kind,
        a.leafCount,
        a.contentUri,
        a.submitter,
        a.blockNumber,
        a.blockHash,
        a.txHash,
        a.logIndex,
        a.blockTime,
        r?.block ?? null,
        r?.by ?? null,
        r?.reason ?? null,
        r?.tx ?? null,
        r?.log ?? null,
        r?.time ?? null,
        a.contentStatus ?? "pending",
        a.contentError ?? null,
      );
    },
    revoke: (brandId, root, r) => void statements.revoke.run(r.block, r.by, r.reason, brandId, root),
    removeAnchor: (brandId, root) => void statements.removeAnchor.run(brandId, root),
    setAdmin: (brandId, admin) => void statements.setAdmin.run(admin, brandId),
    releasePrefix: (prefix) => void statements.releasePrefix.run(prefix),
  };
}
