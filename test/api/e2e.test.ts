/**
 * End to end over a real local chain: CLI deploy, brand and batches, the real indexer and ingester,
 * the API; every served proof checked with OpenZeppelin's library and the contract's `verify`.
 */
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { ethers } from "hardhat";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { buildApp } from "../../api/app";
import { apiConfig } from "../../api/config";
import { createIngestUpload } from "../../api/upload";
import { TraceAnchor__factory } from "../../typechain-types";
import { describeEngines } from "../helpers/engines";
import { createTestSystem, type TestSystem } from "../helpers/system";
import { startRpcServer, type RpcServer } from "../scripts/rpc";
import { epcisDocument } from "../../core/epcis";

const CSV = "gtin,serial,lot\n09506000134352,SN1,L1\n09506000134352,SN2,L1\n09506000134352,SN3,L2\n";
const EPCIS = JSON.stringify(
  epcisDocument(
    [
      {
        type: "ObjectEvent",
        eventTime: "2026-11-01T10:00:00+08:00",
        eventTimeZoneOffset: "+08:00",
        action: "ADD",
        bizStep: "commissioning",
        epcList: ["urn:epc:id:sgtin:9506000.013435.SN1"],
      },
      {
        type: "ObjectEvent",
        eventTime: "2026-11-02T10:00:00+08:00",
        eventTimeZoneOffset: "+08:00",
        action: "OBSERVE",
        bizStep: "shipping",
        quantityList: [{ epcClass: "urn:epc:class:lgtin:9506000.013435.L1", quantity: 2 }],
      },
    ],
    "2026-11-01T00:00:00Z",
  ),
);

interface Proved {
  record: unknown;
  recordHash: string;
  proof: string[];
  root: string;
  anchor: { brandId: string };
}

describeEngines("end to end: chain → CLI → indexer → API", function (engine) {
  this.timeout(120_000);
  let rpc: RpcServer;
  let system: TestSystem;
  let identityRoot: string;

  before(async function () {
    rpc = await startRpcServer();
    system = await createTestSystem(rpc.url, engine);
    fs.writeFileSync(path.join(system.dir, "items.csv"), CSV);
    fs.writeFileSync(path.join(system.dir, "events.json"), EPCIS);
    identityRoot = (
      await system.as(2, ["batch", "submit", "--brand", "1", "--kind", "identity", "--input", "items.csv"])
    ).json.root as string;
    expect(
      (await system.as(2, ["batch", "submit", "--brand", "1", "--kind", "trace", "--input", "events.json"])).code,
    ).to.equal(0);
    await system.index();
  });
  after(async function () {
    await system?.close();
    await rpc?.close();
  });

  async function withApp<T>(fn: (app: Awaited<ReturnType<typeof buildApp>>) => Promise<T>): Promise<T> {
    // As `serve` wires it: reads through a read-only handle, uploads through the indexer's store.
    const db = await system.readStore();
    const app = await buildApp({
      db,
      config: apiConfig({ rateLimit: 0, scans: false, contentDir: system.env.TRACE_CONTENT_DIR! }),
      processMetrics: false,
      acceptUpload: createIngestUpload({ store: await system.store(), contentDir: system.env.TRACE_CONTENT_DIR! }),
    });
    try {
      return await fn(app);
    } finally {
      await app.close();
      await db.close();
    }
  }

  it("serves genuine items whose every proof verifies with OpenZeppelin and with the contract", async function () {
    const registry = TraceAnchor__factory.connect(system.contract, ethers.provider);
    await withApp(async (app) => {
      const response = await app.inject({ url: "/01/09506000134352/10/L1/21/SN1" });
      expect(response.statusCode).to.equal(200);
      const doc = response.json<{ verdict: string; identity: Proved; events: Proved[] }>();
      expect(doc.verdict).to.equal("genuine");
      expect(doc.events).to.have.length(2);
      for (const part of [doc.identity, ...doc.events]) {
        expect(StandardMerkleTree.verify(part.root, ["bytes32"], [part.recordHash], part.proof)).to.equal(true);
        const leaf = await registry.leafOf(part.recordHash);
        expect(await registry.verify(part.anchor.brandId, part.root, part.proof, leaf)).to.equal(true);
      }
      const bundle = (await app.inject({ url: `/v1/proofs/${doc.identity.recordHash}` })).json<Proved>();
      expect(StandardMerkleTree.verify(bundle.root, ["bytes32"], [bundle.recordHash], bundle.proof)).to.equal(true);
    });
  });

  it("refuses tampered content uploaded for an anchored batch with 422 and the reason", async function () {
    const file = path.join(system.env.TRACE_CONTENT_DIR!, `${identityRoot}.ndjson`);
    const tampered = fs.readFileSync(file, "utf8").replace('"SN2"', '"SN9"');
    await withApp(async (app) => {
      const response = await app.inject({
        method: "PUT",
        url: `/v1/batches/1/${identityRoot}/content`,
        payload: tampered,
        headers: { "content-type": "application/x-ndjson" },
      });
      expect(response.statusCode).to.equal(422);
      expect(response.json<{ message: string }>().message).to.match(/root/);
      const intact = await app.inject({
        method: "PUT",
        url: `/v1/batches/1/${identityRoot}/content`,
        payload: fs.readFileSync(file, "utf8"),
        headers: { "content-type": "application/x-ndjson" },
      });
      expect(intact.statusCode).to.equal(200);
    });
  });

  it("serves the checked content file of a batch, byte for byte, for other replicas and auditors", async function () {
    await withApp(async (app) => {
      const response = await app.inject({ url: `/v1/batches/1/${identityRoot}/content` });
      expect(response.statusCode).to.equal(200);
      expect(response.headers["content-type"]).to.match(/^application\/x-ndjson/);
      expect(response.body).to.equal(
        fs.readFileSync(path.join(system.env.TRACE_CONTENT_DIR!, `${identityRoot}.ndjson`), "utf8"),
      );
      expect((await app.inject({ url: `/v1/batches/1/0x${"ab".repeat(32)}/content` })).statusCode).to.equal(404);
    });
  });

  it("turns the verdict to revoked once the brand revokes the batch and the indexer sees it", async function () {
    const revoked = await system.as(1, [
      "batch",
      "revoke",
      "--brand",
      "1",
      "--root",
      identityRoot,
      "--reason",
      "labels misprinted",
    ]);
    expect(revoked.code, revoked.stderr).to.equal(0);
    await system.index();
    await withApp(async (app) => {
      await new Promise((resolve) => setTimeout(resolve, 1100)); // the API memoises anchors for one second
      const doc = (await app.inject({ url: "/01/09506000134352/10/L1/21/SN1" })).json<{ verdict: string }>();
      expect(doc.verdict).to.equal("revoked");
    });
  });
});
