/**
 * One implementation of each capture-side operation for both engines: an operation is a generator
 * that yields its statements (`yield* all(...)`, `yield* run(...)`) and gets their rows back. On
 * SQLite it runs synchronously inside one better-sqlite3 transaction, so no other request's
 * statements interleave with it; on PostgreSQL it runs in one transaction on one client.
 *
 *   runEpcis(store, op): Promise<T>       op: () => Generator<Statement, T, unknown>
 *   runEpcisGrouped(store, op): Promise<T>   the same, but on SQLite committed together with the
 *                                         other grouped operations of this event-loop turn (group commit)
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
      return Promise.reject(asError(error));
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

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

const prepared = new WeakMap<Db, Map<string, SqliteStatement>>();

function statement(db: Db, sql: string): SqliteStatement {
  let cache = prepared.get(db);
  if (cache === undefined) prepared.set(db, (cache = new Map<string, SqliteStatement>()));
  let stmt = cache.get(sql);
  if (stmt === undefined) cache.set(sql, (stmt = db.prepare(sql)));
  return stmt;
}

function runSteps<T>(db: Db, op: Operation<T>): T {
  const steps = op();
  let next = steps.next();
  while (!next.done) {
    const { sql, params, mode } = next.value;
    const stmt = statement(db, typeof sql === "string" ? sql : sql.sqlite);
    next = steps.next(mode === "all" ? stmt.all(...params) : stmt.run(...params).changes);
  }
  return next.value;
}

function runSqlite<T>(db: Db, op: Operation<T>): T {
  // IMMEDIATE: take the write lock first, so that a read-then-write never meets SQLITE_BUSY midway.
  return db.transaction(() => runSteps(db, op)).immediate();
}

interface Queued {
  readonly op: Operation<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: Error };

const queues = new WeakMap<Db, Queued[]>();
const groupRunners = new WeakMap<Db, (queue: readonly Queued[]) => Outcome[]>();

/**
 * Group commit: on SQLite the operations queued during one event-loop turn (the requests whose
 * bodies arrived together) run in one IMMEDIATE transaction, one commit and one fsync for all. One
 * that throws is rolled back alone and only its promise rejects: the group is first run without
 * savepoints, and only when one of its operations throws is it rolled back and run again with each
 * operation in a savepoint of its own. (A savepoint copies every page its operation first changes
 * into a sub-journal: at 1M events stored that doubled the CPU of a 100-event document.) An
 * operation is a generator of statements, so running it a second time redoes exactly its SQL.
 * Every promise settles after the commit: what it reports is durable. PostgreSQL runs `op` as
 * runEpcis does (its commits from concurrent connections are flushed together by the server).
 */
export function runEpcisGrouped<T>(store: EpcisStore, op: Operation<T>): Promise<T> {
  if (store.engine !== "sqlite") return runEpcis(store, op);
  const db = store.db;
  return new Promise<T>((resolve, reject) => {
    let queue = queues.get(db);
    if (queue === undefined) {
      queues.set(db, (queue = []));
      setImmediate(() => flushGroup(db));
    }
    queue.push({ op, resolve: resolve as (value: unknown) => void, reject });
  });
}

function groupRunner(db: Db): (queue: readonly Queued[]) => Outcome[] {
  let runner = groupRunners.get(db);
  if (runner !== undefined) return runner;
  // The common case: no operation throws, no savepoints.
  const whole = db.transaction((queue: readonly Queued[]) =>
    queue.map((q): Outcome => ({ ok: true, value: runSteps(db, q.op) })),
  );
  // After a throw: a transaction function called inside another runs as a SAVEPOINT.
  const one = db.transaction((op: Operation<unknown>) => runSteps(db, op));
  const separately = db.transaction((queue: readonly Queued[]) =>
    queue.map((q): Outcome => {
      try {
        return { ok: true, value: one(q.op) };
      } catch (error) {
        return { ok: false, error: asError(error) };
      }
    }),
  );
  runner = (queue) => {
    try {
      return whole.immediate(queue);
    } catch (error) {
      // Rolled back whole. Alone, the operation's own error is its outcome; in a group, run again.
      if (queue.length === 1) return [{ ok: false, error: asError(error) }];
      return separately.immediate(queue);
    }
  };
  groupRunners.set(db, runner);
  return runner;
}

function flushGroup(db: Db): void {
  const queue = queues.get(db) ?? [];
  queues.delete(db);
  let outcomes: Outcome[];
  try {
    outcomes = groupRunner(db)(queue);
  } catch (error) {
    const failed = asError(error);
    for (const q of queue) q.reject(failed);
    return;
  }
  queue.forEach((q, i) => {
    const outcome = outcomes[i]!;
    if (outcome.ok) q.resolve(outcome.value);
    else q.reject(outcome.error);
  });
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
