/**
 * storeContent on both engines: its outcome codes, "a failed store changes nothing" (the mirror's
 * digest), identity_counts as the triggers keep them after a bulk load, the same rows on both
 * engines, and on PostgreSQL a backend terminated mid-COPY.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { expect } from "chai";
import { buildBatch, type BuildBatchResult } from "../../core/batch";
import { storeChecksum } from "../../mirror/checksum";
import type { MirrorStore } from "../../mirror/store";
import {
  createContentStore,
  MAX_STORABLE_LEAVES,
  storeContent,
  type ContentAnchor,
  type ContentStore,
} from "../../mirror/write/content";
import { createSeeder } from "../../mirror/write/seed";
import { describeEngines, ENGINES, openTestStore } from "../helpers/engines";
import { writeIdentityCsv } from "../helpers/identity-csv";
import { queryRow, queryRows, tempTables } from "../indexer/fixtures-ingest/query";

const GTIN = "09506000134352";

/** Builds an identity batch from a CSV file (or from CSV text, written to `dir/in.csv` first). */
async function buildIdentity(
  dir: string,
  csv: { file: string } | { text: string },
): Promise<{ built: BuildBatchResult; lines: string[] }> {
  const input = "file" in csv ? csv.file : path.join(dir, "in.csv");
  if ("text" in csv) fs.writeFileSync(input, csv.text);
  const built = await buildBatch({ kind: "identity", input, outDir: path.join(dir, "out") });
  const lines = fs
    .readFileSync(built.content, "utf8")
    .split("\n")
    .filter((l) => l !== "");
  return { built, lines };
}

async function seedAnchor(
  store: MirrorStore,
  built: BuildBatchResult,
  overrides: { kind?: number; leafCount?: number } = {},
): Promise<ContentAnchor> {
  await createSeeder(store).anchor({
    brandId: 1,
    root: built.root,
    kind: overrides.kind ?? 1,
    leafCount: overrides.leafCount ?? built.leafCount,
    contentUri: "",
    submitter: `0x${"11".repeat(20)}`,
    blockNumber: 5,
    blockHash: `0x${"22".repeat(32)}`,
    txHash: `0x${"33".repeat(32)}`,
    logIndex: 0,
    blockTime: 1_700_000_000,
  });
  const row = await createContentStore(store).anchor({ brandId: 1, root: built.root });
  if (row === undefined) throw new Error("anchor not seeded");
  return row;
}

const text = (ls: string[]): Readable => Readable.from([`${ls.join("\n")}\n`]);

