/**
 * Scan counts with the writer thread (a file database): what reads see while batches are in
 * flight, what the file holds after close, and a failed batch written again, against a model.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import fc from "fast-check";
import Database from "better-sqlite3";
import { execFileSync } from "node:child_process";
import { createScansRepository } from "../../api/repositories/scans";
import { openScansDb } from "../../api/server";
import { readBatch } from "../../mirror/read";

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

describe("api: scan counts written by the writer thread", function () {
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
        scans.record(GTIN, "W", "10.0.0.9", 1);
        model.set("W", { count: 1, first: 1, last: "10.0.0.9" });
        scans.flush();
        while (failures.db.prepare("SELECT 1 FROM scan_counts WHERE serial = 'W'").get() === undefined)
          await new Promise((resolve) => setTimeout(resolve, 5));
        try {
          for (const s of steps) {
            if (s.kind === "flush") scans.flush();
            else if (s.kind === "fail") failures.fail();
            else if (s.kind === "heal") failures.heal();
            else if (s.kind === "wait") await new Promise((resolve) => setTimeout(resolve, 5));
            else {
              const m = model.get(s.serial) ?? { count: 0, first: s.now, last: "" };
              if (m.last !== s.client) m.count++;
              m.last = s.client;
              model.set(s.serial, m);
              expect(scans.record(GTIN, s.serial, s.client, s.now)).to.deep.equal({
                count: m.count,
                firstScanAt: m.first,
              });
            }
            for (const serial of ["A", "B", "C", "D", "W"]) {
              const m = model.get(serial);
              expect(scans.get(GTIN, serial), serial).to.deep.equal(
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
    scans.record(GTIN, "A", "10.0.0.1", 10);
    scans.flush();
    await settle();
    // Another connection makes every write fail (reads still work): the writer's next batch fails.
    const failures = writeFailures(file);
    failures.fail();
    scans.record(GTIN, "A", "10.0.0.2", 11);
    scans.record(GTIN, "B", "10.0.0.1", 12);
    scans.flush();
    // A newer count of A while that batch is in flight; it then fails, to be written again.
    expect(scans.record(GTIN, "A", "10.0.0.1", 13)).to.deep.equal({ count: 3, firstScanAt: 10 });
    await settle();
    expect(errors.join()).to.include("injected write failure");
    expect(scans.get(GTIN, "A")).to.deep.equal({ count: 3, firstScanAt: 10 });
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
    scans.record(GTIN, "K", "10.0.0.1", 100);
    scans.record(GTIN, "J", "10.0.0.1", 111);
    scans.flush();
    expect(scans.record(GTIN, "K", "10.0.0.2", 101)).to.deep.equal({ count: 2, firstScanAt: 100 });
    scans.flush(); // K again, in flight with the first batch
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(errors.join()).to.include("injected write failure");
    expect(scans.get(GTIN, "K")).to.deep.equal({ count: 2, firstScanAt: 100 });
    expect(scans.get(GTIN, "J")).to.deep.equal({ count: 1, firstScanAt: 111 });
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
    scans.record(GTIN, "K", "10.0.0.1", 100);
    scans.flush();
    scans.record(GTIN, "K", "10.0.0.2", 101);
    scans.flush();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(scans.get(GTIN, "K")).to.deep.equal({ count: 2, firstScanAt: 100 });
    // The last client is the newest one: the same client again does not count.
    expect(scans.record(GTIN, "K", "10.0.0.2", 102)).to.deep.equal({ count: 2, firstScanAt: 100 });
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
