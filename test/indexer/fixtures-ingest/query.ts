/**
 * SQL against either engine's mirror, for tests that read rows as an oracle: `?` placeholders
 * (numbered for PostgreSQL), snake_case column names as selected, numbers as numbers and hashes as
 * Buffers on both engines.
 *
 *   queryRows(store, sql, params?): Promise<T[]>
 *   queryRow(store, sql, params?): Promise<T | undefined>
 *   execute(store, sql, params?): Promise<void>     a statement that returns no rows
 *   tempTables(store): Promise<number>        staging tables left behind (none, after any store)
 *   BATCH_OF, BATCH_OF_ROOT                   SQL for an anchor's batch id, by (brand_id, root) or by root
 */
import type { MirrorStore } from "../../../mirror/store";

/** The batch id of the anchor (brand_id = ?, root = ?): batch rows are keyed by it. */
export const BATCH_OF = "(SELECT batch_id FROM anchors WHERE brand_id = ? AND root = ?)";
/** The batch ids of the anchors with this root (any brand). */
export const BATCH_OF_ROOT = "(SELECT batch_id FROM anchors WHERE root = ?)";

function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

export async function queryRows<T>(store: MirrorStore, sql: string, params: readonly unknown[] = []): Promise<T[]> {
  if (store.engine === "sqlite") return store.db.prepare(sql).all(...params) as T[];
  const result = await store.pool.query(numbered(sql), [...params]);
  return result.rows as T[];
}

export async function queryRow<T>(
  store: MirrorStore,
  sql: string,
  params: readonly unknown[] = [],
): Promise<T | undefined> {
  return (await queryRows<T>(store, sql, params))[0];
}

export async function execute(store: MirrorStore, sql: string, params: readonly unknown[] = []): Promise<void> {
  if (store.engine === "sqlite") store.db.prepare(sql).run(...params);
  else await store.pool.query(numbered(sql), [...params]);
}

/** TEMP tables that exist now: SQLite's of this connection; PostgreSQL's of every session on the database. */
export async function tempTables(store: MirrorStore): Promise<number> {
  const sql =
    store.engine === "sqlite"
      ? "SELECT count(*) AS n FROM sqlite_temp_master WHERE type = 'table'"
      : "SELECT count(*) AS n FROM pg_class WHERE relpersistence = 't' AND relkind = 'r'";
  return (await queryRow<{ n: number }>(store, sql))?.n ?? 0;
}
