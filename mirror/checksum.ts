/**
 * A digest of every table's rows in a fixed order: two mirrors of the same chain are equal iff
 * their checksums are. Used by the crash and fault tests, and handy to compare replicas.
 *
 * Batch ids (migration 007) are the mirror's own numbering, not the chain's: a mirror that saw a
 * reorg numbers a re-anchored batch differently from one that did not. So the digest leaves
 * anchors.batch_id out and reads every other batch_id column as the anchor's (brand_id, root).
 */
import { createHash } from "node:crypto";
import type { Db } from "./db";
import type { Pool } from "./pg/db";
import type { MirrorStore } from "./store";

/** Tables whose rows depend on when, not what, the indexer ran (or that only one engine has). */
const SKIPPED = new Set(["schema_migrations", "mirror_version"]);

/**
 * The select list of a table's rows as digested, each item once with its type: batch ids replaced
 * by the anchor's brand_id and root (joined as `a`), the table itself read as `t`.
 */
function digestColumns<C extends { name: string }>(
  table: string,
  columns: readonly C[],
  anchorColumn: (name: "brand_id" | "root") => C,
): { expr: string; column: C }[] {
  const out: { expr: string; column: C }[] = [];
  for (const column of columns) {
    if (column.name !== "batch_id") out.push({ expr: `t."${column.name}"`, column });
    else if (table !== "anchors")
      for (const name of ["brand_id", "root"] as const) out.push({ expr: `a."${name}"`, column: anchorColumn(name) });
  }
  return out;
}

function digestFrom(table: string, columns: readonly { name: string }[]): string {
  const joined = table !== "anchors" && columns.some((column) => column.name === "batch_id");
  return `"${table}" t${joined ? " JOIN anchors a ON a.batch_id = t.batch_id" : ""}`;
}

export function tableChecksums(db: Db): Record<string, string> {
  const tables = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .all() as { name: string }[];
  const result: Record<string, string> = {};
  for (const { name } of tables) {
    if (SKIPPED.has(name)) continue;
    const info = db.prepare(`PRAGMA table_info("${name}")`).all() as { name: string }[];
    const columns = digestColumns(name, info, (column) => ({ name: column })).map((c) => c.expr);
    const hash = createHash("sha256");
    let rows = 0;
    for (const row of db
      .prepare(`SELECT ${columns.join(", ")} FROM ${digestFrom(name, info)} ORDER BY ${columns.join(", ")}`)
      .raw()
      .iterate()) {
      hash.update(
        JSON.stringify(row, (_key, value: unknown) => (Buffer.isBuffer(value) ? value.toString("hex") : value)),
      );
      hash.update("\n");
      rows++;
    }
    result[name] = `${rows}:${hash.digest("hex")}`;
  }
  return result;
}

export function databaseChecksum(db: Db): string {
  return createHash("sha256")
    .update(JSON.stringify(tableChecksums(db)))
    .digest("hex");
}

/**
 * The PostgreSQL twin of `tableChecksums`: the same tables, columns, order and value encoding
 * (bytea as hex, bigint as a number, NULL first, text in byte order), so that the same chain gives
 * the same digest on both engines.
 */
export async function pgTableChecksums(pool: Pool): Promise<Record<string, string>> {
  const tables = await pool.query<{ name: string }>(
    'SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename COLLATE "C"',
  );
  const result: Record<string, string> = {};
  for (const { name } of tables.rows) {
    if (SKIPPED.has(name)) continue;
    const columns = await pool.query<{ name: string; type: string }>(
      "SELECT column_name AS name, data_type AS type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
      [name],
    );
    const selected = digestColumns(name, columns.rows, (column) => ({
      name: column,
      type: column === "root" ? "text" : "bigint",
    }));
    const order = selected
      .map((c) => `${c.expr}${c.column.type === "text" ? ' COLLATE "C"' : ""} NULLS FIRST`)
      .join(", ");
    const hash = createHash("sha256");
    const rows = await pool.query({
      text: `SELECT ${selected.map((c) => c.expr).join(", ")} FROM ${digestFrom(name, columns.rows)} ORDER BY ${order}`,
      rowMode: "array",
    });
    for (const row of rows.rows as unknown[][]) {
      hash.update(
        JSON.stringify(row, (_key, value: unknown) => (Buffer.isBuffer(value) ? value.toString("hex") : value)),
      );
      hash.update("\n");
    }
    result[name] = `${rows.rows.length}:${hash.digest("hex")}`;
  }
  return result;
}

/** Per-table checksums of either engine's mirror. */
export function storeTableChecksums(store: MirrorStore): Promise<Record<string, string>> {
  return store.engine === "sqlite" ? Promise.resolve(tableChecksums(store.db)) : pgTableChecksums(store.pool);
}

/** The digest of either engine's mirror: equal for equal contents, across engines too. */
export async function storeChecksum(store: MirrorStore): Promise<string> {
  return createHash("sha256")
    .update(JSON.stringify(await storeTableChecksums(store)))
    .digest("hex");
}
