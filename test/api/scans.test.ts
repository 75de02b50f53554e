/**
 * Scan counts on both engines against a model (what record and get return, what the store holds
 * after close); on SQLite with the writer thread (a file database): what reads see while batches
 * are in flight and a failed batch written again; on PostgreSQL: replicas counting one serial at
 * once, one statement per turn, a failed statement that writes nothing.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import fc from "fast-check";
import { Client } from "pg";
import Database from "better-sqlite3";
import { execFileSync } from "node:child_process";
import { createScansRepository, type ScansRepository } from "../../api/repositories/scans";
import { openScansDb } from "../../api/server";
import { readBatch } from "../../mirror/read";
import { openStore, type PgStore } from "../../mirror/store";
import { describeEngines, openTestStore } from "../helpers/engines";
import { createTestDatabase } from "../helpers/postgres";

const GTIN = "09506000134352";

/**
 * Another connection to the scans file that makes its writes fail, reads still working: `fail(when)`
 * for rows matching an SQL condition on NEW (every row by default), `heal()` to write again.
 */
function writeFailures(file: string) {
  const db = new Database(file);
  const heal = (): void => {
    db.exec("DROP TRIGGER IF EXISTS fail_insert; DROP TRIGGER IF EXISTS fail_update;");
  };
  const trigger = (name: string, op: string, when: string): string =>
    `CREATE TRIGGER ${name} BEFORE ${op} ON scan_counts WHEN ${when} BEGIN SELECT RAISE(ABORT, 'injected write failure'); END;`;
  return {
    db,
    heal,
    fail(when = "1"): void {
      heal();
      db.exec(trigger("fail_insert", "INSERT", when) + trigger("fail_update", "UPDATE", when));
    },
    close(): void {
      heal();
      db.close();
    },
  };
}

