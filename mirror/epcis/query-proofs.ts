/**
 * Where a page of query results is anchored: the mirror's anchored copies of many record hashes at
 * once, for the `ta:proof` of each event (the proofs themselves come from the API's tree cache).
 *
 *   createAnchoredLookup(mirror, reader): AnchoredLookup
 *
 * On SQLite it asks the mirror reader's `records.byHash` for each hash (in-process, no round trip).
 * On PostgreSQL it is one statement for the whole page: the same join as `records.byHash`
 * (mirror/pg/read.ts) over `record_hash = ANY($1)`, so a page costs one round trip, not one per event.
 */
import type { Database } from "better-sqlite3";
import type { Async } from "../async";
import type { RecordsRepository } from "../read";
import { ANCHOR_COLUMNS, toAnchor, type AnchorDb } from "../read/anchors";
import type { MirrorStore } from "../store";
import type { AnchoredRecordRow } from "../types";

export interface AnchoredLookup {
  /** Every anchored copy of each hash (at most `maxCopies` each), keyed by the hash's hex. */
  copies(recordHashes: readonly Buffer[], maxCopies: number): Promise<Map<string, AnchoredRecordRow[]>>;
}

interface RecordJoinDb extends AnchorDb {
  leaf_index: number;
  record_hash: Buffer;
  record: string;
}

export function createAnchoredLookup(
  mirror: MirrorStore | Database,
  records: Pick<Async<RecordsRepository>, "byHash">,
): AnchoredLookup {
  if ("engine" in mirror && mirror.engine === "postgres") {
    const pool = mirror.readPool;
    return {
      async copies(recordHashes, maxCopies) {
        const result = new Map<string, AnchoredRecordRow[]>();
        if (recordHashes.length === 0) return result;
        const { rows } = await pool.query<RecordJoinDb>({
          text:
            `SELECT r.leaf_index, r.record_hash, r.record, ${ANCHOR_COLUMNS} FROM records r ` +
            "JOIN anchors a ON a.batch_id = r.batch_id " +
            // records_hash indexes the first 8 bytes of the hash.
            "WHERE substring(r.record_hash FROM 1 FOR 8) = ANY($1::bytea[]) AND r.record_hash = ANY($2::bytea[]) " +
            "ORDER BY a.block_number, a.log_index, r.leaf_index",
          values: [recordHashes.map((hash) => hash.subarray(0, 8)), recordHashes],
        });
        for (const row of rows) {
          const key = row.record_hash.toString("hex");
          const list = result.get(key) ?? [];
          if (list.length >= maxCopies) continue;
          list.push({
            leafIndex: row.leaf_index,
            recordHash: row.record_hash,
            record: row.record,
            anchor: toAnchor(row),
          });
          result.set(key, list);
        }
        return result;
      },
    };
  }
  return {
    async copies(recordHashes, maxCopies) {
      const found = await Promise.all(recordHashes.map((hash) => records.byHash(hash, maxCopies)));
      const result = new Map<string, AnchoredRecordRow[]>();
      recordHashes.forEach((hash, i) => {
        const rows = found[i] ?? [];
        if (rows.length > 0) result.set(hash.toString("hex"), rows);
      });
      return result;
    },
  };
}
