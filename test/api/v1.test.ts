import { expect } from "chai";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import type { LightMyRequestResponse } from "fastify";
import { recordHash, type TraceAnchorRecord } from "../../core/record";
import type { ProofBundle } from "../../core/bundle";
import { ACME, ADDR, CHAIN_ID, CONTRACT, FAKE, createMirrorFixture, type MirrorFixture } from "./fixtures";
import { describeEngines } from "../helpers/engines";
import { EXPLORER_URL, PUBLIC_URL, buildTestApp, closePgMirror, type TestApp } from "./helper";

const json = <T>(res: LightMyRequestResponse): T => JSON.parse(res.body) as T;

interface BatchDoc {
  brandId: string;
  root: string;
  kind: string;
  leafCount: number;
  final: boolean;
  revoked: { reason: string } | null;
  content: { status: string; reason: string | null };
  anchor: { blockNumber: number; final: boolean };
  links: Record<string, string | null>;
}

describeEngines("api: /v1 routes", function (engine) {
  let fixture: MirrorFixture;
  let t: TestApp;

  before(async function () {
    fixture = await createMirrorFixture();
    t = await buildTestApp(fixture, { engine });
  });
  after(async function () {
    await t.close();
    await closePgMirror(fixture);
    fixture.cleanup();
  });

  const get = (url: string, headers: Record<string, string> = {}) => t.app.inject({ method: "GET", url, headers });
  const hashOf = (record: TraceAnchorRecord | undefined): string => {
    if (record === undefined) throw new Error("no record");
    return recordHash(record);
  };

  describe("GET /v1/proofs/{recordHash}", function () {
    it("serves a proof bundle that verifies with @openzeppelin/merkle-tree alone, for every record of every batch", async function () {
      for (const batch of Object.values(fixture.batches)) {
        for (const record of batch.records) {
          const hash = hashOf(record);
          const res = await get(`/v1/proofs/${hash}`);
          expect(res.statusCode).to.equal(200);
          const bundle = json<ProofBundle>(res);
          expect(bundle.type).to.equal("TraceAnchorProofBundle");
          expect(bundle.v).to.equal(1);
          expect(bundle.recordHash).to.equal(hash);
          expect(bundle.root).to.equal(batch.root);
          expect(bundle.record).to.deep.equal(record);
          expect(StandardMerkleTree.verify(bundle.root, ["bytes32"], [bundle.recordHash], [...bundle.proof])).to.equal(
            true,
          );
          expect(bundle.anchor).to.include({
            chainId: String(CHAIN_ID),
            contract: CONTRACT,
            brandId: String(batch.brandId),
            leafCount: batch.leafCount,
            kind: batch.kind,
          });
          expect(Object.keys(bundle.anchor).sort()).to.deep.equal([
            "blockNumber",
            "blockTime",
            "brandId",
            "chainId",
            "contract",
            "kind",
            "leafCount",
            "logIndex",
            "txHash",
          ]);
        }
      }
    });

    it("is immutable with a strong ETag once final, and answers 304 to If-None-Match", async function () {
      const url = `/v1/proofs/${hashOf(fixture.batches.identity.records[0])}`;
      const res = await get(url);
      expect(res.headers["cache-control"]).to.equal("public, max-age=31536000, immutable");
      const etag = String(res.headers.etag);
      expect(etag).to.match(/^"[A-Za-z0-9_-]+"$/);
      const again = await get(url, { "if-none-match": etag });
      expect(again.statusCode).to.equal(304);
      expect(again.body).to.equal("");
      expect((await get(url, { "if-none-match": '"other"' })).statusCode).to.equal(200);
    });

    it("must be revalidated while the anchor is not final", async function () {
      const res = await get(`/v1/proofs/${hashOf(fixture.batches.recent.records[0])}`);
      expect(res.statusCode).to.equal(200);
      expect(res.headers["cache-control"]).to.equal("no-cache");
      expect(res.headers.etag).to.be.a("string");
    });

    it("accepts upper-case hex", async function () {
      const hash = hashOf(fixture.batches.identity.records[1]);
      expect((await get(`/v1/proofs/0x${hash.slice(2).toUpperCase()}`)).statusCode).to.equal(200);
    });

    it("404 for an unknown record, 400 naming the field for a malformed hash", async function () {
      const missing = await get(`/v1/proofs/0x${"00".repeat(32)}`);
      expect(missing.statusCode).to.equal(404);
      expect(json<{ error: string }>(missing).error).to.equal("NOT_FOUND");
      const bad = await get("/v1/proofs/0x1234");
      expect(bad.statusCode).to.equal(400);
      expect(json<{ error: string; field: string }>(bad)).to.include({ error: "INVALID_REQUEST", field: "recordHash" });
    });
  });

  describe("GET /v1/brands", function () {
    it("lists brands", async function () {
      const res = await get("/v1/brands");
      expect(res.statusCode).to.equal(200);
      const { brands } = json<{ brands: { brandId: string; name: string; admin: string }[] }>(res);
      expect(brands.map((b) => [b.brandId, b.name])).to.deep.equal([
        ["1", ACME.name],
        ["2", FAKE.name],
      ]);
      expect(brands[0]?.admin).to.equal(ADDR.acmeAdmin);
    });

    it("shows one brand with its prefixes and its submitters' roles", async function () {
      const res = await get("/v1/brands/1");
      expect(res.statusCode).to.equal(200);
      const brand = json<{ prefixes: { prefix: string }[]; submitters: { account: string; role: string }[] }>(res);
      expect(brand.prefixes.map((p) => p.prefix)).to.deep.equal([ACME.prefix]);
      expect(brand.submitters.map((s) => [s.account, s.role])).to.deep.equal([
        [ADDR.factory, "factory"],
        [ADDR.logistics, "logistics"],
      ]);
    });

    it("404 for an unknown brand, 400 for a malformed id", async function () {
      expect((await get("/v1/brands/99")).statusCode).to.equal(404);
      expect((await get("/v1/brands/abc")).statusCode).to.equal(400);
    });
  });

  describe("GET /v1/batches", function () {
    it("lists batches newest first", async function () {
      const { batches, nextCursor } = json<{ batches: BatchDoc[]; nextCursor: string | null }>(
        await get("/v1/batches"),
      );
      const blocks = batches.map((b) => b.anchor.blockNumber);
      expect(blocks).to.deep.equal([...blocks].sort((a, b) => b - a));
      expect(batches).to.have.length(9);
      expect(nextCursor).to.equal(null);
    });

    it("filters by brand and kind", async function () {
      const byBrand = json<{ batches: BatchDoc[] }>(await get("/v1/batches?brand=2")).batches;
      expect(byBrand.map((b) => b.root).sort()).to.deep.equal(
        [fixture.batches.counterfeit.root, fixture.batches.griefing.root].sort(),
      );
      const traces = json<{ batches: BatchDoc[] }>(await get("/v1/batches?brand=1&kind=trace")).batches;
      expect(traces.map((b) => b.root)).to.deep.equal([fixture.batches.trace.root]);
    });

    it("pages with a cursor, without gaps or repeats", async function () {
      const seen: string[] = [];
      let cursor: string | null = "";
      while (cursor !== null) {
        const page: { batches: BatchDoc[]; nextCursor: string | null } = json(
          await get(`/v1/batches?limit=2${cursor === "" ? "" : `&cursor=${cursor}`}`),
        );
        seen.push(...page.batches.map((b) => b.root));
        cursor = page.nextCursor;
      }
      expect(seen).to.have.length(9);
      expect(new Set(seen).size).to.equal(9);
    });

    it("400 for a bad cursor, limit, kind or brand; unknown parameters are ignored", async function () {
      expect((await get("/v1/batches?foo=1")).statusCode).to.equal(200);
      for (const q of ["cursor=abc", "limit=0", "limit=501", "kind=other", "brand=x", "limit=1&limit=2"]) {
        const res = await get(`/v1/batches?${q}`);
        expect(res.statusCode, q).to.equal(400);
        expect(json<{ error: string }>(res).error).to.equal("INVALID_REQUEST");
      }
    });
  });

  describe("GET /v1/batches/{brandId}/{root}", function () {
    it("shows a final batch with content ok and explorer links", async function () {
      const { root } = fixture.batches.identity;
      const doc = json<BatchDoc>(await get(`/v1/batches/1/${root}`));
      expect(doc).to.include({ brandId: "1", root, kind: "identity", leafCount: 5, final: true, revoked: null });
      expect(doc.content).to.deep.equal({ status: "ok", reason: null });
      expect(doc.links.self).to.equal(`${PUBLIC_URL}/v1/batches/1/${root}`);
      expect(doc.links.explorerTx).to.match(new RegExp(`^${EXPLORER_URL}/tx/0x`));
      expect(doc.links.explorerBlock).to.equal(`${EXPLORER_URL}/block/10`);
      expect(doc.links.explorerContract).to.equal(`${EXPLORER_URL}/address/${CONTRACT}`);
    });

    it("shows a revocation with its reason", async function () {
      const doc = json<BatchDoc>(await get(`/v1/batches/1/${fixture.batches.revoked.root}`));
      expect(doc.revoked?.reason).to.equal("labels printed twice");
    });

    it("shows pending and mismatched content with the reason, and finality", async function () {
      expect(json<BatchDoc>(await get(`/v1/batches/1/${fixture.pending.root}`)).content.status).to.equal("pending");
      const mismatch = json<BatchDoc>(await get(`/v1/batches/1/${fixture.mismatchRoot}`));
      expect(mismatch.content).to.deep.equal({
        status: "mismatch",
        reason: "rebuilt root differs from the anchored root",
      });
      expect(json<BatchDoc>(await get(`/v1/batches/1/${fixture.batches.recent.root}`)).final).to.equal(false);
    });

    it("404 for an unknown batch (or the wrong brand), 400 for a malformed root", async function () {
      expect((await get(`/v1/batches/2/${fixture.batches.identity.root}`)).statusCode).to.equal(404);
      expect((await get(`/v1/batches/1/0x12`)).statusCode).to.equal(400);
    });
  });

  describe("GET /v1/batches/{brandId}/{root}/records", function () {
    const url = (root: string, q = "") => `/v1/batches/1/${root}/records${q}`;

    it("pages records in leaf order, with their hashes", async function () {
      const { root, records } = fixture.batches.identity;
      const first = json<{ records: { leafIndex: number; recordHash: string; record: unknown }[]; nextCursor: string }>(
        await get(url(root, "?limit=3")),
      );
      expect(first.records.map((r) => r.leafIndex)).to.deep.equal([0, 1, 2]);
      expect(first.nextCursor).to.equal("2");
      const second = json<{
        records: { leafIndex: number; recordHash: string; record: TraceAnchorRecord }[];
        nextCursor: string | null;
      }>(await get(url(root, `?limit=3&cursor=${first.nextCursor}`)));
      expect(second.records.map((r) => r.leafIndex)).to.deep.equal([3, 4]);
      expect(second.nextCursor).to.equal(null);
      for (const r of [...first.records, ...second.records]) {
        expect(r.record).to.deep.equal(records[r.leafIndex]);
        expect(r.recordHash).to.equal(recordHash(r.record as TraceAnchorRecord));
      }
    });

    it("is immutable for a final batch, with 304 on If-None-Match", async function () {
      const res = await get(url(fixture.batches.identity.root));
      expect(res.headers["cache-control"]).to.equal("public, max-age=31536000, immutable");
      expect(
        (await get(url(fixture.batches.identity.root), { "if-none-match": String(res.headers.etag) })).statusCode,
      ).to.equal(304);
      expect((await get(url(fixture.batches.recent.root))).headers["cache-control"]).to.equal("no-cache");
    });

    it("409 while the content is not ingested, 404 for an unknown batch, 400 for a bad cursor", async function () {
      const pending = await get(url(fixture.pending.root));
      expect(pending.statusCode).to.equal(409);
      expect(json<{ error: string }>(pending).error).to.equal("CONTENT_NOT_AVAILABLE");
      expect((await get(url(`0x${"cd".repeat(32)}`))).statusCode).to.equal(404);
      expect((await get(url(fixture.batches.identity.root, "?cursor=-1"))).statusCode).to.equal(400);
    });
  });
});
