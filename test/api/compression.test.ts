import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { describeEngines } from "../helpers/engines";
import { expect } from "chai";
import type { LightMyRequestResponse } from "fastify";
import type { AcceptUpload } from "../../api/upload";
import { GTIN, createMirrorFixture, type MirrorFixture } from "./fixtures";
import { appPerTest, buildTestApp } from "./helper";

const BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

function decoded(res: LightMyRequestResponse): Buffer {
  const encoding = res.headers["content-encoding"];
  if (encoding === "br") return zlib.brotliDecompressSync(res.rawPayload);
  if (encoding === "gzip") return zlib.gunzipSync(res.rawPayload);
  if (encoding === undefined) return res.rawPayload;
  throw new Error(`unexpected content-encoding ${String(encoding)}`);
}

describeEngines("api: response compression", function (engine) {
  const suite = appPerTest(engine);
  // Scans off: the item document would otherwise change between the requests compared.
  beforeEach(async function () {
    await suite.rebuild({ config: { scans: false } });
  });

  const get = (url: string, headers: Record<string, string> = {}) =>
    suite.t.app.inject({ method: "GET", url, headers });

  /** The same request plain, with Brotli and with gzip: each decodes to the plain bytes. */
  async function expectCompressed(
    url: string,
    headers: Record<string, string> = {},
  ): Promise<Record<string, LightMyRequestResponse>> {
    const plain = await get(url, headers);
    expect(plain.statusCode).to.equal(200);
    expect(plain.headers["content-encoding"]).to.equal(undefined);
    const out: Record<string, LightMyRequestResponse> = { plain };
    for (const encoding of ["br", "gzip"]) {
      const res = await get(url, { ...headers, "accept-encoding": encoding });
      expect(res.statusCode).to.equal(200);
      expect(res.headers["content-encoding"], `${url} with ${encoding}`).to.equal(encoding);
      expect(res.headers["content-type"]).to.equal(plain.headers["content-type"]);
      expect(String(res.headers.vary)).to.match(/accept-encoding/i);
      expect(res.rawPayload.length).to.be.below(plain.rawPayload.length);
      expect(decoded(res).equals(plain.rawPayload), `${url} decoded from ${encoding}`).to.equal(true);
      out[encoding] = res;
    }
    return out;
  }

  it("compresses the item document, already JSON text, to the same bytes, keeping Vary: Accept", async function () {
    const { br } = await expectCompressed(`/01/${GTIN}/21/SER1`);
    expect(String(br!.headers.vary)).to.match(/accept\b/i);
    expect(JSON.parse(decoded(br!).toString("utf8"))).to.have.property("verdict", "genuine");
  });

  it("compresses the scan page for a browser, preferring Brotli", async function () {
    await expectCompressed(`/01/${GTIN}/21/SER1`, { accept: BROWSER });
    const res = await get(`/01/${GTIN}/21/SER1`, { accept: BROWSER, "accept-encoding": "gzip, deflate, br, zstd" });
    expect(res.headers["content-encoding"]).to.equal("br");
    expect(decoded(res).toString("utf8")).to.match(/^<!doctype html>/);
  });

  it("compresses the other JSON routes", async function () {
    await expectCompressed(`/v1/batches/1/${suite.fixture.batches.identity.root}/records`);
  });

  it("sends a response under 1 KB as it is", async function () {
    const res = await get("/healthz", { "accept-encoding": "br, gzip" });
    expect(res.statusCode).to.equal(200);
    expect(res.headers["content-encoding"]).to.equal(undefined);
  });

  it("streams a content file (NDJSON) as stored", async function () {
    const { root, content } = suite.fixture.batches.identity;
    fs.copyFileSync(content, path.join(suite.fixture.contentDir, `${root}.ndjson`));
    const res = await get(`/v1/batches/1/${root}/content`, { "accept-encoding": "br, gzip" });
    expect(res.statusCode).to.equal(200);
    expect(res.headers["content-encoding"]).to.equal(undefined);
    expect(res.rawPayload.equals(fs.readFileSync(suite.fixture.batches.identity.content))).to.equal(true);
  });
});

describe("api: compression and the streamed content upload", function () {
  let fixture: MirrorFixture;
  const seen: Buffer[] = [];
  const acceptUpload: AcceptUpload = async (args) => {
    const chunks: Buffer[] = [];
    for await (const chunk of args.stream) chunks.push(chunk as Buffer);
    seen.push(Buffer.concat(chunks));
    return { ok: true };
  };

  before(async function () {
    fixture = await createMirrorFixture();
  });
  after(function () {
    fixture.cleanup();
  });

  it("hands the upload's bytes over as sent, even when labelled gzip, and answers in plain JSON", async function () {
    const t = await buildTestApp(fixture, { acceptUpload });
    try {
      const body = fs.readFileSync(fixture.pending.content);
      const url = `/v1/batches/1/${fixture.pending.root}/content`;
      for (const headers of [{}, { "content-encoding": "gzip" }]) {
        seen.length = 0;
        const res = await t.app.inject({
          method: "PUT",
          url,
          payload: body,
          headers: { "content-type": "application/x-ndjson", "accept-encoding": "br, gzip", ...headers },
        });
        expect(res.statusCode, res.body).to.equal(200);
        expect(JSON.parse(decoded(res).toString("utf8"))).to.include({
          status: "accepted",
          root: fixture.pending.root,
        });
        expect(seen).to.have.length(1);
        expect(seen[0]!.equals(body)).to.equal(true);
      }
    } finally {
      await t.close();
    }
  });
});
