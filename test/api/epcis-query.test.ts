/**
 * EPCIS query interface on both engines: anchored CLI trace batches of the fixture mirror indexed by
 * the query indexer, every parameter of GET /epcis/events, paging, the discovery endpoints, the
 * `ta:proof` of each event checked as a verifier would (StandardMerkleTree over the record's hash,
 * against the anchored root), a captured event not yet anchored (`ta:proof: null`), and the errors.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { lgtinUrn, sgtinPatternUrn, sgtinUrn } from "../../core/epc";
import { recordHash, type EpcisEvent } from "../../core/record";
import { prepareEvent, storeCapture } from "../../mirror/epcis/capture";
import { openDatabase } from "../../mirror/db";
import { createMirrorReader } from "../../mirror/read";
import { createEpcisQueryStore } from "../../mirror/epcis/query";
import { createQueryIndexer } from "../../mirror/epcis/query-indexer";
import { openEpcisStore, sqliteEpcisStore, type EpcisStore } from "../../mirror/epcis/store";
import type { MirrorStore } from "../../mirror/store";
import { describeEngines } from "../helpers/engines";
import {
  anchorBatch,
  ACME,
  blockTime,
  createMirrorFixture,
  event,
  GTIN,
  type BuiltFixtureBatch,
  type MirrorFixture,
} from "./fixtures";
import { buildTestApp, closePgMirror, pgMirrorOf, type TestApp } from "./helper";
import { sqliteStore } from "../../mirror/store";

const CP = ACME.prefix.length;
const SER = (serial: string): string => sgtinUrn(GTIN, serial, CP);
const DL = (serial: string): string => `https://id.gs1.org/01/${GTIN}/21/${serial}`;
const LOT = (lot: string): string => lgtinUrn(GTIN, lot, CP);
const SSCC = "urn:epc:id:sscc:9506000.1234567890";
const DOCK = "urn:epc:id:sgln:9506000.00001.0";
const DOCK_DL = "https://id.gs1.org/414/9506000000015";
const PLANT = "urn:epc:id:sgln:9506000.00002.0";
const CORRECTED_ID = "urn:uuid:6d1a3f5e-2f0b-4d2e-9a55-1c3c5b7c9e01";
/** The company prefix of the pattern tests: GTIN 09506000134352 is 9506000 . 013435. */
const PATTERN = sgtinPatternUrn(GTIN, CP);

type Doc = {
  "@context": unknown[];
  type: string;
  epcisBody: { queryResults: { queryName: string; resultsBody: { eventList: Record<string, unknown>[] } } };
};

const QUERY_EVENTS = [
  event({
    eventTime: "2024-04-01T10:00:00.000Z",
    action: "ADD",
    bizStep: "urn:epcglobal:cbv:bizstep:commissioning",
    disposition: "active",
    epcList: [SER("Q1"), SER("Q2")],
    readPoint: { id: DOCK },
    bizLocation: { id: PLANT },
  }),
  event({
    eventTime: "2024-04-02T10:00:00.000Z",
    bizStep: "shipping",
    disposition: "in_transit",
    epcList: [DL("Q3")],
    readPoint: { id: DOCK_DL },
  }),
  JSON.stringify({
    type: "AggregationEvent",
    eventTime: "2024-04-03T10:00:00.000Z",
    eventTimeZoneOffset: "+00:00",
    action: "ADD",
    bizStep: "packing",
    parentID: SSCC,
    childEPCs: [SER("Q1"), SER("Q2")],
  }),
  JSON.stringify({
    type: "TransformationEvent",
    eventTime: "2024-04-04T10:00:00.000Z",
    eventTimeZoneOffset: "+00:00",
    bizStep: "https://example.com/steps/blending",
    inputEPCList: [SER("Q1")],
    outputEPCList: [SER("Q4")],
    inputQuantityList: [{ epcClass: LOT("LOTA"), quantity: 2 }],
    outputQuantityList: [{ epcClass: LOT("LOTB"), quantity: 1 }],
  }),
  event({ eventID: CORRECTED_ID, eventTime: "2024-04-05T10:00:00.000Z", bizStep: "receiving", epcList: [SER("Q4")] }),
  event({
    eventID: CORRECTED_ID,
    eventTime: "2024-04-05T10:00:00.000Z",
    bizStep: "receiving",
    epcList: [SER("Q4")],
    errorDeclaration: { declarationTime: "2024-04-06T10:00:00.000Z", reason: "incorrect_data" },
  }),
].join("\n");

