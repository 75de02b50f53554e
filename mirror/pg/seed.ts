/**
 * The seeder on PostgreSQL (mirror/write/seed.ts's Seeder): the same writes as SQLite's, taken
 * from that module's SEED_WRITES table, with `?` placeholders numbered for PostgreSQL. Each write is
 * one statement on the pool.
 *
 *   createPgSeeder(pool, writes): Seeder
 */
import type { SeedWrite, SeedWrites, Seeder } from "../write/seed";
import type { Pool } from "./db";

export function createPgSeeder(pool: Pool, writes: SeedWrites): Seeder {
  return {
    cursor: statement(pool, writes.cursor),
    block: statement(pool, writes.block),
    brand: statement(pool, writes.brand),
    prefix: statement(pool, writes.prefix),
    submitter: statement(pool, writes.submitter),
    anchor: statement(pool, writes.anchor),
    revoke: statement(pool, writes.revoke),
    removeAnchor: statement(pool, writes.removeAnchor),
    setAdmin: statement(pool, writes.setAdmin),
    releasePrefix: statement(pool, writes.releasePrefix),
  };
}

function statement<Row extends unknown[]>(pool: Pool, write: SeedWrite<Row>): (...row: Row) => Promise<void> {
  const text = numbered(write.sql);
  return async (...row) => {
    await pool.query(text, write.args(...row));
  };
}

/** `?` placeholders as `$1`, `$2`, …: the seed statements have no `?` inside literals. */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
