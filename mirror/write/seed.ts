/**
 * Rows written directly, not folded from chain events: fixture mirrors for tests and benchmarks
 * (a mirror of a chain that never ran). The indexer never uses this; contents still go through
 * `storeContent` (mirror/write/content.ts), so seeded batches are stored exactly as ingested ones.
 *
 *   createSeeder(store: MirrorStore): Seeder        either engine; every method returns a promise
 *   createSqliteSeeder(db): SeedRows                SQLite, synchronous (inside a db.transaction)
 *
 * PostgreSQL's twin is mirror/pg/seed.ts: the same statements, the same rows.
 */
import { lift, type Async } from "../async";
import type { Db } from "../db";
import { createPgSeeder } from "../pg/seed";
import type { MirrorStore } from "../store";
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

export interface SeedRows {
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

export type Seeder = Async<SeedRows>;

/** One seeding write: its SQL (`?` placeholders, in both engines' dialect otherwise) and its parameters. */
export interface SeedWrite<Row extends unknown[]> {
  readonly sql: string;
  readonly args: (...row: Row) => unknown[];
}

export type SeedWrites = { readonly [K in keyof SeedRows]: SeedWrite<Parameters<SeedRows[K]>> };

export const SEED_WRITES: SeedWrites = {
  cursor: {
    sql: "INSERT INTO cursor (id, chain_id, contract, from_block, block_number, block_hash, head_block, finalized_block) VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
    args: (r) => [r.chainId, r.contract, r.fromBlock, r.blockNumber, r.blockHash, r.headBlock, r.finalizedBlock],
  },
  block: {
    sql: "INSERT INTO blocks (number, hash, parent_hash, timestamp) VALUES (?, ?, ?, ?)",
    args: (r) => [r.number, r.hash, r.parentHash, r.timestamp],
  },
  brand: {
    sql:
      "INSERT INTO brands (brand_id, admin, pending_admin, name, registered_block, registered_tx, registered_log, registered_time, updated_block) " +
      "VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?)",
    args: (r) => [r.brandId, r.admin, r.name, r.block, r.tx, r.log, r.time, r.block],
  },
  prefix: {
    sql: "INSERT INTO prefixes (prefix, brand_id, assigned_block, assigned_tx, assigned_log, assigned_time) VALUES (?, ?, ?, ?, ?, ?)",
    args: (r) => [r.prefix, r.brandId, r.block, r.tx, r.log, r.time],
  },
  submitter: {
    sql: "INSERT INTO submitters (brand_id, account, role, role_raw, set_block, set_tx, set_log, set_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    args: (r) => [r.brandId, r.account, r.role, r.roleRaw, r.block, r.tx, r.log, r.time],
  },
  anchor: {
    sql:
      "INSERT INTO anchors (brand_id, root, kind, leaf_count, content_uri, submitter, block_number, block_hash, tx_hash, tx_index, log_index, block_time, " +
      "revoked_at_block, revoked_by, revoke_reason, revoke_tx, revoke_log, revoked_time, content_status, content_error) " +
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    args: (a) => [
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
      a.revoked?.block ?? null,
      a.revoked?.by ?? null,
      a.revoked?.reason ?? null,
      a.revoked?.tx ?? null,
      a.revoked?.log ?? null,
      a.revoked?.time ?? null,
      a.contentStatus ?? "pending",
      a.contentError ?? null,
    ],
  },
  revoke: {
    sql: "UPDATE anchors SET revoked_at_block = ?, revoked_by = ?, revoke_reason = ? WHERE brand_id = ? AND root = ?",
    args: (brandId, root, r) => [r.block, r.by, r.reason, brandId, root],
  },
  removeAnchor: {
    sql: "DELETE FROM anchors WHERE brand_id = ? AND root = ?",
    args: (brandId, root) => [brandId, root],
  },
  setAdmin: {
    sql: "UPDATE brands SET admin = ? WHERE brand_id = ?",
    args: (brandId, admin) => [admin, brandId],
  },
  releasePrefix: {
    sql: "DELETE FROM prefixes WHERE prefix = ?",
    args: (prefix) => [prefix],
  },
};

export function createSeeder(store: MirrorStore): Seeder {
  return store.engine === "sqlite" ? lift(createSqliteSeeder(store.db)) : createPgSeeder(store.pool, SEED_WRITES);
}

/** SQLite's seeder: synchronous, so that a fixture may seed inside one db.transaction. */
export function createSqliteSeeder(db: Db): SeedRows {
  const w = SEED_WRITES;
  return {
    cursor: prepare(db, w.cursor),
    block: prepare(db, w.block),
    brand: prepare(db, w.brand),
    prefix: prepare(db, w.prefix),
    submitter: prepare(db, w.submitter),
    anchor: prepare(db, w.anchor),
    revoke: prepare(db, w.revoke),
    removeAnchor: prepare(db, w.removeAnchor),
    setAdmin: prepare(db, w.setAdmin),
    releasePrefix: prepare(db, w.releasePrefix),
  };
}

function prepare<Row extends unknown[]>(db: Db, write: SeedWrite<Row>): (...row: Row) => void {
  const statement = db.prepare(write.sql);
  return (...row) => void statement.run(...write.args(...row));
}
