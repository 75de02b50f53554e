/** Anchored batches, with their revocation and content status. */
import type { Database } from "better-sqlite3";
import type { AnchorPosition, AnchorRow, ContentStatus } from "../types";

export interface ListAnchorsQuery {
  readonly brandId?: number;
  readonly kind?: number;
  /** Only anchors strictly older than this position (newest first). */
  readonly before?: AnchorPosition;
  readonly limit: number;
}

export interface AnchorsRepository {
  get(brandId: number, root: string): AnchorRow | undefined;
  /** Newest first. */
  list(query: ListAnchorsQuery): AnchorRow[];
}

/** The anchors columns, selected as `a.*`-free explicit names so joins can reuse them. */
export const ANCHOR_COLUMNS =
  "a.brand_id, a.root, a.kind, a.leaf_count, a.content_uri, a.submitter, a.block_number, a.tx_hash, a.log_index, a.block_time, " +
  "a.revoked_at_block, a.revoked_by, a.revoke_reason, a.revoke_tx, a.revoked_time, a.content_status, a.content_error";

/** The batch id of the anchor (brand_id = ?, root = ?): batch rows are keyed by it (migration 007). */
export const BATCH_OF = "(SELECT batch_id FROM anchors WHERE brand_id = ? AND root = ?)";

export interface AnchorDb {
  brand_id: number;
  root: string;
  kind: number;
  leaf_count: number;
  content_uri: string;
  submitter: string;
  block_number: number;
  tx_hash: string;
  log_index: number;
  block_time: number;
  revoked_at_block: number | null;
  revoked_by: string | null;
  revoke_reason: string | null;
  revoke_tx: string | null;
  revoked_time: number | null;
  content_status: ContentStatus;
  content_error: string | null;
}

const MAX_POSITION = { blockNumber: Number.MAX_SAFE_INTEGER, logIndex: Number.MAX_SAFE_INTEGER };

export function createAnchorsRepository(db: Database): AnchorsRepository {
  const statements = {
    get: db.prepare<[number, string], AnchorDb>(
      `SELECT ${ANCHOR_COLUMNS} FROM anchors a WHERE a.brand_id = ? AND a.root = ?`,
    ),
    list: db.prepare<
      { brand: number | null; kind: number | null; block: number; log: number; limit: number },
      AnchorDb
    >(
      `SELECT ${ANCHOR_COLUMNS} FROM anchors a ` +
        "WHERE (a.block_number < :block OR (a.block_number = :block AND a.log_index < :log)) " +
        "AND (:brand IS NULL OR a.brand_id = :brand) AND (:kind IS NULL OR a.kind = :kind) " +
        "ORDER BY a.block_number DESC, a.log_index DESC LIMIT :limit",
    ),
  };
  return {
    get(brandId, root) {
      const row = statements.get.get(brandId, root);
      return row === undefined ? undefined : toAnchor(row);
    },
    list(query) {
      const before = query.before ?? MAX_POSITION;
      return statements.list
        .all({
          brand: query.brandId ?? null,
          kind: query.kind ?? null,
          block: before.blockNumber,
          log: before.logIndex,
          limit: query.limit,
        })
        .map(toAnchor);
    },
  };
}

export function toAnchor(row: AnchorDb): AnchorRow {
  return {
    brandId: row.brand_id,
    root: row.root,
    kind: row.kind,
    leafCount: row.leaf_count,
    contentUri: row.content_uri,
    submitter: row.submitter,
    blockNumber: row.block_number,
    txHash: row.tx_hash,
    logIndex: row.log_index,
    blockTime: row.block_time,
    revokedAtBlock: row.revoked_at_block,
    revokedBy: row.revoked_by,
    revokeReason: row.revoke_reason,
    revokeTx: row.revoke_tx,
    revokedTime: row.revoked_time,
    contentStatus: row.content_status,
    contentError: row.content_error,
  };
}
