/**
 * One implementation of each capture-side operation for both engines: an operation is a generator
 * that yields its statements (`yield* all(...)`, `yield* run(...)`) and gets their rows back. On
 * SQLite it runs synchronously inside one better-sqlite3 transaction, so no other request's
 * statements interleave with it; on PostgreSQL it runs in one transaction on one client.
 *
 *   runEpcis(store, op): Promise<T>       op: () => Generator<Statement, T, unknown>
 *   all<Row>(sql, params)                 rows of a query (also INSERT … RETURNING)
 *   run(sql, params)                      the number of rows changed
 *
 * SQL is written once, SQLite style: `?` placeholders and bare `epcis_…` table names. For
 * PostgreSQL the placeholders become `$1…` and the tables `trace_state.epcis_…`; where the dialects
 * differ, a statement gives `{ sqlite, postgres }` texts (the latter used as written).
 */
import type { Statement as SqliteStatement } from "better-sqlite3";
import type { Db } from "../db";
import { inTransaction } from "../pg/db";
import type { EpcisStore } from "./store";

/** SQL for both engines, or one text per engine where their dialects differ. */
export type Sql = string | { readonly sqlite: string; readonly postgres: string };

export interface Statement {
  readonly sql: Sql;
  readonly params: readonly unknown[];
  readonly mode: "all" | "run";
}

export type Operation<T> = () => Generator<Statement, T, unknown>;

export function* all<Row>(sql: Sql, params: readonly unknown[] = []): Generator<Statement, Row[], unknown> {
  return (yield { sql, params, mode: "all" }) as Row[];
}

export function* run(sql: Sql, params: readonly unknown[] = []): Generator<Statement, number, unknown> {
  return (yield { sql, params, mode: "run" }) as number;
}

export function runEpcis<T>(store: EpcisStore, op: Operation<T>): Promise<T> {
  if (store.engine === "sqlite") {
    try {
      return Promise.resolve(runSqlite(store.db, op));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }
  return inTransaction(store.pool, async (client) => {
    const steps = op();
    let next = steps.next();
    while (!next.done) {
      const { sql, params, mode } = next.value;
      const text = typeof sql === "string" ? pgSql(sql) : sql.postgres;
      const result = await client.query(text, params as unknown[]);
      next = steps.next(mode === "all" ? result.rows : (result.rowCount ?? 0));
    }
    return next.value;
  });
}

const prepared = new WeakMap<Db, Map<string, SqliteStatement>>();

function statement(db: Db, sql: string): SqliteStatement {
  let cache = prepared.get(db);
  if (cache === undefined) prepared.set(db, (cache = new Map<string, SqliteStatement>()));
  let stmt = cache.get(sql);
  if (stmt === undefined) cache.set(sql, (stmt = db.prepare(sql)));
  return stmt;
}

function runSqlite<T>(db: Db, op: Operation<T>): T {
  // IMMEDIATE: take the write lock first, so that a read-then-write never meets SQLITE_BUSY midway.
  return db
    .transaction(() => {
      const steps = op();
      let next = steps.next();
      while (!next.done) {
        const { sql, params, mode } = next.value;
        const stmt = statement(db, typeof sql === "string" ? sql : sql.sqlite);
        next = steps.next(mode === "all" ? stmt.all(...params) : stmt.run(...params).changes);
      }
      return next.value;
    })
    .immediate();
}

const pgCache = new Map<string, string>();

/** SQLite-style SQL in PostgreSQL's dialect: `$n` placeholders, tables in schema trace_state. */
export function pgSql(sql: string): string {
  let out = pgCache.get(sql);
  if (out !== undefined) return out;
  let n = 0;
  out = sql.replace(/\?/g, () => `$${++n}`).replace(/\b(epcis_[a-z_]+)\b/g, "trace_state.$1");
  if (pgCache.size < 1000) pgCache.set(sql, out);
  return out;
}
