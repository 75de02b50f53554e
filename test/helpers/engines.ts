/**
 * Running one suite on both engines. `describeEngines(title, body)` declares the suite once per
 * engine ("… [sqlite]", "… [postgres]"); `openTestStore(engine, name)` opens a fresh, migrated
 * mirror on it: a SQLite file in a temporary directory, or a new database on the test PostgreSQL
 * server (test/helpers/postgres.ts, which fails, never skips, when it cannot start one).
 *
 * TRACE_TEST_ENGINES=sqlite (or postgres) runs one engine only, for a quick local loop; CI runs both.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openStore, type Engine, type MirrorStore } from "../../mirror/store";
import { createTestDatabase } from "./postgres";

export const ENGINES: readonly Engine[] = (() => {
  const raw = process.env.TRACE_TEST_ENGINES;
  if (raw === undefined || raw.trim() === "") return ["sqlite", "postgres"];
  const list = raw.split(",").map((s) => s.trim());
  for (const engine of list) {
    if (engine !== "sqlite" && engine !== "postgres")
      throw new Error(`TRACE_TEST_ENGINES: unknown engine ${engine} (sqlite, postgres)`);
  }
  return list as Engine[];
})();

/** Where a test mirror lives: a file path or a postgres:// URL, created empty. */
export async function testMirrorLocation(engine: Engine, name: string): Promise<string> {
  if (engine === "postgres") return createTestDatabase(name);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ta-${name.replace(/[^a-z0-9_-]/gi, "_")}-`));
  return path.join(dir, "trace.db");
}

/** A new, migrated, writable mirror on `engine`. */
export async function openTestStore(engine: Engine, name: string): Promise<MirrorStore> {
  return openStore({ db: await testMirrorLocation(engine, name) });
}

export function describeEngines(title: string, body: (this: Mocha.Suite, engine: Engine) => void): void {
  for (const engine of ENGINES)
    describe(`${title} [${engine}]`, function () {
      body.call(this, engine);
    });
}
