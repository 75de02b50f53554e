/**
 * The item route's fast path: the JSON it writes by hand is byte for byte what the ItemDocument
 * schema's serialiser writes for the same document; records are the stored text; the caches follow
 * the mirror (new events, revocations); the static security headers are Helmet's; the per-turn read
 * transaction is closed after each turn; the tree cache checks what it serves.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import { expect } from "chai";
import Fastify from "fastify";
import helmet from "@fastify/helmet";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { buildBatch } from "../../core/batch";
import { lgtinUrn } from "../../core/epc";
import { buildTree } from "../../core/merkle";
import { securityHeaders } from "../../api/plugins/security";
import { ItemDocument } from "../../api/schemas";
import { createTreeCache } from "../../api/trees";
import { mirrorVersion } from "../../mirror/read";
import { ApiError } from "../../api/errors";
import { openDatabase } from "../../mirror/db";
import { createSqliteSeeder } from "../../mirror/write/seed";
import { ACME, ADDR, GTIN, GTIN13, ORPHAN_GTIN, acmeGtin, insertAnchor, insertContents } from "./fixtures";
import { appPerTest, buildTestApp, pgMirrorOf } from "./helper";

/** The batch id of the anchor with the root bound to `?` (batch rows are keyed by it, migration 007). */
const BATCH = "(SELECT batch_id FROM anchors WHERE root = ?)";

const ITEM_URLS = [
  `/01/${GTIN}/21/SER1`,
  `/01/${GTIN13}/21/SER2`,
  `/01/${GTIN}/10/LOT2/21/SER3`,
  `/01/${GTIN}/21/SCAN1`,
  `/01/${GTIN}/21/a.b-c%2Fd`,
  `/01/${GTIN}/21/REV1`,
  `/01/${GTIN}/21/FAKE1`,
  `/01/${GTIN}/21/NEW1`,
  `/01/${ORPHAN_GTIN}/21/ORPHAN1`,
  `/01/${GTIN}/10/LOT1`,
  `/01/${GTIN}/10/LOT2`,
  `/01/${GTIN}/10/LOT9`,
  `/01/${GTIN}`,
  `/01/${acmeGtin("99999")}`,
];

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));

