/**
 * `traceanchor audit --compare-db` on a PostgreSQL mirror: the same rows as SQLite's
 * mirror/read/audit.ts (same columns, same order of records), read in one repeatable-read snapshot
 * so that an indexer writing meanwhile cannot make the audit see half a batch. Like the SQLite
 * audit, no schema check: an auditor can inspect a mirror of any version.
 *
 *   openPgMirrorAudit(url, variable?): Promise<Async<MirrorAudit>>
 */
import type { Async } from "../async";
import type { AuditAnchorRow, MirrorAudit } from "../read/audit";
import { openPgPool } from "./db";

type RecordRow = ReturnType<MirrorAudit["records"]>[number];

export async function openPgMirrorAudit(url: string, variable = "--compare-db"): Promise<Async<MirrorAudit>> {
  const pool = await openPgPool(url, { variable, max: 1, application: "traceanchor-audit" });
  const client = await pool.connect();
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  } catch (error) {
    client.release(true);
    await pool.end();
    throw error;
  }
  const rows = async <T>(text: string, values: unknown[] = []): Promise<T[]> =>
    (await client.query<T & object>(text, values)).rows;
  return {
    anchors: () =>
      rows<AuditAnchorRow>(
        "SELECT brand_id, root, kind, leaf_count, content_uri, submitter, tx_hash, block_number, revoked_at_block, revoke_reason, content_status FROM anchors",
      ),
    records: (brandId, root) =>
      rows<RecordRow>(
        "SELECT leaf_index, record_hash, record FROM records WHERE batch_id = (SELECT batch_id FROM anchors WHERE brand_id = $1 AND root = $2) ORDER BY leaf_index",
        [brandId, root],
      ),
    prefixes: () => rows<{ prefix: string; brand_id: number }>("SELECT prefix, brand_id FROM prefixes"),
    submitters: () =>
      rows<{ brand_id: number; account: string; role: string | null }>(
        "SELECT brand_id, account, role FROM submitters",
      ),
    close: async () => {
      await client.query("COMMIT").catch(() => undefined);
      client.release();
      await pool.end();
    },
  };
}
