/**
 * The scan page in a real browser (Debian's chromium through playwright-core). The phone's own check
 * decides what the page says: a genuine, recalled, revoked or prefix-mismatch item shows its verdict
 * as a fact the chain confirmed; a page whose record was altered on its way says "not verified"; a
 * server verdict the chain contradicts is called wrong; without a chain the page says what it did not
 * check. Lot and product pages are served from documents this test builds over the real anchored
 * records (the server's lot and product documents come from api/documents.ts). Screenshots go to
 * test-output/.
 */
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { expect } from "chai";
import { chromium, type Browser, type Page } from "playwright-core";
import { buildApp } from "../../api/app";
import { apiConfig } from "../../api/config";
import { gs1CheckDigit } from "../../core/gs1";
import { VERDICTS } from "../../core/verdict";
import { openDatabase } from "../../mirror/db";
import { createTestSystem, type TestSystem } from "../helpers/system";
import { startRpcServer, type RpcServer } from "../scripts/rpc";
import { epcisDocument } from "../../core/epcis";
import { ethers } from "hardhat";

const CHROMIUM = "/usr/bin/chromium";
const OUT = path.resolve(__dirname, "..", "..", "test-output");
const GTIN = "09506000134352";
/** A GTIN whose company prefix no brand holds. */
const UNOWNED_GTIN = `0401234500001${gs1CheckDigit("0401234500001")}`;

const PRODUCT = "Infant formula stage 1, 800 g";
const CSV = `gtin,serial,lot,product,expiry\n${GTIN},SN1,L1,"${PRODUCT}",2027-06-30\n${GTIN},SN2,L2,"${PRODUCT}",2027-06-30\n${GTIN},SN3,L1,"${PRODUCT}",2027-06-30\n`;
const REVOKED_CSV = `gtin,serial,lot,product\n${GTIN},SN7,L1,"${PRODUCT}"\n`;
const COPIED_CSV = `gtin,serial,lot,product\n${GTIN},FAKE9,L1,"${PRODUCT}"\n`;

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
        event("L1", "inspecting", "2026-11-02T10:00:00+08:00", {
          sensorElementList: [{ sensorReport: [{ type: "gs1:Temperature", value: 21.5, uom: "CEL" }] }],
        }),
        event("L2", "commissioning", "2026-11-01T11:00:00+08:00"),
        event("L2", "holding", "2026-11-05T09:00:00+08:00", { disposition: "recalled" }),
      ],
      "2026-11-01T00:00:00Z",
    ),
  );
}

/**
 * A server on the loopback address in front of the API: it serves the API's pages rewritten on
 * their way. (Chromium lets a page read a loopback RPC only when the page
 * itself came from a private address, so Playwright's request interception will not do.)
 */
interface Proxy {
  readonly base: string;
  /** Rewrites the API's response at `route`. */
  tamper(route: string, rewrite: (html: string) => string): void;
  close(): Promise<void>;
}

