/**
 * Opening the mirror database and bringing its schema up to date. `openMirror` is the one function
 * the indexer, the API and the tests open it with; `runMigrations` applies numbered `NNN_name.sql`
 * files from `migrations/sqlite/`, each in its own transaction, recorded in `schema_migrations`.
 *
 *   openMirror({ db, readonly? }): Db      open + migrate (writer) or open + check the schema (reader)
 */
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { MigrationError, MirrorError } from "./errors";

export type Db = Database.Database;

export const MIGRATIONS_DIR = path.join(__dirname, "migrations", "sqlite");

export interface OpenDatabaseOptions {
  /** Open read-only (the API): no writes, no schema changes. */
  readonly readonly?: boolean;
}

export function openDatabase(file: string, options: OpenDatabaseOptions = {}): Db {
  const readonly = options.readonly === true;
  if (!readonly && file !== ":memory:") fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file, { readonly, fileMustExist: readonly });
  // WAL is a property of the file; only a writer may switch it on.
  if (!readonly) db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  return db;
}

export interface MirrorConfig {
  /** `TRACE_DB`: a SQLite file path (or `:memory:`). */
  readonly db: string;
  /** Open read-only (the API): apply nothing, and fail if the file is behind the code's schema. */
  readonly readonly?: boolean;
}

/**
 * Opens the mirror and brings its schema up to date (a writer) or checks that it is (a reader).
 * Only SQLite today; a `postgres://` URL is refused until that engine exists (docs/mirror.md).
 */
export function openMirror(config: MirrorConfig): Db {
  if (/^postgres(ql)?:\/\//i.test(config.db)) {
    throw new MirrorError(
      "ENGINE",
      "TRACE_DB is a PostgreSQL URL, but this build's mirror runs on SQLite only; give a file path",
    );
  }
  const db = openDatabase(config.db, { readonly: config.readonly === true });
  try {
    runMigrations(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const migrations = fs
    .readdirSync(dir)
    .filter((file) => file.endsWith(".sql"))
    .map((file) => {
      const match = /^(\d+)_([\w-]+)\.sql$/.exec(file);
      if (match === null) throw new MigrationError(`migration file name must be NNN_name.sql: ${file}`);
      return {
        version: Number.parseInt(match[1] ?? "", 10),
        name: match[2] ?? "",
        sql: fs.readFileSync(path.join(dir, file), "utf8"),
      };
    })
    .sort((a, b) => a.version - b.version);
  migrations.forEach((migration, i) => {
    if (migration.version !== i + 1)
      throw new MigrationError(`migrations must be numbered 1, 2, 3…; found ${migration.version} at position ${i + 1}`);
  });
  return migrations;
}

function appliedVersions(db: Db): Set<number> {
  const table = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (table === undefined) return new Set();
  const rows = db.prepare("SELECT version FROM schema_migrations").all() as { version: number }[];
  return new Set(rows.map((row) => row.version));
}

/** The migrations not yet applied to `db`. */
export function pendingMigrations(db: Db, dir = MIGRATIONS_DIR): Migration[] {
  const applied = appliedVersions(db);
  const known = loadMigrations(dir);
  const newest = known.at(-1)?.version ?? 0;
  for (const version of applied) {
    if (version > newest)
      throw new MigrationError(`database has migration ${version}, newer than this code knows (${newest})`);
  }
  return known.filter((migration) => !applied.has(migration.version));
}

/**
 * Applies every pending migration, each in its own transaction, and returns the versions applied.
 * On a read-only handle it applies nothing and fails if any migration is pending, so a reader
 * never runs against a schema older than its code.
 */
export function runMigrations(db: Db, dir = MIGRATIONS_DIR): number[] {
  if (db.readonly) {
    const pending = pendingMigrations(db, dir);
    if (pending.length > 0) {
      throw new MigrationError(
        `read-only database is missing migrations ${pending.map((m) => m.version).join(", ")}; run the indexer first`,
      );
    }
    return [];
  }
  db.exec(
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
  );
  const applied: number[] = [];
  for (const migration of pendingMigrations(db, dir)) {
    const apply = db.transaction(() => {
      db.exec(migration.sql);
      db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)").run(
        migration.version,
        migration.name,
        new Date().toISOString(),
      );
    });
    try {
      apply.immediate();
    } catch (error) {
      throw new MigrationError(`migration ${migration.version}_${migration.name} failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
    applied.push(migration.version);
  }
  return applied;
}
