import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { expect } from "chai";
import { buildBatch, type BuildBatchResult } from "../../core/batch";
import { databaseChecksum } from "../../mirror/checksum";
import { openMirror, type Db } from "../../mirror/db";
import {
  createContentStore,
  MAX_STORABLE_LEAVES,
  storeContent,
  type ContentAnchor,
  type ContentStore,
} from "../../mirror/write/content";
import { createSeeder } from "../../mirror/write/seed";

const GTIN = "09506000134352";

describe("mirror/write/content: storeContent", function () {
  let dir: string;
  let db: Db;
  let store: ContentStore;
  let built: BuildBatchResult;
  let lines: string[];

  beforeEach(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "trace-content-"));
    db = openMirror({ db: path.join(dir, "trace.db") });
    store = createContentStore(db);
    fs.writeFileSync(path.join(dir, "in.csv"), `gtin,serial,lot\n${GTIN},S1,L1\n${GTIN},S2,L1\n${GTIN},S3,L2\n`);
    built = await buildBatch({ kind: "identity", input: path.join(dir, "in.csv"), outDir: path.join(dir, "out") });
    lines = fs
      .readFileSync(built.content, "utf8")
      .split("\n")
      .filter((l) => l !== "");
  });

  afterEach(function () {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function anchor(overrides: { kind?: number; leafCount?: number } = {}): ContentAnchor {
    createSeeder(db).anchor({
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
    const row = store.anchor({ brandId: 1, root: built.root });
    if (row === undefined) throw new Error("anchor not seeded");
    return row;
  }
  const text = (ls: string[]): Readable => Readable.from([`${ls.join("\n")}\n`]);

  it("stores right content ('ingested'), then answers 'already' and writes nothing more", async function () {
    const a = anchor();
    expect(await storeContent(store, a, text(lines))).to.include({ ok: true, result: "ingested", records: 3 });
    expect(store.anchor(a)?.status).to.equal("ok");
    const after = databaseChecksum(db);
    expect(await storeContent(store, a, text(lines))).to.include({ ok: true, result: "already" });
    expect(databaseChecksum(db)).to.equal(after);
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
      const a = anchor();
      const before = databaseChecksum(db);
      const outcome = await storeContent(store, a, text(tamper(lines)));
      expect(outcome).to.include({ ok: false, code });
      expect(databaseChecksum(db)).to.equal(before);
      expect(db.prepare("SELECT count(*) AS n FROM sqlite_temp_master").get()).to.deep.equal({ n: 0 });
    });
  }

  it("KIND: an anchored kind that is neither 1 nor 2, without reading the content", async function () {
    const a = anchor({ kind: 3 });
    const stream = text(lines);
    expect(await storeContent(store, a, stream)).to.include({ ok: false, code: "KIND" });
    expect(stream.readableEnded).to.equal(false);
  });

  it("UNSTORABLE: more leaves than one tree_nodes value holds, without reading the content", async function () {
    const a = anchor({ leafCount: MAX_STORABLE_LEAVES + 1 });
    expect(await storeContent(store, a, text(lines))).to.include({ ok: false, code: "UNSTORABLE" });
  });

  it("ANCHOR_CHANGED: the anchor went away (a reorg) while its content streamed; nothing stored", async function () {
    const a = anchor();
    const queue = lines.map((l) => `${l}\n`);
    const stream = new Readable({
      read() {
        const next = queue.shift();
        if (next !== undefined) this.push(next);
        else {
          createSeeder(db).removeAnchor(1, built.root);
          this.push(null);
        }
      },
    });
    expect(await storeContent(store, a, stream)).to.include({ ok: false, code: "ANCHOR_CHANGED" });
    expect(db.prepare("SELECT count(*) AS n FROM records").get()).to.deep.equal({ n: 0 });
  });

  it("rejects when the stream itself fails, storing nothing", async function () {
    const a = anchor();
    const failing = new Readable({
      read() {
        this.push(`${lines.slice(0, 2).join("\n")}\n`);
        this.destroy(new Error("EIO"));
      },
    });
    const before = databaseChecksum(db);
    await storeContent(store, a, failing).then(
      () => expect.fail("should reject"),
      (err: Error) => expect(err.message).to.equal("EIO"),
    );
    expect(databaseChecksum(db)).to.equal(before);
  });
});
