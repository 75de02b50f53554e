/**
 * Named queries, their subscriptions and what was delivered to each, on either engine
 * (tables epcis_queries, epcis_subscriptions, epcis_deliveries of the EPCIS store).
 *
 *   createNamedQueryStore(store): NamedQueryStore
 *
 * A delivery is claimed before it is sent (a row with delivered_at 0) and marked when the
 * subscriber answered 2xx; a failed send keeps its claims and is retried with the same events, so
 * no event is sent twice to one subscription except when the process dies between the
 * subscriber's 2xx and the mark (docs/epcis.md, "Subscriptions").
 */
import type { Db } from "../db";
import type { Pool } from "../pg/db";
import { pgText, tablesOf } from "./query";
import type { EpcisStore } from "./store";

export interface NamedQuery {
  readonly name: string;
  /** The query parameters, each a string (pipe-separated alternatives), as GET /epcis/events takes them. */
  readonly query: Readonly<Record<string, string>>;
  readonly createdAt: number;
}

export interface Subscription {
  readonly subscriptionId: string;
  readonly queryName: string;
  readonly dest: string;
  readonly signatureToken: string | null;
  readonly stream: boolean;
  /** The schedule (cron-like fields, and reportIfEmpty), null for a stream. */
  readonly schedule: Readonly<Record<string, unknown>> | null;
  readonly createdAt: number;
  readonly nextAttemptAt: number;
  readonly attempts: number;
  readonly lastError: string | null;
}

export interface NamedQueryStore {
  /** False when a query of that name exists. */
  createQuery(query: NamedQuery): Promise<boolean>;
  getQuery(name: string): Promise<NamedQuery | undefined>;
  /** Names greater than `after`, ascending. */
  listQueries(after: string | null, limit: number): Promise<NamedQuery[]>;
  /** Deletes the query and its subscriptions; false when there was none. */
  deleteQuery(name: string): Promise<boolean>;
  countQueries(): Promise<number>;
  createSubscription(subscription: Subscription): Promise<void>;
  getSubscription(queryName: string, subscriptionId: string): Promise<Subscription | undefined>;
  listSubscriptions(queryName: string): Promise<Subscription[]>;
  allSubscriptions(): Promise<Subscription[]>;
  deleteSubscription(queryName: string, subscriptionId: string): Promise<boolean>;
  countSubscriptions(): Promise<number>;
  /** Claims `seqs` for a send (delivered_at 0); seqs already claimed or sent are left alone. */
  claim(subscriptionId: string, seqs: readonly number[]): Promise<void>;
  /** Marks the subscription's claims sent, and resets its attempts. */
  delivered(subscriptionId: string, at: number): Promise<void>;
  /** Records a failed send: attempts + 1, the next attempt's time and the error. */
  failed(subscriptionId: string, nextAttemptAt: number, error: string): Promise<void>;
}

interface QueryDb {
  name: string;
  query: string;
  created_at: number;
}

interface SubscriptionDb {
  subscription_id: string;
  query_name: string;
  dest: string;
  signature_token: string | null;
  stream: number;
  schedule: string | null;
  created_at: number;
  next_attempt_at: number;
  attempts: number;
  last_error: string | null;
}

const toQuery = (row: QueryDb): NamedQuery => ({
  name: row.name,
  query: JSON.parse(row.query) as Record<string, string>,
  createdAt: Number(row.created_at),
});

const toSubscription = (row: SubscriptionDb): Subscription => ({
  subscriptionId: row.subscription_id,
  queryName: row.query_name,
  dest: row.dest,
  signatureToken: row.signature_token,
  stream: Number(row.stream) === 1,
  schedule: row.schedule === null ? null : (JSON.parse(row.schedule) as Record<string, unknown>),
  createdAt: Number(row.created_at),
  nextAttemptAt: Number(row.next_attempt_at),
  attempts: Number(row.attempts),
  lastError: row.last_error,
});

/** One statement's text (with `?`) and values; `run` answers rows and the number of rows changed. */
type Run = <T>(text: string, values: unknown[]) => Promise<{ rows: T[]; changes: number }>;

