/** Batch contents: records by hash, pages of a batch, and the leaves needed to rebuild a tree. */
import type { Database } from "better-sqlite3";
import type { AnchoredRecordRow, RecordRow } from "../types";
import { ANCHOR_COLUMNS, BATCH_OF, toAnchor, type AnchorDb } from "./anchors";

export interface RecordsRepository {
  /** Every anchored copy of the record, oldest anchor first. */
  byHash(recordHash: Buffer, limit: number): AnchoredRecordRow[];
  /** Records of a batch with leaf_index > after, in leaf order. */
  page(brandId: number, root: string, after: number, limit: number): RecordRow[];
  /** All record hashes of a batch in leaf order, packed (32 bytes each). */
  packedHashes(brandId: number, root: string): Buffer;
}

interface RecordDb {
  leaf_index: number;
  record_hash: Buffer;
  record: string;
}

export function createRecordsRepository(db: Database): RecordsRepository {
  const statements = {
    byHash: db.prepare<[Buffer, Buffer, number], RecordDb & AnchorDb>(
      `SELECT r.leaf_index, r.record_hash, r.record, ${ANCHOR_COLUMNS} FROM records r ` +
        "JOIN anchors a ON a.batch_id = r.batch_id " +
        // records_hash indexes the first 8 bytes of the hash.
        "WHERE substr(r.record_hash, 1, 8) = ? AND r.record_hash = ? ORDER BY a.block_number, a.log_index, r.leaf_index LIMIT ?",
    ),
    page: db.prepare<[number, string, number, number], RecordDb>(
      `SELECT leaf_index, record_hash, record FROM records WHERE batch_id = ${BATCH_OF} AND leaf_index > ? ORDER BY leaf_index LIMIT ?`,
    ),
    hashes: db.prepare<[number, string], { record_hash: Buffer }>(
      `SELECT record_hash FROM records WHERE batch_id = ${BATCH_OF} ORDER BY leaf_index`,
    ),
  };
  return {
    byHash: (recordHash, limit) =>
      statements.byHash.all(recordHash.subarray(0, 8), recordHash, limit).map((row) => ({
        leafIndex: row.leaf_index,
        recordHash: row.record_hash,
        record: row.record,
        anchor: toAnchor(row),
      })),
    page: (brandId, root, after, limit) =>
      statements.page
        .all(brandId, root, after, limit)
        .map((row) => ({ leafIndex: row.leaf_index, recordHash: row.record_hash, record: row.record })),
    packedHashes(brandId, root) {
      const chunks: Buffer[] = [];
      for (const row of statements.hashes.iterate(brandId, root)) chunks.push(row.record_hash);
      return Buffer.concat(chunks);
    },
  };
}
