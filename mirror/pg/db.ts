/**
 * PostgreSQL connections and migrations for the mirror. `openPgPool` validates the URL, connects
 * once to prove the server answers and the credentials work, and turns every failure into one
 * line naming the variable (`TRACE_DB` or `TRACE_DB_READ_URL`), with no password in it.
 * `runPgMigrations` applies `mirror/migrations/postgres/NNN_name.sql` (the same numbers as SQLite's)
 * under an advisory lock, so replicas starting together apply each migration once.
 *
 *   isPostgresUrl(text): boolean
 *   openPgPool(url, { variable, max?, application? }): Promise<Pool>
 *   runPgMigrations(pool, { readonly? }): Promise<number[]>
 */
import path from "node:path";
import pg from "pg";
import { MigrationError, MirrorError } from "../errors";
import { loadMigrations, type Migration } from "../db";

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export const PG_MIGRATIONS_DIR = path.join(__dirname, "..", "migrations", "postgres");

/** The advisory lock key migrations run under ("TAmigr" as a number). */
const MIGRATION_LOCK = 0x54416d696772;

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * bigint columns as JS numbers: block numbers, ids, times and counts all stay far below 2^53, and
 * both engines must hand the repositories the same row shapes. A value that would lose precision
 * fails loudly instead of being rounded.
 */
const types: pg.CustomTypesConfig = {
  getTypeParser(oid: number, format?: "text" | "binary"): unknown {
    if (oid === INT8_OID || oid === NUMERIC_OID) {
      return (value: string): number => {
        const n = Number(value);
        if (!Number.isSafeInteger(n) && oid === INT8_OID) throw new RangeError(`bigint ${value} exceeds 2^53`);
        return n;
      };
    }
    return pg.types.getTypeParser(oid, format ?? "text") as unknown;
  },
};

export { isPostgresUrl } from "../engine";

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, "//$1:***@");
  }
}

export interface OpenPgOptions {
  /** The variable the URL came from, named in every error (TRACE_DB, TRACE_DB_READ_URL). */
  readonly variable: string;
  /** Pool size (default 10). */
  readonly max?: number;
  /** application_name on the server, to tell replicas apart in pg_stat_activity. */
  readonly application?: string;
}

/** Checks the URL's shape without connecting: a typo fails here, naming the variable. */
export function parsePgUrl(url: string, variable: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MirrorError("CONFIG", `${variable}: not a valid PostgreSQL URL (postgres://user:pass@host:port/db)`);
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:")
    throw new MirrorError(
      "CONFIG",
      `${variable}: scheme must be postgres:// or postgresql://, got ${parsed.protocol}//`,
    );
  if (parsed.hostname === "" && !parsed.searchParams.has("host"))
    throw new MirrorError("CONFIG", `${variable}: the URL names no host (${redactUrl(url)})`);
  if (parsed.port !== "" && !/^\d+$/.test(parsed.port))
    throw new MirrorError("CONFIG", `${variable}: port must be a number (${redactUrl(url)})`);
  if (parsed.pathname.replace(/^\//, "") === "")
    throw new MirrorError("CONFIG", `${variable}: the URL names no database (postgres://user:pass@host:port/db)`);
  return parsed;
}

/** A connection failure in one line: what failed and where, never the password. */
export function describePgError(error: unknown, url: string, variable: string): MirrorError {
  const e = error as { code?: string; message?: string };
  const where = redactUrl(url);
  const code = e.code ?? "";
  let what: string;
  if (
    code === "ECONNREFUSED" ||
    code === "ENOTFOUND" ||
    code === "EAI_AGAIN" ||
    code === "ETIMEDOUT" ||
    code === "EHOSTUNREACH"
  )
    what = `cannot reach the PostgreSQL server (${code})`;
  else if (code === "28P01" || code === "28000") what = `the server refused the credentials (${e.message ?? code})`;
  else if (code === "3D000") what = `no such database (${e.message ?? code})`;
  else what = `cannot connect: ${e.message ?? String(error)}`;
  return new MirrorError("CONNECT", `${variable}: ${what} at ${where}`, { cause: error });
}

export async function openPgPool(url: string, options: OpenPgOptions): Promise<Pool> {
  parsePgUrl(url, options.variable);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    application_name: options.application ?? "traceanchor",
    types,
  });
  // An idle client's error (the server restarting, a failover) must not crash the process; the
  // next query gets a fresh connection or a clear error.
  pool.on("error", () => undefined);
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw describePgError(error, url, options.variable);
  }
  return pool;
}

/** Runs `work` in one transaction on one client: COMMIT on success, ROLLBACK on any error. */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

async function appliedVersions(client: pg.ClientBase): Promise<Set<number>> {
  const table = await client.query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t");
  if (table.rows[0]?.t === null || table.rows[0]?.t === undefined) return new Set();
  const rows = await client.query<{ version: number }>("SELECT version FROM schema_migrations");
  return new Set(rows.rows.map((row) => Number(row.version)));
}

function pending(applied: Set<number>, known: Migration[]): Migration[] {
  const newest = known.at(-1)?.version ?? 0;
  for (const version of applied) {
    if (version > newest)
      throw new MigrationError(`database has migration ${version}, newer than this code knows (${newest})`);
  }
  return known.filter((migration) => !applied.has(migration.version));
}

/**
 * Applies every pending migration, each in its own transaction, under an advisory lock held for the
 * whole run; returns the versions applied. A reader (`readonly`) applies nothing and fails when any
 * is pending, as on SQLite.
 */
export async function runPgMigrations(
  pool: Pool,
  options: { readonly?: boolean; dir?: string } = {},
): Promise<number[]> {
  const known = loadMigrations(options.dir ?? PG_MIGRATIONS_DIR);
  const client = await pool.connect();
  try {
    if (options.readonly === true) {
      const missing = pending(await appliedVersions(client), known);
      if (missing.length > 0)
        throw new MigrationError(
          `database is missing migrations ${missing.map((m) => m.version).join(", ")}; run the indexer first`,
        );
      return [];
    }
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    try {
      await client.query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at text NOT NULL)",
      );
      const applied: number[] = [];
      for (const migration of pending(await appliedVersions(client), known)) {
        try {
          await client.query("BEGIN");
          await client.query(migration.sql);
          await client.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", [
            migration.version,
            migration.name,
            new Date().toISOString(),
          ]);
          await client.query("COMMIT");
        } catch (error) {
          await client.query("ROLLBACK").catch(() => undefined);
          throw new MigrationError(
            `migration ${migration.version}_${migration.name} failed: ${(error as Error).message}`,
            { cause: error },
          );
        }
        applied.push(migration.version);
      }
      return applied;
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => undefined);
    }
  } finally {
    client.release();
  }
}
