/**
 * Copies a SQLite mirror into a PostgreSQL one, table by table with COPY, in one transaction: the
 * way from the embedded default to PostgreSQL without re-indexing the chain
 * (`traceanchor mirror copy --to postgres://…`), and how the API suites run on both engines over one
 * fixture. The target's mirror tables are emptied first, so a copy is also a re-sync; identity_counts
 * is not copied but rebuilt by the target's own triggers from item_keys, as the indexer's writes
 * would have built it. Batch ids are kept (rows reference them) and the target's id sequence moves
 * past them. Same chain ⇒ same digest (`storeChecksum`) afterwards.
 *
 *   copyMirror(sqlite, pg): Promise<Record<string, number>>     rows copied per table
 */
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { from as copyFrom } from "pg-copy-streams";
import type { Db } from "./db";
import { inTransaction, type Pool } from "./pg/db";

/** Mirror tables in foreign-key order (parents first). identity_counts follows from item_keys. */
export const COPIED_TABLES = [
  "cursor",
  "blocks",
  "events_raw",
  "brands",
  "prefixes",
  "submitters",
  "anchors",
  "records",
  "item_keys",
  "tree_nodes",
] as const;

/** A value in COPY's text format: \N for NULL, \\x… for bytes, backslash escapes for text. */
function copyText(value: unknown): string {
  if (value === null || value === undefined) return "\\N";
  if (Buffer.isBuffer(value)) return `\\\\x${value.toString("hex")}`;
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  if (typeof value !== "string") throw new TypeError(`cannot COPY a ${typeof value} value`);
  return value.replace(/[\\\t\n\r]/g, (c) => (c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r"));
}

function columnsOf(db: Db, table: string): string[] {
  return (db.prepare(`PRAGMA table_info("${table}")`).all() as { name: string }[]).map((c) => c.name);
}

/** The rows of one table as COPY text lines, a few thousand rows per chunk. */
function* lines(db: Db, table: string, columns: readonly string[], counted: { rows: number }): Generator<string> {
  let chunk = "";
  const select = db.prepare(`SELECT ${columns.map((c) => `"${c}"`).join(", ")} FROM "${table}"`).raw();
  for (const row of select.iterate() as Iterable<unknown[]>) {
    chunk += `${row.map(copyText).join("\t")}\n`;
    counted.rows++;
    if (chunk.length > 1 << 20) {
      yield chunk;
      chunk = "";
    }
  }
  if (chunk !== "") yield chunk;
}

export async function copyMirror(sqlite: Db, pg: Pool): Promise<Record<string, number>> {
  const copied: Record<string, number> = {};
  await inTransaction(pg, async (client) => {
    await client.query(`TRUNCATE ${[...COPIED_TABLES, "identity_counts"].join(", ")}`);
    for (const table of COPIED_TABLES) {
      const columns = columnsOf(sqlite, table);
      const counted = { rows: 0 };
      const sink = client.query(copyFrom(`COPY ${table} (${columns.map((c) => `"${c}"`).join(", ")}) FROM STDIN`));
      await pipeline(Readable.from(lines(sqlite, table, columns, counted)), sink);
      copied[table] = counted.rows;
    }
    // Batch ids are copied as they are; new anchors continue after the largest.
    await client.query(
      "SELECT setval(pg_get_serial_sequence('anchors', 'batch_id'), coalesce(max(batch_id), 0) + 1, false) FROM anchors",
    );
  });
  return copied;
}
