/**
 * Captured events anchored by the capture worker, over a real local chain, on both engines: the
 * batch is anchored with the service's key once due (count or age), the indexer ingests its content
 * from the content directory like a CLI batch, the job shows the anchor, and every event's proof
 * verifies with OpenZeppelin's library and the contract's `verify`. Then the worker runs in a child
 * process killed (SIGKILL) at each step of a batch and restarted: every event is anchored exactly
 * once.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider, Wallet } from "ethers";
import { ethers } from "hardhat";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { buildApp } from "../../api/app";
import { apiConfig } from "../../api/config";
import { createAnchorChain } from "../../api/epcis/anchor-chain";
import { createContentSource } from "../../indexer/content-source";
import { createIndexer, type Indexer } from "../../indexer/indexer";
import { createIngester, type Ingester } from "../../indexer/ingest";
import { prepareEvent, storeCapture } from "../../mirror/epcis/capture";
import { openEpcisStore, type EpcisStore } from "../../mirror/epcis/store";
import { createToken } from "../../mirror/epcis/tokens";
import { createCaptureWorker, type AnchorChain } from "../../mirror/epcis/worker";
import { createMirrorReader, type MirrorReader } from "../../mirror/read";
import type { MirrorStore } from "../../mirror/store";
import { TraceAnchor__factory, type TraceAnchor } from "../../typechain-types";
import type { EpcisEvent } from "../../core/record";
import { describeEngines, openTestStore } from "../helpers/engines";
import { createTestSystem, type TestSystem, nameCaptureSubmitter, indexAndIngest } from "../helpers/system";
import { DEV_KEYS, startRpcServer, type RpcServer } from "../scripts/rpc";

const ROOT = path.resolve(__dirname, "..", "..");
const CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function objectEvent(serial: string): EpcisEvent {
  return {
    type: "ObjectEvent",
    eventTime: "2026-11-01T10:00:00.000+08:00",
    eventTimeZoneOffset: "+08:00",
    epcList: [`urn:epc:id:sgtin:9506000.013435.${serial}`],
    action: "OBSERVE",
    bizStep: "shipping",
  };
}

function documentOf(events: readonly object[]): Record<string, unknown> {
  return {
    "@context": [CONTEXT],
    type: "EPCISDocument",
    schemaVersion: "2.0",
    creationDate: "2026-11-01T00:00:00Z",
    epcisBody: { eventList: events },
  };
}

async function query<T>(store: EpcisStore, sql: string): Promise<T[]> {
  if (store.engine === "sqlite") return store.db.prepare(sql).all() as T[];
  return (await store.pool.query(sql.replace(/\bepcis_/g, "trace_state.epcis_"))).rows as T[];
}

interface Proved {
  recordHash: string;
  proof: string[];
  root: string;
  anchor: { brandId: string };
}

describeEngines("EPCIS capture anchoring", function (engine) {
  this.timeout(180_000);
  let rpc: RpcServer;
  let system: TestSystem;
  let mirror: MirrorStore;
  let store: EpcisStore;
  let reader: MirrorReader;
  let indexer: Indexer;
  let ingester: Ingester;
  let service: Wallet;
  let chain: AnchorChain;
  let registry: TraceAnchor;
  let contentDir: string;
  let epcisLocation: string;

  before(async function () {
    rpc = await startRpcServer();
    system = await createTestSystem(rpc.url);
    contentDir = system.env.TRACE_CONTENT_DIR!;
    const provider = new JsonRpcProvider(rpc.url, undefined, { cacheTimeout: -1 });
    service = new Wallet(DEV_KEYS[3], provider);
    const named = await nameCaptureSubmitter(system, service.address);
    expect(named.code, named.stderr).to.equal(0);
    mirror = await openTestStore(engine, "epcis_anchor");
    epcisLocation = engine === "sqlite" ? path.join(system.dir, "epcis.db") : mirror.location;
    store = openEpcisStore(mirror, epcisLocation);
    reader = createMirrorReader(mirror);
    const fromBlock = (await provider.getBlockNumber()) - 10;
    indexer = createIndexer({
      store: mirror,
      provider,
      contract: system.contract,
      log: silent,
      config: { fromBlock: Math.max(0, fromBlock), confirmations: 0 },
    });
    ingester = createIngester({
      store: mirror,
      source: createContentSource({ contentDir, maxBytes: 2 ** 30, timeoutMs: 10_000 }),
      log: silent,
    });
    registry = TraceAnchor__factory.connect(system.contract, service);
    chain = await createAnchorChain({ registry, signer: service });
  });
  after(async function () {
    reader?.close();
    await store?.close();
    await mirror?.close();
    await rpc?.close();
  });

  const index = (): Promise<void> => indexAndIngest(indexer, ingester);

  it("anchors due events as a trace batch the indexer ingests; the job shows the anchor and every proof verifies", async function () {
    await index();
    const token = (await createToken(store, { brandId: 1 })).token;
    const app = await buildApp({
      db: mirror,
      config: apiConfig({ rateLimit: 0, scans: false, contentDir }),
      processMetrics: false,
      epcis: {
        capture: { store, account: service.address, submitters: (brandId) => reader.brands.submitters(brandId) },
      },
    });
    try {
      const response = await app.inject({
        method: "POST",
        url: "/epcis/capture",
        payload: documentOf(["N1", "N2", "N3"].map(objectEvent)),
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      });
      expect(response.statusCode, response.body).to.equal(202);
      const location = response.headers.location as string;

      let clock = Date.now();
      const worker = createCaptureWorker({
        store,
        chain,
        contentDir,
        log: silent,
        config: { batchSeconds: 60, batchEvents: 10_000 },
        now: () => clock,
      });
      expect(await worker.tick()).to.deep.equal({ built: 0, anchored: 0, failed: 0 }); // not due yet
      clock += 61_000;
      expect(await worker.tick()).to.deep.equal({ built: 1, anchored: 1, failed: 0 });

      const job = (await app.inject({ url: location, headers: { authorization: `Bearer ${token}` } })).json<{
        anchor: { root: string; txHash: string; block: number };
      }>();
      expect(job.anchor.root).to.match(/^0x[0-9a-f]{64}$/);
      const receipt = await service.provider!.getTransactionReceipt(job.anchor.txHash);
      expect(receipt?.blockNumber).to.equal(job.anchor.block);
      expect(receipt?.from).to.equal(service.address);
      expect(fs.existsSync(path.join(contentDir, `${job.anchor.root}.ndjson`))).to.equal(true);

      await index();
      const anchor = await reader.anchors.get(1, job.anchor.root);
      expect(anchor?.contentStatus).to.equal("ok");
      const events = await query<{ record_hash: Buffer }>(store, "SELECT record_hash FROM epcis_events ORDER BY seq");
      expect(events).to.have.length(3);
      const verifier = TraceAnchor__factory.connect(system.contract, ethers.provider);
      for (const { record_hash } of events) {
        const hash = `0x${Buffer.from(record_hash).toString("hex")}`;
        const proved = (await app.inject({ url: `/v1/proofs/${hash}` })).json<Proved>();
        expect(proved.root).to.equal(job.anchor.root);
        expect(StandardMerkleTree.verify(proved.root, ["bytes32"], [hash], proved.proof)).to.equal(true);
        expect(await verifier.verify(1, proved.root, proved.proof, await verifier.leafOf(hash))).to.equal(true);
      }
    } finally {
      await app.close();
    }
  });

  it("a batch is made as soon as TRACE_CAPTURE_BATCH_EVENTS wait, of whole capture jobs", async function () {
    const jobs = ["J1", "J2", "J3"].map((s, i) => ({
      captureId: `cap_count_${engine}_${i}`,
      events: [objectEvent(`${s}a`), objectEvent(`${s}b`)],
    }));
    for (const job of jobs)
      await storeCapture(store, {
        captureId: job.captureId,
        brandId: 1,
        tokenId: "tok_test",
        behaviour: "rollback",
        eventCount: 2,
        events: job.events.map((e, eventIndex) => ({ eventIndex, prepared: prepareEvent(e) })),
        errors: [],
        now: Date.now(),
      });
    const worker = createCaptureWorker({
      store,
      chain,
      contentDir,
      log: silent,
      config: { batchSeconds: 3600, batchEvents: 3 },
    });
    // 6 pending ≥ 3: the oldest 3 events are in jobs 0 and 1, so the batch holds those two jobs whole.
    expect(await worker.tick()).to.deep.equal({ built: 1, anchored: 1, failed: 0 });
    const batches = await query<{ event_count: number }>(
      store,
      "SELECT event_count FROM epcis_batches ORDER BY batch_id DESC LIMIT 1",
    );
    expect(Number(batches[0]?.event_count)).to.equal(4);
    expect(await worker.tick()).to.deep.equal({ built: 0, anchored: 0, failed: 0 }); // 2 left, not due
  });

  it("a batch that cannot be sent is retried every pass, and holds up only its own brand", async function () {
    const anchoredOn = new Map<string, { txHash: string; block: number }>();
    let brand7Down = true;
    const fake: AnchorChain = {
      account: service.address,
      findAnchor: (brandId, root) => Promise.resolve(anchoredOn.get(`${brandId}:${root}`)),
      async sendAnchor(brandId, batch, onSent) {
        if (brandId === 7 && brand7Down) throw new Error("RPC down");
        await onSent(`0x${"ab".repeat(32)}`);
        const found = { txHash: `0x${"ab".repeat(32)}`, block: 1 };
        anchoredOn.set(`${brandId}:${batch.root}`, found);
        return found;
      },
    };
    // A store of its own: the batches this fake chain "anchors" are not on the real one.
    const ownMirror = await openTestStore(engine, "epcis_anchor_fake");
    const own = openEpcisStore(ownMirror, path.join(system.dir, "epcis-fake.db"));
    for (const brandId of [7, 8])
      await storeCapture(own, {
        captureId: `cap_fail_${engine}_${brandId}`,
        brandId,
        tokenId: "tok_test",
        behaviour: "rollback",
        eventCount: 1,
        events: [{ eventIndex: 0, prepared: prepareEvent(objectEvent(`F${brandId}`)) }],
        errors: [],
        now: Date.now(),
      });
    const dir = fs.mkdtempSync(path.join(system.dir, "fake-content-"));
    const worker = createCaptureWorker({
      store: own,
      chain: fake,
      contentDir: dir,
      log: silent,
      config: { batchSeconds: 1, batchEvents: 10_000 },
      now: () => Date.now() + 5_000,
    });
    expect(await worker.tick()).to.deep.equal({ built: 2, anchored: 1, failed: 1 });
    expect(await worker.tick()).to.deep.equal({ built: 0, anchored: 0, failed: 1 });
    brand7Down = false;
    expect(await worker.tick()).to.deep.equal({ built: 0, anchored: 1, failed: 0 });
    const states = await query<{ brand_id: number; state: string }>(
      own,
      "SELECT brand_id, state FROM epcis_batches ORDER BY brand_id",
    );
    await own.close();
    await ownMirror.close();
    expect(states.map((b) => [Number(b.brand_id), b.state])).to.deep.equal([
      [7, "anchored"],
      [8, "anchored"],
    ]);
  });

  it("kill -9 at every step of a batch, restarted: every event is anchored exactly once", async function () {
    const steps = ["built", "content", "sent", "anchored"];
    let serial = 0;
    const capture = async (n: number): Promise<void> => {
      const events = Array.from({ length: n }, () => objectEvent(`K${engine}${serial++}`));
      await storeCapture(store, {
        captureId: `cap_kill_${engine}_${serial}`,
        brandId: 1,
        tokenId: "tok_test",
        behaviour: "rollback",
        eventCount: n,
        events: events.map((e, eventIndex) => ({ eventIndex, prepared: prepareEvent(e) })),
        errors: [],
        now: Date.now(),
      });
    };
    const runChild = (kill?: { step: string; nth: number }): Promise<number | null> =>
      new Promise((resolve, reject) => {
        const child = spawn(
          process.execPath,
          ["-r", "ts-node/register/transpile-only", path.join(ROOT, "test", "api", "epcis-anchor-child.ts")],
          {
            cwd: ROOT,
            env: {
              ...process.env,
              TA_EPCIS: epcisLocation,
              TA_RPC_URL: rpc.url,
              TA_CONTRACT: system.contract,
              TA_KEY: DEV_KEYS[3],
              TA_CONTENT_DIR: contentDir,
              ...(kill === undefined ? {} : { TA_KILL_STEP: kill.step, TA_KILL_NTH: String(kill.nth) }),
            },
            stdio: ["ignore", "ignore", "pipe"],
          },
        );
        let stderr = "";
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("error", reject);
        child.on("exit", (code, signal) => {
          if (code !== 0 && signal === null) reject(new Error(`worker exited ${code}: ${stderr}`));
          else resolve(code);
        });
      });

    const before = await query<{ n: number }>(store, "SELECT count(*) AS n FROM epcis_events");
    const total = Number(before[0]?.n ?? 0);
    let killed = 0;
    for (const step of steps) {
      await capture(3);
      await capture(2);
      if ((await runChild({ step, nth: 1 + (killed % 2) })) === null) killed++;
    }
    await capture(1);
    expect(await runChild()).to.equal(0);
    expect(killed).to.be.at.least(steps.length - 1);

    const events = await query<{ n: number; pending: number }>(
      store,
      "SELECT count(*) AS n, sum(CASE WHEN batch_id IS NULL THEN 1 ELSE 0 END) AS pending FROM epcis_events",
    );
    expect(Number(events[0]?.n)).to.equal(total + 4 * 5 + 1);
    expect(Number(events[0]?.pending)).to.equal(0);
    const batches = await query<{ root: string; event_count: number; state: string }>(
      store,
      "SELECT root, event_count, state FROM epcis_batches ORDER BY batch_id",
    );
    expect(batches.every((b) => b.state === "anchored")).to.equal(true);
    // On chain: one Anchored log per batch, by the service, with the batch's leaf count.
    const logs = await registry.queryFilter(registry.filters.Anchored(1n, undefined, service.address), 0);
    expect(logs.map((l) => l.args.root).sort()).to.deep.equal(batches.map((b) => b.root).sort());
    const anchored = logs.reduce((sum, l) => sum + Number(l.args.leafCount), 0);
    expect(anchored).to.equal(Number(events[0]?.n));
    // And the indexer ingests every batch's content.
    await index();
    for (const b of batches) expect((await reader.anchors.get(1, b.root))?.contentStatus).to.equal("ok");
  });
});