describe("api: item route fast path", function () {
  const suite = appPerTest();

  it("writes exactly what the ItemDocument schema's serialiser writes", async function () {
    const scratch = Fastify();
    let doc: unknown;
    scratch.get("/", { schema: { response: { 200: ItemDocument } } }, () => doc);
    for (const url of ITEM_URLS) {
      const res = await suite.t.app.inject({ url, remoteAddress: "198.51.100.9" });
      expect(res.statusCode, url).to.equal(200);
      doc = JSON.parse(res.body);
      expect((await scratch.inject({ url: "/" })).body, url).to.equal(res.body);
    }
    await scratch.close();
  });

  it("splices the stored record text as is", async function () {
    const res = await suite.t.app.inject({ url: `/01/${GTIN}/21/SER1` });
    const stored = suite.t.db
      .prepare(
        "SELECT r.record FROM item_keys k JOIN records r USING (batch_id, leaf_index) WHERE k.gtin = ? AND k.serial = 'SER1' AND k.kind = 1",
      )
      .pluck()
      .get(GTIN) as string;
    expect(res.body).to.include(`"identity":{"record":${stored},`);
  });

  it("shows a lot's new event and a revocation as soon as the mirror changes", async function () {
    const writable = openDatabase(suite.fixture.dbPath);
    try {
      const events = async () => {
        const res = await suite.t.app.inject({ url: `/01/${GTIN}/21/SER2` });
        return (
          JSON.parse(res.body) as { events: { level: string; record: { event: { bizStep: string } } }[] }
        ).events.map((e) => e.record.event.bizStep);
      };
      const before = await events();
      expect(before).to.include("shipping");

      const built = await buildBatch({
        kind: "trace",
        input: writeEpcis(suite.fixture.dir, "late.ndjson", {
          type: "ObjectEvent",
          action: "OBSERVE",
          eventTime: "2024-03-09T10:00:00.000Z",
          eventTimeZoneOffset: "+00:00",
          bizStep: "receiving",
          quantityList: [{ epcClass: lgtinUrn(GTIN, "LOT1", ACME.prefix.length), quantity: 1 }],
        }),
        outDir: `${suite.fixture.dir}/late`,
      });
      insertAnchor(writable, {
        brandId: ACME.brandId,
        root: built.root,
        kind: 2,
        leafCount: built.leafCount,
        submitter: ADDR.logistics,
        blockNumber: 110,
      });
      await insertContents(writable, ACME.brandId, built);
      await tick();
      expect(await events()).to.deep.equal([...before, "receiving"]);

      createSqliteSeeder(writable).revoke(ACME.brandId, built.root, { block: 111, by: ADDR.acmeAdmin, reason: "test" });
      await tick();
      expect(await events()).to.deep.equal(before);
    } finally {
      writable.close();
    }
  });

  it("counts a product's and a lot's items anew as soon as a batch is anchored, revoked, or removed by a reorg", async function () {
    const writable = openDatabase(suite.fixture.dbPath);
    const counts = async (url: string) => {
      const res = await suite.t.app.inject({ url });
      const doc = JSON.parse(res.body) as { verdict: string; product: { items: number; lots: number } };
      return [doc.verdict, doc.product.items, doc.product.lots];
    };
    try {
      expect(await counts(`/01/${GTIN}`)).to.deep.equal(["registered", 6, 2]);
      expect(await counts(`/01/${GTIN}/10/LOT3`)).to.deep.equal(["unlisted", 0, 0]);
      const built = await buildBatch({
        kind: "identity",
        input: writeFile(suite.fixture.dir, "more.csv", `gtin,serial,lot\n${GTIN},M1,LOT3\n${GTIN},M2,LOT3\n`),
        outDir: `${suite.fixture.dir}/more`,
      });
      insertAnchor(writable, {
        brandId: ACME.brandId,
        root: built.root,
        kind: 1,
        leafCount: built.leafCount,
        submitter: ADDR.factory,
        blockNumber: 112,
      });
      await insertContents(writable, ACME.brandId, built);
      await tick();
      expect(await counts(`/01/${GTIN}`)).to.deep.equal(["registered", 8, 3]);
      expect(await counts(`/01/${GTIN}/10/LOT3`)).to.deep.equal(["registered", 2, 1]);

      createSqliteSeeder(writable).revoke(ACME.brandId, built.root, { block: 113, by: ADDR.acmeAdmin, reason: "test" });
      await tick();
      expect(await counts(`/01/${GTIN}`)).to.deep.equal(["registered", 6, 2]);
      expect(await counts(`/01/${GTIN}/10/LOT3`)).to.deep.equal(["unlisted", 0, 0]);

      // A reorg drops the anchor; its records, keys and counts go with it.
      const batchId = writable.prepare("SELECT batch_id FROM anchors WHERE root = ?").pluck().get(built.root);
      createSqliteSeeder(writable).removeAnchor(ACME.brandId, built.root);
      await tick();
      expect(writable.prepare("SELECT count(*) FROM identity_counts WHERE batch_id = ?").pluck().get(batchId)).to.equal(
        0,
      );
      expect(await counts(`/01/${GTIN}`)).to.deep.equal(["registered", 6, 2]);
    } finally {
      writable.close();
    }
  });

  it("keeps the identity counts equal to a count of the keys after deleting keys alone", function () {
    const writable = openDatabase(suite.fixture.dbPath);
    try {
      const { root } = suite.fixture.batches.identity;
      const recount = () =>
        writable
          .prepare(
            `SELECT lot, count(*) AS items FROM item_keys WHERE batch_id = ${BATCH} AND kind = 1 AND serial <> '' GROUP BY lot ORDER BY lot`,
          )
          .all(root);
      const kept = () =>
        writable.prepare(`SELECT lot, items FROM identity_counts WHERE batch_id = ${BATCH} ORDER BY lot`).all(root);
      expect(kept()).to.deep.equal(recount());
      // In a transaction rolled back at the end: the suite's other tests share the fixture.
      const deleteKeys = writable.transaction(() => {
        writable.prepare(`DELETE FROM item_keys WHERE batch_id = ${BATCH} AND serial = 'SER2'`).run(root);
        expect(kept()).to.deep.equal(recount());
        writable.prepare(`DELETE FROM item_keys WHERE batch_id = ${BATCH} AND serial = 'SER3'`).run(root);
        expect(kept()).to.deep.equal(recount());
        expect(kept()).to.deep.equal([
          { lot: "", items: 2 },
          { lot: "LOT1", items: 1 },
        ]);
        throw new Rollback();
      });
      expect(deleteKeys).to.throw(Rollback);
      expect(kept()).to.deep.equal(recount());
    } finally {
      writable.close();
    }
  });

  it("closes the read transaction of a turn", async function () {
    await suite.t.app.inject({ url: `/01/${GTIN}/21/SER1` });
    await new Promise((resolve) => setImmediate(resolve));
    expect(suite.t.db.inTransaction).to.equal(false);
  });

  it("sets the security headers @fastify/helmet sets, with the browser RPC in connect-src", async function () {
    for (const rpc of [[], ["https://rpc.example.org:8545"]]) {
      const scratch = Fastify();
      await scratch.register(helmet, {
        contentSecurityPolicy: {
          directives: { frameAncestors: ["'none'"], upgradeInsecureRequests: null, connectSrc: ["'self'", ...rpc] },
        },
        crossOriginResourcePolicy: { policy: "cross-origin" },
      });
      scratch.get("/", () => ({}));
      const res = await scratch.inject({ url: "/" });
      const theirs = Object.fromEntries(
        Object.entries(res.headers).filter(
          ([name]) => !["content-type", "content-length", "date", "connection"].includes(name),
        ),
      );
      expect(securityHeaders(rpc)).to.deep.equal(theirs);
      await scratch.close();
    }
    const rpcUrls = ["https://rpc.example.org:8545/path", "https://other.example/rpc"];
    const app = await buildTestApp(suite.fixture, { config: { browserRpcUrls: rpcUrls, scanThreshold: 7 } });
    const res = await app.app.inject({ url: `/01/${GTIN}/21/SER1` });
    expect(res.headers["content-security-policy"]).to.include(
      "connect-src 'self' https://rpc.example.org:8545 https://other.example",
    );
    // The scan page hands the phone every RPC URL (it reads them all and needs them to agree) and the server's threshold.
    const page = await app.app.inject({ url: `/01/${GTIN}/21/SER1`, headers: { accept: "text/html" } });
    const config = /<script type="application\/json" id="scan-config">([^<]*)<\/script>/.exec(page.body);
    expect(config, "scan-config in the page").to.not.equal(null);
    expect(JSON.parse(config?.[1] ?? "{}")).to.deep.include({ rpcUrls, scanThreshold: 7 });
    await app.close();
  });
});

