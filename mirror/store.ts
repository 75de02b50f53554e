/**
 * Which engine holds the mirror, opened once per process: a SQLite file (the embedded default) or a
 * PostgreSQL database (`TRACE_DB=postgres://user:pass@host:port/db`). Everything else (the readers,
 * the chain and content writers, the scans and link sets) is built over the `MirrorStore` this
 * returns, and picks its implementation by `engine`.
 *
 *   openStore({ db, readonly?, readUrl?, variable? }): Promise<MirrorStore>
 *
 * Bad configuration fails here, at start-up, with one line naming the variable: a URL with a typo,
 * an unreachable server, wrong credentials, a database behind the code's schema. A PostgreSQL URL is
 * never taken for a file name.
 */
import { openMirror as openSqliteMirror, type Db } from "./db";
import { MirrorError } from "./errors";
import { engineOf, type Engine } from "./engine";
import { openPgPool, redactUrl, runPgMigrations, type Pool } from "./pg/db";

export { engineOf, type Engine };

export interface SqliteStore {
  readonly engine: "sqlite";
  readonly db: Db;
  /** The file path, for messages. */
  readonly location: string;
  readonly readonly: boolean;
  close(): Promise<void>;
}

export interface PgStore {
  readonly engine: "postgres";
  /** Writes and reads that must see the primary's latest state. */
  readonly pool: Pool;
  /** Reads that may lag (a streaming standby, TRACE_DB_READ_URL); the primary's pool when none is set. */
  readonly readPool: Pool;
  /** The URL without its password. */
  readonly location: string;
  readonly readonly: boolean;
  close(): Promise<void>;
}

export type MirrorStore = SqliteStore | PgStore;

export interface StoreConfig {
  /** `TRACE_DB`: a SQLite file path, `:memory:`, or a postgres:// URL. */
  readonly db: string;
  /** Open for reading only: apply no migration, and fail if the schema is behind the code. */
  readonly readonly?: boolean;
  /** `TRACE_DB_READ_URL`: a PostgreSQL standby to read from (PostgreSQL only). */
  readonly readUrl?: string;
  /** The variable `db` came from, named in errors (default TRACE_DB). */
  readonly variable?: string;
  /** PostgreSQL pool size (default 10). */
  readonly poolSize?: number;
  /** application_name for PostgreSQL connections. */
  readonly application?: string;
}

/** A SQLite handle the caller already opened, as a store (tests, tools). Closing it closes the handle. */
export function sqliteStore(db: Db, location = db.name): SqliteStore {
  return { engine: "sqlite", db, location, readonly: db.readonly, close: () => Promise.resolve(void db.close()) };
}

export async function openStore(config: StoreConfig): Promise<MirrorStore> {
  const variable = config.variable ?? "TRACE_DB";
  const readonly = config.readonly === true;
  if (engineOf(config.db) === "sqlite") {
    if (config.readUrl !== undefined && config.readUrl !== "")
      throw new MirrorError("CONFIG", "TRACE_DB_READ_URL: a read standby needs TRACE_DB to be a postgres:// URL");
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(config.db))
      throw new MirrorError(
        "CONFIG",
        `${variable}: ${config.db.split("://")[0]}:// is not a database; give a SQLite file path or a postgres:// URL`,
      );
    return sqliteStore(openSqliteMirror({ db: config.db, readonly }), config.db);
  }
  const application = config.application ?? "traceanchor";
  const pool = await openPgPool(config.db, { variable, max: config.poolSize, application });
  let readPool = pool;
  try {
    await runPgMigrations(pool, { readonly });
    if (config.readUrl !== undefined && config.readUrl !== "") {
      readPool = await openPgPool(config.readUrl, { variable: "TRACE_DB_READ_URL", max: config.poolSize, application });
      await runPgMigrations(readPool, { readonly: true }).catch((error: Error) => {
        throw new MirrorError("CONFIG", `TRACE_DB_READ_URL: ${error.message}`, { cause: error });
      });
    }
  } catch (error) {
    await pool.end().catch(() => undefined);
    if (readPool !== pool) await readPool.end().catch(() => undefined);
    if (error instanceof MirrorError && !error.message.startsWith("TRACE_DB"))
      throw new MirrorError(error.code, `${variable}: ${error.message}`, { cause: error });
    throw error;
  }
  let closed: Promise<void> | undefined;
  return {
    engine: "postgres",
    pool,
    readPool,
    location: redactUrl(config.db),
    readonly,
    close() {
      closed ??= (async () => {
        await pool.end();
        if (readPool !== pool) await readPool.end();
      })();
      return closed;
    },
  };
}
