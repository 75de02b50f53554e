import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pathToFileURL } from "node:url";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";
import {
  buildBatch,
  canonicalRecord,
  contentHeaderLine,
  KIND_CODE,
  loadTree,
  parseRecord,
  recordHash,
  type RecordKind,
} from "../../core";
import { ContentRefusedError, createContentSource, type ContentSource } from "../../indexer/content-source";
import { createIngester, type Ingester } from "../../indexer/ingest";
import { openStore, type MirrorStore } from "../../mirror/store";
import { acceptUpload } from "../../mirror/write/upload";
import { createSeeder } from "../../mirror/write/seed";
import { describeEngines, testMirrorLocation } from "../helpers/engines";
import { benchIngest } from "./fixtures-ingest/bench-ingest";
import { BATCH_OF, BATCH_OF_ROOT, execute, queryRow, queryRows, tempTables } from "./fixtures-ingest/query";
import { memoryLogger } from "./helpers/log";

const FIXTURES = path.join(__dirname, "fixtures-ingest");
const RETRY_MS = 60_000;
const REPO = path.resolve(__dirname, "../..");

interface Built {
  readonly root: string;
  readonly leafCount: number;
  readonly kind: RecordKind;
  /** The content file's lines: header first. */
  readonly lines: string[];
}

interface AnchorStatus {
  content_status: string;
  content_error: string | null;
  content_attempts: number;
  content_retry_at: number | null;
}

