import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { expect } from "chai";
import { chromium } from "playwright-core";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { TraceAnchor__factory } from "../../typechain-types";
import {
  createRpcChainReader,
  encodeAnchorOf,
  encodeBrandOfGtin,
  RpcError,
  type RpcReaderOptions,
} from "../../core/chain-reader";
import { browserKeccak } from "../../api/scan-page/bundle";
import { startRpcServer, type RpcServer } from "../scripts/rpc";

type Fetch = NonNullable<RpcReaderOptions["fetch"]>;

const CHROMIUM = "/usr/bin/chromium";

interface RpcMessage {
  id: number;
  method: string;
  params: unknown[];
}

interface Sent {
  contentType: string;
  body: RpcMessage | RpcMessage[];
}

/** What a fake endpoint answers a whole request with: a status and body, a thrown fetch error, or undefined for the normal answer. */
type Reply = { status: number; json: unknown } | Error | undefined;

const CONTRACT = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
const ROOT = `0x${"ab".repeat(32)}`;
const anchorWords = (kind: number, leafCount: number, anchoredAt: number, revokedAt: number): string =>
  `0x${[kind, leafCount, anchoredAt, revokedAt].map((n) => n.toString(16).padStart(64, "0")).join("")}`;

/**
 * A fake endpoint: records every request and answers each JSON-RPC message with `answer`, or the
 * whole request with `reply` when given (to refuse batches, fail, or answer out of order).
 */
function fakeEndpoint(
  answer: (m: RpcMessage) => unknown,
  reply?: (body: RpcMessage | RpcMessage[], contentType: string) => Reply,
) {
  const sent: Sent[] = [];
  const fetch: Fetch = (_url, init) => {
    const body = JSON.parse(init.body) as RpcMessage | RpcMessage[];
    const contentType = init.headers["content-type"] ?? "";
    sent.push({ contentType, body });
    const custom = reply?.(body, contentType);
    if (custom instanceof Error) return Promise.reject(custom);
    const one = (m: RpcMessage) => ({ jsonrpc: "2.0", id: m.id, ...(answer(m) as object) });
    const { status, json } = custom ?? { status: 200, json: Array.isArray(body) ? body.map(one) : one(body) };
    return Promise.resolve({ ok: status >= 200 && status < 300, status, json: () => Promise.resolve(json) });
  };
  return { fetch, sent };
}

const chainAnswers = (m: RpcMessage): unknown => {
  if (m.method === "eth_chainId") return { result: "0x7a69" };
  if (m.method === "eth_getCode") return { result: "0x6080" };
  const data = (m.params[0] as { data: string }).data;
  if (data === encodeAnchorOf(1n, ROOT)) return { result: anchorWords(1, 600, 1_700_000_000, 0) };
  if (data === encodeBrandOfGtin("09506000134352")) return { result: `0x${"1".padStart(64, "0")}` };
  return { error: { code: 3, message: "execution reverted" } };
};

/** The four kinds of read the verifier makes, all started before any is awaited. */
function readAllAtOnce(reader: ReturnType<typeof createRpcChainReader>) {
  return Promise.all([
    reader.chainId(),
    reader.code(CONTRACT),
    reader.anchorOf(CONTRACT, 1n, ROOT),
    reader.brandOfGtin(CONTRACT, "09506000134352"),
  ]);
}

