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
import { createScansRepository } from "../../api/repositories/scans";
import { openScansDb } from "../../api/server";

const GTIN = "09506000134352";

describe("api: scan counts written by the writer thread", function () {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "scans-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const rowsOf = (file: string): Record<string, { count: number; first: number }> => {
    const db = new Database(file, { readonly: true });
    try {
      const rows = db.prepare("SELECT serial, count, first_scan_at FROM scan_counts").all() as { serial: string; count: number; first_scan_at: number }[];
      return Object.fromEntries(rows.map((r) => [r.serial, { count: r.count, first: r.first_scan_at }]));
    } finally {
      db.close();
    }
  };

  it("agrees with a model through random scans, flushes and waits, and in the file after close", async function () {
    this.timeout(60_000);
    const step = fc.oneof(
      fc.record({ kind: fc.constant("scan" as const), serial: fc.constantFrom("A", "B", "C", "D"), client: fc.constantFrom("10.0.0.1", "10.0.0.2"), now: fc.integer({ min: 1, max: 100 }) }),
      fc.constant({ kind: "flush" as const }),
      fc.constant({ kind: "wait" as const }),
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 60 }), async (steps) => {
        const file = path.join(dir, `scans-${run++}.db`);
        const db = openScansDb(file);
        const scans = createScansRepository(db, { flushMs: 60_000 });
        const model = new Map<string, { count: number; first: number; last: string }>();
        try {
          for (const s of steps) {
            if (s.kind === "flush") scans.flush();
            else if (s.kind === "wait") await new Promise((resolve) => setTimeout(resolve, 2));
            else {
              const m = model.get(s.serial) ?? { count: 0, first: s.now, last: "" };
              if (m.last !== s.client) m.count++;
              m.last = s.client;
              model.set(s.serial, m);
              expect(scans.record(GTIN, s.serial, s.client, s.now)).to.deep.equal({ count: m.count, firstScanAt: m.first });
            }
            for (const serial of ["A", "B", "C", "D"]) {
              const m = model.get(serial);
              expect(scans.get(GTIN, serial), serial).to.deep.equal(m === undefined ? undefined : { count: m.count, firstScanAt: m.first });
            }
          }
          await scans.close();
        } finally {
          db.close();
        }
        const expected = Object.fromEntries([...model].map(([serial, m]) => [serial, { count: m.count, first: m.first }]));
        expect(rowsOf(file)).to.deep.equal(expected);
      }),
      { numRuns: 40 },
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
    const other = new Database(file);
    other.exec(
      "CREATE TRIGGER no_insert BEFORE INSERT ON scan_counts BEGIN SELECT RAISE(ABORT, 'injected write failure'); END;" +
        "CREATE TRIGGER no_update BEFORE UPDATE ON scan_counts BEGIN SELECT RAISE(ABORT, 'injected write failure'); END;",
    );
    scans.record(GTIN, "A", "10.0.0.2", 11);
    scans.record(GTIN, "B", "10.0.0.1", 12);
    scans.flush();
    // A newer count of A while that batch is in flight; it then fails, to be written again.
    expect(scans.record(GTIN, "A", "10.0.0.1", 13)).to.deep.equal({ count: 3, firstScanAt: 10 });
    await settle();
    expect(errors.join()).to.include("injected write failure");
    expect(scans.get(GTIN, "A")).to.deep.equal({ count: 3, firstScanAt: 10 });
    other.exec("DROP TRIGGER no_insert; DROP TRIGGER no_update;");
    other.close();
    await scans.close();
    db.close();
    expect(rowsOf(file)).to.deep.equal({ A: { count: 3, first: 10 }, B: { count: 1, first: 12 } });
  });
});
