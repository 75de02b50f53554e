/** Builds the API over a fixture mirror, read-only as in production, with an in-memory scans file. */
import Database from "better-sqlite3";
import { buildApp, type AppDeps } from "../../api/app";
import { apiConfig, type ApiConfig } from "../../api/config";
import { openDatabase, type Db } from "../../indexer/db";
import type { MirrorFixture } from "./fixtures";

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
