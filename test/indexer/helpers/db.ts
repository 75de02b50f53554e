/**
 * Test mirrors for the indexer suites, on either engine: temp SQLite files or fresh PostgreSQL
 * databases (test/helpers/engines.ts), closed and removed by cleanupTempDbs(); and `query`, to read
 * rows as an oracle with the same SQL on both (`?` placeholders; bigint columns come back as numbers).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openDatabase } from "../../../indexer";
import type { Db } from "../../../indexer";
import type { Engine, MirrorStore } from "../../../mirror/store";
import { openTestStore } from "../../helpers/engines";

const dirs: string[] = [];
const stores: MirrorStore[] = [];

/** A path in a fresh temp directory, removed by cleanupTempDbs(). */
export function tempDbPath(name = "trace.db"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trace-indexer-"));
  dirs.push(dir);
  return path.join(dir, name);
}

export function tempDb(): Db {
  return openDatabase(tempDbPath());
}

/** A new, migrated mirror on `engine`, closed by cleanupTempDbs(). */
export async function tempStore(engine: Engine, name = "indexer"): Promise<MirrorStore> {
  const store = await openTestStore(engine, name);
  stores.push(store);
  return store;
}

/** Keeps `store` to be closed by cleanupTempDbs(). */
export function closeLater<T extends MirrorStore>(store: T): T {
  stores.push(store);
  return store;
}

export async function cleanupTempDbs(): Promise<void> {
  for (const store of stores.splice(0)) await store.close().catch(() => undefined);
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** Rows of `sql` (with `?` placeholders) on either engine. */
export async function query<T = Record<string, unknown>>(
  store: MirrorStore,
  sql: string,
  params: readonly unknown[] = [],
): Promise<T[]> {
  if (store.engine === "sqlite") return store.db.prepare(sql).all(...params) as T[];
  let n = 0;
  const text = sql.replace(/\?/g, () => `$${++n}`);
  return (await store.pool.query(text, params as unknown[])).rows as T[];
}

/** The first row of `sql`, or undefined. */
export async function queryOne<T = Record<string, unknown>>(
  store: MirrorStore,
  sql: string,
  params: readonly unknown[] = [],
): Promise<T | undefined> {
  return (await query<T>(store, sql, params))[0];
}