describe("api: scan counts written by the writer thread [sqlite]", function () {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "scans-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const rowsOf = (file: string): Record<string, { count: number; first: number }> => {
    const db = new Database(file, { readonly: true });
    try {
      const rows = db.prepare("SELECT serial, count, first_scan_at FROM scan_counts").all() as {
        serial: string;
        count: number;
        first_scan_at: number;
      }[];
      return Object.fromEntries(rows.map((r) => [r.serial, { count: r.count, first: r.first_scan_at }]));
    } finally {
      db.close();
    }
  };

  it("agrees with a model through random scans, flushes, waits and failing writes, and in the file after close", async function () {
    this.timeout(60_000);
    const step = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({
          kind: fc.constant("scan" as const),
          serial: fc.constantFrom("A", "B", "C", "D"),
          client: fc.constantFrom("10.0.0.1", "10.0.0.2"),
          now: fc.integer({ min: 1, max: 100 }),
        }),
      },
      { weight: 2, arbitrary: fc.constant({ kind: "flush" as const }) },
      { weight: 1, arbitrary: fc.constant({ kind: "wait" as const }) },
      { weight: 1, arbitrary: fc.constant({ kind: "fail" as const }) },
      { weight: 1, arbitrary: fc.constant({ kind: "heal" as const }) },
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 60 }), async (steps) => {
        const file = path.join(dir, `scans-${run++}.db`);
        const db = openScansDb(file);
        const scans = createScansRepository(db, { flushMs: 60_000 });
        // Another connection turns write failures on and off while batches are in flight.
        const failures = writeFailures(file);
        const model = new Map<string, { count: number; first: number; last: string }>();
        // Wait for the writer thread to be up, so that the failures below hit batches it handles.
        await scans.record(GTIN, "W", "10.0.0.9", 1);
        model.set("W", { count: 1, first: 1, last: "10.0.0.9" });
        void scans.flush();
        while (failures.db.prepare("SELECT 1 FROM scan_counts WHERE serial = 'W'").get() === undefined)
          await new Promise((resolve) => setTimeout(resolve, 5));
        try {
          for (const s of steps) {
            if (s.kind === "flush") void scans.flush();
            else if (s.kind === "fail") failures.fail();
            else if (s.kind === "heal") failures.heal();
            else if (s.kind === "wait") await new Promise((resolve) => setTimeout(resolve, 5));
            else {
              const m = model.get(s.serial) ?? { count: 0, first: s.now, last: "" };
              if (m.last !== s.client) m.count++;
              m.last = s.client;
              model.set(s.serial, m);
              expect(await scans.record(GTIN, s.serial, s.client, s.now)).to.deep.equal({
                count: m.count,
                firstScanAt: m.first,
              });
            }
            for (const serial of ["A", "B", "C", "D", "W"]) {
              const m = model.get(serial);
              expect(await scans.get(GTIN, serial), serial).to.deep.equal(
                m === undefined ? undefined : { count: m.count, firstScanAt: m.first },
              );
            }
          }
          failures.heal();
          await scans.close();
        } finally {
          failures.close();
          db.close();
        }
        const expected = Object.fromEntries(
          [...model].map(([serial, m]) => [serial, { count: m.count, first: m.first }]),
        );
        expect(rowsOf(file)).to.deep.equal(expected);
      }),
      { numRuns: 50 },
    );
  });

  it("writes a batch that failed again with the next flush, without counting twice", async function () {
    const file = path.join(dir, "scans.db");
    const db = openScansDb(file);
    const errors: string[] = [];
    const scans = createScansRepository(db, { flushMs: 60_000, onWriteError: (message) => errors.push(message) });
    const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
    await scans.record(GTIN, "A", "10.0.0.1", 10);
    void scans.flush();
    await settle();
    // Another connection makes every write fail (reads still work): the writer's next batch fails.
    const failures = writeFailures(file);
    failures.fail();
    await scans.record(GTIN, "A", "10.0.0.2", 11);
    await scans.record(GTIN, "B", "10.0.0.1", 12);
    void scans.flush();
    // A newer count of A while that batch is in flight; it then fails, to be written again.
    expect(await scans.record(GTIN, "A", "10.0.0.1", 13)).to.deep.equal({ count: 3, firstScanAt: 10 });
    await settle();
    expect(errors.join()).to.include("injected write failure");
    expect(await scans.get(GTIN, "A")).to.deep.equal({ count: 3, firstScanAt: 10 });
    failures.close();
    await scans.close();
    db.close();
    expect(rowsOf(file)).to.deep.equal({ A: { count: 3, first: 10 }, B: { count: 1, first: 12 } });
  });

  it("counts each scan once when a key is in two batches in flight and the first one fails", async function () {
    const file = path.join(dir, "scans.db");
    const db = openScansDb(file);
    const errors: string[] = [];
    const scans = createScansRepository(db, { flushMs: 60_000, onWriteError: (message) => errors.push(message) });
    // Any batch holding a row first scanned at t=111 fails: only the first batch below does.
    const failures = writeFailures(file);
    failures.fail("NEW.first_scan_at = 111");
    await scans.record(GTIN, "K", "10.0.0.1", 100);
    await scans.record(GTIN, "J", "10.0.0.1", 111);
    void scans.flush();
    expect(await scans.record(GTIN, "K", "10.0.0.2", 101)).to.deep.equal({ count: 2, firstScanAt: 100 });
    void scans.flush(); // K again, in flight with the first batch
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(errors.join()).to.include("injected write failure");
    expect(await scans.get(GTIN, "K")).to.deep.equal({ count: 2, firstScanAt: 100 });
    expect(await scans.get(GTIN, "J")).to.deep.equal({ count: 1, firstScanAt: 111 });
    failures.close();
    await scans.close();
    db.close();
    expect(rowsOf(file)).to.deep.equal({ K: { count: 2, first: 100 }, J: { count: 1, first: 111 } });
  });

  it("counts each scan once when both batches of a key fail", async function () {
    const file = path.join(dir, "scans.db");
    const db = openScansDb(file);
    const scans = createScansRepository(db, { flushMs: 60_000 });
    const failures = writeFailures(file);
    failures.fail();
    await scans.record(GTIN, "K", "10.0.0.1", 100);
    void scans.flush();
    await scans.record(GTIN, "K", "10.0.0.2", 101);
    void scans.flush();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await scans.get(GTIN, "K")).to.deep.equal({ count: 2, firstScanAt: 100 });
    // The last client is the newest one: the same client again does not count.
    expect(await scans.record(GTIN, "K", "10.0.0.2", 102)).to.deep.equal({ count: 2, firstScanAt: 100 });
    failures.close();
    await scans.close();
    db.close();
    expect(rowsOf(file)).to.deep.equal({ K: { count: 2, first: 100 } });
  });

  it("keeps the process alive until close() has written the last batch", function () {
    this.timeout(30_000);
    const file = path.join(dir, "scans.db");
    // Nothing but the close keeps this process's event loop alive.
    const script = `
      const { openScansDb } = require("./api/server");
      const { createScansRepository } = require("./api/repositories/scans");
      const db = openScansDb(${JSON.stringify(file)});
      const scans = createScansRepository(db, { flushMs: 60_000 });
      for (let i = 0; i < 10; i++) scans.record("${GTIN}", "S" + i, "10.0.0.1", 100);
      scans.flush();
      scans.close().then(() => { db.close(); console.log("closed"); });
    `;
    const out = execFileSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], {
      cwd: path.join(__dirname, "..", ".."),
      encoding: "utf8",
    });
    expect(out.trim()).to.equal("closed");
    expect(Object.keys(rowsOf(file))).to.have.length(10);
  });
});