async function startProxy(target: string): Promise<Proxy> {
  const rewrites = new Map<string, (html: string) => string>();
  const server = http.createServer((req, res) => {
    const url = req.url ?? "/";
    void fetch(`${target}${url}`, { headers: { accept: req.headers.accept ?? "*/*" } }).then(
      async (response) => {
        const text = await response.text();
        const rewrite = rewrites.get(url);
        res
          .writeHead(response.status, { "content-type": response.headers.get("content-type") ?? "text/plain" })
          .end(rewrite ? rewrite(text) : text);
      },
      (error: unknown) => res.writeHead(502).end(String(error)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tamper: (p, rewrite) => void rewrites.set(p, rewrite),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("scan page in a browser", function () {
  this.timeout(180_000);
  let rpc: RpcServer;
  let system: TestSystem;
  let browser: Browser;
  let base: string;
  let proxy: Proxy;
  let close: () => Promise<void>;
  const errors: string[] = [];

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      // .ci/run installs Debian's chromium, so there its absence is a failure; a developer machine
      // without it cannot run this file.
      if (process.env.CI) throw new Error(`${CHROMIUM} not installed (apt-get install chromium)`);
      console.warn(`    skipped: ${CHROMIUM} not installed (apt-get install chromium)`);
      this.skip();
    }
    rpc = await startRpcServer();
    system = await createTestSystem(rpc.url);
    const ok = async (account: number, argv: string[]): Promise<Record<string, unknown>> => {
      const result = await system.as(account, argv);
      expect(result.code, `${argv.join(" ")}: ${result.stderr}`).to.equal(0);
      return result.json;
    };
    fs.writeFileSync(path.join(system.dir, "items.csv"), CSV);
    fs.writeFileSync(path.join(system.dir, "revoked.csv"), REVOKED_CSV);
    fs.writeFileSync(path.join(system.dir, "copied.csv"), COPIED_CSV);
    fs.writeFileSync(path.join(system.dir, "events.json"), epcis());
    await ok(2, ["batch", "submit", "--brand", "1", "--kind", "identity", "--input", "items.csv"]);
    await ok(2, ["batch", "submit", "--brand", "1", "--kind", "trace", "--input", "events.json"]);
    const revoked = await ok(2, ["batch", "submit", "--brand", "1", "--kind", "identity", "--input", "revoked.csv"]);
    await ok(1, ["batch", "revoke", "--brand", "1", "--root", String(revoked.root), "--reason", "Labels misprinted"]);
    // Brand 2 holds no prefix, yet anchors an item under brand 1's barcode.
    const copycat = (await ethers.getSigners())[3]!.address;
    await ok(0, ["brand", "register", "--name", "Copycat", "--admin", copycat]);
    await ok(3, ["brand", "submitter", "--brand", "2", "--account", copycat, "--role", "factory"]);
    await ok(3, ["batch", "submit", "--brand", "2", "--kind", "identity", "--input", "copied.csv"]);
    await system.index();
    const db = openDatabase(system.dbPath, { readonly: true });
    const app = await buildApp({
      db,
      config: apiConfig({
        port: 0,
        rateLimit: 0,
        scans: false,
        browserRpcUrls: [rpc.url],
        explorerUrl: "https://explorer.example",
      }),
      processMetrics: false,
    });
    base = (await app.listen({ port: 0, host: "127.0.0.1" })).replace(/\/$/, "");
    proxy = await startProxy(base);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    close = async () => {
      await browser.close();
      await proxy.close();
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

  async function newPage(width: number): Promise<Page> {
    const page = await browser.newPage({ viewport: { width, height: 800 } });
    page.on("pageerror", (e) => errors.push(e.message));
    return page;
  }

  /** Opens the API's page at `route` and waits for the in-browser check; `tamper` rewrites the HTML on its way. */
  async function open(route: string, width: number, tamper?: (html: string) => string): Promise<Page> {
    if (tamper) proxy.tamper(route, tamper);
    const page = await newPage(width);
    await page.goto(`${tamper ? proxy.base : base}${route}`, { waitUntil: "load" });
    await page.waitForSelector("#check-result[data-state]", { timeout: 30_000 });
    return page;
  }

  async function expectCheck(page: Page, state: string, tone: string, text: RegExp | string): Promise<void> {
    expect(
      await page.getAttribute("#check-result", "data-state"),
      (await page.textContent("#check-steps")) ?? "",
    ).to.equal(state);
    expect(await page.getAttribute("#check-result", "class")).to.equal(tone);
    const shown = (await page.textContent("#check-result")) ?? "";
    if (typeof text === "string") expect(shown.startsWith(text), shown).to.equal(true);
    else expect(shown).to.match(text);
    expect(shown).not.to.match(/authentic/i);
  }

  const shot = (page: Page, name: string): Promise<Buffer> =>
    page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });

  describe("serial codes served by the API", function () {
    it("shows a genuine item, its timeline and the verified verdict, at 360 and 1280 px", async function () {
      for (const width of [360, 1280]) {
        const page = await open(`/01/${GTIN}/10/L1/21/SN1`, width);
        expect(await page.textContent(".verdict h2")).to.equal("Genuine");
        await expectCheck(
          page,
          "verified",
          "ok",
          /^Verified: genuine, registered by the brand that owns this barcode's prefix\. This phone checked 3 record fingerprints and their Merkle proofs, and read the anchors, revocations and the owner of the barcode's prefix through the chain\.$/,
        );
        const steps = await page.$$eval(".timeline h3", (nodes) => nodes.map((n) => n.textContent));
        expect(steps).to.deep.equal(["Factory Made and serialised", "Quality inspection Inspected"]);
        expect(await page.textContent(".timeline")).to.include("Temperature: 21.5°C");
        expect(await page.textContent(".timeline")).to.include("2026-11-01 10:00 (UTC+08:00)");
        expect(await page.getAttribute(".badge a", "href")).to.match(
          /^https:\/\/explorer\.example\/tx\/0x[0-9a-f]{64}$/,
        );
        // No horizontal scrolling on a phone.
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).to.be.at.most(width);
        await shot(page, width === 360 ? "genuine" : "genuine-1280");
        await page.close();
      }
    });

    it("shows the recall banner for an item of a recalled lot, as a verified fact", async function () {
      const page = await open(`/01/${GTIN}/10/L2/21/SN2`, 360);
      expect(await page.textContent(".verdict h2")).to.equal("Recalled");
      expect(await page.isVisible('[role="alert"]')).to.equal(true);
      expect(await page.textContent(".event.recalled h3")).to.equal("Recall Recalled");
      await expectCheck(page, "verified", "bad", `${VERDICTS.recalled.verified}. This phone checked`);
      await shot(page, "recalled");
      await page.close();
    });

    it("shows a revoked item's revocation as a verified fact with its date, not as a failed check", async function () {
      const page = await open(`/01/${GTIN}/10/L1/21/SN7`, 360);
      expect(await page.textContent(".verdict h2")).to.equal("Registration revoked");
      expect(await page.textContent(".verdict p")).to.include("The brand's reason: “Labels misprinted”.");
      await expectCheck(
        page,
        "verified",
        "bad",
        /^Verified: the brand revoked this registration on \d{4}-\d\d-\d\d\. This phone checked /,
      );
      expect(await page.textContent("#check-result")).not.to.match(/Not verified|Do not trust/);
      expect(await page.textContent("#check-steps")).to.match(
        /Batch revocation read on chain \(identity\): revoked on \d{4}-/,
      );
      await shot(page, "revoked");
      await page.close();
    });

    it("shows an item anchored by a brand that does not own the barcode's prefix", async function () {
      const page = await open(`/01/${GTIN}/10/L1/21/FAKE9`, 360);
      expect(await page.textContent(".verdict h2")).to.equal("Not registered by the barcode's owner");
      await expectCheck(page, "verified", "bad", `${VERDICTS["prefix-mismatch"].verified}. This phone checked`);
      await shot(page, "prefix-mismatch");
      await page.close();
    });

    it("shows the unknown-item page, with its counterfeit warning, for a serial no brand registered", async function () {
      const page = await newPage(360);
      const response = await page.goto(`${base}/01/${GTIN}/10/L1/21/NOPE1`, { waitUntil: "load" });
      expect(response?.status()).to.equal(404);
      expect(await page.textContent("h1")).to.equal("Item not found");
      expect(await page.textContent(".verdict p")).to.include("The product may be counterfeit");
      await shot(page, "unknown");
      await page.close();
    });

    it("says not verified when a record in the page was altered on its way", async function () {
      const page = await open(`/01/${GTIN}/10/L1/21/SN1`, 360, (html) =>
        html.replace('"bizStep":"inspecting"', '"bizStep":"shipping"'),
      );
      await expectCheck(
        page,
        "not-verified",
        "bad",
        /^Not verified: \d+ check\(s\) failed\. Do not trust this page\.$/,
      );
      expect(await page.textContent("#check-steps")).to.match(
        /Record fingerprint recomputed \(event \d\): record hashes to/,
      );
      await shot(page, "tampered");
      await page.close();
    });

    it("re-renders with the phone's verdict and says the server's was wrong", async function () {
      const page = await open(`/01/${GTIN}/10/L1/21/SN7`, 360, (html) =>
        html.replace('"verdict":"revoked"', '"verdict":"genuine"'),
      );
      expect(await page.textContent("#server-verdict")).to.equal(
        "The server's verdict (“Genuine”) was wrong. This phone read the chain: Registration revoked.",
      );
      expect(await page.textContent(".verdict h2")).to.equal("Registration revoked");
      await expectCheck(page, "verified", "bad", /was wrong\.$/);
      await shot(page, "server-wrong");
      await page.close();
    });

    it("without an RPC says it checked fingerprints and proofs only, never that the page is authentic", async function () {
      const page = await open(`/01/${GTIN}/10/L1/21/SN1`, 360, (html) =>
        html.replace(/"rpcUrls":\[[^\]]*\]/, '"rpcUrls":[]'),
      );
      await expectCheck(
        page,
        "unchecked",
        "warn",
        "This phone checked 3 record fingerprints and their Merkle proofs. The chain was not read, so the anchors, revocations and the barcode's prefix owner were NOT checked: the verdict above is the server's word.",
      );
      await shot(page, "no-chain");
      await page.close();
    });
  });

  describe("lot and product codes served by the API", function () {
    it("shows a product page: the brand, the product, the server's counts, recalled lots, a verified registration", async function () {
      const page = await open(`/01/${GTIN}`, 360);
      expect(await page.textContent(".verdict h2")).to.equal("Registered product");
      expect(await page.textContent("h1")).to.equal(PRODUCT);
      // SN1, SN2 and SN3 are live; SN7's batch is revoked and FAKE9 is another brand's.
      expect(await page.textContent("main"))
        .to.include("3 items in 2 lots anchored (the server's count)")
        .and.include("Lot L2");
      expect(await page.textContent("main")).not.to.match(/genuine|counterfeit/i);
      await expectCheck(
        page,
        "verified",
        "ok",
        new RegExp(`^${escapeRegExp(VERDICTS.registered.verified)}\\. This phone checked \\d+ record fingerprints`),
      );
      await shot(page, "product-level");
      await page.close();
    });

    it("shows a lot page of a recalled lot as recalled, verified", async function () {
      const page = await open(`/01/${GTIN}/10/L2`, 360);
      expect(await page.textContent(".verdict h2")).to.equal("Recalled");
      expect(await page.textContent('[role="alert"]')).to.equal("Recall: do not use products of this lot.");
      await expectCheck(page, "verified", "bad", `${VERDICTS.recalled.verified}. This phone checked`);
      await shot(page, "lot-level");
      await page.close();
    });

    it("shows a lot page of a lot that is not recalled as a registered product", async function () {
      const page = await open(`/01/${GTIN}/10/L1`, 360);
      expect(await page.textContent(".verdict h2")).to.equal("Registered product");
      await expectCheck(page, "verified", "ok", `${VERDICTS.registered.verified}. This phone checked`);
      await page.close();
    });

    it("shows a code whose prefix no brand owns as unregistered, read from the chain", async function () {
      const page = await open(`/01/${UNOWNED_GTIN}`, 360);
      expect(await page.textContent(".verdict h2")).to.equal("Unregistered code");
      expect(await page.textContent(".verdict p")).to.equal("No brand has registered this barcode's company prefix.");
      await expectCheck(
        page,
        "verified",
        "warn",
        `${VERDICTS.unregistered.verified}. This phone read the owner of the barcode's prefix through the chain.`,
      );
      await shot(page, "unregistered");
      await page.close();
    });
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
