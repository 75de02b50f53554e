/**
 * Named queries and subscriptions on both engines: POST/GET/DELETE /epcis/queries, a named query's
 * events, subscriptions refused on private destinations unless allowed, and the deliverer: signed
 * EPCISQueryDocuments of anchored matching events with their proofs, never the same event twice,
 * retried with back-off after a failure, captured events only once anchored, scheduled runs.
 */
import { createHash, createHmac } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { createDeliverer, isPrivateAddress, parseSchedule, scheduleFires } from "../../api/epcis/query-subscriptions";
import { openDatabase } from "../../mirror/db";
import { createMirrorReader } from "../../mirror/read";
import { createEpcisQueryStore } from "../../mirror/epcis/query";
import { createQueryIndexer } from "../../mirror/epcis/query-indexer";
import { openEpcisStore, sqliteEpcisStore, type EpcisStore } from "../../mirror/epcis/store";
import { sqliteStore, type MirrorStore } from "../../mirror/store";
import { describeEngines } from "../helpers/engines";
import { createMirrorFixture, type MirrorFixture } from "./fixtures";
import { buildTestApp, closePgMirror, pgMirrorOf, type TestApp } from "./helper";

interface Received {
  readonly body: string;
  readonly signature: string | undefined;
}

type Doc = {
  epcisBody: {
    queryResults: {
      queryName: string;
      subscriptionID?: string;
      resultsBody: { eventList: Record<string, unknown>[] };
    };
  };
};

