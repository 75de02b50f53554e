import { expect } from "chai";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import type { LightMyRequestResponse } from "fastify";
import { gs1CheckDigit } from "../../core/gs1";
import type { ItemDoc } from "../../api/documents";
import { ACME, CHAIN_ID, CONTRACT, GTIN, GTIN13, ORPHAN_GTIN } from "./fixtures";
import { EXPLORER_URL, PUBLIC_URL, appPerTest } from "./helper";

const json = <T>(res: LightMyRequestResponse): T => JSON.parse(res.body) as T;

function expectVerifies(part: { root: string; recordHash: string; proof: string[] }): void {
  expect(StandardMerkleTree.verify(part.root, ["bytes32"], [part.recordHash], part.proof)).to.equal(true);
}

function expectProofsVerify(doc: ItemDoc): void {
  if (doc.identity !== null) expectVerifies(doc.identity);
  doc.events.forEach(expectVerifies);
}

describe("api: GS1 Digital Link resolver", function () {
  const suite = appPerTest();

  const get = (url: string, headers: Record<string, string> = {}, remoteAddress = "198.51.100.1") =>
    suite.t.app.inject({ method: "GET", url, headers, remoteAddress });

  describe("item document", function () {
    it("is genuine for an anchored, live identity of the prefix owner, with proofs that verify", async function () {
      const res = await get(`/01/${GTIN}/21/SER1`);
      expect(res.statusCode).to.equal(200);
      expect(res.headers["content-type"]).to.match(/^application\/json/);
      expect(res.headers["cache-control"]).to.equal("private, max-age=30");
      expect(res.headers.vary).to.match(/Accept/i);
      const doc = json<ItemDoc>(res);
      expect(doc.verdict).to.equal("genuine");
      expect(doc.item).to.deep.equal({ gtin: GTIN, serial: "SER1", lot: "LOT1", digitalLink: `${PUBLIC_URL}/01/${GTIN}/10/LOT1/21/SER1` });
      expect(doc.brand).to.deep.equal({ brandId: "1", name: ACME.name, prefix: ACME.prefix });
      const identity = doc.identity;
      if (identity === null) throw new Error("no identity");
      expect(identity.record).to.deep.include({ kind: "identity", item: { gtin: GTIN, serial: "SER1", lot: "LOT1" } });
      expect(identity.root).to.equal(suite.fixture.batches.identity.root);
      expect(identity.anchor).to.deep.equal({
        chainId: String(CHAIN_ID),
        contract: CONTRACT,
        brandId: "1",
        kind: "identity",
        leafCount: 5,
        txHash: identity.anchor.txHash,
        blockNumber: 10,
        logIndex: 0,
        blockTime: identity.anchor.blockTime,
        final: true,
        revoked: false,
        revokeReason: null,
        explorerTxUrl: `${EXPLORER_URL}/tx/${identity.anchor.txHash}`,
      });
      expect(identity.anchor.txHash).to.match(/^0x[0-9a-f]{64}$/);
      expect(new Date(identity.anchor.blockTime).toISOString()).to.equal(identity.anchor.blockTime);
      expectProofsVerify(doc);
      expect(doc.scans.count).to.equal(1);
      expect(doc.scans.firstScanAt).to.be.a("string");
    });

    it("lists the trace events naming the item, its lot and its class, by event time, with the submitter's role", async function () {
      const doc = json<ItemDoc>(await get(`/01/${GTIN}/21/SER1`));
      const steps = doc.events.map((e) => [e.level, (e.record as { event: { bizStep: string } }).event.bizStep, e.role]);
      expect(steps).to.deep.equal([
        ["class", "inspecting", "logistics"],
        ["item", "commissioning", "logistics"],
        ["lot", "shipping", "logistics"],
      ]);
      for (const e of doc.events) {
        expect(e.root).to.equal(suite.fixture.batches.trace.root);
        expect(e.anchor.kind).to.equal("trace");
      }
      expectProofsVerify(doc);
    });

    it("ignores a recall anchored by a brand that does not own the GTIN's prefix", async function () {
      const doc = json<ItemDoc>(await get(`/01/${GTIN}/21/SER1`));
      expect(doc.verdict).to.equal("genuine");
      expect(doc.events.every((e) => e.anchor.brandId === "1")).to.equal(true);
    });

    it("zero-pads a GTIN-13 to GTIN-14", async function () {
      const res = await get(`/01/${GTIN13}/21/SER2`);
      expect(res.statusCode).to.equal(200);
      expect(json<ItemDoc>(res).item.gtin).to.equal(GTIN);
      expect(json<ItemDoc>(res).verdict).to.equal("genuine");
    });

    it("accepts GTIN-8 and GTIN-12 keys (404 when nothing is anchored for them)", async function () {
      const gtin8 = `9506000${gs1CheckDigit("9506000")}`;
      const gtin12 = `95060001343${gs1CheckDigit("95060001343")}`;
      expect((await get(`/01/${gtin8}/21/X`)).statusCode).to.equal(404);
      expect((await get(`/01/${gtin12}/21/X`)).statusCode).to.equal(404);
    });

    it("accepts the lot in the path when it is the anchored one, 404 when it is another", async function () {
      expect(json<ItemDoc>(await get(`/01/${GTIN}/10/LOT1/21/SER1`)).verdict).to.equal("genuine");
      const res = await get(`/01/${GTIN}/10/LOT9/21/SER1`);
      expect(res.statusCode).to.equal(404);
      expect(json<{ error: string }>(res).error).to.equal("NOT_FOUND");
    });

    it("decodes percent-encoded serials (a '/' inside a serial)", async function () {
      const res = await get(`/01/${GTIN}/21/a.b-c%2Fd`);
      expect(res.statusCode).to.equal(200);
      expect(json<ItemDoc>(res).item.serial).to.equal("a.b-c/d");
    });

    it("is revoked for an item of a revoked batch", async function () {
      const doc = json<ItemDoc>(await get(`/01/${GTIN}/21/REV1`));
      expect(doc.verdict).to.equal("revoked");
      expect(doc.identity?.anchor.revoked).to.equal(true);
      expect(doc.identity?.anchor.revokeReason).to.equal("labels printed twice");
      expectProofsVerify(doc);
    });

    it("is prefix-mismatch when another brand anchored the GTIN, naming the real owner", async function () {
      const doc = json<ItemDoc>(await get(`/01/${GTIN}/21/FAKE1`));
      expect(doc.verdict).to.equal("prefix-mismatch");
      expect(doc.brand?.brandId).to.equal("1");
      expect(doc.identity?.anchor.brandId).to.equal("2");
    });

    it("is prefix-mismatch when nobody owns the GTIN's prefix", async function () {
      const doc = json<ItemDoc>(await get(`/01/${ORPHAN_GTIN}/21/ORPHAN1`));
      expect(doc.verdict).to.equal("prefix-mismatch");
      expect(doc.brand).to.equal(null);
    });

    it("is recalled when a live trace event of the owner recalls the item's lot", async function () {
      const doc = json<ItemDoc>(await get(`/01/${GTIN}/21/SER3`));
      expect(doc.verdict).to.equal("recalled");
      const recall = doc.events.find((e) => e.level === "lot");
      expect((recall?.record as { event: { disposition: string } }).event.disposition).to.equal("urn:epcglobal:cbv:disp:recalled");
      expectProofsVerify(doc);
    });

    it("marks an anchor above the finalized block as not final", async function () {
      const doc = json<ItemDoc>(await get(`/01/${GTIN}/21/NEW1`));
      expect(doc.verdict).to.equal("genuine");
      expect(doc.identity?.anchor.final).to.equal(false);
      expect(doc.identity?.anchor.blockNumber).to.equal(100);
    });

    it("is suspicious once more distinct clients than the threshold scanned it; a repeat scan does not count", async function () {
      for (const ip of ["10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.3"]) {
        expect(json<ItemDoc>(await get(`/01/${GTIN}/21/SCAN1`, {}, ip)).verdict).to.equal("genuine");
      }
      const doc = json<ItemDoc>(await get(`/01/${GTIN}/21/SCAN1`, {}, "10.0.0.4"));
      expect(doc.scans.count).to.equal(4);
      expect(doc.verdict).to.equal("suspicious");
    });

    it("does not count scans when TRACE_SCANS is off", async function () {
      await suite.rebuild({ config: { scans: false } });
      const doc = json<ItemDoc>(await get(`/01/${GTIN}/21/SER1`));
      expect(doc.scans).to.deep.equal({ count: null, firstScanAt: null });
    });

    it("answers 404 JSON for an unknown serial", async function () {
      const res = await get(`/01/${GTIN}/21/NOPE`);
      expect(res.statusCode).to.equal(404);
      expect(json<{ error: string; message: string }>(res)).to.deep.equal({ error: "NOT_FOUND", message: "item not found" });
    });
  });

  describe("lot and class documents", function () {
    it("is recalled for a recalled lot, without an identity", async function () {
      const doc = json<ItemDoc>(await get(`/01/${GTIN}/10/LOT2`));
      expect(doc.verdict).to.equal("recalled");
      expect(doc.identity).to.equal(null);
      expect(doc.item).to.deep.include({ serial: null, lot: "LOT2" });
      expect(doc.scans.count).to.equal(null);
      expectProofsVerify(doc);
    });

    it("is unverified for a lot or class with events but no recall", async function () {
      expect(json<ItemDoc>(await get(`/01/${GTIN}/10/LOT1`)).verdict).to.equal("unverified");
      const doc = json<ItemDoc>(await get(`/01/${GTIN}`));
      expect(doc.verdict).to.equal("unverified");
      expect(doc.events.map((e) => e.level)).to.deep.equal(["class"]);
    });

    it("answers 404 for a lot nothing names", async function () {
      expect((await get(`/01/${ORPHAN_GTIN}/10/L1`)).statusCode).to.equal(404);
    });
  });

  describe("malformed keys", function () {
    const cases: [string, string, string][] = [
      [`/01/09506000134353/21/SER1`, "GTIN_CHECK_DIGIT", "gtin"],
      [`/01/0950600013435X/21/SER1`, "GTIN_FORMAT", "gtin"],
      [`/01/123456789/21/SER1`, "GTIN_LENGTH", "gtin"],
      [`/01/${GTIN}/21/${"S".repeat(21)}`, "GS1_AI82_LENGTH", "serial"],
      [`/01/${GTIN}/10/${"L".repeat(21)}/21/S`, "GS1_AI82_LENGTH", "lot"],
      [`/01/${GTIN}/21/${"S".repeat(150)}`, "DL_VALUE", "serial"],
      [`/01/${GTIN}/21/a%20b`, "GS1_AI82_CHARSET", "serial"],
      [`/01/${GTIN}/21/%C3%A9`, "GS1_AI82_CHARSET", "serial"],
      [`/01/${GTIN}/21`, "DL_SYNTAX", "path"],
      [`/01/${GTIN}/99/x`, "DL_AI", "99"],
      [`/01/${GTIN}/21/S/10/L`, "DL_ORDER", "lot"],
      [`/01/${GTIN}/22/cpv`, "DL_UNSUPPORTED", "path"],
      [`/01/${GTIN}/21/%E0%A4%A`, "BAD_URL", "path"],
    ];
    for (const [url, error, field] of cases) {
      it(`400 ${error} for ${url.slice(0, 60)}`, async function () {
        const res = await get(url);
        expect(res.statusCode, res.body).to.equal(400);
        const body = json<{ error: string; message: string; field: string }>(res);
        expect(body.error).to.equal(error);
        expect(body.field).to.equal(field);
        expect(body.message).to.be.a("string").and.not.equal("");
      });
    }

    it("400 for a repeated linkType", async function () {
      const res = await get(`/01/${GTIN}/21/SER1?linkType=a&linkType=b`);
      expect(res.statusCode).to.equal(400);
      expect(json<{ field: string }>(res).field).to.equal("linkType");
    });
  });

  describe("content negotiation", function () {
    type LinksetDoc = { linkset: Record<string, unknown>[] };
    const checkLinkset = (res: LightMyRequestResponse): LinksetDoc => {
      expect(res.statusCode).to.equal(200);
      expect(res.headers["content-type"]).to.match(/^application\/linkset\+json/);
      const body = json<LinksetDoc>(res);
      const set = body.linkset[0] as Record<string, { href: string; type: string }[]>;
      expect(set.anchor).to.equal(`${PUBLIC_URL}/01/${GTIN}/21/SER1`);
      for (const rel of ["pip", "traceability", "verificationService"]) expect(set[`https://gs1.org/voc/${rel}`]).to.have.length(1);
      return body;
    };

    it("serves an RFC 9264 linkset for ?linkType=linkset", async function () {
      const body = checkLinkset(await get(`/01/${GTIN}/21/SER1?linkType=linkset`));
      const set = body.linkset[0] as Record<string, { href: string }[]>;
      const verification = set["https://gs1.org/voc/verificationService"]?.[0]?.href ?? "";
      expect(verification).to.match(new RegExp(`^${PUBLIC_URL}/v1/proofs/0x[0-9a-f]{64}$`));
      const bundle = await get(verification.slice(PUBLIC_URL.length));
      expect(bundle.statusCode).to.equal(200);
    });

    it("serves the linkset for Accept: application/linkset+json", async function () {
      checkLinkset(await get(`/01/${GTIN}/21/SER1`, { accept: "application/linkset+json" }));
    });

    it("does not count a linkset fetch as a scan", async function () {
      await get(`/01/${GTIN}/21/SER2?linkType=linkset`);
      expect(json<ItemDoc>(await get(`/01/${GTIN}/21/SER2`)).scans.count).to.equal(1);
    });

    it("serves the scan page to a browser, a plugged-in renderer instead, or JSON when HTML is turned off", async function () {
      const browser = { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" };
      const page = await get(`/01/${GTIN}/21/SER1`, browser);
      expect(page.statusCode).to.equal(200);
      expect(page.headers["content-type"]).to.match(/^text\/html/);
      expect(page.body).to.include("<h2>Genuine</h2>");
      const scriptUrl = /<script src="(\/assets\/scan\.[0-9a-f]{16}\.js)" defer>/.exec(page.body)?.[1] ?? "no script tag";
      const script = await get(scriptUrl);
      expect(script.statusCode).to.equal(200);
      expect(script.headers["content-type"]).to.match(/^text\/javascript/);
      expect((await get(scriptUrl, { "if-none-match": String(script.headers.etag) })).statusCode).to.equal(304);
      await suite.rebuild({ renderHtml: (doc) => `<p>${doc.verdict}</p>` });
      const html = await get(`/01/${GTIN}/21/SER1`, browser);
      expect(html.headers["content-type"]).to.match(/^text\/html/);
      expect(html.body).to.equal("<p>genuine</p>");
      await suite.rebuild({ renderHtml: null });
      expect((await get(`/01/${GTIN}/21/SER1`, browser)).headers["content-type"]).to.match(/^application\/json/);
    });

    it("gives a browser the 'unknown' page, with a 404, for a code nobody registered", async function () {
      const browser = { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" };
      const page = await get(`/01/${GTIN}/21/NOSUCH1`, browser);
      expect(page.statusCode).to.equal(404);
      expect(page.headers["content-type"]).to.match(/^text\/html/);
      expect(page.body).to.include("<h2>Unknown</h2>");
      expect(page.body).to.include("NOSUCH1");
      const api = await get(`/01/${GTIN}/21/NOSUCH1`);
      expect(api.statusCode).to.equal(404);
      expect(api.json()).to.include({ error: "NOT_FOUND" });
    });

    it("prefers JSON for */* and for unknown types", async function () {
      expect((await get(`/01/${GTIN}/21/SER1`, { accept: "*/*" })).headers["content-type"]).to.match(/^application\/json/);
      expect((await get(`/01/${GTIN}/21/SER1`, { accept: "image/png" })).headers["content-type"]).to.match(/^application\/json/);
    });
  });

  describe("HEAD, OPTIONS, CORS and security headers", function () {
    it("answers HEAD without a body and without counting a scan", async function () {
      const head = await suite.t.app.inject({ method: "HEAD", url: `/01/${GTIN}/21/SER2` });
      expect(head.statusCode).to.equal(200);
      expect(head.body).to.equal("");
      expect(json<ItemDoc>(await get(`/01/${GTIN}/21/SER2`)).scans.count).to.equal(1);
    });

    it("answers a CORS preflight and a plain OPTIONS", async function () {
      const preflight = await suite.t.app.inject({
        method: "OPTIONS",
        url: `/01/${GTIN}/21/SER1`,
        headers: { origin: "https://scanner.example", "access-control-request-method": "GET" },
      });
      expect(preflight.statusCode).to.equal(204);
      expect(preflight.headers["access-control-allow-origin"]).to.equal("*");
      expect(String(preflight.headers["access-control-allow-methods"])).to.include("GET");
      expect(String(preflight.headers["access-control-allow-methods"])).not.to.include("PUT");
      const plain = await suite.t.app.inject({ method: "OPTIONS", url: `/01/${GTIN}/21/SER1` });
      expect(plain.statusCode).to.equal(204);
    });

    it("allows any origin to read", async function () {
      const res = await get(`/01/${GTIN}/21/SER1`, { origin: "https://scanner.example" });
      expect(res.headers["access-control-allow-origin"]).to.equal("*");
    });

    it("sets security headers", async function () {
      const res = await get(`/01/${GTIN}/21/SER1`);
      expect(res.headers["x-content-type-options"]).to.equal("nosniff");
      expect(res.headers["content-security-policy"]).to.include("frame-ancestors 'none'");
      expect(res.headers["strict-transport-security"]).to.be.a("string");
      expect(res.headers["x-powered-by"]).to.equal(undefined);
    });
  });
});
