import { expect } from "chai";
import {
  cbvTerm,
  checkSummary,
  localTime,
  renderMain,
  renderScanPage,
  renderSteps,
  renderUnknownPage,
  serverVerdictNotice,
  type ScanDocument,
} from "../../api/scan-page/render";
import { scanScript } from "../../api/scan-page/bundle";
import { CLASS_VERDICTS, SERIAL_VERDICTS, VERDICTS, type Verdict } from "../../core/verdict";
import type { VerifyReport } from "../../core/verify";

const anchor = {
  chainId: "31337",
  contract: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
  brandId: "1",
  txHash: `0x${"ab".repeat(32)}`,
  blockNumber: 7,
  blockTime: "2026-11-01T08:00:00.000Z",
  final: true,
  explorerTxUrl: "https://explorer.example/tx/0xabab",
};

function doc(overrides: Partial<ScanDocument> = {}): ScanDocument {
  return {
    verdict: "genuine",
    item: {
      gtin: "09506000134352",
      serial: "SN1",
      lot: "L42",
      digitalLink: "https://id.example/01/09506000134352/10/L42/21/SN1",
    },
    brand: { brandId: "1", name: "Acme <Nutrition>", prefix: "9506000" },
    identity: {
      record: {
        v: 1,
        kind: "identity",
        salt: "00".repeat(16),
        item: { gtin: "09506000134352", serial: "SN1", lot: "L42" },
        attributes: { product: "Infant formula" },
      },
      recordHash: `0x${"11".repeat(32)}`,
      proof: [],
      root: `0x${"22".repeat(32)}`,
      anchor,
    },
    events: [
      {
        record: {
          v: 1,
          kind: "trace",
          salt: "00".repeat(16),
          event: {
            type: "ObjectEvent",
            eventTime: "2026-11-01T07:30:00Z",
            eventTimeZoneOffset: "+08:00",
            bizStep: "urn:epcglobal:cbv:bizstep:inspecting",
            sensorElementList: [{ sensorReport: [{ type: "gs1:Temperature", value: 4.5, uom: "CEL" }] }],
            certificationInfo: "https://certs.example/haccp.pdf",
          },
        },
        recordHash: `0x${"33".repeat(32)}`,
        proof: [],
        root: `0x${"44".repeat(32)}`,
        anchor,
        role: "quality-lab",
        level: "lot",
        eventTime: "2026-11-01T07:30:00Z",
      },
    ],
    scans: { count: 3, firstScanAt: "2026-11-02T00:00:00.000Z" },
    ...overrides,
  };
}

/** A lot- or product-level document as the server sends it. */
function classDoc(level: "lot" | "product", overrides: Partial<ScanDocument> = {}): ScanDocument {
  const base = doc();
  return {
    ...base,
    level,
    verdict: "registered",
    item: {
      gtin: "09506000134352",
      serial: null,
      lot: level === "lot" ? "L42" : null,
      digitalLink: "https://id.example/01/09506000134352",
    },
    product: {
      name: "Infant formula stage 1",
      attributes: { size: "800 g", organic: true, nested: { x: 1 } },
      items: 600,
      lots: 2,
      recalledLots: ["L43"],
    },
    scans: { count: null, firstScanAt: null },
    ...overrides,
  };
}

/** A report as core/verify returns it, for the wording of the in-browser check. */
function report(overrides: Partial<VerifyReport> = {}): VerifyReport {
  return {
    verdict: "genuine",
    level: "serial",
    onChain: true,
    records: 3,
    serverVerdict: "genuine",
    agreesWithServer: true,
    facts: null,
    revokedAt: null,
    steps: [],
    ...overrides,
  };
}

const page = (d: ScanDocument, rpcUrls?: string[]): string =>
  renderScanPage(d, { scriptUrl: "/s.js", bundleBase: "/p", ...(rpcUrls ? { rpcUrls } : {}) });