export function createNamedQueryStore(store: EpcisStore): NamedQueryStore {
  const t = tablesOf(store.engine);
  const schema = store.engine === "postgres" ? "trace_state." : "";
  const queries = `${schema}epcis_queries`;
  const subscriptions = `${schema}epcis_subscriptions`;
  const run: Run = store.engine === "postgres" ? pgRun(store.pool) : sqliteRun(store.db);
  const subscriptionColumns =
    "subscription_id, query_name, dest, signature_token, stream, schedule, created_at, next_attempt_at, attempts, last_error";
  return {
    async createQuery(q) {
      const { changes } = await run(
        `INSERT INTO ${queries} (name, query, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
        [q.name, JSON.stringify(q.query), q.createdAt],
      );
      return changes === 1;
    },
    async getQuery(name) {
      const { rows } = await run<QueryDb>(`SELECT name, query, created_at FROM ${queries} WHERE name = ?`, [name]);
      return rows[0] === undefined ? undefined : toQuery(rows[0]);
    },
    async listQueries(after, limit) {
      const { rows } = await run<QueryDb>(
        `SELECT name, query, created_at FROM ${queries} WHERE name > ? ORDER BY name LIMIT ?`,
        [after ?? "", limit],
      );
      return rows.map(toQuery);
    },
    async deleteQuery(name) {
      // Explicit, not only ON DELETE CASCADE: SQLite enforces it only with foreign_keys on.
      await run(
        `DELETE FROM ${t.deliveries} WHERE subscription_id IN (SELECT subscription_id FROM ${subscriptions} WHERE query_name = ?)`,
        [name],
      );
      await run(`DELETE FROM ${subscriptions} WHERE query_name = ?`, [name]);
      const { changes } = await run(`DELETE FROM ${queries} WHERE name = ?`, [name]);
      return changes === 1;
    },
    countQueries: async () =>
      Number((await run<{ n: number }>(`SELECT COUNT(*) AS n FROM ${queries}`, [])).rows[0]?.n ?? 0),
    async createSubscription(s) {
      await run(`INSERT INTO ${subscriptions} (${subscriptionColumns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
        s.subscriptionId,
        s.queryName,
        s.dest,
        s.signatureToken,
        s.stream ? 1 : 0,
        s.schedule === null ? null : JSON.stringify(s.schedule),
        s.createdAt,
        s.nextAttemptAt,
        s.attempts,
        s.lastError,
      ]);
    },
    async getSubscription(queryName, subscriptionId) {
      const { rows } = await run<SubscriptionDb>(
        `SELECT ${subscriptionColumns} FROM ${subscriptions} WHERE query_name = ? AND subscription_id = ?`,
        [queryName, subscriptionId],
      );
      return rows[0] === undefined ? undefined : toSubscription(rows[0]);
    },
    async listSubscriptions(queryName) {
      const { rows } = await run<SubscriptionDb>(
        `SELECT ${subscriptionColumns} FROM ${subscriptions} WHERE query_name = ? ORDER BY created_at, subscription_id`,
        [queryName],
      );
      return rows.map(toSubscription);
    },
    async allSubscriptions() {
      const { rows } = await run<SubscriptionDb>(
        `SELECT ${subscriptionColumns} FROM ${subscriptions} ORDER BY created_at, subscription_id`,
        [],
      );
      return rows.map(toSubscription);
    },
    async deleteSubscription(queryName, subscriptionId) {
      await run(`DELETE FROM ${t.deliveries} WHERE subscription_id = ?`, [subscriptionId]);
      const { changes } = await run(`DELETE FROM ${subscriptions} WHERE query_name = ? AND subscription_id = ?`, [
        queryName,
        subscriptionId,
      ]);
      return changes === 1;
    },
    countSubscriptions: async () =>
      Number((await run<{ n: number }>(`SELECT COUNT(*) AS n FROM ${subscriptions}`, [])).rows[0]?.n ?? 0),
    async claim(subscriptionId, seqs) {
      if (seqs.length === 0) return;
      await run(
        `INSERT INTO ${t.deliveries} (subscription_id, seq, delivered_at) VALUES ${seqs.map(() => "(?, ?, 0)").join(", ")} ` +
          "ON CONFLICT DO NOTHING",
        seqs.flatMap((seq) => [subscriptionId, seq]),
      );
    },
    async delivered(subscriptionId, at) {
      await run(`UPDATE ${t.deliveries} SET delivered_at = ? WHERE subscription_id = ? AND delivered_at = 0`, [
        at,
        subscriptionId,
      ]);
      await run(
        `UPDATE ${subscriptions} SET attempts = 0, next_attempt_at = 0, last_error = NULL WHERE subscription_id = ?`,
        [subscriptionId],
      );
    },
    async failed(subscriptionId, nextAttemptAt, error) {
      await run(
        `UPDATE ${subscriptions} SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE subscription_id = ?`,
        [nextAttemptAt, error.slice(0, 500), subscriptionId],
      );
    },
  };
}

function sqliteRun(db: Db): Run {
  return <T>(text: string, values: unknown[]) => {
    const statement = db.prepare(text);
    if (statement.reader) return Promise.resolve({ rows: statement.all(...values) as T[], changes: 0 });
    return Promise.resolve({ rows: [] as T[], changes: statement.run(...values).changes });
  };
}

function pgRun(pool: Pool): Run {
  return async <T>(text: string, values: unknown[]) => {
    const result = await pool.query({ text: pgText(text), values });
    return { rows: result.rows as T[], changes: result.rowCount ?? 0 };
  };
}