describe("api: item route on PostgreSQL", function () {
  this.timeout(60_000);
  const suite = appPerTest("postgres");

  it("reads an item and its lot's events in one statement, and its class's only once", async function () {
    const store = await pgMirrorOf(suite.fixture);
    const pool = store.readPool;
    const query = pool.query.bind(pool) as (config: { text: string; values?: unknown[] }) => Promise<unknown>;
    const statements: { text: string; values: unknown[] }[] = [];
    pool.query = ((config: { text: string; values?: unknown[] }) => {
      if (typeof config === "object") statements.push({ text: config.text, values: config.values ?? [] });
      return query(config);
    }) as unknown as typeof pool.query;
    try {
      const bizSteps = async (serial: string): Promise<string[]> => {
        const res = await suite.t.app.inject({ url: `/01/${GTIN}/21/${serial}`, remoteAddress: "198.51.100.9" });
        expect(res.statusCode, serial).to.equal(200);
        return (JSON.parse(res.body) as { events: { record: { event: { bizStep: string } } }[] }).events.map(
          (e) => e.record.event.bizStep,
        );
      };
      // LOT1's shipping, the class's inspection.
      expect(await bizSteps("SER2")).to.include.members(["shipping", "inspecting"]);
      const items = statements.filter((s) => s.text.startsWith("WITH q AS"));
      // Level reads are (gtin, lot): only the class's, "", once for both requests.
      const levels = statements.filter((s) => s.text.includes("k.serial = '' AND k.lot = $2"));
      expect(items).to.have.length(1);
      expect(levels.map((s) => s.values[1])).to.deep.equal([""]);
      expect(await bizSteps("SER3")).to.include("inspecting");
      expect(statements.filter((s) => s.text.startsWith("WITH q AS"))).to.have.length(2);
      expect(statements.filter((s) => s.text.includes("k.serial = '' AND k.lot = $2"))).to.have.length(1);
    } finally {
      pool.query = query as unknown as typeof pool.query;
    }
  });
});

