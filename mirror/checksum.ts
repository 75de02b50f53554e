/**
 * A digest of every table's rows in a fixed order: two mirrors of the same chain are equal iff
 * their checksums are. Used by the crash and fault tests, and handy to compare replicas.
 */
import { createHash } from "node:crypto";
import type { Db } from "./db";

/** Tables whose rows depend on when, not what, the indexer ran. */
const SKIPPED = new Set(["schema_migrations"]);

export function tableChecksums(db: Db): Record<string, string> {
  const tables = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .all() as { name: string }[];
  const result: Record<string, string> = {};
  for (const { name } of tables) {
    if (SKIPPED.has(name)) continue;
    const columns = (db.prepare(`PRAGMA table_info("${name}")`).all() as { name: string }[]).map(
      (column) => `"${column.name}"`,
    );
    const hash = createHash("sha256");
    let rows = 0;
    for (const row of db
      .prepare(`SELECT ${columns.join(", ")} FROM "${name}" ORDER BY ${columns.join(", ")}`)
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
