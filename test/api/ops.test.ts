import { Writable } from "node:stream";
import { expect } from "chai";
import pino from "pino";
import { ApiConfigError, parseApiEnv } from "../../api/config";
import { negotiate } from "../../api/http";
import type { IndexerHealth } from "../../api/routes/options";
import { openDatabase, runMigrations } from "../../mirror/db";
import { FINALIZED_BLOCK, GTIN, HEAD_BLOCK, createMirrorFixture, type MirrorFixture } from "./fixtures";
import { describeEngines } from "../helpers/engines";
import { buildTestApp, closePgMirror, type TestApp } from "./helper";

const running: IndexerHealth = {
  state: "running",
  head: HEAD_BLOCK + 5,
  indexedBlock: HEAD_BLOCK,
  stalled: false,
  fatal: null,
};

describeEngines("api: operations", function (engine) {
  let fixture: MirrorFixture;
  let t: TestApp | undefined;

  before(async function () {
    fixture = await createMirrorFixture();
  });
  after(async function () {
    await closePgMirror(fixture);
    fixture.cleanup();
  });
  afterEach(async function () {
    await t?.close();
    t = undefined;
  });

  const app = async (options: Parameters<typeof buildTestApp>[1] = {}) => {
    t = await buildTestApp(fixture, { engine, ...options });
    return t.app;
  };

  describe("/healthz and /readyz", function () {
    it("/healthz answers ok", async function () {
      const res = await (await app()).inject({ url: "/healthz" });
      expect(res.statusCode).to.equal(200);
      expect(JSON.parse(res.body)).to.deep.equal({ status: "ok" });
    });

    it("/readyz reports the lag from the cursor alone", async function () {
      const res = await (await app()).inject({ url: "/readyz" });
      expect(res.statusCode).to.equal(200);
      expect(JSON.parse(res.body)).to.include({
        status: "ready",
        chainId: "31337",
        indexedBlock: HEAD_BLOCK,
        headBlock: HEAD_BLOCK,
        lagBlocks: 0,
        lagSeconds: 0,
      });
    });

    it("/readyz reports the lag in blocks and seconds from the indexer's status", async function () {
      const res = await (await app({ indexerStatus: () => running })).inject({ url: "/readyz" });
      expect(res.statusCode).to.equal(200);
      const body = JSON.parse(res.body) as { lagBlocks: number; lagSeconds: number; indexer: string };
      expect(body.lagBlocks).to.equal(5);
      expect(body.lagSeconds).to.be.greaterThan(0);
      expect(body.indexer).to.equal("running");
    });

    const unready: [string, IndexerHealth][] = [
      ["stalled", { ...running, stalled: true }],
      [
        "halted",
        { ...running, state: "failed", fatal: { name: "ChainMismatchError", code: "CHAIN_MISMATCH", message: "x" } },
      ],
      ["halted", { ...running, state: "stopped" }],
      [
        "reorg-too-deep",
        { ...running, state: "failed", fatal: { name: "ReorgTooDeepError", code: "REORG_TOO_DEEP", message: "x" } },
      ],
    ];
    for (const [reason, status] of unready) {
      it(`/readyz is 503 ${reason} when the indexer is ${status.state}${status.stalled ? ", stalled" : ""}`, async function () {
        const res = await (await app({ indexerStatus: () => status })).inject({ url: "/readyz" });
        expect(res.statusCode).to.equal(503);
        expect(JSON.parse(res.body)).to.include({ status: "not-ready", reason });
      });
    }

    it("/readyz is 503 not-indexed on an empty mirror, and the item routes 503", async function () {
      const empty = openDatabase(`${fixture.dir}/empty.db`);
      runMigrations(empty);
      empty.close();
      t = await buildTestApp({ ...fixture, dbPath: `${fixture.dir}/empty.db` });
      const ready = await t.app.inject({ url: "/readyz" });
      expect(ready.statusCode).to.equal(503);
      expect(JSON.parse(ready.body)).to.include({ reason: "not-indexed" });
      const item = await t.app.inject({ url: `/01/${GTIN}/21/SER1` });
      expect(item.statusCode).to.equal(503);
      expect(JSON.parse(item.body)).to.include({ error: "NOT_INDEXED" });
    });
  });

  describe("/metrics", function () {
    it("exposes request counts and latency by route, and the indexer's head and lag", async function () {
      const a = await app({ indexerStatus: () => running });
      await a.inject({ url: `/01/${GTIN}/21/SER1` });
      await a.inject({ url: `/01/${GTIN}/21/NOPE` });
      await a.inject({ url: "/nowhere/at/all" });
      await a.inject({
        method: "OPTIONS",
        url: `/01/${GTIN}/21/SER1`,
        headers: { origin: "https://app.example", "access-control-request-method": "GET" },
      });
      await a.inject({ url: "/v1/brands" });
      await a.inject({ url: "/01/123" });
      const res = await a.inject({ url: "/metrics" });
      expect(res.statusCode).to.equal(200);
      expect(res.headers["content-type"]).to.match(/^text\/plain/);
      expect(res.body).to.include(
        'trace_http_requests_total{method="GET",route="/01/:gtin/21/:serial",status="200"} 1',
      );
      expect(res.body).to.include(
        'trace_http_requests_total{method="GET",route="/01/:gtin/21/:serial",status="404"} 1',
      );
      expect(res.body).to.include('route="unmatched",status="404"');
      // Every route is labelled with its own template, the CORS preflight route too.
      expect(res.body).to.include('trace_http_requests_total{method="OPTIONS",route="*",status="204"} 1');
      expect(res.body).to.include('trace_http_requests_total{method="GET",route="/v1/brands",status="200"} 1');
      expect(res.body).to.include('trace_http_requests_total{method="GET",route="/01/:gtin",status="400"} 1');
      expect(res.body).to.match(
        /trace_http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/01\/:gtin\/21\/:serial",status="200"\}/,
      );
      expect(res.body).to.include(`trace_indexer_head_block ${HEAD_BLOCK + 5}`);
      expect(res.body).to.include("trace_indexer_lag_blocks 5");
      expect(res.body).to.include(`trace_indexer_indexed_block ${HEAD_BLOCK}`);
      expect(res.body).to.include(`trace_indexer_finalized_block ${FINALIZED_BLOCK}`);
    });
  });

  describe("/docs", function () {
    it("serves the OpenAPI document generated from the route schemas", async function () {
      const res = await (await app()).inject({ url: "/docs/json" });
      expect(res.statusCode).to.equal(200);
      const doc = JSON.parse(res.body) as { openapi: string; paths: Record<string, Record<string, unknown>> };
      expect(doc.openapi).to.match(/^3\./);
      for (const path of [
        "/01/{gtin}/10/{lot}/21/{serial}",
        "/v1/proofs/{recordHash}",
        "/v1/brands/{brandId}",
        "/v1/batches",
        "/v1/batches/{brandId}/{root}/records",
        "/v1/batches/{brandId}/{root}/content",
        "/readyz",
      ]) {
        expect(doc.paths, path).to.have.property(path);
      }
      expect(doc.paths["/v1/batches/{brandId}/{root}/content"]).to.have.property("put");
    });

    it("serves Swagger UI", async function () {
      const a = await app();
      const page = await a.inject({ url: "/docs" });
      expect(page.statusCode).to.equal(200);
      expect(page.headers["content-type"]).to.match(/text\/html/);
      expect(page.body).to.include("swagger");
    });
  });

  describe("rate limiting", function () {
    it("answers 429 JSON past the per-client limit, per client, and never limits health checks", async function () {
      const a = await app({ config: { rateLimit: 3 } });
      const from = (ip: string) => a.inject({ url: `/01/${GTIN}/21/SER1`, remoteAddress: ip });
      for (let i = 0; i < 3; i++) expect((await from("192.0.2.1")).statusCode).to.equal(200);
      const limited = await from("192.0.2.1");
      expect(limited.statusCode).to.equal(429);
      expect(JSON.parse(limited.body)).to.include({ error: "RATE_LIMITED" });
      expect((await from("192.0.2.2")).statusCode).to.equal(200);
      for (let i = 0; i < 5; i++)
        expect((await a.inject({ url: "/healthz", remoteAddress: "192.0.2.1" })).statusCode).to.equal(200);
    });
  });

  describe("logs", function () {
    it("are structured JSON without client addresses", async function () {
      const lines: string[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(
            ...chunk
              .toString("utf8")
              .split("\n")
              .filter((l) => l.length > 0),
          );
          done();
        },
      });
      const a = await app({ log: pino({ level: "debug" }, sink) });
      await a.inject({
        url: `/01/${GTIN}/21/SER1?linkType=x`,
        remoteAddress: "203.0.113.77",
        headers: { "x-forwarded-for": "203.0.113.78" },
      });
      await a.inject({ url: "/01/123", remoteAddress: "203.0.113.77" });
      expect(lines.length).to.be.greaterThan(1);
      for (const line of lines) {
        const entry = JSON.parse(line) as Record<string, unknown>;
        expect(entry).to.have.property("level");
        expect(line).not.to.include("203.0.113.77");
        expect(line).not.to.include("203.0.113.78");
      }
      expect(lines.some((l) => l.includes('"route":"/01/:gtin/21/:serial"'))).to.equal(true);
    });
  });

  describe("scan counts", function () {
    it("are written to the scans file with only a salted hash of the client, never its address", async function () {
      const a = await app();
      for (const ip of ["203.0.113.5", "203.0.113.6"])
        await a.inject({ url: `/01/${GTIN}/21/SER2`, remoteAddress: ip });
      if (t === undefined) throw new Error("no app");
      const scansDb = t.scansDb;
      await a.close();
      const rows = scansDb.prepare("SELECT * FROM scan_counts").all() as {
        gtin: string;
        serial: string;
        count: number;
        last_client: string;
      }[];
      expect(rows).to.have.length(1);
      expect(rows[0]).to.include({ gtin: GTIN, serial: "SER2", count: 2 });
      expect(JSON.stringify(scansDb.prepare("SELECT * FROM scan_counts, scan_meta").all())).not.to.include("203.0.113");
    });
  });

  describe("config", function () {
    it("has defaults and is frozen", function () {
      const config = parseApiEnv({});
      expect(config).to.include({
        port: 3000,
        host: "127.0.0.1",
        dbPath: "data/trace.db",
        scans: true,
        rateLimit: 600,
        explorerUrl: null,
      });
      expect(config.publicUrl).to.equal("http://127.0.0.1:3000");
      expect(Object.isFrozen(config)).to.equal(true);
    });

    it("reads every TRACE_* variable", function () {
      const config = parseApiEnv({
        TRACE_PORT: "8080",
        TRACE_HOST: "0.0.0.0",
        TRACE_DB: "/x/t.db",
        TRACE_CONTENT_DIR: "/x/c",
        TRACE_EXPLORER_URL: "https://etherscan.io/",
        TRACE_SCAN_THRESHOLD: "7",
        TRACE_SCANS: "off",
        TRACE_SCANS_DB: "/x/s.db",
        TRACE_RATE_LIMIT: "0",
        TRACE_PUBLIC_URL: "https://id.brand.example",
      });
      expect(config).to.include({
        port: 8080,
        host: "0.0.0.0",
        dbPath: "/x/t.db",
        contentDir: "/x/c",
        explorerUrl: "https://etherscan.io",
        scanThreshold: 7,
        scans: false,
        scansDbPath: "/x/s.db",
        rateLimit: 0,
        publicUrl: "https://id.brand.example",
      });
    });

    it("fails fast naming the variable", function () {
      for (const [name, value] of [
        ["TRACE_PORT", "70000"],
        ["TRACE_PORT", "abc"],
        ["TRACE_SCANS", "maybe"],
        ["TRACE_EXPLORER_URL", "ftp://x"],
        ["TRACE_SCAN_THRESHOLD", "0"],
        ["TRACE_LOG_LEVEL", "loud"],
      ] as const) {
        expect(() => parseApiEnv({ [name]: value }), name).to.throw(ApiConfigError, name);
      }
    });
  });

  describe("content negotiation", function () {
    it("picks the best of JSON, linkset and HTML", function () {
      expect(negotiate(undefined)).to.equal("json");
      expect(negotiate("application/linkset+json")).to.equal("linkset");
      expect(negotiate("text/html;q=0.5, application/json")).to.equal("json");
      expect(negotiate("application/json;q=0.1, text/html")).to.equal("html");
      expect(negotiate("text/*")).to.equal("html");
      expect(negotiate("*/*")).to.equal("json");
      expect(negotiate("application/linkset+json;q=0, */*;q=0.1")).to.equal("json");
      expect(negotiate(";;;,,,q=")).to.equal("json");
    });
  });
});
