import { describeEngines } from "../helpers/engines";
import { createHash } from "node:crypto";
import zlib from "node:zlib";
import { expect } from "chai";
import { buildScanScript, scanScript } from "../../api/scan-page/bundle";
import { GTIN } from "./fixtures";
import { appPerTest } from "./helper";

const BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

describeEngines("api: the scan page's script", function (engine) {
  const suite = appPerTest(engine);
  const get = (url: string, headers: Record<string, string> = {}) =>
    suite.t.app.inject({ method: "GET", url, headers });

  async function scriptUrlOfPage(): Promise<string> {
    const page = await get(`/01/${GTIN}/21/SER1`, { accept: BROWSER });
    const match = /<script src="([^"]+)" defer><\/script>/.exec(page.body);
    if (!match) throw new Error("no script tag in the scan page");
    return match[1]!;
  }

  it("is named in the page by the hash of the bytes served there, and cached for good", async function () {
    const url = await scriptUrlOfPage();
    expect(url).to.match(/^\/assets\/scan\.[0-9a-f]{16}\.js$/);
    const res = await get(url);
    expect(res.statusCode).to.equal(200);
    expect(res.headers["content-type"]).to.equal("text/javascript; charset=utf-8");
    expect(res.headers["cache-control"]).to.equal("public, max-age=31536000, immutable");
    expect(res.body).to.equal((await scanScript()).body);
    expect(url).to.equal(`/assets/scan.${createHash("sha256").update(res.rawPayload).digest("hex").slice(0, 16)}.js`);
  });

  it("answers a revalidation with 304, at the hashed and the old URL alike", async function () {
    const url = await scriptUrlOfPage();
    const first = await get(url);
    const etag = String(first.headers.etag);
    expect(etag).to.match(/^"[A-Za-z0-9_-]{27}"$/);
    for (const at of [url, "/assets/scan.js"]) {
      const again = await get(at, { "if-none-match": etag });
      expect(again.statusCode, at).to.equal(304);
      expect(again.rawPayload.length).to.equal(0);
    }
  });

  it("still serves /assets/scan.js, the same bytes with an hour's cache, for pages rendered before", async function () {
    const hashed = await get(await scriptUrlOfPage());
    const old = await get("/assets/scan.js");
    expect(old.statusCode).to.equal(200);
    expect(old.headers["cache-control"]).to.equal("public, max-age=3600");
    expect(old.headers.etag).to.equal(hashed.headers.etag);
    expect(old.body).to.equal(hashed.body);
  });

  it("sends Brotli or gzip, compressed once, that decode to the same bytes", async function () {
    const url = await scriptUrlOfPage();
    const plain = await get(url);
    const br = await get(url, { "accept-encoding": "gzip, deflate, br, zstd" });
    const gzip = await get(url, { "accept-encoding": "gzip" });
    expect([
      br.headers["content-encoding"],
      gzip.headers["content-encoding"],
      plain.headers["content-encoding"],
    ]).to.deep.equal(["br", "gzip", undefined]);
    for (const res of [br, gzip, plain]) expect(String(res.headers.vary)).to.match(/accept-encoding/i);
    expect(zlib.brotliDecompressSync(br.rawPayload).equals(plain.rawPayload)).to.equal(true);
    expect(zlib.gunzipSync(gzip.rawPayload).equals(plain.rawPayload)).to.equal(true);
    expect(br.rawPayload.length).to.be.below(gzip.rawPayload.length);
    const refused = await get(url, { "accept-encoding": "br;q=0, gzip;q=0" });
    expect(refused.headers["content-encoding"]).to.equal(undefined);
  });

  it("sends a page naming an older hash to the current script", async function () {
    const res = await get("/assets/scan.0123456789abcdef.js");
    expect(res.statusCode).to.equal(302);
    expect(res.headers.location).to.equal(await scriptUrlOfPage());
    expect(res.headers["cache-control"]).to.equal("no-cache");
  });

  it("is minified: under 64 KB, under 20 KB with Brotli", async function () {
    const script = await scanScript();
    expect(script.body.length).to.be.below(64 * 1024);
    expect(script.br.length).to.be.below(20 * 1024);
    // Minified: no indented line and no comment left.
    expect(script.body).to.not.match(/\n[ \t]+\S|\/\*\*/);
  });

  it("is built for the benchmark's baseline with one application/json request per chain read", async function () {
    const single = await buildScanScript({ rpc: "single" });
    expect(single.url).to.not.equal((await scanScript()).url);
    expect(single.body).to.include('batch:!1,contentType:"application/json"');
    expect((await scanScript()).body).to.not.include("batch:!1");
  });
});