/** A subscriber on 127.0.0.1 that records what it receives and answers `status`. */
async function subscriber(): Promise<{ url: string; received: Received[]; status: number; close(): Promise<void> }> {
  const state = { received: [] as Received[], status: 200 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      state.received.push({
        body: Buffer.concat(chunks).toString("utf8"),
        signature: req.headers["gs1-signature"] as string | undefined,
      });
      res.statusCode = state.status;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    get received() {
      return state.received;
    },
    get status() {
      return state.status;
    },
    set status(value: number) {
      state.status = value;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const SHIPPING_QUERY = { name: "shipments", query: { EQ_bizStep: ["shipping", "receiving"] } };

describeEngines("EPCIS named queries and subscriptions", function (engine) {
  let fixture: MirrorFixture;
  let mirror: MirrorStore;
  let epcis: EpcisStore;
  let t: TestApp;
  let dir: string;

  before(async function () {
    this.timeout(60_000);
    fixture = await createMirrorFixture();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ta-epcis-subs-"));
    if (engine === "postgres") {
      mirror = await pgMirrorOf(fixture);
      epcis = openEpcisStore(mirror, "");
    } else {
      mirror = sqliteStore(openDatabase(fixture.dbPath, { readonly: true }));
      epcis = sqliteEpcisStore(openDatabase(path.join(dir, "epcis.db")));
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
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(async function () {
    t = await buildTestApp(fixture, {
      engine,
      epcis: { query: { store: epcis, mirror, allowPrivateWebhooks: true } },
    });
  });

  afterEach(async function () {
    await t.app.inject({ method: "DELETE", url: "/epcis/queries/shipments" });
    await t?.close();
  });

  const post = (url: string, payload: unknown) => t.app.inject({ method: "POST", url, payload: payload as object });
  const get = (url: string) => t.app.inject({ method: "GET", url });

  describe("named queries", function () {
    it("creates a query (201, Location), refuses the same name again (409) and answers it", async function () {
      const created = await post("/epcis/queries", SHIPPING_QUERY);
      expect(created.statusCode, created.body).to.equal(201);
      expect(created.headers.location).to.equal("/epcis/queries/shipments");
      const again = await post("/epcis/queries", SHIPPING_QUERY);
      expect(again.statusCode).to.equal(409);
      expect(again.json()).to.include({ type: "epcisException:ResourceAlreadyExistsException" });
      expect((await get("/epcis/queries/shipments")).json()).to.deep.equal(SHIPPING_QUERY);
      expect((await get("/epcis/queries")).json()).to.deep.equal([SHIPPING_QUERY]);
    });

    it("answers the named query's events under its name", async function () {
      await post("/epcis/queries", SHIPPING_QUERY);
      const res = await get("/epcis/queries/shipments/events");
      expect(res.statusCode, res.body).to.equal(200);
      const doc = res.json<Doc>();
      expect(doc.epcisBody.queryResults.queryName).to.equal("shipments");
      expect(doc.epcisBody.queryResults.resultsBody.eventList.map((e) => e.bizStep)).to.deep.equal(["shipping"]);
      expect((await get("/epcis/queries/shipments/events?EQ_action=ADD")).statusCode).to.equal(400);
    });

    it("refuses a query with a bad parameter, naming it, and stores nothing", async function () {
      const res = await post("/epcis/queries", { name: "bad", query: { EQ_bizstep: ["shipping"] } });
      expect(res.statusCode).to.equal(400);
      expect(res.json<{ type: string; detail: string }>()).to.include({
        type: "epcisException:QueryParameterException",
      });
      expect(res.json<{ detail: string }>().detail).to.match(/EQ_bizstep/);
      expect((await get("/epcis/queries/bad")).statusCode).to.equal(404);
    });

    it("deletes a query and its subscriptions", async function () {
      await post("/epcis/queries", SHIPPING_QUERY);
      await post("/epcis/queries/shipments/subscriptions", { dest: "https://example.com/hook", stream: true });
      expect((await t.app.inject({ method: "DELETE", url: "/epcis/queries/shipments" })).statusCode).to.equal(204);
      expect((await get("/epcis/queries/shipments")).statusCode).to.equal(404);
      expect((await get("/epcis/queries/shipments/subscriptions")).statusCode).to.equal(404);
    });
  });

  describe("subscriptions", function () {
    it("refuses loopback and private destinations unless allowed", async function () {
      await t.close();
      t = await buildTestApp(fixture, { engine, epcis: { query: { store: epcis, mirror } } });
      await post("/epcis/queries", SHIPPING_QUERY);
      for (const dest of ["http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.1.2.3/x", "http://[::1]/x"]) {
        const res = await post("/epcis/queries/shipments/subscriptions", { dest, stream: true });
        expect(res.statusCode, dest).to.equal(400);
        expect(res.json()).to.include({ type: "epcisException:SubscriptionControlsException" });
      }
      expect(isPrivateAddress("192.168.1.1")).to.equal(true);
      expect(isPrivateAddress("::ffff:127.0.0.1")).to.equal(true);
      expect(isPrivateAddress("93.184.216.34")).to.equal(false);
    });

    it("refuses a subscription with neither stream nor schedule", async function () {
      await post("/epcis/queries", SHIPPING_QUERY);
      const res = await post("/epcis/queries/shipments/subscriptions", { dest: "https://example.com/hook" });
      expect(res.statusCode).to.equal(400);
      expect(res.json()).to.include({ type: "epcisException:SubscriptionControlsException" });
    });

    it("delivers matching anchored events once, signed, with proofs; retries a failure with the same events", async function () {
      const hook = await subscriber();
      let now = Date.now();
      const deliverer = createDeliverer({ store: epcis, mirror, allowPrivate: true, now: () => now });
      try {
        await post("/epcis/queries", SHIPPING_QUERY);
        hook.status = 500;
        const created = await post("/epcis/queries/shipments/subscriptions", {
          dest: hook.url,
          signatureToken: "s3cret",
          stream: true,
          initialRecordTime: "2000-01-01T00:00:00Z",
        });
        expect(created.statusCode, created.body).to.equal(201);
        const id = created.json<{ subscriptionID: string }>().subscriptionID;
        expect(created.headers.location).to.equal(`/epcis/queries/shipments/subscriptions/${id}`);
        expect(created.body).to.not.include("s3cret");

        expect(await deliverer.runOnce()).to.equal(0);
        expect(hook.received).to.have.length(1);
        const status = (await get(`/epcis/queries/shipments/subscriptions/${id}`)).json<{ attempts: number }>();
        expect(status.attempts).to.equal(1);
        // Backing off: nothing is sent before the next attempt is due.
        expect(await deliverer.runOnce()).to.equal(0);
        expect(hook.received).to.have.length(1);

        hook.status = 200;
        now += 60_000;
        expect(await deliverer.runOnce()).to.equal(1);
        expect(hook.received).to.have.length(2);
        const [failed, sent] = hook.received as [Received, Received];
        expect(sent.signature).to.equal(createHmac("sha256", "s3cret").update(sent.body).digest("hex"));
        const doc = JSON.parse(sent.body) as Doc;
        expect(doc.epcisBody.queryResults).to.include({ queryName: "shipments", subscriptionID: id });
        const events = doc.epcisBody.queryResults.resultsBody.eventList;
        expect(events.map((e) => e.bizStep)).to.deep.equal(["shipping"]);
        expect((JSON.parse(failed.body) as Doc).epcisBody.queryResults.resultsBody.eventList).to.deep.equal(events);
        const proof = events[0]!["ta:proof"] as { root: string; recordHash: string; proof: string[] };
        expect(StandardMerkleTree.verify(proof.root, ["bytes32"], [proof.recordHash], proof.proof)).to.equal(true);

        now += 60_000;
        expect(await deliverer.runOnce()).to.equal(0);
        expect(hook.received).to.have.length(2);
      } finally {
        deliverer.close();
        await hook.close();
      }
    });

    it("sends nothing for events recorded before the subscription started", async function () {
      const hook = await subscriber();
      const deliverer = createDeliverer({ store: epcis, mirror, allowPrivate: true });
      try {
        await post("/epcis/queries", SHIPPING_QUERY);
        await post("/epcis/queries/shipments/subscriptions", { dest: hook.url, stream: true });
        expect(await deliverer.runOnce()).to.equal(0);
        expect(hook.received).to.have.length(0);
      } finally {
        deliverer.close();
        await hook.close();
      }
    });

    it("does not send a captured event that is not anchored yet", async function () {
      const hook = await subscriber();
      const deliverer = createDeliverer({ store: epcis, mirror, allowPrivate: true });
      const query = createEpcisQueryStore(epcis);
      try {
        await post("/epcis/queries", SHIPPING_QUERY);
        await post("/epcis/queries/shipments/subscriptions", { dest: hook.url, stream: true });
        const ev = { type: "ObjectEvent", action: "OBSERVE", bizStep: "shipping", eventID: "urn:uuid:pending-sub" };
        const text = JSON.stringify(ev);
        await query.insertEvents([
          {
            eventId: ev.eventID,
            correction: false,
            brandId: 1,
            captureId: "capture-sub",
            contentHash: createHash("sha256").update(text).digest(),
            recordHash: createHash("sha256").update(`record ${text}`).digest(),
            salt: "0".repeat(32),
            event: text,
            eventType: "ObjectEvent",
            eventTime: Date.now(),
            recordTime: Date.now() + 1_000,
            action: "OBSERVE",
            bizStep: "shipping",
            disposition: null,
            readPoint: null,
            bizLocation: null,
            epcs: [],
          },
        ]);
        expect(
          (await get("/epcis/queries/shipments/events")).json<Doc>().epcisBody.queryResults.resultsBody.eventList,
        ).to.have.length(2);
        expect(await deliverer.runOnce()).to.equal(0);
        expect(hook.received).to.have.length(0);
      } finally {
        deliverer.close();
        await hook.close();
        if (epcis.engine === "sqlite")
          epcis.db.prepare("DELETE FROM epcis_events WHERE capture_id = 'capture-sub'").run();
        else await epcis.pool.query("DELETE FROM trace_state.epcis_events WHERE capture_id = 'capture-sub'");
      }
    });

    it("runs a scheduled subscription when its schedule fires, empty when it asked for reportIfEmpty", async function () {
      const hook = await subscriber();
      const start = Date.parse("2030-01-01T01:04:58Z");
      let now = start;
      const deliverer = createDeliverer({ store: epcis, mirror, allowPrivate: true, now: () => now });
      try {
        await post("/epcis/queries", { name: "shipments", query: { EQ_bizStep: ["receiving"] } });
        const created = await post("/epcis/queries/shipments/subscriptions", {
          dest: hook.url,
          schedule: { hour: "1", minute: "5" },
          reportIfEmpty: true,
        });
        expect(created.statusCode, created.body).to.equal(201);
        expect(await deliverer.runOnce()).to.equal(0);
        now = start + 3_000;
        expect(await deliverer.runOnce()).to.equal(1);
        const doc = JSON.parse(hook.received[0]!.body) as Doc;
        expect(doc.epcisBody.queryResults.resultsBody.eventList).to.deep.equal([]);
        now += 1_000;
        expect(await deliverer.runOnce()).to.equal(0);
      } finally {
        deliverer.close();
        await hook.close();
      }
    });

    it("parses schedules as the REST binding writes them", function () {
      const schedule = parseSchedule({ hour: "1", minute: "5,[10-12]" });
      expect(scheduleFires(schedule, new Date("2030-01-01T01:05:00Z"))).to.equal(true);
      expect(scheduleFires(schedule, new Date("2030-01-01T01:11:00Z"))).to.equal(true);
      expect(scheduleFires(schedule, new Date("2030-01-01T01:05:01Z"))).to.equal(false);
      expect(scheduleFires(schedule, new Date("2030-01-01T02:05:00Z"))).to.equal(false);
      expect(() => parseSchedule({ minute: "61" })).to.throw(/minute/);
      expect(() => parseSchedule({})).to.throw(/no field/);
    });
  });
});
