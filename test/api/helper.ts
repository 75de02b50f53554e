/**
 * Builds the API over a fixture mirror, read-only as in production, with an in-memory scans file.
 * On PostgreSQL (`engine: "postgres"`) the fixture, built in SQLite, is copied into a database of
 * its own (mirror/copy.ts) and the app reads it from there; `syncFixture` copies it again after a
 * test changed the SQLite fixture.
 */
import Database from "better-sqlite3";
import { buildApp, type AppDeps } from "../../api/app";
import { apiConfig, type ApiConfig } from "../../api/config";
import { copyMirror } from "../../mirror/copy";
import { openDatabase, type Db } from "../../mirror/db";
import { openStore, type Engine, type PgStore } from "../../mirror/store";
import { createTestDatabase } from "../helpers/postgres";
import { createMirrorFixture, type MirrorFixture } from "./fixtures";

const pgCopies = new WeakMap<MirrorFixture, Promise<PgStore>>();

/** The fixture's PostgreSQL copy, made on first use and kept for the fixture's life. */
export function pgMirrorOf(fixture: MirrorFixture): Promise<PgStore> {
  let copy = pgCopies.get(fixture);
  if (copy === undefined) {
    copy = (async () => {
      const store = await openStore({ db: await createTestDatabase("api_fixture") });
      if (store.engine !== "postgres") throw new Error("expected a PostgreSQL store");
      await syncFixture(fixture, store);
      return store;
    })();
    pgCopies.set(fixture, copy);
  }
  return copy;
}

/** Copies the SQLite fixture into its PostgreSQL twin again (after a test wrote to the fixture). */
export async function syncFixture(fixture: MirrorFixture, store?: PgStore): Promise<void> {
  const target = store ?? (await pgMirrorOf(fixture));
  const db = openDatabase(fixture.dbPath, { readonly: true });
  try {
    await copyMirror(db, target.pool);
  } finally {
    db.close();
  }
}

/** Closes the fixture's PostgreSQL copy, if one was made. */
export async function closePgMirror(fixture: MirrorFixture): Promise<void> {
  const copy = pgCopies.get(fixture);
  pgCopies.delete(fixture);
  if (copy !== undefined) await (await copy).close();
}

export const PUBLIC_URL = "https://id.example.com";
export const EXPLORER_URL = "https://explorer.example.com";

export interface TestApp {
  readonly app: Awaited<ReturnType<typeof buildApp>>;
  readonly db: Db;
  readonly scansDb: Database.Database;
  close(): Promise<void>;
}

export async function buildTestApp(
  fixture: MirrorFixture,
  options: { config?: Partial<ApiConfig>; engine?: Engine } & Partial<Omit<AppDeps, "db" | "config">> = {},
): Promise<TestApp> {
  const { config: overrides, engine = "sqlite", ...deps } = options;
  const db = openDatabase(fixture.dbPath, { readonly: true });
  const mirror = engine === "postgres" ? await pgMirrorOf(fixture) : db;
  const scansDb = new Database(":memory:");
  const config = apiConfig({
    publicUrl: PUBLIC_URL,
    explorerUrl: EXPLORER_URL,
    dbPath: fixture.dbPath,
    contentDir: fixture.contentDir,
    scanThreshold: 3,
    rateLimit: 0,
    ...overrides,
  });
  const app = await buildApp({ db: mirror, scansDb, config, processMetrics: false, ...deps });
  await app.ready();
  return {
    app,
    db,
    scansDb,
    async close() {
      await app.close();
      db.close();
      scansDb.close();
    },
  };
}

/**
 * Mocha hooks for a suite: one fixture mirror for the whole suite, a fresh app over it for each
 * test (closed after it). Read `suite.fixture` and `suite.t` inside tests and hooks; a test that
 * needs other options calls `suite.rebuild(options)`.
 */
export function appPerTest(engine: Engine = "sqlite"): {
  readonly fixture: MirrorFixture;
  readonly t: TestApp;
  /** Closes this test's app and builds another over the fixture with `options`. */
  rebuild(options: Parameters<typeof buildTestApp>[1]): Promise<TestApp>;
  /** After the suite wrote to the SQLite fixture: copies it to the PostgreSQL twin (a no-op on SQLite). */
  sync(): Promise<void>;
} {
  let fixture: MirrorFixture | undefined;
  let t: TestApp | undefined;
  before(async function () {
    fixture = await createMirrorFixture();
  });
  after(async function () {
    if (fixture !== undefined) await closePgMirror(fixture);
    fixture?.cleanup();
  });
  beforeEach(async function () {
    if (fixture === undefined) throw new Error("no fixture mirror");
    t = await buildTestApp(fixture, { engine });
  });
  afterEach(async function () {
    await t?.close();
    t = undefined;
  });
  return {
    get fixture(): MirrorFixture {
      if (fixture === undefined) throw new Error("the fixture mirror is made in the suite's before hook");
      return fixture;
    },
    get t(): TestApp {
      if (t === undefined) throw new Error("the app is made in the suite's beforeEach hook");
      return t;
    },
    async sync() {
      if (fixture === undefined) throw new Error("no fixture mirror");
      if (engine === "postgres") await syncFixture(fixture);
    },
    async rebuild(options) {
      if (fixture === undefined) throw new Error("no fixture mirror");
      await t?.close();
      t = await buildTestApp(fixture, { engine, ...options });
      return t;
    },
  };
}
