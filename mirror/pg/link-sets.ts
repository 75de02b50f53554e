/**
 * Brands' link sets on PostgreSQL (`trace_state.link_sets`, migration 006): the rows, one per GTIN,
 * and the version that triggers move with every change to them, in the writer's transaction.
 * api/repositories/link-sets.ts keeps the memo and the meaning; this file only reads and writes.
 *
 *   pgLinkSetTable(pool): PgLinkSetTable
 */
import type { Pool } from "./db";

/** A row as both engines store it. */
export interface LinkSetRow {
  gtin: string;
  brand_id: string;
  issued_at: number;
  chain_id: string;
  contract: string;
  message: string;
  signature: string;
  signer: string;
  accepted_at: number;
}

export interface PgLinkSetTable {
  get(gtin: string): Promise<LinkSetRow | undefined>;
  /**
   * Writes `row` unless the stored row of its GTIN has an issued_at at least as great: true when
   * written. One statement, so another replica's put of the same GTIN cannot slip in between the
   * comparison and the write, and a failure leaves nothing of it.
   */
  putIfNewer(row: LinkSetRow): Promise<boolean>;
  /** The version: it moves with every commit that changed a row. */
  version(): Promise<number>;
}

const COLUMNS = "gtin, brand_id, issued_at, chain_id, contract, message, signature, signer, accepted_at";

const PUT =
  `INSERT INTO trace_state.link_sets AS l (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ` +
  "ON CONFLICT (gtin) DO UPDATE SET brand_id = excluded.brand_id, issued_at = excluded.issued_at, chain_id = excluded.chain_id, " +
  "contract = excluded.contract, message = excluded.message, signature = excluded.signature, signer = excluded.signer, " +
  "accepted_at = excluded.accepted_at WHERE l.issued_at < excluded.issued_at RETURNING 1";

export function pgLinkSetTable(pool: Pool): PgLinkSetTable {
  return {
    async get(gtin) {
      const result = await pool.query<LinkSetRow>({
        name: "trace-link-set-get",
        text: `SELECT ${COLUMNS} FROM trace_state.link_sets WHERE gtin = $1`,
        values: [gtin],
      });
      return result.rows[0];
    },
    async putIfNewer(row) {
      const result = await pool.query({
        name: "trace-link-set-put",
        text: PUT,
        values: [
          row.gtin,
          row.brand_id,
          row.issued_at,
          row.chain_id,
          row.contract,
          row.message,
          row.signature,
          row.signer,
          row.accepted_at,
        ],
      });
      return result.rowCount === 1;
    },
    async version() {
      const result = await pool.query<{ version: number }>({
        name: "trace-link-set-version",
        text: "SELECT version FROM trace_state.link_sets_version WHERE id = 1",
      });
      return result.rows[0]?.version ?? 0;
    },
  };
}
