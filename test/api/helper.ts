/** Builds the API over a fixture mirror, read-only as in production, with an in-memory scans file. */
import Database from "better-sqlite3";
import { buildApp, type AppDeps } from "../../api/app";
import { apiConfig, type ApiConfig } from "../../api/config";
import { openDatabase, type Db } from "../../mirror/db";
import { createMirrorFixture, type MirrorFixture } from "./fixtures";

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
  options: { config?: Partial<ApiConfig> } & Partial<Omit<AppDeps, "db" | "config">> = {},
): Promise<TestApp> {
  const { config: overrides, ...deps } = options;
  const db = openDatabase(fixture.dbPath, { readonly: true });
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
  const app = await buildApp({ db, scansDb, config, processMetrics: false, ...deps });
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
export function appPerTest(): {
  readonly fixture: MirrorFixture;
  readonly t: TestApp;
  /** Closes this test's app and builds another over the fixture with `options`. */
  rebuild(options: Parameters<typeof buildTestApp>[1]): Promise<TestApp>;
} {
  let fixture: MirrorFixture | undefined;
  let t: TestApp | undefined;
  before(async function () {
    fixture = await createMirrorFixture();
  });
  after(function () {
    fixture?.cleanup();
  });
  beforeEach(async function () {
    if (fixture === undefined) throw new Error("no fixture mirror");
    t = await buildTestApp(fixture);
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
    async rebuild(options) {
      if (fixture === undefined) throw new Error("no fixture mirror");
      await t?.close();
      t = await buildTestApp(fixture, options);
      return t;
    },
  };
}