interface StoredCount {
  count: number;
  first: number;
}

/** A scans store on one engine, with its rows read back as the oracle. */
interface ScanStore {
  readonly target: Database.Database | PgStore;
  rows(gtin: string): Promise<Record<string, StoredCount>>;
  close(): Promise<void>;
}

async function pgRows(store: PgStore, gtin: string): Promise<Record<string, StoredCount>> {
  const result = await store.pool.query<{ serial: string; count: number; first_scan_at: number }>(
    "SELECT serial, count, first_scan_at FROM trace_state.scan_counts WHERE gtin = $1",
    [gtin],
  );
  return Object.fromEntries(result.rows.map((r) => [r.serial, { count: r.count, first: r.first_scan_at }]));
}

async function openScanStore(engine: "sqlite" | "postgres", name: string): Promise<ScanStore> {
  if (engine === "postgres") {
    const store = await openTestStore("postgres", name);
    if (store.engine !== "postgres") throw new Error("expected PostgreSQL");
    return { target: store, rows: (gtin) => pgRows(store, gtin), close: () => store.close() };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "scans-"));
  const file = path.join(dir, "scans.db");
  const db = openScansDb(file);
  return {
    target: db,
    rows(gtin) {
      const reader = new Database(file, { readonly: true });
      try {
        const rows = reader
          .prepare("SELECT serial, count, first_scan_at FROM scan_counts WHERE gtin = ?")
          .all(gtin) as { serial: string; count: number; first_scan_at: number }[];
        return Promise.resolve(
          Object.fromEntries(rows.map((r) => [r.serial, { count: r.count, first: r.first_scan_at }])),
        );
      } finally {
        reader.close();
      }
    },
    close() {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}

/** What every engine must count: one scan per client in a row, the first scan's time kept. */
class ScanModel {
  private readonly counts = new Map<string, StoredCount & { last: string }>();

  record(serial: string, client: string, now: number): { count: number; firstScanAt: number } {
    const m = this.counts.get(serial) ?? { count: 0, first: now, last: "" };
    if (m.last !== client) m.count++;
    m.last = client;
    this.counts.set(serial, m);
    return { count: m.count, firstScanAt: m.first };
  }

  get(serial: string): { count: number; firstScanAt: number } | undefined {
    const m = this.counts.get(serial);
    return m === undefined ? undefined : { count: m.count, firstScanAt: m.first };
  }

  rows(): Record<string, StoredCount> {
    return Object.fromEntries([...this.counts].map(([serial, m]) => [serial, { count: m.count, first: m.first }]));
  }
}

describeEngines("api: scan counts", function (engine) {
  let store: ScanStore;
  beforeEach(async function () {
    store = await openScanStore(engine, "scans_model");
  });
  afterEach(async function () {
    await store.close();
  });

  it("agrees with a model through random scans (several in one turn), flushes and reads, and in the store after close", async function () {
    this.timeout(120_000);
    const scan = fc.record({
      serial: fc.constantFrom("A", "B", "C"),
      client: fc.constantFrom("10.0.0.1", "10.0.0.2"),
      now: fc.integer({ min: 1, max: 100 }),
    });
    const step = fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record({
          kind: fc.constant("scans" as const),
          scans: fc.array(scan, { minLength: 1, maxLength: 4 }),
        }),
      },
      { weight: 1, arbitrary: fc.constant({ kind: "flush" as const }) },
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 30 }), async (steps) => {
        // A GTIN per run: one store for all of them.
        const gtin = `run${run++}`;
        const scans = createScansRepository(store.target, { flushMs: 60_000 });
        const model = new ScanModel();
        try {
          for (const s of steps) {
            if (s.kind === "flush") {
              await scans.flush();
              continue;
            }
            // Issued in one turn, answered as if one after the other.
            const expected = s.scans.map((x) => model.record(x.serial, x.client, x.now));
            expect(await Promise.all(s.scans.map((x) => scans.record(gtin, x.serial, x.client, x.now)))).to.deep.equal(
              expected,
            );
            const serials = ["A", "B", "C"];
            expect(await Promise.all(serials.map((serial) => scans.get(gtin, serial)))).to.deep.equal(
              serials.map((serial) => model.get(serial)),
            );
          }
        } finally {
          await scans.close();
        }
        expect(await store.rows(gtin)).to.deep.equal(model.rows());
      }),
      { numRuns: 25 },
    );
  });

  it("knows a client again through another repository over the same store (the salt is kept with the counts)", async function () {
    const first = createScansRepository(store.target, { flushMs: 60_000 });
    expect(await first.get(GTIN, "K")).to.equal(undefined);
    expect(await first.record(GTIN, "K", "10.0.0.1", 100)).to.deep.equal({ count: 1, firstScanAt: 100 });
    await first.close();
    const second = createScansRepository(store.target, { flushMs: 60_000 });
    expect(await second.record(GTIN, "K", "10.0.0.1", 101)).to.deep.equal({ count: 1, firstScanAt: 100 });
    expect(await second.record(GTIN, "K", "10.0.0.2", 102)).to.deep.equal({ count: 2, firstScanAt: 100 });
    await second.close();
    expect(await store.rows(GTIN)).to.deep.equal({ K: { count: 2, first: 100 } });
  });
});

