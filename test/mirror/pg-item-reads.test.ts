/**
 * The PostgreSQL reader's item reads (mirror/pg/read.ts): the serials asked for in one event-loop
 * turn are read in one statement, each with the rows SQLite reads for it, and with the level events
 * of its identities' lots as `items.level` reads them; more serials than a statement carries go in
 * several, at most MAX_SERIAL_READS at once; a failed statement fails only its own serials.
 */
import { expect } from "chai";
import { openDatabase, type Db } from "../../mirror/db";
import { createMirrorReader, type MirrorReader } from "../../mirror/read";
import { MAX_READ_LOTS, MAX_SERIAL_BATCH, MAX_SERIAL_READS } from "../../mirror/pg/read";
import type { PgStore } from "../../mirror/store";
import type { SerialRows } from "../../mirror/types";
import { ACME, anchorBatch, createMirrorFixture, GTIN, ORPHAN_GTIN, type MirrorFixture } from "../api/fixtures";
import { closePgMirror, pgMirrorOf } from "../api/helper";

const isItemRead = (text: string): boolean => text.startsWith("WITH q AS (SELECT * FROM unnest(");

describe("mirror/pg: item reads, one statement per turn", function () {
  this.timeout(60_000);
  let fixture: MirrorFixture;
  let db: Db;
  let store: PgStore;
  let sqlite: MirrorReader;
  let pg: MirrorReader;
  /** Item-read statements sent, the most in flight at once, and a failure to inject into the next one. */
  const seen = { statements: 0, running: 0, maxRunning: 0, fail: undefined as Error | undefined };

  before(async function () {
    fixture = await createMirrorFixture();
    // A lot with no events of its own, and a serial anchored in more lots than a read looks at.
    const csv = (rows: string): string => `gtin,serial,lot\n${rows}`;
    await anchorBatch(fixture, {
      name: "quiet.csv",
      brandId: ACME.brandId,
      kind: "identity",
      text: csv(`${GTIN},QUIET1,LOT7\n`),
      blockNumber: 30,
    });
    for (let i = 0; i <= MAX_READ_LOTS; i++)
      await anchorBatch(fixture, {
        name: `many-${i}.csv`,
        brandId: ACME.brandId,
        kind: "identity",
        text: csv(`${GTIN},MANY1,LOT${i + 1}\n`),
        blockNumber: 31 + i,
      });
    db = openDatabase(fixture.dbPath, { readonly: true });
    store = await pgMirrorOf(fixture);
    sqlite = createMirrorReader(db);
    const pool = store.readPool;
    const query = pool.query.bind(pool) as (config: { text: string }) => Promise<unknown>;
    pool.query = (async (config: { text: string }) => {
      if (typeof config !== "object" || !isItemRead(config.text)) return query(config);
      seen.statements++;
      seen.running++;
      seen.maxRunning = Math.max(seen.maxRunning, seen.running);
      try {
        const failure = seen.fail;
        seen.fail = undefined;
        if (failure !== undefined) throw failure;
        return await query(config);
      } finally {
        seen.running--;
      }
    }) as unknown as typeof pool.query;
    pg = createMirrorReader(store);
  });
  after(async function () {
    pg.close();
    sqlite.close();
    db.close();
    await closePgMirror(fixture);
    fixture.cleanup();
  });
  beforeEach(function () {
    Object.assign(seen, { statements: 0, running: 0, maxRunning: 0, fail: undefined });
  });

  /** Every serial the fixture keys, then some it does not. */
  const keys = (): { gtin: string; serial: string }[] => [
    ...(db.prepare("SELECT DISTINCT gtin, serial FROM item_keys WHERE serial <> '' ORDER BY gtin, serial").all() as {
      gtin: string;
      serial: string;
    }[]),
    { gtin: GTIN, serial: "NO-SUCH-SERIAL" },
    { gtin: ORPHAN_GTIN, serial: "SER1" },
  ];
  const own = (rows: SerialRows): Omit<SerialRows, "lotEvents"> => ({
    identities: rows.identities,
    events: rows.events,
  });

  it("reads the serials of one turn in one statement, each as SQLite reads it, with its lots' events as items.level reads them", async function () {
    const wanted = keys();
    expect(wanted.length).to.be.within(8, MAX_SERIAL_BATCH);
    const answers = await Promise.all(wanted.map((k) => pg.items.serial(k.gtin, k.serial)));
    expect(seen.statements).to.equal(1);
    let lotsRead = 0;
    let lotEvents = 0;
    for (const [i, k] of wanted.entries()) {
      const answer = answers[i] as SerialRows;
      const what = `${k.gtin}/${k.serial}`;
      expect(own(answer), what).to.deep.equal(await sqlite.items.serial(k.gtin, k.serial));
      // The first MAX_READ_LOTS lots of its identities (in the mirror's order of text): those documents need no statement for.
      const lots = [...new Set(answer.identities.flatMap((row) => (row.lot === undefined ? [] : [row.lot])))].sort();
      expect([...(answer.lotEvents?.keys() ?? [])].sort(), what).to.deep.equal(lots.slice(0, MAX_READ_LOTS));
      for (const [lot, events] of answer.lotEvents ?? []) {
        expect(events, `${what} lot ${lot}`).to.deep.equal(await sqlite.items.level(k.gtin, lot));
        lotsRead++;
        lotEvents += events.length;
      }
    }
    // LOT1 shipped and LOT2 recalled have events, LOT7 none; MANY1's lots were cut at MAX_READ_LOTS.
    expect(lotsRead).to.be.greaterThan(3);
    expect(lotEvents).to.be.greaterThan(1);
    const at = (serial: string): SerialRows => answers[wanted.findIndex((k) => k.serial === serial)] as SerialRows;
    expect(at("QUIET1").lotEvents?.get("LOT7")).to.deep.equal([]);
    expect(at("MANY1").identities.length).to.equal(MAX_READ_LOTS + 1);
    expect(at("MANY1").lotEvents?.size).to.equal(MAX_READ_LOTS);
    // Read on its own, a serial answers the same.
    const [first] = wanted;
    if (first === undefined) throw new Error("no serial");
    expect(await pg.items.serial(first.gtin, first.serial)).to.deep.equal(answers[0]);
  });

  it("reads more serials than one statement carries in several, at most MAX_SERIAL_READS at once", async function () {
    const n = MAX_SERIAL_BATCH * (MAX_SERIAL_READS + 1) + 1;
    const answers = await Promise.all(
      Array.from({ length: n }, (_, i) => pg.items.serial(GTIN, i === n - 1 ? "SER2" : `UNKNOWN${i}`)),
    );
    expect(seen.statements).to.equal(MAX_SERIAL_READS + 2);
    expect(seen.maxRunning).to.equal(MAX_SERIAL_READS);
    expect(answers.slice(0, -1).every((a) => a.identities.length === 0 && a.events.length === 0)).to.equal(true);
    expect(own(answers[n - 1] as SerialRows)).to.deep.equal(await sqlite.items.serial(GTIN, "SER2"));
  });

  it("gives a serial asked for twice in a turn one read, and each caller arrays of its own", async function () {
    const [a, b] = await Promise.all([pg.items.serial(GTIN, "SER2"), pg.items.serial(GTIN, "SER2")]);
    expect(seen.statements).to.equal(1);
    expect(a).to.deep.equal(b);
    expect(a?.identities).to.not.equal(b?.identities);
    expect(a?.identities.length).to.equal(1);
  });

  it("answers a serial with a NUL (which no PostgreSQL text holds) as unknown, without failing the others of its turn", async function () {
    const [known, nul] = await Promise.all([pg.items.serial(GTIN, "SER1"), pg.items.serial(GTIN, "SER\u00001")]);
    expect(known?.identities.length).to.equal(1);
    expect(nul).to.deep.equal({ identities: [], events: [] });
    expect(await sqlite.items.serial(GTIN, "SER\u00001")).to.deep.equal({ identities: [], events: [] });
  });

  it("rejects the serials of a failed statement with its error, and reads them in the next one", async function () {
    seen.fail = new Error("injected read failure");
    const failed = await Promise.allSettled([pg.items.serial(GTIN, "SER1"), pg.items.serial(GTIN, "SER2")]);
    expect(failed.map((r) => (r.status === "rejected" ? String(r.reason) : r.status))).to.deep.equal([
      "Error: injected read failure",
      "Error: injected read failure",
    ]);
    expect((await pg.items.serial(GTIN, "SER1")).identities.length).to.equal(1);
    expect(seen.statements).to.equal(2);
  });
});
