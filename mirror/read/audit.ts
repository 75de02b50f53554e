/**
 * What `traceanchor audit --db` compares with the chain: every anchor, prefix and submitter row and
 * the stored records of a batch, as stored (column names as in the schema). Opened read-only and
 * without a schema check, so an auditor can inspect a mirror of any version.
 *
 *   openMirrorAudit(file): MirrorAudit
 */
import { openDatabase } from "../db";
import type { AnchorDb } from "./anchors";

export type AuditAnchorRow = Pick<
  AnchorDb,
  | "brand_id"
  | "root"
  | "kind"
  | "leaf_count"
  | "content_uri"
  | "submitter"
  | "tx_hash"
  | "block_number"
  | "revoked_at_block"
  | "revoke_reason"
  | "content_status"
>;

export interface MirrorAudit {
  anchors(): AuditAnchorRow[];
  /** The batch's records in leaf order. */
  records(brandId: number, root: string): { leaf_index: number; record_hash: Buffer; record: string }[];
  prefixes(): { prefix: string; brand_id: number }[];
  submitters(): { brand_id: number; account: string; role: string | null }[];
  close(): void;
}

export function openMirrorAudit(file: string): MirrorAudit {
  const db = openDatabase(file, { readonly: true });
  // Any version: batch ids since migration 007, (brand_id, root) before.
  const batchIds = (db.prepare("PRAGMA table_info(records)").all() as { name: string }[]).some(
    (column) => column.name === "batch_id",
  );
  const statements = {
    anchors: db.prepare<[], AuditAnchorRow>(
      "SELECT brand_id, root, kind, leaf_count, content_uri, submitter, tx_hash, block_number, revoked_at_block, revoke_reason, content_status FROM anchors",
    ),
    records: db.prepare<[number, string], { leaf_index: number; record_hash: Buffer; record: string }>(
      "SELECT leaf_index, record_hash, record FROM records " +
        (batchIds
          ? "WHERE batch_id = (SELECT batch_id FROM anchors WHERE brand_id = ? AND root = ?) ORDER BY leaf_index"
          : "WHERE brand_id = ? AND root = ? ORDER BY leaf_index"),
    ),
    prefixes: db.prepare<[], { prefix: string; brand_id: number }>("SELECT prefix, brand_id FROM prefixes"),
    submitters: db.prepare<[], { brand_id: number; account: string; role: string | null }>(
      "SELECT brand_id, account, role FROM submitters",
    ),
  };
  return {
    anchors: () => statements.anchors.all(),
    records: (brandId, root) => statements.records.all(brandId, root),
    prefixes: () => statements.prefixes.all(),
    submitters: () => statements.submitters.all(),
    close: () => db.close(),
  };
}