describe("chain reader (JSON-RPC over fetch)", function () {
  it("encodes the calldata ethers encodes from the contract's real ABI", function () {
    const iface = TraceAnchor__factory.createInterface();
    const root = ethers.keccak256("0x01");
    expect(encodeAnchorOf(7n, root)).to.equal(iface.encodeFunctionData("anchorOf", [7, root]));
    for (const gtin of ["09506000134352", "", "x".repeat(33)]) {
      expect(encodeBrandOfGtin(gtin)).to.equal(iface.encodeFunctionData("brandOfGtin", [gtin]));
    }
  });

  describe("batching", function () {
    it("sends the calls started in one turn of the event loop as one batch request", async function () {
      const endpoint = fakeEndpoint(chainAnswers);
      const reader = createRpcChainReader("http://rpc.test", { fetch: endpoint.fetch });
      const [chainId, code, anchor, owner] = await readAllAtOnce(reader);
      expect(endpoint.sent).to.have.length(1);
      const body = endpoint.sent[0]!.body as RpcMessage[];
      expect(body.map((m) => m.method)).to.deep.equal(["eth_chainId", "eth_getCode", "eth_call", "eth_call"]);
      expect(new Set(body.map((m) => m.id)).size).to.equal(4);
      expect(chainId).to.equal(31337n);
      expect(code).to.equal("0x6080");
      expect(anchor).to.deep.equal({ kind: 1, leafCount: 600n, anchoredAt: 1_700_000_000n, revokedAt: 0n });
      expect(owner).to.equal(1n);
    });

    it("includes calls started after awaits that settle before the event loop moves on", async function () {
      const endpoint = fakeEndpoint(chainAnswers);
      const reader = createRpcChainReader("http://rpc.test", { fetch: endpoint.fetch });
      const later = async () => {
        await Promise.resolve();
        await Promise.resolve();
        return reader.code(CONTRACT);
      };
      await Promise.all([reader.chainId(), later()]);
      expect(endpoint.sent).to.have.length(1);
    });

    it("sends one request per turn when each call waits for the previous one", async function () {
      const endpoint = fakeEndpoint(chainAnswers);
      const reader = createRpcChainReader("http://rpc.test", { fetch: endpoint.fetch });
      await reader.chainId();
      await reader.code(CONTRACT);
      expect(endpoint.sent).to.have.length(2);
      // A lone call goes out as a plain request, which every endpoint accepts.
      expect(Array.isArray(endpoint.sent[0]!.body)).to.equal(false);
    });

    it("matches answers to calls by id when the endpoint answers out of order", async function () {
      const endpoint = fakeEndpoint(chainAnswers, (body) => {
        const messages = body as RpcMessage[];
        return {
          status: 200,
          json: [...messages].reverse().map((m) => ({ jsonrpc: "2.0", id: m.id, ...(chainAnswers(m) as object) })),
        };
      });
      const reader = createRpcChainReader("http://rpc.test", { fetch: endpoint.fetch });
      const [chainId, code] = await Promise.all([reader.chainId(), reader.code(CONTRACT)]);
      expect([chainId, code]).to.deep.equal([31337n, "0x6080"]);
    });

    it("sends an identical call once and gives every caller its answer", async function () {
      const endpoint = fakeEndpoint(chainAnswers);
      const reader = createRpcChainReader("http://rpc.test", { fetch: endpoint.fetch });
      const anchors = await Promise.all([
        reader.anchorOf(CONTRACT, 1n, ROOT),
        reader.anchorOf(CONTRACT, 1n, ROOT),
        reader.chainId(),
      ]);
      expect((endpoint.sent[0]!.body as RpcMessage[]).map((m) => m.method)).to.deep.equal(["eth_call", "eth_chainId"]);
      expect(anchors[0]).to.deep.equal(anchors[1]);
    });

    it("keeps an error to the call it answers", async function () {
      const endpoint = fakeEndpoint(chainAnswers);
      const reader = createRpcChainReader("http://rpc.test", { fetch: endpoint.fetch });
      const results = await Promise.allSettled([
        reader.chainId(),
        reader.anchorOf(CONTRACT, 2n, ROOT),
        reader.code(CONTRACT),
      ]);
      expect(results.map((r) => r.status)).to.deep.equal(["fulfilled", "rejected", "fulfilled"]);
      const reason = (results[1] as PromiseRejectedResult).reason as Error;
      expect(reason).to.be.instanceOf(RpcError);
      expect(reason.message).to.equal("http://rpc.test: execution reverted");
    });

    it("fails a call the batch's answer leaves out, naming its method", async function () {
      const endpoint = fakeEndpoint(chainAnswers, (body) => {
        const [first] = body as RpcMessage[];
        return { status: 200, json: [{ jsonrpc: "2.0", id: first!.id, result: "0x7a69" }] };
      });
      const reader = createRpcChainReader("http://rpc.test", { fetch: endpoint.fetch });
      const results = await Promise.allSettled([reader.chainId(), reader.code(CONTRACT)]);
      expect(results[0]).to.deep.equal({ status: "fulfilled", value: 31337n });
      expect(((results[1] as PromiseRejectedResult).reason as Error).message).to.equal(
        "http://rpc.test: no answer to eth_getCode in the batch",
      );
    });

    it("splits more calls than maxBatchSize into several batches sent at once", async function () {
      const endpoint = fakeEndpoint(chainAnswers);
      const reader = createRpcChainReader("http://rpc.test", { fetch: endpoint.fetch, maxBatchSize: 2 });
      const addresses = ["0x01", "0x02", "0x03", "0x04", "0x05"].map((a) => a.padEnd(42, "0"));
      await Promise.all(addresses.map((a) => reader.code(a)));
      expect(endpoint.sent.map((s) => (Array.isArray(s.body) ? s.body.length : 1))).to.deep.equal([2, 2, 1]);
    });

    it("with batch: false sends every call as its own request", async function () {
      const endpoint = fakeEndpoint(chainAnswers);
      const reader = createRpcChainReader("http://rpc.test", { fetch: endpoint.fetch, batch: false });
      await readAllAtOnce(reader);
      expect(endpoint.sent).to.have.length(4);
      expect(endpoint.sent.every((s) => !Array.isArray(s.body))).to.equal(true);
    });
  });

  describe("an endpoint that refuses batches", function () {
    const refusals: Record<string, { status: number; json: unknown }> = {
      "a JSON-RPC error object": {
        status: 200,
        json: { jsonrpc: "2.0", id: null, error: { code: -32600, message: "batch requests are not supported" } },
      },
      "an HTTP error": { status: 400, json: { error: "bad request" } },
    };
    for (const [what, refusal] of Object.entries(refusals)) {
      it(`answered with ${what}: sends the calls one by one, and so from then on`, async function () {
        const endpoint = fakeEndpoint(chainAnswers, (body) => (Array.isArray(body) ? refusal : undefined));
        const reader = createRpcChainReader("http://rpc.test", { fetch: endpoint.fetch });
        const [chainId, code, anchor, owner] = await readAllAtOnce(reader);
        expect([chainId, code, anchor.leafCount, owner]).to.deep.equal([31337n, "0x6080", 600n, 1n]);
        expect(endpoint.sent.map((s) => (Array.isArray(s.body) ? "batch" : s.body.method))).to.deep.equal([
          "batch",
          "eth_chainId",
          "eth_getCode",
          "eth_call",
          "eth_call",
        ]);
        endpoint.sent.length = 0;
        await Promise.all([reader.chainId(), reader.code(CONTRACT)]);
        expect(endpoint.sent.map((s) => Array.isArray(s.body))).to.deep.equal([false, false]);
      });
    }

    it("is failing, not refusing, when it has answered a batch before", async function () {
      let down = false;
      const endpoint = fakeEndpoint(chainAnswers, () => (down ? { status: 503, json: {} } : undefined));
      const reader = createRpcChainReader("http://rpc.test", { fetch: endpoint.fetch });
      await Promise.all([reader.chainId(), reader.code(CONTRACT)]);
      down = true;
      const results = await Promise.allSettled([reader.chainId(), reader.code(CONTRACT)]);
      expect(results.map((r) => r.status === "rejected" && (r.reason as Error).message)).to.deep.equal([
        "http://rpc.test: HTTP 503",
        "http://rpc.test: HTTP 503",
      ]);
      expect(endpoint.sent).to.have.length(2);
    });
  });

  describe("content type", function () {
    it("is application/json outside a browser, text/plain when asked", async function () {
      const plain = fakeEndpoint(chainAnswers);
      await createRpcChainReader("http://rpc.test", { fetch: plain.fetch, contentType: "text/plain" }).chainId();
      const json = fakeEndpoint(chainAnswers);
      await createRpcChainReader("http://rpc.test", { fetch: json.fetch }).chainId();
      expect([plain.sent[0]!.contentType, json.sent[0]!.contentType]).to.deep.equal(["text/plain", "application/json"]);
    });

    it("sends a text/plain request the endpoint refuses with HTTP 415 again as application/json, and keeps to it", async function () {
      const endpoint = fakeEndpoint(chainAnswers, (_body, type) =>
        type === "application/json" ? undefined : { status: 415, json: {} },
      );
      const reader = createRpcChainReader("http://rpc.test", { fetch: endpoint.fetch, contentType: "text/plain" });
      const [chainId, code] = await Promise.all([reader.chainId(), reader.code(CONTRACT)]);
      expect([chainId, code]).to.deep.equal([31337n, "0x6080"]);
      await reader.chainId();
      expect(endpoint.sent.map((s) => s.contentType)).to.deep.equal([
        "text/plain",
        "application/json",
        "application/json",
      ]);
    });

    it("retries a text/plain request that got no answer as application/json, before any answer only", async function () {
      let calls = 0;
      const endpoint = fakeEndpoint(chainAnswers, (_body, type) =>
        type === "text/plain" && calls++ === 0 ? new TypeError("Failed to fetch") : undefined,
      );
      const reader = createRpcChainReader("http://rpc.test", { fetch: endpoint.fetch, contentType: "text/plain" });
      expect(await reader.chainId()).to.equal(31337n);
      expect(endpoint.sent.map((s) => s.contentType)).to.deep.equal(["text/plain", "application/json"]);
    });

    it("keeps text/plain once the endpoint has answered one, and reports a later outage as such", async function () {
      let down = false;
      const endpoint = fakeEndpoint(chainAnswers, () => (down ? new TypeError("Failed to fetch") : undefined));
      const reader = createRpcChainReader("http://rpc.test", { fetch: endpoint.fetch, contentType: "text/plain" });
      await reader.chainId();
      down = true;
      const error = await reader.chainId().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(RpcError);
      expect((error as Error).message).to.equal("http://rpc.test: Failed to fetch");
      expect(endpoint.sent.map((s) => s.contentType)).to.deep.equal(["text/plain", "text/plain"]);
    });
  });

  describe("against a Hardhat node over HTTP", function () {
    let rpc: RpcServer;

    before(async function () {
      rpc = await startRpcServer();
    });
    after(async function () {
      await rpc.close();
    });

    async function fixture() {
      const [admin, brandAdmin, submitter] = await ethers.getSigners();
      const registry = await new TraceAnchor__factory(admin).deploy(0, admin!.address);
      await registry.grantRole(await registry.REGISTRAR_ROLE(), admin!.address);
      await registry.registerBrand("Acme", brandAdmin!.address, ["9506000"]);
      await registry.connect(brandAdmin).setSubmitter(1, submitter!.address, ethers.encodeBytes32String("factory"));
      const roots = [ethers.keccak256("0x01"), ethers.keccak256("0x02")];
      for (const [i, root] of roots.entries())
        await registry
          .connect(submitter)
          .anchor(1, { root, kind: i + 1, leafCount: 10 + i, contentURI: `${root}.ndjson` });
      return { registry, contract: await registry.getAddress(), roots };
    }

    /** The global fetch, counting requests and the content types sent. */
    function countingFetch() {
      const types: string[] = [];
      const fetchFn: Fetch = async (url, init) => {
        types.push(init.headers["content-type"] ?? "");
        return fetch(url, init);
      };
      return { fetchFn, types };
    }

    for (const contentType of ["text/plain", "application/json"] as const) {
      it(`answers every read of a verification in one ${contentType} batch request, as ethers reads them`, async function () {
        const { registry, contract, roots } = await loadFixture(fixture);
        const counted = countingFetch();
        const reader = createRpcChainReader(rpc.url, { fetch: counted.fetchFn, contentType });
        const [chainId, code, first, second, missing, owner, noOwner] = await Promise.all([
          reader.chainId(),
          reader.code(contract),
          reader.anchorOf(contract, 1n, roots[0]!),
          reader.anchorOf(contract, 1n, roots[1]!),
          reader.anchorOf(contract, 2n, roots[0]!),
          reader.brandOfGtin(contract, "09506000134352"),
          reader.brandOfGtin(contract, "04012345220010"),
        ]);
        expect(counted.types).to.deep.equal([contentType]);
        expect(chainId).to.equal((await ethers.provider.getNetwork()).chainId);
        expect(code).to.equal(await ethers.provider.getCode(contract));
        for (const [anchor, brandId, root] of [
          [first, 1, roots[0]!],
          [second, 1, roots[1]!],
          [missing, 2, roots[0]!],
        ] as const) {
          const expected = await registry.anchorOf(brandId, root);
          expect(anchor).to.deep.equal({
            kind: Number(expected.kind),
            leafCount: expected.leafCount,
            anchoredAt: expected.anchoredAt,
            revokedAt: expected.revokedAt,
          });
        }
        expect(second.kind).to.equal(2);
        expect(missing.anchoredAt).to.equal(0n);
        expect([owner, noOwner]).to.deep.equal([1n, 0n]);
      });
    }

    it("keeps a reverting call's error to that call in a batch", async function () {
      const { contract } = await loadFixture(fixture);
      const counted = countingFetch();
      const reader = createRpcChainReader(rpc.url, { fetch: counted.fetchFn });
      // brandOfGtin reverts on a string that is not a GTIN-14.
      const results = await Promise.allSettled([reader.chainId(), reader.brandOfGtin(contract, "not a gtin")]);
      expect(counted.types).to.have.length(1);
      expect(results[0].status).to.equal("fulfilled");
      expect(results[1].status).to.equal("rejected");
      expect((results[1] as PromiseRejectedResult).reason).to.be.instanceOf(RpcError);
    });

    it("from a page on another origin: one request, CORS-simple (no preflight), as the scan page sends it", async function () {
      this.timeout(60_000);
      const { registry, contract, roots } = await loadFixture(fixture);
      const esbuild = await import("esbuild");
      const built = await esbuild.build({
        stdin: {
          contents: `import { createRpcChainReader } from "./chain-reader";
            window.readAll = async (url, contract, root) => {
              const reader = createRpcChainReader(url);
              const [chainId, code, anchor, owner] = await Promise.all([reader.chainId(), reader.code(contract), reader.anchorOf(contract, 1n, root), reader.brandOfGtin(contract, "09506000134352")]);
              return { chainId: String(chainId), code, leafCount: String(anchor.leafCount), owner: String(owner) };
            };`,
          resolveDir: path.join(__dirname, "..", "..", "core"),
          loader: "js",
        },
        bundle: true,
        format: "iife",
        platform: "browser",
        write: false,
        plugins: [browserKeccak],
      });
      const script = built.outputFiles[0]?.text ?? "";
      const seen: string[] = [];
      // Counts what reaches the RPC origin, preflights included, and passes it on to Hardhat's server.
      const front = http.createServer((req, res) => {
        seen.push(`${req.method} ${String(req.headers["content-type"] ?? "")}`);
        const upstream = http.request(rpc.url, { method: req.method, headers: req.headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        req.pipe(upstream);
      });
      const page = http.createServer((_req, res) => {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        res.end(`<!doctype html><html><body><script>${script}</script></body></html>`);
      });
      const listen = (server: http.Server) =>
        new Promise<string>((resolve) =>
          server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
        );
      const [rpcOrigin, pageOrigin] = [await listen(front), await listen(page)];
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ["--headless", "--no-sandbox", "--disable-gpu"],
      });
      try {
        const tab = await browser.newPage();
        await tab.goto(pageOrigin);
        const read = await tab.evaluate(
          ([url, address, root]) =>
            (
              window as unknown as {
                readAll(u: string, c: string, r: string): Promise<Record<string, string>>;
              }
            ).readAll(url, address, root),
          [rpcOrigin, contract, roots[0]!] as const,
        );
        expect(seen).to.deep.equal(["POST text/plain"]);
        expect(read).to.deep.equal({
          chainId: String((await ethers.provider.getNetwork()).chainId),
          code: await ethers.provider.getCode(contract),
          leafCount: String((await registry.anchorOf(1, roots[0]!)).leafCount),
          owner: "1",
        });
      } finally {
        await browser.close();
        front.closeAllConnections();
        page.closeAllConnections();
        front.close();
        page.close();
      }
    });
  });
});
