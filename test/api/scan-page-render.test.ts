import { expect } from "chai";
import { cbvTerm, localTime, renderScanPage, type ScanDocument } from "../../api/scan-page/render";
import { scanScript } from "../../api/scan-page/bundle";

const anchor = { chainId: "31337", contract: "0x5fbdb2315678afecb367f032d93f642f64180aa3", brandId: "1", txHash: `0x${"ab".repeat(32)}`, blockNumber: 7, blockTime: "2026-11-01T08:00:00.000Z", final: true, explorerTxUrl: "https://explorer.example/tx/0xabab" };

function doc(overrides: Partial<ScanDocument> = {}): ScanDocument {
  return {
    verdict: "genuine",
    item: { gtin: "09506000134352", serial: "SN1", lot: "L42", digitalLink: "https://id.example/01/09506000134352/10/L42/21/SN1" },
    brand: { brandId: "1", name: "Acme <Nutrition>", prefix: "9506000" },
    identity: { record: { v: 1, kind: "identity", salt: "00".repeat(16), item: { gtin: "09506000134352", serial: "SN1", lot: "L42" }, attributes: { product: "Infant formula" } }, recordHash: `0x${"11".repeat(32)}`, proof: [], root: `0x${"22".repeat(32)}`, anchor },
    events: [
      {
        record: { v: 1, kind: "trace", salt: "00".repeat(16), event: { type: "ObjectEvent", eventTime: "2026-11-01T07:30:00Z", eventTimeZoneOffset: "+08:00", bizStep: "urn:epcglobal:cbv:bizstep:inspecting", sensorElementList: [{ sensorReport: [{ type: "gs1:Temperature", value: 4.5, uom: "CEL" }] }], certificationInfo: "https://certs.example/haccp.pdf" } },
        recordHash: `0x${"33".repeat(32)}`, proof: [], root: `0x${"44".repeat(32)}`, anchor, role: "quality-lab", level: "lot", eventTime: "2026-11-01T07:30:00Z",
      },
    ],
    scans: { count: 3, firstScanAt: "2026-11-02T00:00:00.000Z" },
    ...overrides,
  };
}

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
    expect(renderScanPage({ ...doc(), events: [{ ...doc().events[0]!, record: { v: 1, kind: "trace", salt: "00".repeat(16), event: { type: "ObjectEvent", eventTime: "2026-11-01T07:30:00Z", eventTimeZoneOffset: "+00:00", bizStep: "holding", disposition: "recalled", sensorElementList: [{ sensorReport: [{ type: "gs1:RelativeHumidity", value: 38, uom: "P1" }] }] } } }] }, { scriptUrl: "/s.js", bundleBase: "/p" })).to.include("Relative humidity: 38%").and.include("Recall</span> Recalled");
    expect(html).to.include('href="https://certs.example/haccp.pdf"');
    expect(html).to.include('href="https://explorer.example/tx/0xabab"');
    expect(html).to.include(`/v1/proofs/0x${"11".repeat(32)}`);
  });

  it("shows the brand's reason on a revoked item", function () {
    const revoked = doc({ verdict: "revoked" });
    const html = renderScanPage({ ...revoked, identity: { ...revoked.identity!, anchor: { ...anchor, revoked: true, revokeReason: "Labels <misprinted>" } } }, { scriptUrl: "/s.js", bundleBase: "/p" });
    expect(html).to.include("The brand's reason: “Labels &#60;misprinted&#62;”.");
  });

  it("shows a recall banner for a recalled item and the scan count for a suspicious one", function () {
    expect(renderScanPage(doc({ verdict: "recalled" }), { scriptUrl: "/s.js", bundleBase: "/p" })).to.include('role="alert"');
    expect(renderScanPage(doc({ verdict: "suspicious" }), { scriptUrl: "/s.js", bundleBase: "/p" })).to.include("Scanned 3 times");
  });

  it("cannot be broken out of by a record holding </script>", function () {
    const evil = doc();
    (evil.identity!.record as { attributes: Record<string, string> }).attributes.product = "</script><script>alert(1)</script>";
    const html = renderScanPage(evil, { scriptUrl: "/s.js", bundleBase: "/p" });
    expect(html).not.to.include("<script>alert(1)");
    expect(html.match(/<\/script>/g)).to.have.length(3);
  });

  it("keeps an item page under 50 KB and the browser script under 100 KB", async function () {
    expect(Buffer.byteLength(renderScanPage(doc(), { scriptUrl: "/s.js", bundleBase: "/p" }))).to.be.below(50 * 1024);
    const script = await scanScript();
    expect(Buffer.byteLength(script.body)).to.be.below(100 * 1024);
    expect(script.body).to.not.include("hash-wasm");
  });
});