describe("api: mirror version", function () {
  it("re-reads the data version once per millisecond, and holds it while pinned", function () {
    let dataVersion = 1;
    let reads = 0;
    let clock = 1000;
    const version = mirrorVersion(
      () => {
        reads++;
        return dataVersion;
      },
      () => clock,
    );
    const g0 = version.generation();
    dataVersion = 2;
    expect(version.generation(), "same millisecond").to.equal(g0);
    clock++;
    const g1 = version.generation();
    expect(g1).to.equal(g0 + 1);
    version.pin();
    const pinnedReads = reads;
    dataVersion = 3;
    clock += 10;
    expect(version.generation(), "pinned").to.equal(g1);
    expect(reads, "no read while pinned").to.equal(pinnedReads);
    version.unpin();
    expect(version.generation()).to.equal(g1 + 1);
  });
});

describe("api: tree cache checks", function () {
  const recordsOf = {
    byHash: () => Promise.resolve([]),
    page: () => Promise.resolve([]),
    packedHashes: () => Promise.resolve(Buffer.alloc(0)),
  };

  it("serves the same proofs by leaf position as by search, as JSON text too", async function () {
    const packed = randomBytes(32 * 300);
    const tree = buildTree(packed);
    const cache = createTreeCache({
      treeNodes: { get: () => Promise.resolve(Buffer.from(tree.serialize())) },
      records: recordsOf,
      maxBytes: 2 ** 20,
    });
    for (let i = 0; i < 300; i++) {
      const hash = packed.subarray(i * 32, i * 32 + 32);
      const proof = await cache.proof(1, tree.root, hash, i);
      expect(proof).to.deep.equal(await cache.proof(1, tree.root, hash));
      expect(await cache.proofJson(1, tree.root, hash, i)).to.equal(JSON.stringify(proof));
      expect(StandardMerkleTree.verify(tree.root, ["bytes32"], [`0x${hash.toString("hex")}`], proof)).to.equal(true);
    }
    // A wrong leaf position is not trusted: the leaf is searched for.
    const hash = packed.subarray(0, 32);
    expect(await cache.proof(1, tree.root, hash, 7)).to.deep.equal(await cache.proof(1, tree.root, hash));
  });

  it("refuses (503) proofs through a corrupted inner node, even after other proofs were checked", async function () {
    const packed = randomBytes(32 * 64);
    const tree = buildTree(packed);
    const nodes = Buffer.from(tree.nodes);
    nodes[5 * 32] = (nodes[5 * 32] as number) ^ 1; // node 5: an inner node two levels below the root
    const cache = createTreeCache({
      treeNodes: { get: () => Promise.resolve(nodes) },
      records: recordsOf,
      maxBytes: 2 ** 20,
    });
    let refused = 0;
    for (let i = 0; i < 64; i++) {
      const hash = packed.subarray(i * 32, i * 32 + 32);
      try {
        await cache.proof(1, tree.root, hash);
      } catch (err) {
        expect(err).to.be.instanceOf(ApiError).with.property("statusCode", 503);
        refused++;
      }
    }
    // Every leaf whose path or proof goes through node 5: those under its parent, node 2 (half of them).
    expect(refused).to.equal(32);
  });

  it("checks a loaded tree whole in the background, and still refuses proofs through a corrupted node", async function () {
    const n = 5000; // several background slices
    const packed = randomBytes(32 * n);
    const tree = buildTree(packed);
    const corrupt = Buffer.from(tree.nodes);
    corrupt[9 * 32] = (corrupt[9 * 32] as number) ^ 1; // an inner node four levels down
    for (const [nodes, expectRefused] of [
      [Buffer.from(tree.nodes), false],
      [corrupt, true],
    ] as const) {
      const cache = createTreeCache({
        treeNodes: { get: () => Promise.resolve(nodes) },
        records: recordsOf,
        maxBytes: 2 ** 24,
      });
      try {
        await cache.proof(1, tree.root, packed.subarray(0, 32)); // loads the tree
      } catch {
        // this leaf's path may go through the corrupted node
      }
      expect(cache.stats().checkedTrees).to.equal(0);
      while (cache.stats().checkedTrees === 0) await new Promise((resolve) => setImmediate(resolve));
      let refused = 0;
      for (let i = 0; i < n; i++) {
        const hash = packed.subarray(i * 32, i * 32 + 32);
        try {
          const proof = await cache.proof(1, tree.root, hash, i);
          if (i % 100 === 0)
            expect(StandardMerkleTree.verify(tree.root, ["bytes32"], [`0x${hash.toString("hex")}`], proof)).to.equal(
              true,
            );
        } catch (err) {
          expect(err).to.be.instanceOf(ApiError).with.property("statusCode", 503);
          refused++;
        }
      }
      if (expectRefused) expect(refused).to.be.greaterThan(0).and.lessThan(n);
      else expect(refused).to.equal(0);
    }
  });

  it("checks waiting trees one bounded slice per event-loop turn in all, not one per tree", async function () {
    const trees = Array.from({ length: 8 }, () => {
      const packed = randomBytes(32 * 300); // 299 inner nodes each, 2,392 in all
      return { packed, tree: buildTree(packed) };
    });
    const cache = createTreeCache({
      treeNodes: {
        get: (_brand, root) => Promise.resolve(Buffer.from(trees.find((t) => t.tree.root === root)!.tree.nodes)),
      },
      records: recordsOf,
      maxBytes: 2 ** 24,
    });
    await Promise.all(trees.map(({ packed, tree }) => cache.proof(1, tree.root, packed.subarray(0, 32))));
    await new Promise((resolve) => setImmediate(resolve));
    // One slice of 1,024 nodes: three whole trees and part of a fourth.
    expect(cache.stats().checkedTrees).to.equal(3);
    while (cache.stats().checkedTrees < 8) await new Promise((resolve) => setImmediate(resolve));
  });
});

class Rollback extends Error {}

function writeFile(dir: string, name: string, text: string): string {
  const file = `${dir}/${name}`;
  fs.writeFileSync(file, text);
  return file;
}

function writeEpcis(dir: string, name: string, event: object): string {
  const file = `${dir}/${name}`;
  fs.writeFileSync(file, `${JSON.stringify(event)}\n`);
  return file;
}