/** The text of the verdict block. */
const verdictOf = (html: string): string =>
  /<section class="verdict [a-z]+"[^>]*>(.*?)<\/section>/s
    .exec(html)?.[1]
    ?.replace(/<[^>]+>/g, " ")
    .replace(/&#39;/g, "'") ?? "";

describe("scan page rendering", function () {
  it("names CBV steps in any of their forms", function () {
    expect(cbvTerm("urn:epcglobal:cbv:bizstep:shipping")).to.equal("shipping");
    expect(cbvTerm("https://ref.gs1.org/cbv/BizStep-receiving")).to.equal("receiving");
    expect(cbvTerm("inspecting")).to.equal("inspecting");
  });

  it("shows event time in the event's own time zone", function () {
    expect(localTime("2026-11-01T07:30:00Z", "+08:00")).to.equal("2026-11-01 15:30 (UTC+08:00)");
    expect(localTime("2026-11-01T07:30:00Z", "-05:00")).to.equal("2026-11-01 02:30 (UTC-05:00)");
  });

  it("renders verdict, timeline with role, sensor reading, certificate and explorer badge, escaping text", function () {
    const html = renderScanPage(doc(), { scriptUrl: "/assets/scan.js", bundleBase: "/v1/proofs" });
    expect(html).to.include("<h2>Genuine</h2>");
    expect(html).to.include("Acme &#60;Nutrition&#62;");
    expect(html).not.to.include("Acme <Nutrition>");
    expect(html).to.include("Quality inspection</span> Inspected");
    expect(html).to.include("2026-11-01 15:30 (UTC+08:00)");
    expect(html).to.include("recorded by quality-lab");
    expect(html).to.include("Temperature: 4.5°C");
    expect(
      renderScanPage(
        {
          ...doc(),
          events: [
            {
              ...doc().events[0]!,
              record: {
                v: 1,
                kind: "trace",
                salt: "00".repeat(16),
                event: {
                  type: "ObjectEvent",
                  eventTime: "2026-11-01T07:30:00Z",
                  eventTimeZoneOffset: "+00:00",
                  bizStep: "holding",
                  disposition: "recalled",
                  sensorElementList: [{ sensorReport: [{ type: "gs1:RelativeHumidity", value: 38, uom: "P1" }] }],
                },
              },
            },
          ],
        },
        { scriptUrl: "/s.js", bundleBase: "/p" },
      ),
    )
      .to.include("Relative humidity: 38%")
      .and.include("Recall</span> Recalled");
    expect(html).to.include('href="https://certs.example/haccp.pdf"');
    expect(html).to.include('href="https://explorer.example/tx/0xabab"');
    expect(html).to.include(`/v1/proofs/0x${"11".repeat(32)}`);
  });

  it("shows the brand's reason on a revoked item", function () {
    const revoked = doc({ verdict: "revoked" });
    const html = renderScanPage(
      {
        ...revoked,
        identity: { ...revoked.identity!, anchor: { ...anchor, revoked: true, revokeReason: "Labels <misprinted>" } },
      },
      { scriptUrl: "/s.js", bundleBase: "/p" },
    );
    expect(html).to.include("The brand's reason: “Labels &#60;misprinted&#62;”.");
  });

  it("preconnects once to each RPC origin the phone will read, and to none without an RPC", function () {
    const html = page(doc(), ["https://rpc.example/a", "https://rpc.example/b", "http://127.0.0.1:8545"]);
    const preconnects = [...html.matchAll(/<link rel="preconnect" href="([^"]+)" crossorigin>/g)].map((m) => m[1]);
    expect(preconnects).to.deep.equal(["https://rpc.example", "http://127.0.0.1:8545"]);
    expect(page(doc())).not.to.include("preconnect");
  });

  it("shows a recall banner for a recalled item and the scan count for a suspicious one", function () {
    expect(renderScanPage(doc({ verdict: "recalled" }), { scriptUrl: "/s.js", bundleBase: "/p" })).to.include(
      'role="alert"',
    );
    expect(renderScanPage(doc({ verdict: "suspicious" }), { scriptUrl: "/s.js", bundleBase: "/p" })).to.include(
      "Scanned 3 times",
    );
  });

  it("cannot be broken out of by a record holding </script>", function () {
    const evil = doc();
    (evil.identity!.record as { attributes: Record<string, string> }).attributes.product =
      "</script><script>alert(1)</script>";
    const html = renderScanPage(evil, { scriptUrl: "/s.js", bundleBase: "/p" });
    expect(html).not.to.include("<script>alert(1)");
    expect(html.match(/<\/script>/g)).to.have.length(3);
  });

  describe("a serial code", function () {
    for (const verdict of SERIAL_VERDICTS) {
      it(`words the ${verdict} verdict as core/verdict does`, function () {
        const html = page(doc({ verdict }));
        expect(html).to.include(`<section class="verdict ${VERDICTS[verdict].tone}"`);
        expect(verdictOf(html)).to.include(VERDICTS[verdict].title).and.include(VERDICTS[verdict].text);
      });
    }

    it("renders a document without level or product (an older server's) as a serial page", function () {
      const html = renderMain(doc(), { bundleBase: "/p" });
      expect(html).to.include("<h2>Item</h2>").and.include("<dt>Serial</dt><dd>SN1</dd>");
      expect(renderMain({ ...doc(), level: "product" }, { bundleBase: "/p" }), "no product summary").to.include(
        "<h2>Item</h2>",
      );
    });

    it("does not dress up a verdict word it does not know", function () {
      const html = page(doc({ verdict: "unverified" }));
      expect(verdictOf(html)).to.include("Verdict not recognised").and.include("unverified");
      expect(html).not.to.include("Genuine");
    });

    it("keeps the counterfeit warning on the page of an item no brand registered", function () {
      const html = renderUnknownPage({ gtin: "09506000134352", serial: "FAKE1" });
      expect(html).to.include("The product may be counterfeit").and.include("<dd>FAKE1</dd>");
    });
  });

  for (const level of ["lot", "product"] as const) {
    describe(`a ${level} code`, function () {
      it("shows the brand, the product, its attributes, the server's counts, recalled lots and the events", function () {
        const html = page(classDoc(level));
        expect(html).to.include('<p class="brand">Acme &#60;Nutrition&#62;</p><h1>Infant formula stage 1</h1>');
        expect(html).to.include("<dt>size</dt><dd>800 g</dd>").and.include("<dt>organic</dt><dd>true</dd>");
        expect(renderMain(classDoc(level), { bundleBase: "/p" }), "an attribute that is not text").not.to.include(
          "nested",
        );
        expect(html).to.include("600 items in 2 lots anchored (the server&#39;s count)");
        expect(html).to.include("<h2>Recalled lots</h2>").and.include("<li>Lot L43</li>");
        expect(html).to.include("Quality inspection</span> Inspected");
        expect(html).to.include(`<h2>${level === "lot" ? "Lot" : "Product"}</h2>`);
        expect(html.includes("<dt>Lot</dt><dd>L42</dd>")).to.equal(level === "lot");
        expect(html).to.include(`An item of this ${level} anchored on chain 31337`);
        expect(html).not.to.include("<dt>Serial</dt>");
      });

      for (const verdict of CLASS_VERDICTS) {
        it(`words the ${verdict} verdict as core/verdict does, never "genuine"`, function () {
          const html = page(classDoc(level, { verdict }));
          expect(html).to.include(`<section class="verdict ${VERDICTS[verdict].tone}"`);
          expect(verdictOf(html)).to.include(VERDICTS[verdict].title);
          expect(html).not.to.match(/genuine/i);
        });
      }

      it("says a product the prefix owner has not registered here is unlisted, not counterfeit", function () {
        const html = page(
          classDoc(level, {
            verdict: "unlisted",
            identity: null,
            product: { name: null, attributes: null, items: 0, lots: 0, recalledLots: [] },
          }),
        );
        expect(verdictOf(html)).to.include(
          "Acme &#60;Nutrition&#62; owns this barcode's prefix but has not registered this product here.",
        );
        expect(html).not.to.match(/counterfeit/i);
        expect(html).to.include("<h1>GTIN 09506000134352</h1>").and.include("0 items in 0 lots anchored");
      });

      it("says no brand registered an unregistered prefix", function () {
        const html = page(
          classDoc(level, {
            verdict: "unregistered",
            brand: null,
            identity: null,
            events: [],
            product: { name: null, attributes: null, items: 0, lots: 0, recalledLots: [] },
          }),
        );
        expect(verdictOf(html)).to.include("No brand has registered this barcode's company prefix.");
        expect(html).to.include('<p class="brand">No registered brand</p>');
        expect(html).to.include(`No trace events recorded for this ${level} yet.`);
      });

      it("shows a recall banner for a recalled one", function () {
        expect(page(classDoc(level, { verdict: "recalled" }))).to.include(
          `<strong>Recall:</strong> do not use ${level === "lot" ? "products of this lot" : "this product"}.`,
        );
      });
    });
  }

  describe("the in-browser check", function () {
    it("carries every RPC URL to the script, and says whether it will read a chain", function () {
      const two = page(doc(), ["https://a.example/rpc", "https://b.example"]);
      const config = JSON.parse(
        /<script type="application\/json" id="scan-config">(.*?)<\/script>/.exec(two)![1]!,
      ) as Record<string, unknown>;
      expect(config).to.deep.equal({
        rpcUrls: ["https://a.example/rpc", "https://b.example"],
        contract: null,
        bundleBase: "/p",
        scanThreshold: null,
      });
      expect(two).to.include("Checking the records against their proofs and the chain…");
      expect(page(doc())).to.include("Checking the records against their proofs (this page reads no chain)…");
    });

    for (const verdict of Object.keys(VERDICTS) as Verdict[]) {
      it(`states a ${verdict} verdict read on chain as a verified fact, in its tone`, function () {
        const summary = checkSummary(report({ verdict, serverVerdict: verdict }), 1);
        expect(summary).to.include({ tone: VERDICTS[verdict].tone, state: "verified" });
        expect(
          summary.text.startsWith(
            `${VERDICTS[verdict].verified}. This phone checked 3 record fingerprints and their Merkle proofs, and read the anchors, revocations and the owner of the barcode's prefix through the chain.`,
          ),
          summary.text,
        ).to.equal(true);
        expect(summary.text).not.to.match(/not verified|do not trust/i);
      });
    }

    it("dates a revocation, and names several RPCs", function () {
      const summary = checkSummary(
        report({ verdict: "revoked", serverVerdict: "revoked", revokedAt: "2026-11-05T10:00:00.000Z" }),
        2,
      );
      expect(summary.text).to.match(
        /^Verified: the brand revoked this registration on 2026-11-05\. .* through 2 chain nodes, which agree\.$/,
      );
      expect(summary.tone).to.equal("bad");
    });

    it("says the server's verdict was wrong when the phone's differs", function () {
      const summary = checkSummary(
        report({ verdict: "revoked", serverVerdict: "genuine", agreesWithServer: false }),
        1,
      );
      expect(summary.text).to.match(/The server's verdict \(“Genuine”\) was wrong\.$/);
      expect(serverVerdictNotice("genuine", "revoked", true))
        .to.include("The server's verdict (“Genuine”) was wrong.")
        .and.include("This phone read the chain: Registration revoked.");
      expect(serverVerdictNotice("genuine", "revoked", false))
        .to.include("does not follow from the records it sent")
        .and.include("Nothing here was checked against the chain.");
    });

    it("without a chain never calls anything authentic or verified, and says what was not checked", function () {
      for (const verdict of Object.keys(VERDICTS) as Verdict[]) {
        const summary = checkSummary(report({ verdict, serverVerdict: verdict, onChain: false }), 0);
        expect(summary).to.include({ tone: "warn", state: "unchecked" });
        expect(summary.text).to.equal(
          "This phone checked 3 record fingerprints and their Merkle proofs. The chain was not read, so the anchors, revocations and the barcode's prefix owner were NOT checked: the verdict above is the server's word.",
        );
        expect(summary.text).not.to.match(/authentic|Verified/);
      }
      expect(checkSummary(report({ onChain: false, records: 1 }), 0).text).to.match(
        /^This phone checked 1 record fingerprint and its Merkle proof\. /,
      );
      expect(
        checkSummary(report({ onChain: false, records: 0, verdict: "unregistered", serverVerdict: "unregistered" }), 0)
          .text,
      ).to.match(/^This page holds no records to check\. The chain was not read/);
    });

    it("says not verified, and not to trust the page, when a check failed", function () {
      const failed = report({
        verdict: "not-verified",
        agreesWithServer: null,
        steps: [
          {
            check: "record-hash",
            subject: "event 1",
            status: "fail",
            detail: "record hashes to 0x12, document says 0x34",
          },
        ],
      });
      expect(checkSummary(failed, 1)).to.deep.equal({
        text: "Not verified: 1 check(s) failed. Do not trust this page.",
        tone: "bad",
        state: "not-verified",
      });
      expect(renderSteps(failed.steps)).to.equal(
        '<li class="fail">Record fingerprint recomputed (event 1): record hashes to 0x12, document says 0x34</li>',
      );
    });
  });

  it("keeps an item page under 50 KB and the browser script under 100 KB", async function () {
    expect(Buffer.byteLength(renderScanPage(doc(), { scriptUrl: "/s.js", bundleBase: "/p" }))).to.be.below(50 * 1024);
    const script = await scanScript();
    expect(Buffer.byteLength(script.body)).to.be.below(100 * 1024);
    expect(script.body).to.not.include("hash-wasm");
  });
});