/** The block of the suite's own trace batch (final: the fixture's finalized block is 50). */
const QUERY_BLOCK = 30;

describeEngines("EPCIS query", function (engine) {
  let fixture: MirrorFixture;
  let batch: BuiltFixtureBatch;
  let mirror: MirrorStore;
  let epcis: EpcisStore;
  let t: TestApp;
  let epcisDir: string;

  const allTraceBatches = (): BuiltFixtureBatch[] => [fixture.batches.trace, fixture.batches.griefing, batch];
  const allTraceEvents = (): number => allTraceBatches().reduce((n, b) => n + b.leafCount, 0);

  before(async function () {
    this.timeout(60_000);
    fixture = await createMirrorFixture();
    batch = await anchorBatch(fixture, {
      name: "query.ndjson",
      brandId: ACME.brandId,
      kind: "trace",
      text: `${QUERY_EVENTS}\n`,
      blockNumber: QUERY_BLOCK,
    });
    epcisDir = fs.mkdtempSync(path.join(os.tmpdir(), "ta-epcis-query-"));
    if (engine === "postgres") {
      mirror = await pgMirrorOf(fixture);
      epcis = openEpcisStore(mirror, "");
    } else {
      mirror = sqliteStore(openDatabase(fixture.dbPath, { readonly: true }));
      epcis = sqliteEpcisStore(openDatabase(path.join(epcisDir, "epcis.db")));
    }
    const reader = createMirrorReader(mirror);
    try {
      await createQueryIndexer({ reader, query: createEpcisQueryStore(epcis) }).runOnce();
    } finally {
      reader.close();
    }
  });

  after(async function () {
    await epcis?.close();
    if (engine === "sqlite") await mirror?.close();
    if (fixture !== undefined) await closePgMirror(fixture);
    fixture?.cleanup();
    if (epcisDir !== undefined) fs.rmSync(epcisDir, { recursive: true, force: true });
  });

  beforeEach(async function () {
    t = await buildTestApp(fixture, { engine, epcis: { query: { store: epcis, mirror } } });
  });

  afterEach(async function () {
    await t?.close();
  });

  const get = async (url: string, headers: Record<string, string> = {}) =>
    t.app.inject({ method: "GET", url, headers });

  const eventsOf = async (query: string): Promise<Record<string, unknown>[]> => {
    const res = await get(`/epcis/events${query === "" ? "" : `?${query}`}&perPage=500`.replace("events&", "events?"));
    expect(res.statusCode, res.body).to.equal(200);
    return res.json<Doc>().epcisBody.queryResults.resultsBody.eventList;
  };
  const timesOf = async (query: string): Promise<string[]> =>
    (await eventsOf(query)).map((e) => e.eventTime as string).sort();

  describe("indexing", function () {
    it("indexes every anchored trace batch with ingested content once", async function () {
      const reader = createMirrorReader(mirror);
      try {
        const query = createEpcisQueryStore(epcis);
        expect(await createQueryIndexer({ reader, query }).runOnce()).to.equal(0);
        expect([...(await query.indexedBatches())].sort()).to.deep.equal(
          allTraceBatches()
            .map((b) => `${b.brandId}:${b.root}`)
            .sort(),
        );
      } finally {
        reader.close();
      }
      expect(await eventsOf("")).to.have.length(allTraceEvents());
    });

    it("records the anchor's block time as the record time", async function () {
      const events = await eventsOf(`EQ_eventID=${encodeURIComponent(CORRECTED_ID)}`);
      expect(events).to.have.length(2);
      const res = await get(
        `/epcis/events?GE_recordTime=${new Date(blockTime(QUERY_BLOCK) * 1000).toISOString()}&perPage=500`,
      );
      expect(res.json<Doc>().epcisBody.queryResults.resultsBody.eventList).to.have.length(batch.leafCount);
    });
  });

  describe("GET /epcis/events", function () {
    it("answers an EPCISQueryDocument with the GS1 headers, ta declared in its context", async function () {
      const res = await get("/epcis/events");
      expect(res.statusCode).to.equal(200);
      expect(res.headers["content-type"]).to.match(/^application\/json/);
      expect(res.headers["gs1-epcis-version"]).to.equal("2.0.0");
      expect(res.headers["gs1-cbv-version"]).to.equal("2.0.0");
      const doc = res.json<Doc & { schemaVersion: string; creationDate: string }>();
      expect(doc.type).to.equal("EPCISQueryDocument");
      expect(doc.schemaVersion).to.equal("2.0");
      expect(doc["@context"]).to.deep.include({ ta: "https://traceanchor.dev/ns/proof#" });
      expect(doc.epcisBody.queryResults.queryName).to.equal("SimpleEventQuery");
      expect(doc.epcisBody.queryResults.resultsBody.eventList).to.have.length(allTraceEvents());
    });

    it("gives every anchored event a proof that verifies against its anchored root", async function () {
      const events = await eventsOf("");
      const roots = new Map<string, BuiltFixtureBatch>(allTraceBatches().map((b) => [b.root, b]));
      for (const { "ta:proof": proof, ...ev } of events) {
        const p = proof as {
          salt: string;
          recordHash: string;
          proof: string[];
          root: string;
          anchor: { brandId: string; blockNumber: number };
        };
        expect(p, JSON.stringify(ev)).to.not.equal(null);
        expect(recordHash({ v: 1, kind: "trace", salt: p.salt, event: ev as never })).to.equal(p.recordHash);
        expect(StandardMerkleTree.verify(p.root, ["bytes32"], [p.recordHash], p.proof)).to.equal(true);
        const anchored = roots.get(p.root);
        expect(anchored, p.root).to.not.equal(undefined);
        expect(p.anchor.brandId).to.equal(String(anchored!.brandId));
      }
    });

    it("filters by event type, action and time", async function () {
      expect(await eventsOf("eventType=AggregationEvent|TransformationEvent")).to.have.length(2);
      expect(await eventsOf("eventType=AssociationEvent")).to.have.length(0);
      expect(await timesOf("EQ_action=ADD&GE_eventTime=2024-04-01T00:00:00Z")).to.deep.equal([
        "2024-04-01T10:00:00.000Z",
        "2024-04-03T10:00:00.000Z",
      ]);
      expect(await timesOf("GE_eventTime=2024-04-02T10:00:00Z&LT_eventTime=2024-04-04T10:00:00.000Z")).to.deep.equal([
        "2024-04-02T10:00:00.000Z",
        "2024-04-03T10:00:00.000Z",
      ]);
      const before = new Date(blockTime(QUERY_BLOCK) * 1000).toISOString();
      expect(await eventsOf(`LT_recordTime=${before}`)).to.have.length(allTraceEvents() - batch.leafCount);
    });

    it("matches business steps and dispositions in bare, URN and URI forms, pipes as OR", async function () {
      for (const form of [
        "commissioning",
        "urn:epcglobal:cbv:bizstep:commissioning",
        "https://ref.gs1.org/cbv/BizStep-commissioning",
      ]) {
        const found = await timesOf(`EQ_bizStep=${encodeURIComponent(form)}`);
        expect(found, form).to.deep.equal(["2024-03-01T08:00:00.000Z", "2024-04-01T10:00:00.000Z"]);
      }
      expect(await eventsOf("EQ_bizStep=shipping|packing")).to.have.length(3);
      expect(await eventsOf(`EQ_bizStep=${encodeURIComponent("https://example.com/steps/blending")}`)).to.have.length(
        1,
      );
      expect(
        await eventsOf(`EQ_disposition=${encodeURIComponent("https://ref.gs1.org/cbv/Disp-recalled")}`),
      ).to.have.length(2);
      expect(await eventsOf("EQ_disposition=in_transit|active")).to.have.length(2);
    });

    it("matches read points and business locations as written, a URN also in its Digital Link form", async function () {
      expect(await eventsOf(`EQ_readPoint=${encodeURIComponent(DOCK)}`)).to.have.length(2);
      // A Digital Link matches as written: it does not say where the company prefix ends.
      expect(await eventsOf(`EQ_readPoint=${encodeURIComponent(DOCK_DL)}`)).to.have.length(1);
      expect(await eventsOf(`EQ_bizLocation=${encodeURIComponent(PLANT)}`)).to.have.length(1);
      expect(await eventsOf(`EQ_bizLocation=${encodeURIComponent(DOCK)}`)).to.have.length(0);
    });

    it("matches EPCs by role in URN, Digital Link and pattern forms", async function () {
      const q = (name: string, value: string): Promise<string[]> => timesOf(`${name}=${encodeURIComponent(value)}`);
      // epcList and childEPCs; the DL-form event matches its URN and the other way round.
      expect(await q("MATCH_epc", SER("Q1"))).to.deep.equal(["2024-04-01T10:00:00.000Z", "2024-04-03T10:00:00.000Z"]);
      expect(await q("MATCH_epc", DL("Q1"))).to.deep.equal(["2024-04-01T10:00:00.000Z", "2024-04-03T10:00:00.000Z"]);
      expect(await q("MATCH_epc", SER("Q3"))).to.deep.equal(["2024-04-02T10:00:00.000Z"]);
      expect(await q("MATCH_epc", `${SER("Q3")}|${SER("Q4")}`)).to.deep.equal([
        "2024-04-02T10:00:00.000Z",
        "2024-04-05T10:00:00.000Z",
        "2024-04-05T10:00:00.000Z",
      ]);
      expect(await q("MATCH_anyEPC", SER("Q1"))).to.have.length(3);
      expect(await q("MATCH_parentID", SSCC)).to.deep.equal(["2024-04-03T10:00:00.000Z"]);
      expect(await q("MATCH_inputEPC", SER("Q1"))).to.deep.equal(["2024-04-04T10:00:00.000Z"]);
      expect(await q("MATCH_outputEPC", SER("Q4"))).to.deep.equal(["2024-04-04T10:00:00.000Z"]);
      expect(await q("MATCH_outputEPC", SER("Q1"))).to.have.length(0);
      // A pattern: every serial of the GTIN in epcList/childEPCs (fixture SER1 events included).
      expect(await q("MATCH_epc", PATTERN)).to.have.length(7);
      expect(await q("MATCH_epc", "urn:epc:idpat:sgtin:0614141.107346.*")).to.have.length(0);
    });

    it("matches EPC classes by role, lots and class patterns", async function () {
      const q = (name: string, value: string): Promise<string[]> => timesOf(`${name}=${encodeURIComponent(value)}`);
      expect(await q("MATCH_epcClass", LOT("LOT1"))).to.deep.equal(["2024-03-02T09:00:00+08:00"]);
      expect(await q("MATCH_epcClass", LOT("LOTA"))).to.have.length(0);
      expect(await q("MATCH_anyEPCClass", LOT("LOTA"))).to.have.length(1);
      expect(await q("MATCH_anyEPCClass", `${LOT("LOTA")}|${LOT("LOTB")}`)).to.have.length(1);
      // The class itself and each of its lots.
      expect(await q("MATCH_anyEPCClass", PATTERN)).to.have.length(4);
    });

    it("finds events by eventID, the event and its correction", async function () {
      const events = await eventsOf(`EQ_eventID=${encodeURIComponent(CORRECTED_ID)}`);
      expect(events.map((e) => e.errorDeclaration === undefined)).to.have.members([true, false]);
    });

    it("pages with perPage and an opaque nextPageToken in Link rel=next", async function () {
      const seen: string[] = [];
      let url: string | undefined = "/epcis/events?perPage=2&eventType=ObjectEvent";
      let pages = 0;
      while (url !== undefined) {
        const res = await get(url);
        expect(res.statusCode, res.body).to.equal(200);
        const list = res.json<Doc>().epcisBody.queryResults.resultsBody.eventList;
        expect(list.length).to.be.at.most(2);
        seen.push(...list.map((e) => JSON.stringify(e)));
        const link = res.headers.link as string | undefined;
        url = link === undefined ? undefined : /^<([^>]+)>; rel="next"$/.exec(link)?.[1];
        if (link !== undefined) expect(url, link).to.match(/^\/epcis\/events\?.*eventType=ObjectEvent.*nextPageToken=/);
        pages++;
      }
      const objectEvents = (await eventsOf("eventType=ObjectEvent")).map((e) => JSON.stringify(e));
      expect(seen).to.deep.equal(objectEvents);
      expect(pages).to.equal(Math.ceil(objectEvents.length / 2));
    });

    it("refuses a page token of another query", async function () {
      const first = await get("/epcis/events?perPage=1&eventType=ObjectEvent");
      const token = /nextPageToken=([^&>]+)/.exec(first.headers.link as string)?.[1];
      const res = await get(`/epcis/events?perPage=1&eventType=AggregationEvent&nextPageToken=${token}`);
      expect(res.statusCode).to.equal(400);
      expect(res.json()).to.include({ type: "epcisException:QueryParameterException" });
    });
  });

  describe("GET /epcis/events/{eventID}", function () {
    it("answers the event with its corrections", async function () {
      const res = await get(`/epcis/events/${encodeURIComponent(CORRECTED_ID)}`);
      expect(res.statusCode).to.equal(200);
      const list = res.json<Doc>().epcisBody.queryResults.resultsBody.eventList;
      expect(list).to.have.length(2);
      expect(list[0]!.errorDeclaration).to.equal(undefined);
      expect(list[1]!.errorDeclaration).to.deep.include({ reason: "incorrect_data" });
    });

    it("answers a CBV hash id", async function () {
      const [first] = await eventsOf("eventType=AggregationEvent");
      const id = first!.eventID as string;
      expect(id).to.match(/^ni:\/\/\/sha-256;[0-9a-f]{64}\?ver=CBV2\.0$/);
      const res = await get(`/epcis/events/${encodeURIComponent(id)}`);
      expect(res.statusCode).to.equal(200);
      expect(res.json<Doc>().epcisBody.queryResults.resultsBody.eventList[0]).to.deep.equal(first);
    });

    it("is 404 NoSuchResourceException for an unknown eventID", async function () {
      const res = await get(`/epcis/events/${encodeURIComponent("urn:uuid:00000000-0000-4000-8000-000000000000")}`);
      expect(res.statusCode).to.equal(404);
      expect(res.headers["content-type"]).to.match(/^application\/problem\+json/);
      expect(res.headers["gs1-epcis-version"]).to.equal("2.0.0");
      expect(res.json()).to.include({ type: "epcisException:NoSuchResourceException", status: 404 });
    });
  });

  describe("pending events", function () {
    it("shows a captured event not yet anchored with ta:proof null", async function () {
      const pendingEvent: EpcisEvent = {
        type: "ObjectEvent",
        action: "OBSERVE",
        eventTime: "2024-05-01T00:00:00.000Z",
        eventTimeZoneOffset: "+00:00",
        eventID: "urn:uuid:pending-1",
        epcList: [SER("P1")],
      };
      const remove = await insertCaptured(epcis, pendingEvent);
      try {
        const events = await eventsOf(`MATCH_epc=${encodeURIComponent(DL("P1"))}`);
        expect(events).to.have.length(1);
        expect(events[0]!["ta:proof"]).to.equal(null);
        const { "ta:proof": proof, ...rest } = events[0]!;
        expect(proof).to.equal(null);
        expect(rest).to.deep.equal(pendingEvent);
      } finally {
        await remove();
      }
    });
  });

  describe("discovery", function () {
    it("lists event types and each one's events", async function () {
      const res = await get("/epcis/eventTypes");
      expect(res.json()).to.deep.include({ type: "Collection" });
      expect(res.json<{ member: string[] }>().member).to.include.members(["ObjectEvent", "TransformationEvent"]);
      const events = await get("/epcis/eventTypes/TransformationEvent/events");
      expect(events.json<Doc>().epcisBody.queryResults.resultsBody.eventList).to.have.length(1);
      expect((await get("/epcis/eventTypes/ObjectEvent")).json()).to.deep.include({ member: ["events"] });
    });

    it("lists business steps, paged, and each one's events in any form", async function () {
      const all: string[] = [];
      let url: string | undefined = "/epcis/bizSteps?perPage=3";
      while (url !== undefined) {
        const res = await get(url);
        expect(res.statusCode, res.body).to.equal(200);
        all.push(...res.json<{ member: string[] }>().member);
        url = /^<([^>]+)>; rel="next"$/.exec((res.headers.link as string | undefined) ?? "")?.[1];
      }
      expect(all).to.deep.equal(
        [
          "commissioning",
          "shipping",
          "inspecting",
          "holding",
          "packing",
          "https://example.com/steps/blending",
          "receiving",
        ].sort(),
      );
      const res = await get(`/epcis/bizSteps/${encodeURIComponent("urn:epcglobal:cbv:bizstep:shipping")}/events`);
      expect(res.json<Doc>().epcisBody.queryResults.resultsBody.eventList).to.have.length(2);
    });

    it("answers the events of an EPC in URN and Digital Link forms, in any role", async function () {
      for (const epc of [SER("Q1"), DL("Q1")]) {
        const res = await get(`/epcis/epcs/${encodeURIComponent(epc)}/events`);
        expect(res.statusCode, res.body).to.equal(200);
        expect(res.json<Doc>().epcisBody.queryResults.resultsBody.eventList, epc).to.have.length(3);
      }
      const epcs = (await get("/epcis/epcs?perPage=500")).json<{ member: string[] }>();
      expect(epcs.member).to.include(DL("Q1"));
    });

    it("lists read points, business locations and dispositions", async function () {
      expect((await get("/epcis/readPoints")).json<{ member: string[] }>().member).to.deep.equal([DOCK_DL, DOCK]);
      expect((await get("/epcis/bizLocations")).json<{ member: string[] }>().member).to.have.length(1);
      expect((await get("/epcis/dispositions")).json<{ member: string[] }>().member).to.deep.equal([
        "active",
        "in_transit",
        "recalled",
      ]);
      const res = await get(`/epcis/readPoints/${encodeURIComponent(DOCK)}/events?EQ_bizStep=shipping`);
      expect(res.json<Doc>().epcisBody.queryResults.resultsBody.eventList).to.have.length(1);
    });
  });

  describe("OPTIONS (the binding's discovery)", function () {
    it("answers 204 with the methods of each resource and the versions, without a token", async function () {
      const cases: [string, string][] = [
        // POST /epcis/events is capture's, not registered in this app.
        ["/epcis/events", "OPTIONS, GET, HEAD"],
        [`/epcis/events/${encodeURIComponent("urn:uuid:anything")}`, "OPTIONS, GET, HEAD"],
        ["/epcis/eventTypes", "OPTIONS, GET, HEAD"],
        ["/epcis/eventTypes/ObjectEvent/events", "OPTIONS, GET, HEAD"],
        [`/epcis/epcs/${encodeURIComponent(SER("Q1"))}/events`, "OPTIONS, GET, HEAD"],
        ["/epcis/bizSteps/shipping", "OPTIONS, GET, HEAD"],
        ["/epcis/queries", "OPTIONS, GET, HEAD, POST"],
      ];
      for (const [url, allow] of cases) {
        const res = await t.app.inject({ method: "OPTIONS", url });
        expect(res.statusCode, url).to.equal(204);
        expect(res.headers, url).to.include({
          allow,
          "gs1-epcis-version": "2.0.0",
          "gs1-epcis-min": "2.0.0",
          "gs1-epcis-max": "2.0.0",
          "gs1-cbv-version": "2.0.0",
          "gs1-cbv-min": "2.0.0",
          "gs1-cbv-max": "2.0.0",
          "gs1-epc-format": "Never_Translates",
        });
        expect(res.body, url).to.equal("");
      }
    });

    it("still answers a browser's CORS preflight, as the app's preflight route does", async function () {
      const headers = { origin: "https://example.org", "access-control-request-method": "GET" };
      const ours = await t.app.inject({
        method: "OPTIONS",
        url: "/epcis/events",
        headers: { ...headers, "access-control-request-headers": "gs1-epcis-min" },
      });
      expect(ours.statusCode).to.equal(204);
      expect(ours.headers).to.include({
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "GET, HEAD, OPTIONS",
        "access-control-allow-headers": "gs1-epcis-min",
      });
      expect((await t.app.inject({ method: "OPTIONS", url: "/epcis/events" })).headers).to.not.have.property(
        "access-control-allow-methods",
      );
    });
  });

  describe("errors", function () {
    const problem = async (url: string, status: number, type: string, headers: Record<string, string> = {}) => {
      const res = await get(url, headers);
      expect(res.statusCode, res.body).to.equal(status);
      expect(res.headers["content-type"]).to.match(/^application\/problem\+json/);
      expect(res.headers["gs1-epcis-version"]).to.equal("2.0.0");
      expect(res.headers["gs1-cbv-version"]).to.equal("2.0.0");
      const body = res.json<{ type: string; detail: string }>();
      expect(body.type).to.equal(`epcisException:${type}`);
      return body;
    };

    it("refuses an unknown parameter, naming it", async function () {
      expect((await problem("/epcis/events?EQ_bizstep=shipping", 400, "QueryParameterException")).detail).to.match(
        /EQ_bizstep/,
      );
      expect((await problem("/epcis/bizSteps?EQ_bizStep=x", 400, "QueryParameterException")).detail).to.match(
        /EQ_bizStep/,
      );
    });

    it("refuses unsupported, repeated and malformed parameters", async function () {
      expect((await problem("/epcis/events?EQ_quantity=3", 400, "QueryParameterException")).detail).to.match(
        /not supported/,
      );
      await problem("/epcis/events?EQ_bizStep=a&EQ_bizStep=b", 400, "QueryParameterException");
      await problem("/epcis/events?GE_eventTime=yesterday", 400, "QueryParameterException");
      await problem("/epcis/events?perPage=0", 400, "QueryParameterException");
      await problem("/epcis/events?EQ_action=MOVE", 400, "QueryParameterException");
      await problem("/epcis/events?EQ_bizStep=a||b", 400, "QueryParameterException");
      await problem("/epcis/events?nextPageToken=garbage", 400, "QueryParameterException");
      await problem(
        `/epcis/events?MATCH_epc=${encodeURIComponent("urn:epc:idpat:sgtin:9506000.*.*")}`,
        400,
        "QueryParameterException",
      );
    });

    it("answers malformed query strings and paths with 4xx problems, never 5xx", async function () {
      const urls = [
        "/epcis/events?EQ_bizStep=%00",
        "/epcis/events?%00=1",
        `/epcis/events?MATCH_epc=${"x".repeat(20_000)}`,
        `/epcis/events?MATCH_epc=${Array.from({ length: 101 }, (_, i) => `e${i}`).join("|")}`,
        "/epcis/events?MATCH_epc=urn:epc:idpat:sgtin:*",
        "/epcis/events?GE_eventTime=2024-13-45T99:99:99Z",
        "/epcis/events?perPage=99999999999999999999",
        "/epcis/events?perPage=-1",
        "/epcis/events?nextPageToken=WzEsIngiLDFd",
        `/epcis/events?nextPageToken=${Buffer.from('[1,"x","y"]').toString("base64url")}`,
        "/epcis/events?a[b]=c",
        "/epcis/events?eventType",
        "/epcis/events/%00",
        "/epcis/epcs/%00/events",
        "/epcis/bizSteps/%00/events",
        "/epcis/bizSteps?nextPageToken=%00",
        "/epcis/bizSteps?nextPageToken=WzEsIngiLDFd",
        "/epcis/events/%E0%A4%A",
        "/epcis/nothing",
      ];
      for (const url of urls) {
        const res = await get(url);
        expect(res.statusCode, `${url}: ${res.body}`).to.be.within(400, 499);
        expect(res.headers["content-type"], url).to.match(/^application\/(problem\+)?json/);
      }
    });

    it("is 406 for an Accept it cannot answer", async function () {
      await problem("/epcis/events", 406, "NotAcceptableException", { accept: "application/xml" });
      const ok = await get("/epcis/events?perPage=1", { accept: "application/ld+json" });
      expect(ok.statusCode).to.equal(200);
      expect(ok.headers["content-type"]).to.match(/^application\/ld\+json/);
    });
  });
});

/** A captured event as capture stores it before its batch is anchored (capture_id set, batch_id NULL). */
async function insertCaptured(store: EpcisStore, ev: EpcisEvent): Promise<() => Promise<void>> {
  const capture = "capture-1";
  await storeCapture(store, {
    captureId: capture,
    brandId: ACME.brandId,
    tokenId: "t",
    behaviour: "rollback",
    eventCount: 1,
    events: [{ eventIndex: 0, prepared: prepareEvent(ev) }],
    errors: [],
    now: Date.now(),
  });
  return async () => {
    if (store.engine === "sqlite") {
      store.db.prepare("DELETE FROM epcis_events WHERE capture_id = ?").run(capture);
      store.db.prepare("DELETE FROM epcis_captures WHERE capture_id = ?").run(capture);
    } else {
      await store.pool.query("DELETE FROM trace_state.epcis_events WHERE capture_id = $1", [capture]);
      await store.pool.query("DELETE FROM trace_state.epcis_captures WHERE capture_id = $1", [capture]);
    }
  };
}
