/**
 * EPCIS 2.0 capture over the app, on both engines: discovery, 202 and the job, rollback and
 * proceed, duplicates and corrections, who may capture (401/403), limits and media types
 * (413/415), and every shared sample accepted or refused as its folder says, with nothing stored
 * on refusal.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { buildApp } from "../../api/app";
import { apiConfig } from "../../api/config";
import type { CaptureDeps } from "../../api/epcis/capture";
import { prepareDocumentEvents } from "../../api/epcis/capture-prepare";
import { canonicalJson, recordHash, traceRecord, type EpcisEvent } from "../../core/record";
import { PENDING_BY_BRAND, pendingByBrand } from "../../mirror/epcis/batches";
import { run, runEpcisGrouped } from "../../mirror/epcis/capture-sql";
import { eventIndexRows, normalCbv, normalEpc } from "../../mirror/epcis/event-rows";
import { openEpcisStore, sqliteEpcisStore, type EpcisStore } from "../../mirror/epcis/store";
import { openDatabase } from "../../mirror/db";
import { createToken, revokeToken } from "../../mirror/epcis/tokens";
import type { MirrorStore } from "../../mirror/store";
import { SHARED_EPCIS } from "../core/helpers";
import { describeEngines, openTestStore } from "../helpers/engines";

const SERVICE = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
const CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

function objectEvent(serial: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: "ObjectEvent",
    eventTime: "2026-11-01T10:00:00.000+08:00",
    eventTimeZoneOffset: "+08:00",
    epcList: [`urn:epc:id:sgtin:9506000.013435.${serial}`],
    action: "OBSERVE",
    bizStep: "shipping",
    disposition: "in_transit",
    readPoint: { id: "urn:epc:id:sgln:9506000.00001.0" },
    ...extra,
  };
}

function documentOf(events: readonly unknown[]): Record<string, unknown> {
  return {
    "@context": [CONTEXT],
    type: "EPCISDocument",
    schemaVersion: "2.0",
    creationDate: "2026-11-01T00:00:00Z",
    epcisBody: { eventList: events },
  };
}

async function count(store: EpcisStore, table: string): Promise<number> {
  if (store.engine === "sqlite")
    return (store.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  const result = await store.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM trace_state.${table}`);
  return result.rows[0]?.n ?? 0;
}

async function rows<T>(store: EpcisStore, sql: string): Promise<T[]> {
  if (store.engine === "sqlite") return store.db.prepare(sql).all() as T[];
  return (await store.pool.query(sql.replace(/\bepcis_/g, "trace_state.epcis_"))).rows as T[];
}

function samples(folder: string): string[] {
  const dir = path.join(SHARED_EPCIS, folder);
  return fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(".json") || f.endsWith(".jsonld"))
        .map((f) => path.join(dir, f))
    : [];
}

describeEngines("EPCIS capture", function (engine) {
  this.timeout(60_000);
  let mirror: MirrorStore;
  let store: EpcisStore;
  let dir: string;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let token: string;
  let otherBrandToken: string;
  const consenting = new Set<number>([1]);

  async function build(overrides: Partial<CaptureDeps> = {}): Promise<void> {
    await app?.close();
    app = await buildApp({
      db: mirror,
      config: apiConfig({ rateLimit: 0, scans: false }),
      processMetrics: false,
      epcis: {
        capture: {
          store,
          account: SERVICE,
          submitters: (brandId) => Promise.resolve(consenting.has(brandId) ? [{ account: SERVICE.toLowerCase() }] : []),
          ...overrides,
        },
      },
    });
    await app.ready();
  }

  before(async function () {
    mirror = await openTestStore(engine, "epcis_capture");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ta-epcis-capture-"));
    store = openEpcisStore(mirror, path.join(dir, "epcis.db"));
    token = (await createToken(store, { brandId: 1, label: "erp" })).token;
    otherBrandToken = (await createToken(store, { brandId: 2 })).token;
    await build();
  });
  after(async function () {
    await app?.close();
    await store?.close();
    await mirror?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function capture(doc: unknown, headers: Record<string, string> = {}) {
    return app.inject({
      method: "POST",
      url: "/epcis/capture",
      payload: typeof doc === "string" ? doc : JSON.stringify(doc),
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
    });
  }

  async function stored(): Promise<number> {
    return count(store, "epcis_events");
  }

  function expectProblem(response: Awaited<ReturnType<typeof capture>>, status: number, exception: string): void {
    expect(response.statusCode, response.body).to.equal(status);
    expect(response.headers["content-type"]).to.match(/^application\/problem\+json/);
    expect(response.headers["gs1-epcis-version"]).to.equal("2.0.0");
    expect(response.json<{ type: string }>().type).to.equal(`epcisException:${exception}`);
  }

  it("OPTIONS /epcis/capture: 204 with the versions, the capture limits and the error behaviours", async function () {
    const response = await app.inject({ method: "OPTIONS", url: "/epcis/capture" });
    expect(response.statusCode).to.equal(204);
    expect(response.headers["gs1-epcis-version"]).to.equal("2.0.0");
    expect(response.headers["gs1-cbv-version"]).to.equal("2.0.0");
    expect(response.headers["gs1-epcis-capture-limit"]).to.equal("10000");
    expect(response.headers["gs1-epcis-capture-file-size-limit"]).to.equal(String(16 * 2 ** 20));
    expect(response.headers["gs1-capture-error-behaviour"]).to.equal("all");
  });

  it("POST /epcis/capture: 202 with the job's Location; events, their salts, hashes and index rows are stored", async function () {
    const before = await stored();
    const response = await capture(
      documentOf([
        objectEvent("A1"),
        objectEvent("A2", {
          bizStep: "urn:epcglobal:cbv:bizstep:receiving",
          epcList: ["https://id.gs1.org/01/09506000134352/21/A2"],
        }),
      ]),
    );
    expect(response.statusCode, response.body).to.equal(202);
    const location = response.headers.location as string;
    expect(location).to.match(/^\/epcis\/capture\/cap_[0-9a-f]+$/);
    expect(await stored()).to.equal(before + 2);

    const job = (await app.inject({ url: location, headers: { authorization: `Bearer ${token}` } })).json<{
      captureID: string;
      running: boolean;
      success: boolean;
      captureErrorBehaviour: string;
      errors: unknown[];
      createdAt: string;
      finishedAt: string;
      anchor: unknown;
    }>();
    expect(job).to.include({ running: false, success: true, captureErrorBehaviour: "rollback", anchor: null });
    expect(location.endsWith(job.captureID)).to.equal(true);
    expect(job.errors).to.deep.equal([]);
    expect(Date.parse(job.finishedAt)).to.be.at.least(Date.parse(job.createdAt));

    const events = await rows<{
      seq: number;
      event: string;
      salt: string;
      record_hash: Buffer;
      biz_step: string;
      disposition: string;
      read_point: string;
      event_type: string;
      event_time: number;
      action: string;
    }>(store, "SELECT * FROM epcis_events ORDER BY seq");
    const last = events.slice(-2);
    for (const row of last) {
      const event = JSON.parse(row.event) as EpcisEvent;
      expect(event.eventID).to.match(/^ni:\/\/\/sha-256;[0-9a-f]{64}\?ver=CBV2\.0$/);
      expect(row.salt).to.match(/^[0-9a-f]{32}$/);
      expect(`0x${Buffer.from(row.record_hash).toString("hex")}`).to.equal(recordHash(traceRecord(event, row.salt)));
      expect(row).to.include({ event_type: "ObjectEvent", action: "OBSERVE", disposition: "in_transit" });
      expect(Number(row.event_time)).to.equal(Date.parse("2026-11-01T02:00:00Z"));
      expect(row.read_point).to.equal("urn:epc:id:sgln:9506000.00001.0");
    }
    expect(last.map((r) => r.biz_step)).to.deep.equal(["shipping", "receiving"]);
    // The URN and the Digital Link of one kind of key are indexed in one form.
    const epcs = await rows<{ epc: string; role: string; seq: number }>(
      store,
      `SELECT epc, role, seq FROM epcis_event_epcs WHERE seq >= ${last[0]!.seq} ORDER BY seq`,
    );
    expect(epcs.map((e) => [e.epc, e.role])).to.deep.equal([
      ["https://id.gs1.org/01/09506000134352/21/A1", "epc"],
      ["https://id.gs1.org/01/09506000134352/21/A2", "epc"],
    ]);
  });

  it("rollback (the default): a document with an invalid event is refused naming event and field, nothing stored", async function () {
    const before = await stored();
    const jobs = await count(store, "epcis_captures");
    const response = await capture(documentOf([objectEvent("R1"), objectEvent("R2", { bizStep: "dancing" })]));
    expectProblem(response, 400, "ValidationException");
    expect(response.json<{ detail: string }>().detail).to.match(/^event 1: bizStep: /);
    expect(await stored()).to.equal(before);
    expect(await count(store, "epcis_captures")).to.equal(jobs);
  });

  it("proceed: the valid events are stored and the job lists the invalid ones", async function () {
    const before = await stored();
    const response = await capture(documentOf([objectEvent("P1"), objectEvent("P2", { bizStep: "dancing" })]), {
      "GS1-Capture-Error-Behaviour": "proceed",
    });
    expect(response.statusCode, response.body).to.equal(202);
    const job = response.json<{ success: boolean; errors: { eventIndex: number; field: string }[] }>();
    expect(job.success).to.equal(false);
    expect(job.errors.map((e) => [e.eventIndex, e.field])).to.deep.include([1, "bizStep"]);
    expect(await stored()).to.equal(before + 1);
  });

  it("an event already captured is never stored twice: the job counts it as not stored", async function () {
    const doc = documentOf([objectEvent("D1"), objectEvent("D1")]);
    const first = await capture(doc);
    expect(first.json<{ storedCount: number; eventCount: number }>()).to.include({ eventCount: 2, storedCount: 1 });
    const before = await stored();
    const again = await capture(doc);
    expect(again.statusCode).to.equal(202);
    expect(again.json<{ storedCount: number; success: boolean }>()).to.include({ storedCount: 0, success: true });
    expect(await stored()).to.equal(before);
  });

  it("an EPCISQueryDocument is captured as its eventList, without the ta:proof of a TraceAnchor result", async function () {
    const before = await stored();
    const queryDocument = {
      "@context": [CONTEXT, { ta: "https://traceanchor.example/ns#" }],
      type: "EPCISQueryDocument",
      schemaVersion: "2.0",
      creationDate: "2026-11-01T00:00:00Z",
      epcisBody: {
        queryResults: {
          queryName: "SimpleEventQuery",
          resultsBody: { eventList: [objectEvent("Q1"), { ...objectEvent("Q2"), "ta:proof": null }] },
        },
      },
    };
    const response = await capture(queryDocument);
    expect(response.statusCode, response.body).to.equal(202);
    expect(response.json<{ storedCount: number; eventCount: number }>()).to.include({ eventCount: 2, storedCount: 2 });
    expect(await stored()).to.equal(before + 2);
    const events = await rows<{ event: string }>(store, "SELECT event FROM epcis_events ORDER BY seq DESC LIMIT 2");
    for (const { event } of events) expect(JSON.parse(event) as object).to.not.have.property("ta:proof");
    // The same events again, as an EPCISDocument: already captured.
    const again = await capture(documentOf([objectEvent("Q1"), objectEvent("Q2")]));
    expect(again.json<{ storedCount: number }>().storedCount).to.equal(0);

    const noList = await capture({ ...queryDocument, epcisBody: { queryResults: { queryName: "q" } } });
    expectProblem(noList, 400, "ValidationException");
    expect(noList.json<{ detail: string }>().detail).to.include("queryResults.resultsBody.eventList");
    const invalid = await capture({
      ...queryDocument,
      epcisBody: { queryResults: { resultsBody: { eventList: [objectEvent("Q3", { eventTime: "yesterday" })] } } },
    });
    expectProblem(invalid, 400, "ValidationException");
    expect(invalid.json<{ detail: string }>().detail).to.include("event 0");
    expect(await stored()).to.equal(before + 2);
  });

  it("a large document is prepared in a worker thread exactly as on the main thread", async function () {
    const events = (tag: string) =>
      Array.from({ length: 40 }, (_, i) =>
        objectEvent(`${tag}${i}`, i % 13 === 5 ? { bizStep: "dancing" } : i === 20 ? { ilmd: { "ex:x": 1 } } : {}),
      );
    const seen: unknown[] = [];
    try {
      for (const threads of [1, 0]) {
        await build({ prepareThreads: threads });
        const tag = `T${threads}-`;
        const before = await stored();
        const refused = await capture(documentOf(events(tag)));
        expectProblem(refused, 400, "ValidationException");
        expect(await stored()).to.equal(before);
        const accepted = await capture(documentOf(events(tag)), { "GS1-Capture-Error-Behaviour": "proceed" });
        expect(accepted.statusCode, accepted.body).to.equal(202);
        const job = accepted.json<{ captureID: string; errors: unknown[]; storedCount: number; eventCount: number }>();
        // What the main thread makes of the same events, but for the salts (random) and so the record hashes.
        const expected = prepareDocumentEvents(events(tag), [CONTEXT]).flatMap((o) =>
          o.prepared === undefined ? [] : [o.prepared],
        );
        const got = await rows<{
          event_id: string;
          content_hash: Buffer;
          record_hash: Buffer;
          salt: string;
          event: string;
          biz_step: string;
        }>(
          store,
          `SELECT event_id, content_hash, record_hash, salt, event, biz_step FROM epcis_events WHERE capture_id = '${job.captureID}' ORDER BY seq`,
        );
        expect(
          got.map((r) => [r.event_id, Buffer.from(r.content_hash).toString("hex"), r.event, r.biz_step]),
        ).to.deep.equal(expected.map((p) => [p.eventId, p.contentHash.toString("hex"), p.text, p.columns.bizStep]));
        for (const r of got)
          expect(Buffer.from(r.record_hash).toString("hex")).to.equal(
            recordHash(canonicalJson(traceRecord(JSON.parse(r.event) as EpcisEvent, r.salt))).slice(2),
          );
        seen.push({
          refused: refused.json<{ detail: string }>().detail,
          errors: job.errors,
          stored: job.storedCount,
          of: job.eventCount,
        });
      }
      expect(seen[0]).to.deep.equal(seen[1]);
      // Refused: the three with a bizStep that is no CBV term, and the one with an undeclared prefix.
      expect(seen[0]).to.deep.include({ stored: 36, of: 40 });
    } finally {
      await build();
    }
  });

  it("documents sent together are each committed before their 202, a refused one alone storing nothing", async function () {
    const before = await stored();
    const docs = Array.from({ length: 8 }, (_doc, d) =>
      documentOf(Array.from({ length: 20 }, (_, i) => objectEvent(`G${d}-${i}`))),
    );
    // The fifth repeats the first's events: stored once, counted as duplicates in whichever job is second.
    docs[4] = documentOf(Array.from({ length: 20 }, (_, i) => objectEvent(`G0-${i}`)));
    docs[6] = documentOf([objectEvent("G6-bad", { eventTime: "yesterday" })]);
    const responses = await Promise.all(docs.map((doc) => capture(doc)));
    expect(responses.map((r) => r.statusCode)).to.deep.equal([202, 202, 202, 202, 202, 202, 400, 202]);
    const storedCounts = responses
      .filter((r) => r.statusCode === 202)
      .map((r) => r.json<{ storedCount: number }>().storedCount);
    expect(storedCounts.reduce((a, b) => a + b, 0)).to.equal(6 * 20);
    expect(await stored()).to.equal(before + 6 * 20);
    for (const r of responses.filter((x) => x.statusCode === 202)) {
      const job = await app.inject({
        method: "GET",
        url: r.headers.location as string,
        headers: { authorization: `Bearer ${token}` },
      });
      expect(job.json<{ storedCount: number }>().storedCount).to.equal(r.json<{ storedCount: number }>().storedCount);
    }
  });

  it("POST /epcis/events: 201 with the event's Location, 409 for the same eventID, a correction stored beside it", async function () {
    const event = {
      "@context": [CONTEXT],
      ...objectEvent("E1"),
      eventID: "urn:uuid:7a0e3f4c-8b52-4f0a-9c39-0e5a1e2f0001",
    };
    const post = (body: unknown) =>
      app.inject({
        method: "POST",
        url: "/epcis/events",
        payload: JSON.stringify(body),
        headers: { authorization: `Bearer ${token}`, "content-type": "application/ld+json" },
      });
    const created = await post(event);
    expect(created.statusCode, created.body).to.equal(201);
    expect(created.headers.location).to.equal(`/epcis/events/${encodeURIComponent(event.eventID)}`);
    const before = await stored();
    expectProblem(await post({ ...event, action: "ADD" }), 409, "ResourceAlreadyExistsException");
    expect(await stored()).to.equal(before);
    const correction = {
      ...event,
      errorDeclaration: { declarationTime: "2026-11-02T00:00:00Z", reason: "incorrect_data" },
    };
    expect((await post(correction)).statusCode).to.equal(201);
    const corrections = await rows<{ correction: number }>(
      store,
      `SELECT correction FROM epcis_events WHERE event_id = '${event.eventID}' ORDER BY seq`,
    );
    expect(corrections.map((r) => Number(r.correction))).to.deep.equal([0, 1]);
    expectProblem(await post(correction), 409, "ResourceAlreadyExistsException");
    const invalid = await post({ ...event, eventID: "urn:uuid:7a0e3f4c-8b52-4f0a-9c39-0e5a1e2f0002", action: "DANCE" });
    expectProblem(invalid, 400, "ValidationException");
    expect(invalid.json<{ detail: string }>().detail).to.match(/action/);
  });

  it("401 without a token, with a wrong one or a revoked one; 403 when the brand has not named the service", async function () {
    const doc = documentOf([objectEvent("S1")]);
    const before = await stored();
    expectProblem(await capture(doc, { authorization: "" }), 401, "SecurityException");
    expectProblem(await capture(doc, { authorization: `Bearer tac_${"x".repeat(43)}` }), 401, "SecurityException");
    expectProblem(await capture(doc, { authorization: "Basic Zm9vOmJhcg==" }), 401, "SecurityException");
    const revoked = await createToken(store, { brandId: 1 });
    await revokeToken(store, revoked.tokenId);
    expectProblem(await capture(doc, { authorization: `Bearer ${revoked.token}` }), 401, "SecurityException");
    const forbidden = await capture(doc, { authorization: `Bearer ${otherBrandToken}` });
    expectProblem(forbidden, 403, "SecurityException");
    expect(forbidden.json<{ detail: string }>().detail).to.include("brand 2").and.include(SERVICE);
    const list = await app.inject({ url: "/epcis/capture" });
    expectProblem(list, 401, "SecurityException");
    expect(await stored()).to.equal(before);
  });

  it("413 over the event count or the size limit, 415 for other media types; nothing stored", async function () {
    await build({ limits: { events: 3, bytes: 100_000 } });
    try {
      const before = await stored();
      const many = await capture(documentOf(["a", "b", "c", "d"].map((s) => objectEvent(`L${s}`))));
      expectProblem(many, 413, "CaptureLimitExceededException");
      expect(many.headers["gs1-epcis-capture-limit"]).to.equal("3");
      const pad = { "example:pad": "x".repeat(120_000) };
      expectProblem(await capture(documentOf([objectEvent("L1", pad)])), 413, "CaptureLimitExceededException");
      // Above the app's 64 KiB default, within the route's own limit.
      const big = await capture({ ...documentOf([objectEvent("L2")]), "example:note": "y".repeat(80_000) });
      expect(big.statusCode, big.body).to.equal(202);
      expectProblem(
        await capture(JSON.stringify(documentOf([objectEvent("L3")])), { "content-type": "text/plain" }),
        415,
        "UnsupportedMediaTypeException",
      );
      expectProblem(await capture("{not json"), 400, "ValidationException");
      expect(await stored()).to.equal(before + 1);
    } finally {
      await build();
    }
  });

  it("GET /epcis/capture lists the brand's jobs newest first, a page at a time", async function () {
    const first = await app.inject({ url: "/epcis/capture?perPage=2", headers: { authorization: `Bearer ${token}` } });
    expect(first.statusCode).to.equal(200);
    const jobs = first.json<{ captureID: string }[]>();
    expect(jobs).to.have.length(2);
    const next = /<([^>]+)>; rel="next"/.exec(String(first.headers.link))?.[1];
    expect(next).to.be.a("string");
    const second = await app.inject({ url: next!, headers: { authorization: `Bearer ${token}` } });
    const ids = second.json<{ captureID: string }[]>().map((j) => j.captureID);
    expect(ids).to.not.include(jobs[0]!.captureID);
    const other = await app.inject({
      url: `/epcis/capture/${jobs[0]!.captureID}`,
      headers: { authorization: `Bearer ${otherBrandToken}` },
    });
    expectProblem(other, 404, "NoSuchResourceException");
  });

  it("malformed bodies and headers get 4xx problems, never a 5xx, and store nothing", async function () {
    const before = await stored();
    const jobs = await count(store, "epcis_captures");
    const event = JSON.stringify(objectEvent("Z1"));
    const bodies = [
      "",
      "null",
      "[]",
      "42",
      '"text"',
      "{}",
      '{"type":"EPCISDocument"}',
      JSON.stringify({ ...documentOf([]), epcisBody: { eventList: {} } }),
      JSON.stringify({ ...documentOf([]), epcisBody: null }),
      JSON.stringify(documentOf([null, 1, "x", []])),
      JSON.stringify(
        documentOf([{ ...objectEvent("Z2"), quantityList: [{ epcClass: "urn:x", quantity: 1 }] }]),
      ).replace('"quantity":1', '"quantity":1e999'),
      // A raw NUL in the JSON text (an escaped one is stored as written, escaped).
      JSON.stringify(documentOf([objectEvent("Z3\u0000")])).replace("Z3\\u0000", "Z3\u0000"),
      `{"__proto__":{"x":1},${JSON.stringify(documentOf([objectEvent("Z5")])).slice(1)}`,
      `{"epcisBody":{"eventList":[${event}]}`,
    ];
    for (const body of bodies) {
      for (const behaviour of ["rollback", "proceed"]) {
        const response = await capture(body, { "GS1-Capture-Error-Behaviour": behaviour });
        expect(response.statusCode, `${body.slice(0, 80)}: ${response.body}`).to.be.within(400, 499);
        expect(response.headers["content-type"]).to.match(/^application\/problem\+json/);
      }
      const single = await app.inject({
        method: "POST",
        url: "/epcis/events",
        payload: body,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      });
      expect(single.statusCode, `${body.slice(0, 80)}: ${single.body}`).to.be.within(400, 499);
    }
    const headerSets: Record<string, string>[] = [
      { "GS1-Capture-Error-Behaviour": "all" },
      { "GS1-Capture-Error-Behaviour": "x".repeat(5000) },
      { "content-type": "application/jsonx" },
      { "content-type": "application/json-seq" },
      { authorization: `Bearer ${token} extra` },
      { authorization: `Bearer ${"é".repeat(10)}` },
    ];
    for (const headers of headerSets) {
      const response = await capture(documentOf([objectEvent("Z6")]), headers);
      expect(response.statusCode, `${JSON.stringify(headers).slice(0, 80)}: ${response.body}`).to.be.within(400, 499);
    }
    expect(await stored()).to.equal(before);
    expect(await count(store, "epcis_captures")).to.equal(jobs);
  });

  describe("the shared samples", function () {
    for (const file of [...samples("valid"), ...samples("more-valid")]) {
      it(`accepts ${path.basename(file)}`, async function () {
        const response = await capture(fs.readFileSync(file, "utf8"), { "content-type": "application/ld+json" });
        expect(response.statusCode, response.body).to.equal(202);
        const job = response.json<{ success: boolean; eventCount: number }>();
        expect(job.success).to.equal(true);
      });
    }
    it("every stored event's record hash is that of its Protocol v1 record, and its content hash that of the event", async function () {
      const all = await rows<{ event: string; salt: string; record_hash: Buffer; content_hash: Buffer }>(
        store,
        "SELECT event, salt, record_hash, content_hash FROM epcis_events",
      );
      expect(all.length).to.be.greaterThan(19);
      for (const row of all) {
        const event = JSON.parse(row.event) as EpcisEvent;
        expect(`0x${Buffer.from(row.record_hash).toString("hex")}`).to.equal(recordHash(traceRecord(event, row.salt)));
        const content = createHash("sha256").update(canonicalJson(event)).digest("hex");
        expect(Buffer.from(row.content_hash).toString("hex")).to.equal(content);
      }
    });
    for (const file of [...samples("invalid"), ...samples("more-invalid")]) {
      it(`refuses ${path.basename(file)}, naming the event and the field, storing nothing`, async function () {
        const before = await stored();
        const jobs = await count(store, "epcis_captures");
        const response = await capture(fs.readFileSync(file, "utf8"));
        expectProblem(response, 400, "ValidationException");
        const detail = response.json<{ detail: string }>().detail;
        expect(detail).to.match(/^(event \d+: [^:]+: |document: )/);
        expect(await stored()).to.equal(before);
        expect(await count(store, "epcis_captures")).to.equal(jobs);
      });
    }
  });
});

describe("EPCIS group commit (SQLite)", function () {
  it("runs the operations of one turn in one transaction: one that throws is undone alone", async function () {
    const store = sqliteEpcisStore(openDatabase(":memory:"));
    try {
      const insert = (id: string) =>
        runEpcisGrouped(store, function* () {
          return yield* run("INSERT INTO epcis_queries (name, query, created_at) VALUES (?, '{}', 0)", [id]);
        });
      const failing = runEpcisGrouped(store, function* () {
        yield* run("INSERT INTO epcis_queries (name, query, created_at) VALUES ('half', '{}', 0)");
        throw new Error("refused midway");
      });
      const [a, b, c] = await Promise.allSettled([insert("a"), failing, insert("b"), insert("a")]);
      expect(a.status).to.equal("fulfilled");
      expect(b.status).to.equal("rejected");
      expect(c.status).to.equal("fulfilled");
      const names = (store.db.prepare("SELECT name FROM epcis_queries ORDER BY name").all() as { name: string }[]).map(
        (r) => r.name,
      );
      // "half" was rolled back with its operation; the second "a" failed on the primary key, alone.
      expect(names).to.deep.equal(["a", "b"]);
    } finally {
      await store.close();
    }
  });
  it("runs a group without savepoints, and again with them only when one of its operations throws", async function () {
    const store = sqliteEpcisStore(openDatabase(":memory:"));
    try {
      const runs = new Map<string, number>();
      const insert = (id: string, fail = false) =>
        runEpcisGrouped(store, function* () {
          runs.set(id, (runs.get(id) ?? 0) + 1);
          const changed = yield* run("INSERT INTO epcis_queries (name, query, created_at) VALUES (?, '{}', 0)", [id]);
          if (fail) throw new Error(`refused ${id}`);
          return changed;
        });
      // Nothing throws: every operation runs once, all commit together.
      expect(await Promise.all([insert("a"), insert("b")])).to.deep.equal([1, 1]);
      expect([...runs]).to.deep.equal([
        ["a", 1],
        ["b", 1],
      ]);
      // One throws: the group is rolled back and run again, each operation in its savepoint ("e" had
      // not started when "d" threw).
      runs.clear();
      const [c, d, e] = await Promise.allSettled([insert("c"), insert("d", true), insert("e")]);
      expect([c.status, d.status, e.status]).to.deep.equal(["fulfilled", "rejected", "fulfilled"]);
      expect((d as PromiseRejectedResult).reason).to.have.property("message", "refused d");
      expect([...runs]).to.deep.equal([
        ["c", 2],
        ["d", 2],
        ["e", 1],
      ]);
      // Alone, an operation that throws is rolled back and refused without a second run.
      runs.clear();
      const [f] = await Promise.allSettled([insert("f", true)]);
      expect((f as PromiseRejectedResult).reason).to.have.property("message", "refused f");
      expect([...runs]).to.deep.equal([["f", 1]]);
      const names = (store.db.prepare("SELECT name FROM epcis_queries ORDER BY name").all() as { name: string }[]).map(
        (r) => r.name,
      );
      expect(names).to.deep.equal(["a", "b", "c", "e"]);
    } finally {
      await store.close();
    }
  });
});

describe("the capture worker's pending events (SQLite)", function () {
  it("are counted from the pending index, not from every event without a batch (mirror-indexed ones too)", async function () {
    const store = sqliteEpcisStore(openDatabase(":memory:"));
    try {
      // Events indexed from mirror batches: no capture_id, no batch_id, never pending.
      const insert = store.db.prepare(
        "INSERT INTO epcis_events (event_id, brand_id, capture_id, content_hash, record_hash, salt, event, event_type, " +
          "event_time, record_time) VALUES (?, 1, ?, ?, x'00', '0', '{}', 'ObjectEvent', 0, ?)",
      );
      store.db.transaction(() => {
        for (let i = 0; i < 2000; i++) insert.run(`urn:uuid:m${i}`, null, Buffer.from(`m${i}`), 5);
        insert.run("urn:uuid:c1", "cap_1", Buffer.from("c1"), 30);
        insert.run("urn:uuid:c2", "cap_1", Buffer.from("c2"), 20);
      })();
      expect(await pendingByBrand(store)).to.deep.equal([{ brandId: 1, events: 2, oldest: 20 }]);
      // Unanalysed (as a fresh store is), SQLite would otherwise search epcis_events_batch for
      // batch_id IS NULL: all 2,002 rows here, every event of a store filled from mirror batches.
      const plan = (store.db.prepare(`EXPLAIN QUERY PLAN ${PENDING_BY_BRAND.sqlite}`).all() as { detail: string }[])
        .map((r) => r.detail)
        .join("; ");
      expect(plan).to.contain("USING INDEX epcis_events_pending");
    } finally {
      await store.close();
    }
  });
});

describe("EPCIS event index rows", function () {
  it("names every identifier by role, in the Digital Link form the URN and Digital Link spellings share", function () {
    const transformation = eventIndexRows({
      type: "TransformationEvent",
      inputEPCList: ["urn:epc:id:sgtin:9506000.013435.I1", "https://example.com/01/09506000134352/21/I1?x=1"],
      outputEPCList: ["urn:uuid:3c4a0c6e-0000-4000-8000-000000000001"],
      inputQuantityList: [{ epcClass: "urn:epc:class:lgtin:9506000.013435.LOT7", quantity: 2 }],
      outputQuantityList: [{ epcClass: "urn:epc:idpat:sgtin:9506000.013435.*" }],
    });
    expect(transformation).to.deep.equal([
      { epc: "https://id.gs1.org/01/09506000134352/21/I1", role: "input" },
      { epc: "urn:uuid:3c4a0c6e-0000-4000-8000-000000000001", role: "output" },
      { epc: "https://id.gs1.org/01/09506000134352/10/LOT7", role: "inputClass" },
      { epc: "https://id.gs1.org/01/09506000134352", role: "outputClass" },
    ]);
    const aggregation = eventIndexRows({
      type: "AggregationEvent",
      parentID: "urn:epc:id:sscc:9506000.0000000001",
      childEPCs: ["urn:epc:id:sgtin:9506000.013435.C1"],
      childQuantityList: [{ epcClass: "urn:epc:class:lgtin:9506000.013435.L1", quantity: 1 }],
      epcList: ["urn:epc:id:sgtin:9506000.013435.E1"],
      quantityList: [{ epcClass: "urn:epc:class:lgtin:9506000.013435.L2", quantity: 1 }],
    });
    expect(aggregation.map((r) => r.role)).to.deep.equal(["epc", "child", "parent", "epcClass", "childClass"]);
  });

  it("keeps business steps and dispositions bare when they are CBV terms, in any spelling", function () {
    for (const value of ["shipping", "urn:epcglobal:cbv:bizstep:shipping", "https://ref.gs1.org/cbv/BizStep-shipping"])
      expect(normalCbv("bizStep", value)).to.equal("shipping");
    expect(normalCbv("disposition", "urn:epcglobal:cbv:disp:in_transit")).to.equal("in_transit");
    expect(normalCbv("bizStep", "https://example.com/bizStep/dancing")).to.equal("https://example.com/bizStep/dancing");
    expect(normalEpc(" urn:epc:id:sgtin:9506000.013435.X ")).to.equal("https://id.gs1.org/01/09506000134352/21/X");
  });
});
