/**
 * EPCIS capture through `traceanchor serve` as deployed, on both engines: a token from
 * `capture token create`, the brand's consent read from the indexed mirror (403 before the brand
 * names the service's account, 202 after), and the captured events anchored by serve's own
 * worker and key, ingested by its indexer, with proofs served at /v1/proofs.
 */
import { PassThrough } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { expect } from "chai";
import { Wallet } from "ethers";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { runService } from "../../scripts/commands/service";
import { loadConfig } from "../../scripts/lib/config";
import { Output } from "../../scripts/lib/output";
import { describeEngines, testMirrorLocation } from "../helpers/engines";
import { createTestSystem, type TestSystem, nameCaptureSubmitter } from "../helpers/system";
import { DEV_KEYS, startRpcServer, type RpcServer } from "../scripts/rpc";

const CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

function document(serials: readonly string[]): string {
  return JSON.stringify({
    "@context": [CONTEXT],
    type: "EPCISDocument",
    schemaVersion: "2.0",
    creationDate: "2026-11-01T00:00:00Z",
    epcisBody: {
      eventList: serials.map((serial) => ({
        type: "ObjectEvent",
        eventTime: "2026-11-01T10:00:00.000+08:00",
        eventTimeZoneOffset: "+08:00",
        epcList: [`urn:epc:id:sgtin:9506000.013435.${serial}`],
        action: "OBSERVE",
        bizStep: "shipping",
      })),
    },
  });
}

describeEngines("EPCIS capture in traceanchor serve", function (engine) {
  this.timeout(120_000);
  let rpc: RpcServer;
  let system: TestSystem;

  before(async function () {
    rpc = await startRpcServer();
    system = await createTestSystem(rpc.url);
  });
  after(async function () {
    await rpc?.close();
  });

  it("captures with a CLI token, refuses until the brand consents on chain, then anchors and proves", async function () {
    const service = new Wallet(DEV_KEYS[3]);
    const db = await testMirrorLocation(engine, "epcis_serve");
    const env = {
      ...system.env,
      TRACE_DB: db,
      TRACE_SCANS: "off",
      TRACE_PORT: "0",
      TRACE_RATE_LIMIT: "0",
      TRACE_LOG_LEVEL: "silent",
      TRACE_PRIVATE_KEY: DEV_KEYS[3],
      TRACE_CAPTURE_BATCH_SECONDS: "1",
      TRACE_INDEX_POLL_MS: "100",
    };
    const made = await system.as(0, ["capture", "token", "create", "--brand", "1", "--label", "erp"], { TRACE_DB: db });
    expect(made.code, made.stderr).to.equal(0);
    const token = made.json.token as string;

    let stop: (reason: string) => void = () => undefined;
    const until = new Promise<string>((resolve) => (stop = resolve));
    let ready: (url: string) => void = () => undefined;
    const listening = new Promise<string>((resolve) => (ready = resolve));
    const out = new Output({ stdout: new PassThrough(), stderr: new PassThrough(), env, cwd: system.dir }, false);
    const running = runService(
      loadConfig(env, {}, system.dir),
      env,
      { index: true, serve: true, until, onReady: (info) => ready(info.url ?? "") },
      out,
    );
    try {
      const url = await listening;
      const post = (serials: string[]) =>
        fetch(`${url}/epcis/capture`, {
          method: "POST",
          body: document(serials),
          headers: { authorization: `Bearer ${token}`, "content-type": "application/ld+json" },
        });
      await sleep(1500); // the indexer's first pass
      const refused = await post(["V0"]);
      expect(refused.status).to.equal(403);
      expect(((await refused.json()) as { detail: string }).detail).to.include(service.address);

      const named = await nameCaptureSubmitter(system, service.address);
      expect(named.code, named.stderr).to.equal(0);
      let accepted: Response | undefined;
      for (let i = 0; i < 50 && accepted?.status !== 202; i++) {
        await sleep(200);
        accepted = await post(["V1", "V2"]);
      }
      expect(accepted?.status).to.equal(202);
      const location = accepted!.headers.get("location")!;

      let job: { anchor: { root: string; txHash: string } | null } = { anchor: null };
      for (let i = 0; i < 100 && job.anchor === null; i++) {
        await sleep(200);
        job = (await (
          await fetch(`${url}${location}`, { headers: { authorization: `Bearer ${token}` } })
        ).json()) as typeof job;
      }
      expect(job.anchor?.root).to.match(/^0x[0-9a-f]{64}$/);

      // serve's indexer ingests the batch's content like a CLI batch's; every record's proof verifies.
      let page: { records?: { recordHash: string }[] } = {};
      for (let i = 0; i < 100 && page.records === undefined; i++) {
        await sleep(200);
        const response = await fetch(`${url}/v1/batches/1/${job.anchor!.root}/records`);
        if (response.status === 200) page = (await response.json()) as typeof page;
      }
      expect(page.records).to.have.length(2);
      for (const { recordHash } of page.records!) {
        const proved = (await (await fetch(`${url}/v1/proofs/${recordHash}`)).json()) as {
          root: string;
          proof: string[];
        };
        expect(proved.root).to.equal(job.anchor?.root);
        expect(StandardMerkleTree.verify(proved.root, ["bytes32"], [recordHash], proved.proof)).to.equal(true);
      }
    } finally {
      stop("test done");
      await running;
    }
  });
});
