import { describeEngines } from "../helpers/engines";
import { expect } from "chai";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import type { LightMyRequestResponse } from "fastify";
import { gs1CheckDigit } from "../../core/gs1";
import type { ItemDoc } from "../../api/documents";
import { sgtinPatternUrn } from "../../core/epc";
import {
  ACME,
  ADDR,
  CHAIN_ID,
  CONTRACT,
  FAKE,
  GTIN,
  GTIN13,
  ORPHAN_GTIN,
  acmeGtin,
  anchorBatch,
  event,
} from "./fixtures";
import { EXPLORER_URL, PUBLIC_URL, appPerTest } from "./helper";

const json = <T>(res: LightMyRequestResponse): T => JSON.parse(res.body) as T;

function expectVerifies(part: { root: string; recordHash: string; proof: string[] }): void {
  expect(StandardMerkleTree.verify(part.root, ["bytes32"], [part.recordHash], part.proof)).to.equal(true);
}

function expectProofsVerify(doc: ItemDoc): void {
  if (doc.identity !== null) expectVerifies(doc.identity);
  doc.events.forEach(expectVerifies);
}

describeEngines("api: GS1 Digital Link resolver", function (engine) {
  const suite = appPerTest(engine);

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
      expect(doc.item).to.deep.equal({
        gtin: GTIN,
        serial: "SER1",
        lot: "LOT1",
        digitalLink: `${PUBLIC_URL}/01/${GTIN}/10/LOT1/21/SER1`,
      });
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
      const steps = doc.events.map((e) => [
        e.level,
        (e.record as { event: { bizStep: string } }).event.bizStep,
        e.role,
      ]);
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
      expect((recall?.record as { event: { disposition: string } }).event.disposition).to.equal(
        "urn:epcglobal:cbv:disp:recalled",
      );
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
      expect(json<{ error: string; message: string }>(res)).to.deep.equal({
        error: "NOT_FOUND",
        message: "item not found",
      });
    });
  });

  describe("lot and product documents", function () {
    type Doc = ItemDoc & { product: NonNullable<ItemDoc["product"]> };
    const doc = async (url: string, status = 200): Promise<Doc> => {
      const res = await get(url);
      expect(res.statusCode, res.body.slice(0, 300)).to.equal(status);
      expect(res.headers["content-type"]).to.match(/^application\/json/);
      const body = json<Doc>(res);
      expect(body.product, "a lot or product document has product facts").not.to.equal(null);
      return body;
    };
    const bizSteps = (d: ItemDoc) =>
      d.events.map((e) => [e.level, (e.record as { event: { bizStep: string } }).event.bizStep]);

    it("answers a product-level code of a registered brand: registered, with one live item of the owner as the sample, items and lots counted", async function () {
      const res = await get(`/01/${GTIN}`);
      expect(res.headers["cache-control"]).to.equal("public, max-age=30");
      const d = await doc(`/01/${GTIN}`);
      expect(d.level).to.equal("product");
      expect(d.verdict).to.equal("registered");
      expect(d.item).to.deep.equal({ gtin: GTIN, serial: null, lot: null, digitalLink: `${PUBLIC_URL}/01/${GTIN}` });
      expect(d.brand).to.deep.equal({ brandId: "1", name: ACME.name, prefix: ACME.prefix });
      const identity = d.identity;
      if (identity === null) throw new Error("no sample identity");
      expect(identity.anchor).to.include({ brandId: "1", kind: "identity", revoked: false });
      expect((identity.record as { item: { gtin: string } }).item.gtin).to.equal(GTIN);
      // Live items of Acme: SER1, SER2, SER3, SCAN1, a.b-c/d, NEW1; not REV1 (revoked), FAKE1 (another brand), PEND* (no content).
      expect(d.product).to.deep.equal({
        name: null,
        attributes: { color: "red" },
        items: 6,
        lots: 2,
        recalledLots: ["LOT2"],
      });
      // The class's events, and the lots' recalls so the page can name the recalled lots.
      expect(bizSteps(d)).to.deep.equal([
        ["class", "inspecting"],
        ["lot", "holding"],
      ]);
      expect(d.scans).to.deep.equal({ count: null, firstScanAt: null });
      expectProofsVerify(d);
    });

    it("zero-pads a GTIN-13 product code", async function () {
      expect((await doc(`/01/${GTIN13}`)).item.gtin).to.equal(GTIN);
    });

    it("answers a lot of live items: registered, items of that lot only, the lot's and the class's events", async function () {
      const d = await doc(`/01/${GTIN}/10/LOT1`);
      expect(d.level).to.equal("lot");
      expect(d.verdict).to.equal("registered");
      expect(d.item).to.deep.equal({
        gtin: GTIN,
        serial: null,
        lot: "LOT1",
        digitalLink: `${PUBLIC_URL}/01/${GTIN}/10/LOT1`,
      });
      expect((d.identity?.record as { item: { lot: string } }).item.lot).to.equal("LOT1");
      expect(d.product).to.deep.include({ items: 2, lots: 1, recalledLots: [] });
      expect(bizSteps(d)).to.deep.equal([
        ["class", "inspecting"],
        ["lot", "shipping"],
      ]);
      expectProofsVerify(d);
    });

    it("is recalled for a lot the owner recalled, naming it among the recalled lots", async function () {
      const d = await doc(`/01/${GTIN}/10/LOT2`);
      expect(d.verdict).to.equal("recalled");
      expect(d.product).to.deep.include({ items: 1, lots: 1, recalledLots: ["LOT2"] });
      const recall = d.events.find((e) => e.level === "lot");
      expect((recall?.record as { event: { disposition: string } }).event.disposition).to.equal(
        "urn:epcglobal:cbv:disp:recalled",
      );
      expectProofsVerify(d);
    });

    it("is unlisted, still 200 and naming the brand, for a lot or product the owner anchored no live item of", async function () {
      for (const url of [`/01/${GTIN}/10/LOT9`, `/01/${acmeGtin("99999")}`]) {
        const d = await doc(url);
        expect(d.verdict, url).to.equal("unlisted");
        expect(d.brand, url).to.deep.equal({ brandId: "1", name: ACME.name, prefix: ACME.prefix });
        expect(d.identity, url).to.equal(null);
        expect(d.product, url).to.deep.include({ name: null, attributes: null, items: 0, lots: 0 });
      }
    });

    it("answers 404 UNREGISTERED for a lot or product whose company prefix no brand owns, even with items anchored", async function () {
      for (const url of [`/01/${ORPHAN_GTIN}`, `/01/${ORPHAN_GTIN}/10/L1`]) {
        const res = await get(url);
        expect(res.statusCode, url).to.equal(404);
        expect(json<{ error: string; field: string }>(res), url).to.deep.include({
          error: "UNREGISTERED",
          field: "gtin",
        });
      }
    });

    it("gives a browser the scan page of the document: 200 for a registered product (never the counterfeit warning), 404 for an unregistered code", async function () {
      const browser = { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" };
      const page = await get(`/01/${GTIN}`, browser);
      expect(page.statusCode).to.equal(200);
      expect(page.headers["content-type"]).to.match(/^text\/html/);
      expect(page.body).not.to.include("counterfeit");
      await suite.rebuild({ renderHtml: (d) => `<p>${d.level} ${d.verdict} ${d.product?.items ?? "-"}</p>` });
      expect((await get(`/01/${GTIN}`, browser)).body).to.equal("<p>product registered 6</p>");
      expect((await get(`/01/${GTIN}/10/LOT2`, browser)).body).to.equal("<p>lot recalled 1</p>");
      const unregistered = await get(`/01/${ORPHAN_GTIN}`, browser);
      expect(unregistered.statusCode).to.equal(404);
      expect(unregistered.body).to.equal("<p>product unregistered 0</p>");
      // The serial-level unknown item keeps its own warning page.
      await suite.rebuild({});
      const unknown = await get(`/01/${GTIN}/21/NOSUCH1`, browser);
      expect(unknown.statusCode).to.equal(404);
      expect(unknown.body).to.include("<h2>Unknown</h2>");
    });

    describe("recalls of the product, and who may recall", function () {
      const RECALLED = acmeGtin("20002");
      const GRIEFED = acmeGtin("20003");
      const REVOKED_ONLY = acmeGtin("20004");
      const OTHERS_ONLY = acmeGtin("20005");
      const cp = ACME.prefix.length;
      const recallOf = (gtin: string, time: string) =>
        event({
          eventTime: time,
          bizStep: "holding",
          disposition: "recalled",
          quantityList: [{ epcClass: sgtinPatternUrn(gtin, cp), quantity: 1 }],
        });

      before(async function () {
        const f = suite.fixture;
        const items = `gtin,serial,lot,product\n${RECALLED},R1,LOTR,Infant formula 800 g\n${RECALLED},R2,LOTR,Infant formula 800 g\n${GRIEFED},G1,,Oat drink\n`;
        await anchorBatch(f, {
          name: "class-items.csv",
          brandId: ACME.brandId,
          kind: "identity",
          text: items,
          blockNumber: 30,
        });
        await anchorBatch(f, {
          name: "class-recall.ndjson",
          brandId: ACME.brandId,
          kind: "trace",
          text: `${recallOf(RECALLED, "2024-04-01T00:00:00.000Z")}\n`,
          blockNumber: 31,
        });
        await anchorBatch(f, {
          name: "class-grief.ndjson",
          brandId: FAKE.brandId,
          kind: "trace",
          text: `${recallOf(GRIEFED, "2024-04-02T00:00:00.000Z")}\n`,
          blockNumber: 32,
        });
        await anchorBatch(f, {
          name: "class-withdrawn.ndjson",
          brandId: ACME.brandId,
          kind: "trace",
          text: `${recallOf(GRIEFED, "2024-04-03T00:00:00.000Z")}\n`,
          blockNumber: 33,
          revoked: { block: 34, reason: "sent by mistake", by: ADDR.acmeAdmin },
        });
        await anchorBatch(f, {
          name: "revoked-only.csv",
          brandId: ACME.brandId,
          kind: "identity",
          text: `gtin,serial\n${REVOKED_ONLY},X1\n`,
          blockNumber: 35,
          revoked: { block: 36, reason: "test", by: ADDR.acmeAdmin },
        });
        await anchorBatch(f, {
          name: "others-only.csv",
          brandId: FAKE.brandId,
          kind: "identity",
          text: `gtin,serial\n${OTHERS_ONLY},Y1\n`,
          blockNumber: 37,
        });
        await suite.sync();
      });

      it("counts a recall of the whole product at every level: product, lot and serial", async function () {
        const product = await doc(`/01/${RECALLED}`);
        expect(product.verdict).to.equal("recalled");
        expect(product.product).to.deep.equal({
          name: "Infant formula 800 g",
          attributes: { product: "Infant formula 800 g" },
          items: 2,
          lots: 1,
          recalledLots: [],
        });
        expect((await doc(`/01/${RECALLED}/10/LOTR`)).verdict).to.equal("recalled");
        expect(json<ItemDoc>(await get(`/01/${RECALLED}/21/R1`)).verdict).to.equal("recalled");
      });

      it("ignores a recall anchored by a brand that does not own the prefix, and a withdrawn (revoked) one", async function () {
        const d = await doc(`/01/${GRIEFED}`);
        expect(d.verdict).to.equal("registered");
        expect(d.events).to.deep.equal([]);
        expect(d.product).to.deep.include({ name: "Oat drink", items: 1, lots: 0 });
        expect(json<ItemDoc>(await get(`/01/${GRIEFED}/21/G1`)).verdict).to.equal("genuine");
      });

      it("is unlisted when the owner's only items are revoked, or only another brand anchored the GTIN", async function () {
        for (const gtin of [REVOKED_ONLY, OTHERS_ONLY]) {
          const d = await doc(`/01/${gtin}`);
          expect(d.verdict, gtin).to.equal("unlisted");
          expect(d.identity, gtin).to.equal(null);
          expect(d.product.items, gtin).to.equal(0);
        }
      });
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
      // The item's own anchor, then its lot's and its GTIN's.
      expect(body.linkset.map((set) => set.anchor)).to.deep.equal([
        `${PUBLIC_URL}/01/${GTIN}/21/SER1`,
        `${PUBLIC_URL}/01/${GTIN}/10/LOT1`,
        `${PUBLIC_URL}/01/${GTIN}`,
      ]);
      const set = body.linkset[0] as Record<string, { href: string; type: string }[]>;
      for (const rel of ["defaultLink", "traceability", "verificationService"])
        expect(set[`https://gs1.org/voc/${rel}`]).to.have.length(1);
      expect(body.linkset[2]).to.have.property("https://gs1.org/voc/pip");
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
      const scriptUrl =
        /<script src="(\/assets\/scan\.[0-9a-f]{16}\.js)" defer>/.exec(page.body)?.[1] ?? "no script tag";
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
      expect((await get(`/01/${GTIN}/21/SER1`, { accept: "*/*" })).headers["content-type"]).to.match(
        /^application\/json/,
      );
      expect((await get(`/01/${GTIN}/21/SER1`, { accept: "image/png" })).headers["content-type"]).to.match(
        /^application\/json/,
      );
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
