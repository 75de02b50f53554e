/**
 * The scan page in a real browser (Debian's chromium through playwright-core): a genuine item shows
 * genuine and its timeline, a recalled one shows the banner, and a page whose record was altered on
 * its way fails the in-browser check and says so. Screenshots go to test-output/.
 */
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { chromium, type Browser } from "playwright-core";
import { buildApp } from "../../api/app";
import { apiConfig } from "../../api/config";
import { openDatabase } from "../../indexer/db";
import { createTestSystem, type TestSystem } from "../helpers/system";
import { startRpcServer, type RpcServer } from "../scripts/rpc";
import { epcisDocument } from "../../core/epcis";

const CHROMIUM = "/usr/bin/chromium";
const OUT = path.resolve(__dirname, "..", "..", "test-output");

const CSV = 'gtin,serial,lot,product,expiry\n09506000134352,SN1,L1,"Infant formula stage 1, 800 g",2027-06-30\n09506000134352,SN2,L2,"Infant formula stage 1, 800 g",2027-06-30\n';

function epcis(): string {
  const event = (lot: string, bizStep: string, time: string, extra: object = {}) => ({
    type: "ObjectEvent",
    eventTime: time,
    eventTimeZoneOffset: "+08:00",
    action: "OBSERVE",
    bizStep,
    quantityList: [{ epcClass: `urn:epc:class:lgtin:9506000.013435.${lot}`, quantity: 1 }],
    ...extra,
  });
  return JSON.stringify(
    epcisDocument(
      [
      event("L1", "commissioning", "2026-11-01T10:00:00+08:00"),
      event("L1", "inspecting", "2026-11-02T10:00:00+08:00", { sensorElementList: [{ sensorReport: [{ type: "gs1:Temperature", value: 21.5, uom: "CEL" }] }] }),
      event("L2", "commissioning", "2026-11-01T11:00:00+08:00"),
      event("L2", "holding", "2026-11-05T09:00:00+08:00", { disposition: "recalled" }),
      ],
      "2026-11-01T00:00:00Z",
    ),
  );
}

describe("scan page in a browser", function () {
  this.timeout(180_000);
  let rpc: RpcServer;
  let system: TestSystem;
  let browser: Browser;
  let base: string;
  let close: () => Promise<void>;
  const errors: string[] = [];

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      // .ci/run installs Debian's chromium; a developer machine without it cannot run this file.
      console.warn(`    skipped: ${CHROMIUM} not installed (apt-get install chromium)`);
      this.skip();
    }
    rpc = await startRpcServer();
    system = await createTestSystem(rpc.url);
    fs.writeFileSync(path.join(system.dir, "items.csv"), CSV);
    fs.writeFileSync(path.join(system.dir, "events.json"), epcis());
    expect((await system.as(2, ["batch", "submit", "--brand", "1", "--kind", "identity", "--input", "items.csv"])).code).to.equal(0);
    expect((await system.as(2, ["batch", "submit", "--brand", "1", "--kind", "trace", "--input", "events.json"])).code).to.equal(0);
    await system.index();
    const db = openDatabase(system.dbPath, { readonly: true });
    const app = await buildApp({ db, config: apiConfig({ port: 0, rateLimit: 0, scans: false, browserRpcUrl: rpc.url, explorerUrl: "https://explorer.example" }), processMetrics: false });
    base = (await app.listen({ port: 0, host: "127.0.0.1" })).replace(/\/$/, "");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    close = async () => {
      await browser.close();
      await app.close();
      db.close();
    };
    fs.mkdirSync(OUT, { recursive: true });
  });

  afterEach(function () {
    expect(errors.splice(0), "errors thrown by the page's script").to.deep.equal([]);
  });

  after(async function () {
    await close?.();
    await rpc?.close();
  });

  async function open(url: string, width: number, tamper?: (html: string) => string) {
    const page = await browser.newPage({ viewport: { width, height: 800 } });
    page.on("pageerror", (e) => errors.push(e.message));
    if (tamper) {
      await page.route(url, async (route) => {
        const response = await route.fetch();
        await route.fulfill({ response, body: tamper(await response.text()) });
      });
    }
    await page.goto(url, { waitUntil: "load" });
    await page.waitForSelector("#check-result.ok, #check-result.bad", { timeout: 30_000 });
    return page;
  }

  it("shows a genuine item, its timeline and a passed in-browser check, at 360 and 1280 px", async function () {
    for (const width of [360, 1280]) {
      const page = await open(`${base}/01/09506000134352/10/L1/21/SN1`, width);
      expect(await page.textContent(".verdict h2")).to.equal("Genuine");
      expect(await page.getAttribute("#check-result", "class")).to.equal("ok");
      expect(await page.textContent("#check-result")).to.match(/^Verified on this phone: \d+ checks passed, including the chain\. The records and the verdict above are authentic\.$/);
      const steps = await page.$$eval(".timeline h3", (nodes) => nodes.map((n) => n.textContent));
      expect(steps).to.deep.equal(["Factory Made and serialised", "Quality inspection Inspected"]);
      expect(await page.textContent(".timeline")).to.include("Temperature: 21.5°C");
      expect(await page.textContent(".timeline")).to.include("2026-11-01 10:00 (UTC+08:00)");
      expect(await page.getAttribute(".badge a", "href")).to.match(/^https:\/\/explorer\.example\/tx\/0x[0-9a-f]{64}$/);
      // No horizontal scrolling on a phone.
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).to.be.at.most(width);
      await page.screenshot({ path: path.join(OUT, `scan-genuine-${width}.png`), fullPage: true });
      await page.close();
    }
  });

  it("shows the recall banner for an item of a recalled lot", async function () {
    const page = await open(`${base}/01/09506000134352/10/L2/21/SN2`, 360);
    expect(await page.textContent(".verdict h2")).to.equal("Recalled");
    expect(await page.isVisible('[role="alert"]')).to.equal(true);
    expect(await page.textContent(".event.recalled h3")).to.equal("Recall Recalled");
    expect(await page.getAttribute("#check-result", "class")).to.equal("ok");
    await page.screenshot({ path: path.join(OUT, "scan-recalled-360.png"), fullPage: true });
    await page.close();
  });

  it("says not verified when a record in the page was altered on its way", async function () {
    const page = await open(`${base}/01/09506000134352/10/L1/21/SN1`, 360, (html) => html.replace('"bizStep":"inspecting"', '"bizStep":"shipping"'));
    expect(await page.getAttribute("#check-result", "class")).to.equal("bad");
    expect(await page.textContent("#check-result")).to.match(/^Not verified: \d+ check\(s\) failed/);
    expect(await page.textContent("#check-steps")).to.match(/Record fingerprint recomputed \(event \d\): record hashes to/);
    await page.screenshot({ path: path.join(OUT, "scan-tampered-360.png"), fullPage: true });
    await page.close();
  });
});