describe("api: scan counts on PostgreSQL replicas", function () {
  this.timeout(60_000);
  const open: { close(): Promise<void> }[] = [];
  afterEach(async function () {
    for (const item of open.splice(0).reverse()) await item.close();
  });

  /** Two replicas' stores on one new database, and a scans repository over each. */
  const replicas = async (name: string, onWriteError?: (message: string) => void) => {
    const url = await createTestDatabase(name);
    const stores: PgStore[] = [];
    for (let i = 0; i < 2; i++) {
      const store = await openStore({ db: url });
      if (store.engine !== "postgres") throw new Error("expected PostgreSQL");
      stores.push(store);
      open.push(store);
    }
    const repos = stores.map((store) => createScansRepository(store, { onWriteError }));
    open.push(...repos);
    return { url, stores: stores as [PgStore, PgStore], repos: repos as [ScansRepository, ScansRepository] };
  };
  const address = (i: number): string => `10.1.${i >> 8}.${i & 255}`;

  it("counts every scan of one serial by two replicas writing at once exactly once", async function () {
    const { stores, repos } = await replicas("scans_hot");
    const n = 400;
    const counted = await Promise.all(
      Array.from({ length: n }, (_, i) => (repos[i % 2] as ScansRepository).record(GTIN, "HOT", address(i), 1000 + i)),
    );
    // Each scan's answer is the count right after it: together, 1 … n, each once.
    expect(counted.map((c) => c.count).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: n }, (_, i) => i + 1));
    expect(new Set(counted.map((c) => c.firstScanAt)).size).to.equal(1);
    for (const repo of repos) expect((await repo.get(GTIN, "HOT"))?.count).to.equal(n);
    expect((await pgRows(stores[0], GTIN)).HOT?.count).to.equal(n);
  });

  it("counts many serials that two replicas scan in opposite orders at once, with no deadlock", async function () {
    const errors: string[] = [];
    const { url, stores, repos } = await replicas("scans_orders", (message) => errors.push(message));
    const serials = Array.from({ length: 1500 }, (_, i) => `S${i}`);
    const rounds = 3;
    for (let round = 0; round < rounds; round++) {
      await Promise.all([
        ...serials.map((serial) => repos[0].record(GTIN, serial, `a${round}`, 100)),
        ...[...serials].reverse().map((serial) => repos[1].record(GTIN, serial, `b${round}`, 100)),
      ]);
    }
    expect(errors).to.deep.equal([]);
    const rows = await pgRows(stores[0], GTIN);
    expect(Object.keys(rows)).to.have.length(serials.length);
    for (const serial of serials) expect(rows[serial]?.count, serial).to.equal(2 * rounds);
    // A deadlock would have been retried, so the counts cannot tell: the server's statistics can,
    // once the replicas' connections have ended (a backend reports them when it exits).
    for (const store of stores) await store.close();
    const check = new Client({ connectionString: url });
    await check.connect();
    try {
      const deadlocks = await check.query<{ n: string }>(
        "SELECT deadlocks AS n FROM pg_stat_database WHERE datname = current_database()",
      );
      expect(Number(deadlocks.rows[0]?.n)).to.equal(0);
    } finally {
      await check.end();
    }
  });

  it("does not count a client again through another replica", async function () {
    const { repos } = await replicas("scans_salt");
    expect(await repos[0].record(GTIN, "K", "10.0.0.1", 100)).to.deep.equal({ count: 1, firstScanAt: 100 });
    expect(await repos[1].record(GTIN, "K", "10.0.0.1", 101)).to.deep.equal({ count: 1, firstScanAt: 100 });
    expect(await repos[1].record(GTIN, "K", "10.0.0.2", 102)).to.deep.equal({ count: 2, firstScanAt: 100 });
    expect(await repos[0].record(GTIN, "K", "10.0.0.2", 103)).to.deep.equal({ count: 2, firstScanAt: 100 });
    expect(await repos[0].record(GTIN, "K", "10.0.0.1", 104)).to.deep.equal({ count: 3, firstScanAt: 100 });
  });

  it("writes the scans and reads of one turn in one statement", async function () {
    const { stores, repos } = await replicas("scans_turn");
    // Warm up (the salt is read on the first scan), then count the statements of one turn.
    await repos[0].record(GTIN, "W", "10.0.0.1", 1);
    const pool = stores[0].pool;
    const query = pool.query.bind(pool);
    let statements = 0;
    pool.query = ((...args: Parameters<typeof query>) => {
      statements++;
      return query(...args);
    }) as typeof pool.query;
    const scans = Array.from({ length: 200 }, (_, i) => repos[0].record(GTIN, `T${i}`, "10.0.0.1", 5));
    const reads = [repos[0].get(GTIN, "W"), repos[0].get(GTIN, "NONE")];
    expect((await Promise.all(scans)).every((c) => c.count === 1 && c.firstScanAt === 5)).to.equal(true);
    expect(await Promise.all(reads)).to.deep.equal([{ count: 1, firstScanAt: 1 }, undefined]);
    expect(statements).to.equal(1);
  });

  it("rejects the requests of a statement that fails and writes nothing of it", async function () {
    const errors: string[] = [];
    const { stores, repos } = await replicas("scans_failed", (message) => errors.push(message));
    expect(await repos[0].record(GTIN, "A", "10.0.0.1", 10)).to.deep.equal({ count: 1, firstScanAt: 10 });
    const pool = stores[1].pool;
    // The rows are written, then the statement fails after them.
    await pool.query(
      "CREATE FUNCTION trace_state.fail_scan() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected write failure'; END $$; " +
        "CREATE TRIGGER fail_scan AFTER INSERT OR UPDATE ON trace_state.scan_counts FOR EACH STATEMENT EXECUTE FUNCTION trace_state.fail_scan();",
    );
    const failed = await Promise.allSettled([
      repos[0].record(GTIN, "A", "10.0.0.2", 11),
      repos[0].record(GTIN, "B", "10.0.0.1", 12),
      repos[0].get(GTIN, "A"),
    ]);
    expect(failed.map((r) => r.status)).to.deep.equal(["rejected", "rejected", "rejected"]);
    expect(String((failed[0] as PromiseRejectedResult).reason)).to.include("injected write failure");
    expect(errors.join()).to.include("injected write failure");
    expect(await pgRows(stores[1], GTIN)).to.deep.equal({ A: { count: 1, first: 10 } });
    await pool.query("DROP TRIGGER fail_scan ON trace_state.scan_counts");
    expect(await repos[0].record(GTIN, "A", "10.0.0.2", 13)).to.deep.equal({ count: 2, firstScanAt: 10 });
    expect(await repos[1].get(GTIN, "A")).to.deep.equal({ count: 2, firstScanAt: 10 });
    expect(await repos[1].get(GTIN, "B")).to.equal(undefined);
  });
});

describe("api: per-turn read transaction", function () {
  it("ends the turn's transaction even when its onBegin hook throws", async function () {
    const db = new Database(":memory:");
    db.exec("CREATE TABLE t (v INTEGER)");
    let fail = true;
    const reads = readBatch(db, {
      onBegin: () => {
        if (fail) throw new Error("injected");
      },
    });
    expect(() => reads.enter()).to.throw("injected");
    await new Promise((resolve) => setImmediate(resolve));
    expect(db.inTransaction).to.equal(false);
    fail = false;
    reads.enter();
    expect(db.inTransaction).to.equal(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(db.inTransaction).to.equal(false);
    db.close();
  });
});
