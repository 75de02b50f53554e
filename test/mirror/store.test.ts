/**
 * Opening the mirror on either engine: migrations with the same numbers in both directories, the
 * same empty digest, and bad configuration failing at start-up with one line naming the variable,
 * never a file created from a URL.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { loadMigrations, MIGRATIONS_DIR } from "../../mirror/db";
import { PG_MIGRATIONS_DIR, runPgMigrations } from "../../mirror/pg/db";
import { openStore, type MirrorStore } from "../../mirror/store";
import { storeChecksum, storeTableChecksums } from "../../mirror/checksum";
import { MirrorError } from "../../mirror/errors";
import { createTestDatabase, testPostgres } from "../helpers/postgres";
import { openTestStore } from "../helpers/engines";

async function refusal(config: Parameters<typeof openStore>[0]): Promise<MirrorError> {
  try {
    const store = await openStore(config);
    await store.close();
  } catch (error) {
    expect(error).to.be.instanceOf(MirrorError);
    return error as MirrorError;
  }
  throw new Error("openStore accepted bad configuration");
}

describe("mirror store: engines", function () {
  this.timeout(120_000);
  const open: MirrorStore[] = [];
  after(async () => {
    for (const store of open) await store.close();
  });

  it("keeps one migration version per schema change in both engines' directories", function () {
    const sqlite = loadMigrations(MIGRATIONS_DIR).map((m) => `${m.version}_${m.name}`);
    const pg = loadMigrations(PG_MIGRATIONS_DIR).map((m) => `${m.version}_${m.name}`);
    expect(pg).to.deep.equal(sqlite);
  });

  it("migrates an empty PostgreSQL database to the same tables and digest as SQLite", async function () {
    const sqlite = await openTestStore("sqlite", "store_engines");
    const pg = await openTestStore("postgres", "store_engines");
    open.push(sqlite, pg);
    expect(Object.keys(await storeTableChecksums(pg))).to.deep.equal(Object.keys(await storeTableChecksums(sqlite)));
    expect(await storeChecksum(pg)).to.equal(await storeChecksum(sqlite));
  });

  it("applies each migration once when replicas start together, and reopens without applying any", async function () {
    const url = await createTestDatabase("store_race");
    const stores = await Promise.all([openStore({ db: url }), openStore({ db: url }), openStore({ db: url })]);
    open.push(...stores);
    const store = stores[0];
    if (store?.engine !== "postgres") throw new Error("expected PostgreSQL");
    const rows = await store.pool.query<{ version: number }>("SELECT version FROM schema_migrations ORDER BY version");
    expect(rows.rows.map((r) => r.version)).to.deep.equal(loadMigrations(PG_MIGRATIONS_DIR).map((m) => m.version));
    expect(await runPgMigrations(store.pool)).to.deep.equal([]);
  });

  it("refuses a reader on a database behind the code, naming the variable", async function () {
    const url = await createTestDatabase("store_behind");
    const error = await refusal({ db: url, readonly: true });
    expect(error.message).to.match(/^TRACE_DB: .*missing migrations 1, 2/);
  });

  describe("bad configuration fails at start-up with one line naming the variable", function () {
    let cwd: string;
    let before: string;
    beforeEach(function () {
      before = process.cwd();
      cwd = fs.mkdtempSync(path.join(os.tmpdir(), "ta-badcfg-"));
      process.chdir(cwd);
    });
    afterEach(function () {
      // Nothing may be created from a URL taken for a file name.
      expect(fs.readdirSync(cwd)).to.deep.equal([]);
      process.chdir(before);
    });

    const cases: [string, () => Promise<Parameters<typeof openStore>[0]>, RegExp][] = [
      [
        "a typo in the scheme",
        () => Promise.resolve({ db: "postgress://u:p@127.0.0.1:5432/db" }),
        /^TRACE_DB: postgress:\/\/ is not a database/,
      ],
      [
        "a URL without a database",
        () => Promise.resolve({ db: "postgres://u:secret@127.0.0.1:5432" }),
        /^TRACE_DB: the URL names no database/,
      ],
      [
        "a port that is not a number",
        () => Promise.resolve({ db: "postgres://u:secret@127.0.0.1:54x2/db" }),
        /^TRACE_DB: not a valid PostgreSQL URL|^TRACE_DB: port/,
      ],
      [
        "an unreachable server",
        () => Promise.resolve({ db: "postgres://u:secret@127.0.0.1:1/db" }),
        /^TRACE_DB: cannot reach the PostgreSQL server \(ECONNREFUSED\)/,
      ],
      [
        "wrong credentials",
        async () => {
          const url = new URL((await testPostgres()).url);
          url.username = "nobody_here";
          url.password = "secret";
          return { db: url.toString() };
        },
        /^TRACE_DB: (the server refused the credentials|cannot connect)/,
      ],
      [
        "a database that does not exist",
        async () => {
          const url = new URL((await testPostgres()).url);
          url.pathname = "/no_such_database_here";
          return { db: url.toString() };
        },
        /^TRACE_DB: no such database/,
      ],
      [
        "a read standby for a SQLite mirror",
        () => Promise.resolve({ db: "x.db", readUrl: "postgres://u@h/db" }),
        /^TRACE_DB_READ_URL: /,
      ],
      [
        "an unreachable read standby",
        async () => ({
          db: await createTestDatabase("store_standby_cfg"),
          readUrl: "postgres://u:secret@127.0.0.1:1/db",
        }),
        /^TRACE_DB_READ_URL: cannot reach/,
      ],
    ];
    for (const [name, config, pattern] of cases) {
      it(name, async function () {
        const error = await refusal(await config());
        expect(error.message).to.match(pattern);
        expect(error.message).to.not.include("\n");
        expect(error.message).to.not.include("secret");
      });
    }
  });
});
