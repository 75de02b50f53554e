/**
 * `traceanchor mirror copy --to postgres://…`: the SQLite mirror moves into PostgreSQL with the
 * same digest, a second copy re-syncs instead of duplicating, and bad targets fail with one line.
 */
import { expect } from "chai";
import { openDatabase } from "../../mirror/db";
import { storeChecksum } from "../../mirror/checksum";
import { openStore, sqliteStore } from "../../mirror/store";
import { createMirrorFixture, type MirrorFixture } from "../api/fixtures";
import { createTestDatabase } from "../helpers/postgres";
import { cli } from "./cli-harness";

describe("cli: mirror copy", function () {
  this.timeout(120_000);
  let fixture: MirrorFixture;
  before(async function () {
    fixture = await createMirrorFixture();
  });
  after(function () {
    fixture?.cleanup();
  });

  it("copies the SQLite mirror into PostgreSQL with the same digest, and again without duplicates", async function () {
    const url = await createTestDatabase("mirror_copy");
    const db = openDatabase(fixture.dbPath, { readonly: true });
    const expected = await storeChecksum(sqliteStore(db));
    db.close();
    for (let round = 0; round < 2; round++) {
      const result = await cli(["--json", "--db", fixture.dbPath, "mirror", "copy", "--to", url], {});
      expect(result.code, result.stderr).to.equal(0);
      expect(result.json.digest).to.equal(expected);
      expect((result.json.rows as Record<string, number>).records).to.be.greaterThan(0);
    }
    const pg = await openStore({ db: url, readonly: true });
    try {
      expect(await storeChecksum(pg)).to.equal(expected);
    } finally {
      await pg.close();
    }
  });

  it("fails with one line naming the option for a target that is not a reachable PostgreSQL database", async function () {
    for (const [to, pattern] of [
      ["data/other.db", /^error: --to: give the PostgreSQL URL/],
      ["postgres://u:secret@127.0.0.1:1/db", /^error: --to: cannot reach the PostgreSQL server/],
    ] as const) {
      const result = await cli(["--db", fixture.dbPath, "mirror", "copy", "--to", to], {});
      expect(result.code).to.equal(1);
      expect(result.stderr).to.match(pattern);
      expect(result.stderr.trim().split("\n")).to.have.length(1);
      expect(result.stderr).to.not.include("secret");
    }
  });
});