describeEngines("content ingestion", (engine) => {
  let dir: string;
  let contentDir: string;
  /** Where the mirror lives (a file or a postgres:// URL), for the child process of the kill test. */
  let location: string;
  let mirror: MirrorStore;
  let clock: number;
  let log: ReturnType<typeof memoryLogger>;

  beforeEach(async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), "trace-ingest-"));
    contentDir = path.join(dir, "content");
    fs.mkdirSync(contentDir);
    location = await testMirrorLocation(engine, "ingest");
    mirror = await openStore({ db: location });
    clock = 1_700_000_000_000;
    log = memoryLogger();
  });

  afterEach(async function () {
    await mirror.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function build(kind: RecordKind, fixture: string): Promise<Built> {
    const result = await buildBatch({ kind, input: path.join(FIXTURES, fixture), outDir: path.join(dir, "build") });
    const lines = (await readFile(result.content, "utf8")).split("\n").filter((l) => l !== "");
    return { root: result.root, leafCount: result.leafCount, kind, lines };
  }
  const identity = (): Promise<Built> => build("identity", "identity.csv");
  const trace = (): Promise<Built> => build("trace", "events.jsonld");

  let nextLog = 0;
  async function anchor(
    b: Built,
    options: { brandId?: number; contentUri?: string; leafCount?: number } = {},
  ): Promise<{ brandId: number; root: string }> {
    const brandId = options.brandId ?? 1;
    await createSeeder(mirror).anchor({
      brandId,
      root: b.root,
      kind: KIND_CODE[b.kind],
      leafCount: options.leafCount ?? b.leafCount,
      contentUri: options.contentUri ?? `${b.root}.ndjson`,
      submitter: `0x${"11".repeat(20)}`,
      blockNumber: 10,
      blockHash: `0x${"22".repeat(32)}`,
      txHash: `0x${"33".repeat(32)}`,
      logIndex: nextLog++,
      blockTime: 1700000000,
    });
    return { brandId, root: b.root };
  }

  async function status(key: { brandId: number; root: string }): Promise<AnchorStatus> {
    const row = await queryRow<AnchorStatus>(
      mirror,
      "SELECT content_status, content_error, content_attempts, content_retry_at FROM anchors WHERE brand_id = ? AND root = ?",
      [key.brandId, key.root],
    );
    if (row === undefined) throw new Error(`no anchor ${key.root}`);
    return row;
  }

  async function rows(key: {
    brandId: number;
    root: string;
  }): Promise<{ records: number; keys: number; trees: number }> {
    const count = async (table: string): Promise<number> =>
      (
        await queryRow<{ n: number }>(mirror, `SELECT count(*) AS n FROM ${table} WHERE batch_id = ${BATCH_OF}`, [
          key.brandId,
          key.root,
        ])
      )?.n ?? -1;
    return { records: await count("records"), keys: await count("item_keys"), trees: await count("tree_nodes") };
  }

  function place(b: Built, lines: string[] = b.lines, name = `${b.root}.ndjson`): string {
    const file = path.join(contentDir, name);
    fs.writeFileSync(file, `${lines.join("\n")}\n`);
    return file;
  }

  function ingester(
    source: ContentSource = createContentSource({ contentDir, maxBytes: 1 << 20, timeoutMs: 2000 }),
  ): Ingester {
    return createIngester({ store: mirror, source, log, config: { retryDelayMs: RETRY_MS }, now: () => clock });
  }

  function upload(
    key: { brandId: number; root: string },
    stream: NodeJS.ReadableStream,
  ): ReturnType<typeof acceptUpload> {
    return acceptUpload({ store: mirror, contentDir, anchor: key, stream, maxBytes: 1 << 20 });
  }

  /** Replaces record line `n` (1-based over records) by `edit(record)`. */
  function editRecord(b: Built, n: number, edit: (value: Record<string, unknown>) => unknown): string[] {
    const lines = [...b.lines];
    lines[n] = JSON.stringify(edit(JSON.parse(lines[n] ?? "") as Record<string, unknown>));
    return lines;
  }

  describe("content that matches its anchor", function () {
    it("stores identity records, item keys and a tree whose proofs verify with OpenZeppelin", async function () {
      const b = await identity();
      const key = await anchor(b);
      place(b);
      expect(await ingester().ingestPending()).to.deep.equal({ ingested: 1, mismatched: 0, pending: 0 });

      expect(await status(key)).to.include({ content_status: "ok", content_error: null, content_retry_at: null });
      const records = await queryRows<{ leaf_index: number; record_hash: Buffer; record: string }>(
        mirror,
        `SELECT leaf_index, record_hash, record FROM records WHERE batch_id = ${BATCH_OF} ORDER BY leaf_index`,
        [1, b.root],
      );
      expect(records.map((r) => r.record)).to.deep.equal(b.lines.slice(1));
      const stored = await queryRow<{ nodes: Buffer }>(
        mirror,
        `SELECT nodes FROM tree_nodes WHERE batch_id = ${BATCH_OF}`,
        [1, b.root],
      );
      const tree = loadTree(stored?.nodes ?? Buffer.alloc(0));
      expect(tree.root).to.equal(b.root);
      for (const r of records) {
        const hash = `0x${r.record_hash.toString("hex")}`;
        expect(hash).to.equal(recordHash(r.record));
        expect(StandardMerkleTree.verify(b.root, ["bytes32"], [hash], tree.proof(r.leaf_index))).to.equal(true);
      }

      const keys = await queryRows(
        mirror,
        `SELECT gtin, serial, lot, kind, leaf_index FROM item_keys WHERE batch_id IN ${BATCH_OF_ROOT} ORDER BY leaf_index, serial DESC`,
        [b.root],
      );
      expect(keys).to.deep.equal([
        { gtin: "09506000134352", serial: "SER1", lot: "LOT1", kind: 1, leaf_index: 0 },
        { gtin: "04006381333931", serial: "SER2", lot: "", kind: 1, leaf_index: 1 },
        { gtin: "09506000134352", serial: "SER3", lot: "LOT1", kind: 1, leaf_index: 2 },
        { gtin: "09506000134352", serial: "SER4", lot: "LOT2", kind: 1, leaf_index: 3 },
        { gtin: "04006381333931", serial: "A/1", lot: "", kind: 1, leaf_index: 4 },
      ]);
      const joined = await queryRow<{ n: number }>(
        mirror,
        "SELECT count(*) AS n FROM item_keys k JOIN records r USING (batch_id, leaf_index)",
      );
      expect(joined?.n).to.equal(keys.length);
    });

    it("stores trace item keys from sgtin / lgtin URNs, class patterns and Digital Links, and skips what is not an item", async function () {
      const b = await trace();
      const key = await anchor(b);
      place(b);
      expect(await ingester().ingestOne(key)).to.deep.equal({ status: "ok", records: 5, already: false });

      const keys = await queryRows(
        mirror,
        `SELECT leaf_index, gtin, serial, lot, kind FROM item_keys WHERE batch_id IN ${BATCH_OF_ROOT} ORDER BY leaf_index, gtin, serial, lot`,
        [b.root],
      );
      expect(keys).to.deep.equal([
        { leaf_index: 0, gtin: "04006381333931", serial: "A/1", lot: "", kind: 2 },
        { leaf_index: 0, gtin: "09506000134352", serial: "SER1", lot: "", kind: 2 },
        // parentID is an SSCC: not an item. The second Digital Link has a lot and a serial: a serial key.
        { leaf_index: 1, gtin: "09506000134352", serial: "SER3", lot: "", kind: 2 },
        { leaf_index: 1, gtin: "09506000134352", serial: "SER9", lot: "", kind: 2 },
        // Digital Link with a lot, an lgtin class and an sgtin pattern (class level: serial = lot = '').
        { leaf_index: 2, gtin: "04006381333931", serial: "", lot: "", kind: 2 },
        { leaf_index: 2, gtin: "04006381333931", serial: "", lot: "L%9", kind: 2 },
        { leaf_index: 2, gtin: "09506000134352", serial: "", lot: "LOT1", kind: 2 },
        // An undecodable sgtin does not hide the good one next to it.
        { leaf_index: 3, gtin: "09506000134352", serial: "SER4", lot: "", kind: 2 },
        // The same item named twice (URN and Digital Link) is one key.
        { leaf_index: 4, gtin: "09506000134352", serial: "SER1", lot: "", kind: 2 },
      ]);
      expect(
        log.lines.some(
          (l) => l.level === "warn" && (l.obj as { skippedIdentifiers?: number }).skippedIdentifiers === 1,
        ),
      ).to.equal(true);
      expect(await rows(key)).to.deep.equal({ records: 5, keys: 9, trees: 1 });
    });

    it("re-canonicalises every record: reformatted lines are accepted and stored canonical", async function () {
      const b = await identity();
      const key = await anchor(b);
      // Keys in reverse order, spaces, CRLF, a BOM and a blank line: the same records, other bytes.
      const reversed = (value: unknown): unknown =>
        typeof value === "object" && value !== null && !Array.isArray(value)
          ? Object.fromEntries(
              Object.entries(value)
                .reverse()
                .map(([k, v]) => [k, reversed(v)]),
            )
          : value;
      const pretty = b.lines.map((line, i) =>
        i === 0 ? line : `  ${JSON.stringify(reversed(JSON.parse(line)), null, 1).replace(/\n/g, "")}\r`,
      );
      place(b, ["\uFEFF" + (pretty[0] ?? ""), ...pretty.slice(1, 3), "", ...pretty.slice(3)]);
      expect(await ingester().ingestOne(key)).to.deep.equal({ status: "ok", records: 5, already: false });
      const stored = await queryRows<{ record: string }>(
        mirror,
        `SELECT record FROM records WHERE batch_id IN ${BATCH_OF_ROOT} ORDER BY leaf_index`,
        [b.root],
      );
      expect(stored.map((r) => r.record)).to.deep.equal(b.lines.slice(1));
      expect(stored.map((r) => r.record)).to.deep.equal(
        stored.map((r) => canonicalRecord(parseRecord(JSON.parse(r.record)))),
      );
    });

    it("reads a contentURI given as a file: URL, an absolute path or a relative path inside the content directory", async function () {
      const b = await identity();
      const elsewhere = path.join(dir, "elsewhere.ndjson");
      fs.writeFileSync(elsewhere, `${b.lines.join("\n")}\n`);
      fs.mkdirSync(path.join(contentDir, "batches"));
      place(b, b.lines, `batches/${b.root}.ndjson`);
      const keys = [
        await anchor(b, { brandId: 1, contentUri: pathToFileURL(elsewhere).href }),
        await anchor(b, { brandId: 2, contentUri: elsewhere }),
        await anchor(b, { brandId: 3, contentUri: `batches/${b.root}.ndjson` }),
      ];
      expect(await ingester().ingestPending()).to.deep.equal({ ingested: 3, mismatched: 0, pending: 0 });
      for (const key of keys) expect(await rows(key)).to.deep.equal({ records: 5, keys: 5, trees: 1 });
    });
  });

  describe("content that does not match its anchor", function () {
    const cases: { name: string; tamper: (b: Built) => string[]; reason: (b: Built) => string | RegExp }[] = [
      {
        name: "a tampered record",
        tamper: (b) => editRecord(b, 3, (r) => ({ ...r, item: { ...(r.item as object), serial: "SER3X" } })),
        reason: (b) => new RegExp(`^root mismatch: rebuilt 0x[0-9a-f]{64} ≠ anchored ${b.root}$`),
      },
      {
        name: "an extra line",
        tamper: (b) => [...b.lines, b.lines[1] ?? ""],
        reason: () => "leafCount: file has 6, anchored 5",
      },
      {
        name: "a missing line",
        tamper: (b) => b.lines.slice(0, -1),
        reason: () => "leafCount: file has 4, anchored 5",
      },
      {
        name: "a header with the wrong kind",
        tamper: (b) => [
          contentHeaderLine({ v: 1, kind: "trace", root: b.root as `0x${string}`, leafCount: 5 }),
          ...b.lines.slice(1),
        ],
        reason: () => "kind: file says trace, anchored identity",
      },
      {
        name: "a header with the wrong root",
        tamper: (b) => [
          contentHeaderLine({ v: 1, kind: "identity", root: `0x${"ab".repeat(32)}`, leafCount: 5 }),
          ...b.lines.slice(1),
        ],
        reason: (b) => `root: file says 0x${"ab".repeat(32)}, anchored ${b.root}`,
      },
      {
        name: "a header with the wrong leafCount",
        tamper: (b) => [
          contentHeaderLine({ v: 1, kind: "identity", root: b.root as `0x${string}`, leafCount: 4 }),
          ...b.lines.slice(1, -1),
        ],
        reason: () => "leafCount: header says 4, anchored 5",
      },
      {
        name: "a line that is not JSON",
        tamper: (b) => [...b.lines.slice(0, 3), "{not json", ...b.lines.slice(4)],
        reason: () => "line 4: not JSON",
      },
      {
        name: "a record that is not a valid identity record",
        tamper: (b) => editRecord(b, 1, (r) => ({ ...r, item: { ...(r.item as object), gtin: "09506000134353" } })),
        reason: () => /^line 2: item\.gtin: .*check digit/,
      },
      {
        name: "a header that is not JSON",
        tamper: (b) => ["<html>", ...b.lines.slice(1)],
        reason: () => "line 1: header is not JSON",
      },
      { name: "an empty file", tamper: () => [], reason: () => /^line 1: / },
    ];
    for (const c of cases) {
      it(`refuses ${c.name}: 'mismatch' with a precise reason and no rows`, async function () {
        const b = await identity();
        const key = await anchor(b);
        place(b, c.tamper(b));
        expect(await ingester().ingestPending()).to.deep.equal({ ingested: 0, mismatched: 1, pending: 0 });
        const s = await status(key);
        expect(s.content_status).to.equal("mismatch");
        const reason = c.reason(b);
        if (typeof reason === "string") expect(s.content_error).to.equal(reason);
        else expect(s.content_error).to.match(reason);
        expect(await rows(key)).to.deep.equal({ records: 0, keys: 0, trees: 0 });
        expect(await tempTables(mirror)).to.equal(0);
      });
    }

    it("checks against the anchor row, not the header: a self-consistent file for another leafCount is refused", async function () {
      const b = await identity();
      const key = await anchor(b, { leafCount: 4 });
      place(b);
      const outcome = await ingester().ingestOne(key);
      expect(outcome).to.deep.equal({ status: "mismatch", reason: "leafCount: header says 5, anchored 4" });
      expect((await rows(key)).records).to.equal(0);
    });

    it("does not retry a mismatch in ingestPending", async function () {
      const b = await identity();
      await anchor(b);
      place(b, b.lines.slice(0, -1));
      const ing = ingester();
      expect((await ing.ingestPending()).mismatched).to.equal(1);
      clock += 10 * RETRY_MS;
      place(b);
      expect(await ing.ingestPending()).to.deep.equal({ ingested: 0, mismatched: 0, pending: 0 });
    });
  });

  describe("content that is not there yet", function () {
    it("stays 'pending' with the reason and a retry time, then is ingested once it appears", async function () {
      const b = await identity();
      const key = await anchor(b);
      const ing = ingester();
      expect(await ing.ingestPending()).to.deep.equal({ ingested: 0, mismatched: 0, pending: 1 });
      const s = await status(key);
      expect(s).to.include({ content_status: "pending", content_attempts: 1, content_retry_at: clock + RETRY_MS });
      expect(s.content_error).to.match(/^not found: /);

      place(b);
      expect(await ing.ingestPending(), "not due yet").to.deep.equal({ ingested: 0, mismatched: 0, pending: 0 });
      clock += RETRY_MS;
      expect(await ing.ingestPending()).to.deep.equal({ ingested: 1, mismatched: 0, pending: 0 });
      expect(await status(key)).to.include({ content_status: "ok", content_error: null, content_retry_at: null });
    });

    it("doubles the retry delay per attempt", async function () {
      const b = await identity();
      const key = await anchor(b);
      const ing = ingester();
      const delays: number[] = [];
      for (let i = 0; i < 3; i++) {
        await ing.ingestPending();
        const at = (await status(key)).content_retry_at ?? 0;
        delays.push(at - clock);
        clock = at;
      }
      expect(delays).to.deep.equal([RETRY_MS, 2 * RETRY_MS, 4 * RETRY_MS]);
    });
  });

  describe("over HTTP", function () {
    let server: http.Server;
    let base: string;
    let handler: (req: http.IncomingMessage, res: http.ServerResponse) => void;

    beforeEach(async function () {
      handler = (_req, res) => res.writeHead(404).end();
      server = http.createServer((req, res) => handler(req, res));
      server.listen(0, "127.0.0.1");
      await once(server, "listening");
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterEach(async function () {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    });

    const httpIngester = (maxBytes = 1 << 20, timeoutMs = 2000): Ingester =>
      ingester(createContentSource({ contentDir, maxBytes, timeoutMs }));

    it("treats 404 as not there yet, then ingests the 200", async function () {
      const b = await identity();
      const key = await anchor(b, { contentUri: `${base}/batches/${b.root}.ndjson` });
      const ing = httpIngester();
      expect((await ing.ingestPending()).pending).to.equal(1);
      expect((await status(key)).content_error).to.match(/^not found: /);

      const body = `${b.lines.join("\n")}\n`;
      handler = (req, res) => {
        if (req.url !== `/batches/${b.root}.ndjson`) return void res.writeHead(404).end();
        // Chunked and slow-ish, to exercise streaming across chunk boundaries.
        res.writeHead(200, { "content-type": "application/x-ndjson" });
        for (let i = 0; i < body.length; i += 97) res.write(body.slice(i, i + 97));
        res.end();
      };
      clock += RETRY_MS;
      expect(await ing.ingestPending()).to.deep.equal({ ingested: 1, mismatched: 0, pending: 0 });
      expect(await rows(key)).to.deep.equal({ records: 5, keys: 5, trees: 1 });
    });

    it("treats 500 as transient: pending, never missing or mismatch", async function () {
      const b = await identity();
      const key = await anchor(b, { contentUri: `${base}/c.ndjson` });
      handler = (_req, res) => res.writeHead(500).end("boom");
      expect(await httpIngester().ingestPending()).to.deep.equal({ ingested: 0, mismatched: 0, pending: 1 });
      expect(await status(key)).to.include({
        content_status: "pending",
        content_error: `unavailable: ${base}/c.ndjson: HTTP 500`,
      });
    });

    it("treats a connection cut mid-body as transient, leaving no rows", async function () {
      const b = await identity();
      const key = await anchor(b, { contentUri: `${base}/c.ndjson` });
      handler = (_req, res) => {
        res.writeHead(200);
        res.write(`${b.lines.slice(0, 3).join("\n")}\n`);
        setTimeout(() => res.socket?.destroy(), 50);
      };
      expect((await httpIngester().ingestPending()).pending).to.equal(1);
      expect((await status(key)).content_error).to.match(/^unavailable: /);
      expect((await rows(key)).records).to.equal(0);
    });

    it("times out a silent server", async function () {
      const b = await identity();
      const key = await anchor(b, { contentUri: `${base}/c.ndjson` });
      handler = (_req, res) => {
        res.writeHead(200);
        res.write(`${b.lines[0] ?? ""}\n`);
      };
      expect((await httpIngester(1 << 20, 200).ingestPending()).pending).to.equal(1);
      expect((await status(key)).content_error).to.match(/^unavailable: .*timed out after 200 ms/);
    });

    it("refuses content larger than maxBytes, declared or streamed", async function () {
      const b = await identity();
      const body = `${b.lines.join("\n")}\n`;
      const declared = await anchor(b, { brandId: 1, contentUri: `${base}/declared` });
      const streamed = await anchor(b, { brandId: 2, contentUri: `${base}/streamed` });
      handler = (req, res) => {
        if (req.url === "/declared")
          return void res.writeHead(200, { "content-length": Buffer.byteLength(body) }).end(body);
        res.writeHead(200);
        res.write(body.slice(0, 600));
        res.end(body.slice(600));
      };
      expect(await httpIngester(500).ingestPending()).to.deep.equal({ ingested: 0, mismatched: 0, pending: 2 });
      expect((await status(declared)).content_error).to.match(/^refused: .*larger than the 500-byte limit/);
      expect((await status(streamed)).content_error).to.match(/^refused: .*larger than the 500-byte limit/);
      expect((await rows(streamed)).records).to.equal(0);
    });
  });

  describe("contentURI outside the content directory", function () {
    it("refuses a relative path that escapes with ..", async function () {
      const b = await identity();
      fs.writeFileSync(path.join(dir, "outside.ndjson"), `${b.lines.join("\n")}\n`);
      const key = await anchor(b, { contentUri: "../outside.ndjson" });
      const source = createContentSource({ contentDir, maxBytes: 1 << 20, timeoutMs: 1000 });
      let error: unknown;
      await source
        .open({ brandId: 1, root: b.root, contentUri: "../outside.ndjson" })
        .catch((err: unknown) => (error = err));
      expect(error).to.be.instanceOf(ContentRefusedError);

      expect((await ingester(source).ingestPending()).pending).to.equal(1);
      expect(await status(key)).to.include({
        content_status: "pending",
        content_error: "refused: ../outside.ndjson: contentURI escapes the content directory",
      });
      expect((await rows(key)).records).to.equal(0);
    });

    it("refuses a symlink inside the content directory that points outside", async function () {
      const b = await identity();
      fs.writeFileSync(path.join(dir, "outside.ndjson"), `${b.lines.join("\n")}\n`);
      await symlink(path.join(dir, "outside.ndjson"), path.join(contentDir, "link.ndjson"));
      const key = await anchor(b, { contentUri: "link.ndjson" });
      await ingester().ingestPending();
      expect((await status(key)).content_error).to.match(/^refused: .*through a link/);
    });

    it("refuses unsupported schemes and non-regular files", async function () {
      const b = await identity();
      const ipfs = await anchor(b, {
        brandId: 1,
        contentUri: "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
      });
      const device = await anchor(b, { brandId: 2, contentUri: "/dev/null" });
      await ingester().ingestPending();
      expect((await status(ipfs)).content_error).to.equal(
        "refused: ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi: unsupported contentURI scheme ipfs:",
      );
      expect((await status(device)).content_error).to.equal("refused: /dev/null: not a regular file");
    });
  });

  describe("idempotence and crash safety", function () {
    it("re-ingesting an 'ok' anchor is a no-op", async function () {
      const b = await identity();
      const key = await anchor(b);
      place(b);
      const ing = ingester();
      await ing.ingestPending();
      const before = await rows(key);
      expect(await ing.ingestOne(key)).to.deep.equal({ status: "ok", records: 5, already: true });
      expect(await ing.ingestStream(key, Readable.from(["garbage"]))).to.deep.equal({
        status: "ok",
        records: 5,
        already: true,
      });
      expect(await ing.ingestPending()).to.deep.equal({ ingested: 0, mismatched: 0, pending: 0 });
      expect(await upload(key, fs.createReadStream(path.join(contentDir, `${b.root}.ndjson`)))).to.deep.equal({
        ok: true,
      });
      expect(await rows(key)).to.deep.equal(before);
      expect((await status(key)).content_attempts).to.equal(1);
    });

    it("leaves the anchor pending with no rows when the stream fails midway", async function () {
      const b = await identity();
      const key = await anchor(b);
      const failing = new Readable({
        read() {
          this.push(`${b.lines.slice(0, 4).join("\n")}\n`);
          this.destroy(new Error("EIO: disk went away"));
        },
      });
      const outcome = await ingester().ingestStream(key, failing);
      expect(outcome).to.include({ status: "pending" });
      expect((await status(key)).content_error).to.match(/^unavailable: .*EIO: disk went away/);
      expect(await rows(key)).to.deep.equal({ records: 0, keys: 0, trees: 0 });
      expect(await tempTables(mirror)).to.equal(0);
    });

    it("stores nothing when the anchor is removed (reorg) while its content streams", async function () {
      const b = await identity();
      const key = await anchor(b);
      const lines = b.lines.map((l) => `${l}\n`);
      const stream = new Readable({
        read() {
          const next = lines.shift();
          if (next === undefined)
            execute(mirror, "DELETE FROM anchors WHERE root = ?", [b.root]).then(
              () => this.push(null),
              (error: Error) => this.destroy(error),
            );
          else this.push(next);
        },
      });
      expect(await ingester().ingestStream(key, stream)).to.deep.equal({ status: "absent" });
      expect(await rows(key)).to.deep.equal({ records: 0, keys: 0, trees: 0 });
    });

    it("leaves the anchor pending with no rows when the process is killed mid-ingest", async function () {
      this.timeout(60_000);
      const rowsOf = (n: number): string[] =>
        Array.from({ length: n }, (_, i) => `09506000134352,K${String(i).padStart(6, "0")},LOT${i % 7}`);
      const csv = path.join(dir, "many.csv");
      await writeFile(csv, `gtin,serial,lot\n${rowsOf(10_000).join("\n")}\n`);
      const result = await buildBatch({ kind: "identity", input: csv, outDir: path.join(dir, "build") });
      const key = { brandId: 1, root: result.root };
      await anchor({ root: result.root, leafCount: result.leafCount, kind: "identity", lines: [] });
      const content = await readFile(result.content);
      await mirror.close();

      // The child ingests from stdin and says when it has read more than half; then it is killed.
      // It counts in a Transform between stdin and the ingester, not with a 'data' listener on stdin:
      // that listener made stdin flow at once, so chunks that came before the ingester began reading
      // (it first awaits the anchor's row) went to the listener alone, and the ingester, missing the
      // header, marked the anchor 'mismatch' ("line 1: header is not JSON") and waited for ever.
      const code = `
        const { Transform } = require("node:stream");
        const { openStore } = require(${JSON.stringify(path.join(REPO, "mirror/store"))});
        const { createIngester } = require(${JSON.stringify(path.join(REPO, "indexer/ingest"))});
        openStore({ db: ${JSON.stringify(location)} }).then((store) => {
          const quiet = { info() {}, warn() {}, error() {}, debug() {} };
          const ingester = createIngester({ store, source: { open: async () => undefined }, log: quiet });
          let seen = 0;
          const counted = new Transform({
            transform(chunk, _encoding, done) {
              seen += chunk.length;
              if (seen > ${content.length / 2}) process.stdout.write("half\\n");
              done(null, chunk);
            },
          });
          process.stdin.pipe(counted);
          ingester.ingestStream({ brandId: 1, root: ${JSON.stringify(result.root)} }, counted).then((o) => process.stdout.write(JSON.stringify(o) + "\\n"));
          process.stdout.write("ready\\n");
        });`;
      const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", code], {
        cwd: REPO,
        stdio: ["pipe", "pipe", "pipe"],
        env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
      });
      let out = "";
      let err = "";
      // An object, not a `let`: TypeScript would narrow a `let` to null for good, not seeing the callback.
      const ended: { how: string | null } = { how: null };
      child.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
      child.stderr.setEncoding("utf8").on("data", (s: string) => (err += s));
      const exit = once(child, "exit");
      child.on("exit", (exitCode, signal) => (ended.how = `exited (${signal ?? exitCode})`));
      // Waits for the child to print `word`; a child that dies or answers first, or says nothing for
      // 20 s, fails the test with what it printed, instead of leaving it to mocha's timeout.
      const saw = (word: string): Promise<void> =>
        new Promise((resolve, reject) => {
          const deadline = Date.now() + 20_000;
          const check = (): void => {
            if (out.includes(word)) resolve();
            else if (ended.how !== null || out.includes('"status"') || Date.now() > deadline)
              reject(
                new Error(
                  `child ${ended.how ?? (out.includes('"status"') ? "answered" : "silent for 20 s")} before printing "${word}"; stdout:\n${out}stderr:\n${err}`,
                ),
              );
            else setTimeout(check, 10);
          };
          check();
        });
      // What the child had not read yet when it was killed fails with EPIPE: expected.
      child.stdin.on("error", () => undefined);
      try {
        await saw("ready");
        child.stdin.write(content.subarray(0, Math.ceil(content.length * 0.75)));
        await saw("half");
      } catch (error) {
        child.kill("SIGKILL");
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      // A child that ended on its own would make the kill meaningless: say so, with its stderr.
      if (ended.how !== null) throw new Error(`child ${ended.how} before it was killed; stderr:\n${err}`);
      child.kill("SIGKILL");
      await exit;
      expect(out).to.not.match(/status/);

      mirror = await openStore({ db: location });
      expect(await status(key)).to.include({ content_status: "pending", content_attempts: 0 });
      expect(await rows(key)).to.deep.equal({ records: 0, keys: 0, trees: 0 });
      expect(await ingester().ingestStream(key, Readable.from([content]))).to.deep.equal({
        status: "ok",
        records: 10_000,
        already: false,
      });
      expect(await rows(key)).to.deep.equal({ records: 10_000, keys: 10_000, trees: 1 });
    });
  });

  describe("uploads", function () {
    it("acceptUpload stores right content and changes nothing for wrong content", async function () {
      const b = await identity();
      const key = await anchor(b);
      const wrong = await upload(key, Readable.from([`${b.lines.slice(0, -1).join("\n")}\n`]));
      expect(wrong).to.deep.equal({
        ok: false,
        code: "MISMATCH",
        check: "LEAF_COUNT",
        reason: "leafCount: file has 4, anchored 5",
      });
      expect(await status(key)).to.include({ content_status: "pending", content_error: null, content_attempts: 0 });
      expect((await rows(key)).records).to.equal(0);

      expect(await upload(key, Readable.from([`${b.lines.join("\n")}\n`]))).to.deep.equal({ ok: true });
      expect((await status(key)).content_status).to.equal("ok");
      expect(await rows(key)).to.deep.equal({ records: 5, keys: 5, trees: 1 });
    });

    it("acceptUpload replaces a 'mismatch' with the right content", async function () {
      const b = await identity();
      const key = await anchor(b);
      place(b, b.lines.slice(0, -1));
      await ingester().ingestPending();
      expect((await status(key)).content_status).to.equal("mismatch");
      expect(await upload(key, Readable.from([`${b.lines.join("\n")}\n`]))).to.deep.equal({ ok: true });
      expect(await status(key)).to.include({ content_status: "ok", content_error: null });
    });

    it("acceptUpload keeps the checked file as <root>.ndjson and ingests it", async function () {
      const b = await identity();
      const key = await anchor(b);
      const result = await acceptUpload({
        store: mirror,
        contentDir,
        anchor: key,
        stream: Readable.from([`${b.lines.join("\n")}\n`]),
        maxBytes: 1 << 20,
      });
      expect(result).to.deep.equal({ ok: true });
      expect(await readdir(contentDir)).to.deep.equal([`${b.root}.ndjson`]);
      expect((await status(key)).content_status).to.equal("ok");
      expect((await rows(key)).records).to.equal(5);
    });

    it("acceptUpload deletes a wrong or oversized upload and changes nothing", async function () {
      const b = await identity();
      const key = await anchor(b);
      const tampered = editRecord(b, 2, (r) => ({ ...r, salt: "0".repeat(32) }));
      const wrong = await acceptUpload({
        store: mirror,
        contentDir,
        anchor: key,
        stream: Readable.from([`${tampered.join("\n")}\n`]),
        maxBytes: 1 << 20,
      });
      expect(wrong).to.include({ ok: false, code: "MISMATCH", check: "ROOT" });
      expect(wrong.ok === false && wrong.reason).to.match(/^root mismatch: /);
      const big = await acceptUpload({
        store: mirror,
        contentDir,
        anchor: key,
        stream: Readable.from([`${b.lines.join("\n")}\n`]),
        maxBytes: 100,
      });
      expect(big).to.deep.equal({ ok: false, code: "TOO_LARGE", reason: "content is larger than the 100-byte limit" });
      expect(await readdir(contentDir)).to.deep.equal([]);
      expect(await status(key)).to.include({ content_status: "pending", content_error: null });
      expect((await rows(key)).records).to.equal(0);
    });
  });

  describe("benchIngest", function () {
    it("measures an identity ingest in child processes", async function () {
      this.timeout(120_000);
      const result = await benchIngest(2_000, { engine });
      expect(result.engine).to.equal(engine);
      expect(result.ingestRecords).to.equal(2_000);
      expect(result.ingestSeconds).to.be.greaterThan(0);
      expect(result.peakRssMiB).to.be.greaterThan(0);
      expect(result.bytesPerIdentityRecord).to.be.greaterThan(100);
    });
  });
});