describeEngines("mirror/write/content: storeContent", (engine) => {
  let dir: string;
  let mirror: MirrorStore;
  let store: ContentStore;
  let built: BuildBatchResult;
  let lines: string[];

  beforeEach(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "trace-content-"));
    mirror = await openTestStore(engine, "content");
    store = createContentStore(mirror);
    ({ built, lines } = await buildIdentity(dir, {
      text: `gtin,serial,lot\n${GTIN},S1,L1\n${GTIN},S2,L1\n${GTIN},S3,L2\n`,
    }));
  });

  afterEach(async function () {
    await mirror.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const anchor = (overrides: { kind?: number; leafCount?: number } = {}): Promise<ContentAnchor> =>
    seedAnchor(mirror, built, overrides);

  it("stores right content ('ingested'), then answers 'already' and writes nothing more", async function () {
    const a = await anchor();
    expect(await storeContent(store, a, text(lines))).to.include({ ok: true, result: "ingested", records: 3 });
    expect((await store.anchor(a))?.status).to.equal("ok");
    const after = await storeChecksum(mirror);
    expect(await storeContent(store, a, text(lines))).to.include({ ok: true, result: "already" });
    expect(await storeChecksum(mirror)).to.equal(after);
    expect(await tempTables(mirror)).to.equal(0);
  });

  const wrong: [string, (ls: string[]) => string[]][] = [
    ["HEADER", () => ["<html>"]],
    [
      "HEADER_MISMATCH",
      (ls) => [JSON.stringify({ ...(JSON.parse(ls[0] ?? "{}") as object), leafCount: 4 }), ...ls.slice(1)],
    ],
    ["LEAF_COUNT", (ls) => ls.slice(0, -1)],
    ["BAD_LINE", (ls) => [...ls.slice(0, 2), "{not json", ...ls.slice(3)]],
    [
      "ROOT",
      (ls) => [ls[0] ?? "", ls[1] ?? "", ls[2] ?? "", (ls[3] ?? "").replace(/"salt":"[0-9a-f]{4}/, '"salt":"0000')],
    ],
  ];
  for (const [code, tamper] of wrong) {
    it(`${code}: refuses the content and changes nothing`, async function () {
      const a = await anchor();
      const before = await storeChecksum(mirror);
      const outcome = await storeContent(store, a, text(tamper(lines)));
      expect(outcome).to.include({ ok: false, code });
      expect(await storeChecksum(mirror)).to.equal(before);
      expect(await tempTables(mirror)).to.equal(0);
    });
  }

  it("KIND: an anchored kind that is neither 1 nor 2, without reading the content", async function () {
    const a = await anchor({ kind: 3 });
    const stream = text(lines);
    expect(await storeContent(store, a, stream)).to.include({ ok: false, code: "KIND" });
    expect(stream.readableEnded).to.equal(false);
  });

  it("UNSTORABLE: more leaves than one tree_nodes value holds, without reading the content", async function () {
    const a = await anchor({ leafCount: MAX_STORABLE_LEAVES + 1 });
    expect(await storeContent(store, a, text(lines))).to.include({ ok: false, code: "UNSTORABLE" });
  });

  it("ANCHOR_CHANGED: the anchor went away (a reorg) while its content streamed; nothing stored", async function () {
    const a = await anchor();
    const queue = lines.map((l) => `${l}\n`);
    const stream = new Readable({
      read() {
        const next = queue.shift();
        if (next !== undefined) this.push(next);
        else
          createSeeder(mirror)
            .removeAnchor(1, built.root)
            .then(
              () => this.push(null),
              (error: Error) => this.destroy(error),
            );
      },
    });
    expect(await storeContent(store, a, stream)).to.include({ ok: false, code: "ANCHOR_CHANGED" });
    expect(await queryRow(mirror, "SELECT count(*) AS n FROM records")).to.deep.equal({ n: 0 });
  });

  it("rejects when the stream itself fails, storing nothing", async function () {
    const a = await anchor();
    const failing = new Readable({
      read() {
        this.push(`${lines.slice(0, 2).join("\n")}\n`);
        this.destroy(new Error("EIO"));
      },
    });
    const before = await storeChecksum(mirror);
    await storeContent(store, a, failing).then(
      () => expect.fail("should reject"),
      (err: Error) => expect(err.message).to.equal("EIO"),
    );
    expect(await storeChecksum(mirror)).to.equal(before);
    // The store is usable afterwards.
    expect(await storeContent(store, a, text(lines))).to.include({ ok: true, result: "ingested" });
  });

  it("two stores of one anchor at once: one is 'ingested', the other 'already', and the rows are there once", async function () {
    const a = await anchor();
    const outcomes = await Promise.all([storeContent(store, a, text(lines)), storeContent(store, a, text(lines))]);
    expect(outcomes.map((o) => (o.ok ? o.result : o.code)).sort()).to.deep.equal(["already", "ingested"]);
    expect(await queryRow(mirror, "SELECT count(*) AS n FROM records")).to.deep.equal({ n: 3 });
  });

  it("stores a batch of many COPY chunks whole: every record in leaf order, its keys, and identity_counts as the triggers keep them", async function () {
    const csv = path.join(dir, "many.csv");
    await writeIdentityCsv(csv, { rows: 5000, products: 3, itemsPerLot: 700, withAttribute: true });
    const many = await buildIdentity(dir, { file: csv });
    const a = await seedAnchor(mirror, many.built);
    expect(await storeContent(store, a, fs.createReadStream(many.built.content))).to.include({
      ok: true,
      result: "ingested",
      records: 5000,
    });
    const records = await queryRows<{ leaf_index: number; record: string }>(
      mirror,
      "SELECT leaf_index, record FROM records ORDER BY leaf_index",
    );
    expect(records.map((r) => r.record)).to.deep.equal(many.lines.slice(1));
    expect(records.map((r) => r.leaf_index)).to.deep.equal(records.map((_, i) => i));
    // One serial key per record: lots are counted in identity_counts, not keyed per record.
    expect(await queryRow(mirror, "SELECT count(*) AS n FROM item_keys")).to.deep.equal({ n: 5000 });
    const counts = "SELECT gtin, brand_id, lot, batch_id, items, first_leaf FROM identity_counts ORDER BY gtin, lot";
    const oracle =
      "SELECT k.gtin, a.brand_id, k.lot, k.batch_id, count(*) AS items, min(k.leaf_index) AS first_leaf FROM item_keys k " +
      "JOIN anchors a USING (batch_id) WHERE k.kind = 1 AND k.serial <> '' GROUP BY k.gtin, a.brand_id, k.lot, k.batch_id ORDER BY k.gtin, k.lot";
    const kept = await queryRows(mirror, counts);
    expect(kept).to.have.length(3 * 8);
    expect(kept).to.deep.equal(await queryRows(mirror, oracle));
  });
});

if (ENGINES.includes("sqlite") && ENGINES.includes("postgres")) {
  describe("mirror/write/content: the same rows on both engines", function () {
    this.timeout(60_000);

    it("a stored batch gives both mirrors the same digest", async function () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trace-content-"));
      const stores = [await openTestStore("sqlite", "content_same"), await openTestStore("postgres", "content_same")];
      try {
        const csv = `gtin,serial,lot\n${GTIN},S1,L1\n${GTIN},S2,\n04006381333931,S3,L2\n`;
        const { built } = await buildIdentity(dir, { text: csv });
        for (const mirror of stores) {
          const a = await seedAnchor(mirror, built);
          const outcome = await storeContent(createContentStore(mirror), a, fs.createReadStream(built.content));
          expect(outcome).to.include({ ok: true, result: "ingested" });
        }
        expect(await storeChecksum(stores[1] as MirrorStore)).to.equal(await storeChecksum(stores[0] as MirrorStore));
      } finally {
        for (const mirror of stores) await mirror.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

if (ENGINES.includes("postgres")) {
  describe("mirror/pg/content: a backend terminated while it stages", function () {
    this.timeout(60_000);

    it("rejects, leaves the digest unchanged and the anchor 'pending', and the next store succeeds", async function () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trace-content-"));
      const mirror = await openTestStore("postgres", "content_kill");
      try {
        if (mirror.engine !== "postgres") throw new Error("expected PostgreSQL");
        const csv = path.join(dir, "kill.csv");
        await writeIdentityCsv(csv, { rows: 4000, products: 2, itemsPerLot: 1000 });
        const { built, lines } = await buildIdentity(dir, { file: csv });
        const a = await seedAnchor(mirror, built);
        const store = createContentStore(mirror);
        const before = await storeChecksum(mirror);
        let terminated = 0;
        const interrupted = async function* (): AsyncGenerator<string> {
          yield `${lines.slice(0, 2001).join("\n")}\n`;
          // The staging COPY is under way: end its backend as an administrator (or an OOM kill) would.
          for (let tries = 0; terminated === 0 && tries < 100; tries++) {
            const result = await mirror.pool.query<{ pid: number }>(
              "SELECT pg_terminate_backend(pid) AS ok, pid FROM pg_stat_activity " +
                "WHERE datname = current_database() AND query LIKE 'COPY ingest_stage%' AND pid <> pg_backend_pid()",
            );
            terminated = result.rowCount ?? 0;
            if (terminated === 0) await new Promise((resolve) => setTimeout(resolve, 20));
          }
          yield `${lines.slice(2001).join("\n")}\n`;
        };
        let failure: unknown;
        await storeContent(store, a, interrupted()).then(
          (outcome) => expect.fail(`should reject, got ${JSON.stringify(outcome)}`),
          (error: unknown) => (failure = error),
        );
        expect(terminated).to.equal(1);
        expect(failure).to.be.instanceOf(Error);
        expect(await storeChecksum(mirror)).to.equal(before);
        expect(await store.anchor(a)).to.include({ status: "pending", attempts: 0 });
        expect(await tempTables(mirror)).to.equal(0);
        expect(await storeContent(store, a, fs.createReadStream(built.content))).to.include({
          ok: true,
          result: "ingested",
          records: 4000,
        });
      } finally {
        await mirror.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
