/**
 * Captured events through query, over a real local chain, on both engines: pending (`ta:proof`
 * null, not sent to subscribers), then anchored by the capture worker and ingested, after which the
 * query indexer finds their batch in the mirror and stores nothing twice, every event's proof
 * verifies with the contract's `verify`, and a stream subscription receives them once.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider, Wallet } from "ethers";
import { ethers } from "hardhat";
import { buildApp } from "../../api/app";
import { apiConfig } from "../../api/config";
import { createAnchorChain } from "../../api/epcis/anchor-chain";
import { createDeliverer } from "../../api/epcis/query-subscriptions";
import { createContentSource } from "../../indexer/content-source";
import { createIndexer, type Indexer } from "../../indexer/indexer";
import { createIngester, type Ingester } from "../../indexer/ingest";
import { recordHash, type EpcisEvent } from "../../core/record";
import { prepareEvent, storeCapture } from "../../mirror/epcis/capture";
import { createEpcisQueryStore } from "../../mirror/epcis/query";
import { createQueryIndexer } from "../../mirror/epcis/query-indexer";
import { openEpcisStore, type EpcisStore } from "../../mirror/epcis/store";
import { createCaptureWorker, type AnchorChain } from "../../mirror/epcis/worker";
import { createMirrorReader, type MirrorReader } from "../../mirror/read";
import type { MirrorStore } from "../../mirror/store";
import { TraceAnchor__factory } from "../../typechain-types";
import { describeEngines, openTestStore } from "../helpers/engines";
import { createTestSystem, type TestSystem, nameCaptureSubmitter, indexAndIngest } from "../helpers/system";
import { DEV_KEYS, startRpcServer, type RpcServer } from "../scripts/rpc";

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

const event = (serial: string): EpcisEvent => ({
  type: "ObjectEvent",
  eventTime: "2026-11-05T10:00:00.000Z",
  eventTimeZoneOffset: "+00:00",
  action: "OBSERVE",
  bizStep: "receiving",
  epcList: [`urn:epc:id:sgtin:9506000.013435.${serial}`],
});

interface TaProof {
  salt: string;
  recordHash: string;
  proof: string[];
  root: string;
  anchor: { brandId: string };
}

type Doc = { epcisBody: { queryResults: { resultsBody: { eventList: Record<string, unknown>[] } } } };

describeEngines("EPCIS query of captured events", function (engine) {
  this.timeout(180_000);
  let rpc: RpcServer;
  let system: TestSystem;
  let mirror: MirrorStore;
  let store: EpcisStore;
  let reader: MirrorReader;
  let indexer: Indexer;
  let ingester: Ingester;
  let chain: AnchorChain;
  let contentDir: string;

  before(async function () {
    rpc = await startRpcServer();
    system = await createTestSystem(rpc.url);
    contentDir = system.env.TRACE_CONTENT_DIR!;
    const provider = new JsonRpcProvider(rpc.url, undefined, { cacheTimeout: -1 });
    const service = new Wallet(DEV_KEYS[3], provider);
    const named = await nameCaptureSubmitter(system, service.address);
    expect(named.code, named.stderr).to.equal(0);
    mirror = await openTestStore(engine, "epcis_query_capture");
    store = openEpcisStore(mirror, engine === "sqlite" ? path.join(system.dir, "epcis.db") : mirror.location);
    reader = createMirrorReader(mirror);
    indexer = createIndexer({
      store: mirror,
      provider,
      contract: system.contract,
      log: silent,
      config: { fromBlock: Math.max(0, (await provider.getBlockNumber()) - 10), confirmations: 0 },
    });
    ingester = createIngester({
      store: mirror,
      source: createContentSource({ contentDir, maxBytes: 2 ** 30, timeoutMs: 10_000 }),
      log: silent,
    });
    chain = await createAnchorChain({
      registry: TraceAnchor__factory.connect(system.contract, service),
      signer: service,
    });
  });

  after(async function () {
    reader?.close();
    await store?.close();
    await mirror?.close();
    await rpc?.close();
  });

  const index = (): Promise<void> => indexAndIngest(indexer, ingester);

  it("shows captured events pending, then anchored with proofs the contract verifies; sends them once", async function () {
    await index();
    const received: string[] = [];
    const hook = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        received.push(Buffer.concat(chunks).toString("utf8"));
        res.end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, "127.0.0.1", resolve));
    const app = await buildApp({
      db: mirror,
      config: apiConfig({ rateLimit: 0, scans: false, contentDir }),
      processMetrics: false,
      epcis: { query: { store, mirror, allowPrivateWebhooks: true } },
    });
    const deliverer = createDeliverer({ store, mirror, allowPrivate: true });
    const query = createEpcisQueryStore(store);
    try {
      const started = new Date(Date.now() - 1_000).toISOString();
      await app.inject({
        method: "POST",
        url: "/epcis/queries",
        payload: { name: "received", query: { EQ_bizStep: ["receiving"] } },
      });
      const subscribed = await app.inject({
        method: "POST",
        url: "/epcis/queries/received/subscriptions",
        payload: {
          dest: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/`,
          stream: true,
          initialRecordTime: started,
        },
      });
      expect(subscribed.statusCode, subscribed.body).to.equal(201);
      await storeCapture(store, {
        captureId: "c1",
        brandId: 1,
        tokenId: "t1",
        behaviour: "rollback",
        eventCount: 3,
        events: ["R1", "R2", "R3"].map((serial, eventIndex) => ({ eventIndex, prepared: prepareEvent(event(serial)) })),
        errors: [],
        now: Date.now(),
      });
      const list = async (): Promise<Record<string, unknown>[]> =>
        (await app.inject({ url: "/epcis/events?EQ_bizStep=receiving" })).json<Doc>().epcisBody.queryResults.resultsBody
          .eventList;
      expect((await list()).map((e) => e["ta:proof"])).to.deep.equal([null, null, null]);
      expect(await deliverer.runOnce()).to.equal(0);

      const clock = Date.now() + 61_000;
      const worker = createCaptureWorker({
        store,
        chain,
        contentDir,
        log: silent,
        config: { batchSeconds: 60, batchEvents: 10_000 },
        now: () => clock,
      });
      expect(await worker.tick()).to.deep.include({ built: 1, anchored: 1 });
      await index();
      // The worker's batch is a trace batch of the mirror like a CLI one: indexed, nothing stored twice.
      expect(await createQueryIndexer({ reader, query }).runOnce()).to.equal(1);
      const events = await list();
      expect(events).to.have.length(3);
      const verifier = TraceAnchor__factory.connect(system.contract, ethers.provider);
      for (const { "ta:proof": value, ...ev } of events) {
        const proof = value as TaProof;
        expect(recordHash({ v: 1, kind: "trace", salt: proof.salt, event: ev as never })).to.equal(proof.recordHash);
        const leaf = await verifier.leafOf(proof.recordHash);
        expect(await verifier.verify(proof.anchor.brandId, proof.root, proof.proof, leaf)).to.equal(true);
      }

      expect(await deliverer.runOnce()).to.equal(1);
      expect(await deliverer.runOnce()).to.equal(0);
      expect(received).to.have.length(1);
      const sent = (JSON.parse(received[0]!) as Doc).epcisBody.queryResults.resultsBody.eventList;
      expect(sent.map((e) => e.epcList)).to.deep.equal(events.map((e) => e.epcList));
    } finally {
      deliverer.close();
      await app.close();
      await new Promise<void>((resolve) => hook.close(() => resolve()));
    }
  });
});
