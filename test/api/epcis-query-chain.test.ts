/**
 * EPCIS query over a real local chain: a trace batch submitted with the CLI, indexed by the real
 * indexer and ingester, put in the query index by the query indexer, and every `ta:proof` of
 * GET /epcis/events checked with OpenZeppelin's library and the contract's `verify`.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ethers } from "hardhat";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { buildApp } from "../../api/app";
import { apiConfig } from "../../api/config";
import { epcisDocument } from "../../core/epcis";
import { recordHash } from "../../core/record";
import { openDatabase } from "../../mirror/db";
import { createMirrorReader } from "../../mirror/read";
import { createEpcisQueryStore } from "../../mirror/epcis/query";
import { createQueryIndexer } from "../../mirror/epcis/query-indexer";
import { sqliteEpcisStore } from "../../mirror/epcis/store";
import { sqliteStore } from "../../mirror/store";
import { TraceAnchor__factory } from "../../typechain-types";
import { createTestSystem, type TestSystem } from "../helpers/system";
import { startRpcServer, type RpcServer } from "../scripts/rpc";

const EVENTS = JSON.stringify(
  epcisDocument(
    [
      {
        type: "ObjectEvent",
        eventTime: "2026-11-01T10:00:00+08:00",
        eventTimeZoneOffset: "+08:00",
        action: "ADD",
        bizStep: "commissioning",
        epcList: ["urn:epc:id:sgtin:9506000.013435.SN1", "urn:epc:id:sgtin:9506000.013435.SN2"],
      },
      {
        type: "ObjectEvent",
        eventTime: "2026-11-02T10:00:00+08:00",
        eventTimeZoneOffset: "+08:00",
        action: "OBSERVE",
        bizStep: "shipping",
        epcList: ["https://id.gs1.org/01/09506000134352/21/SN1"],
      },
      {
        type: "ObjectEvent",
        eventTime: "2026-11-03T10:00:00+08:00",
        eventTimeZoneOffset: "+08:00",
        action: "OBSERVE",
        bizStep: "receiving",
        epcList: ["urn:epc:id:sgtin:9506000.013435.SN2"],
      },
    ],
    "2026-11-01T00:00:00Z",
  ),
);

interface TaProof {
  salt: string;
  recordHash: string;
  proof: string[];
  root: string;
  anchor: { brandId: string; txHash: string };
}

describe("EPCIS query over a real chain: CLI trace batch → indexers → /epcis/events", function () {
  this.timeout(120_000);
  let rpc: RpcServer;
  let system: TestSystem;
  let root: string;
  let epcisDir: string;

  before(async function () {
    rpc = await startRpcServer();
    system = await createTestSystem(rpc.url);
    fs.writeFileSync(path.join(system.dir, "events.json"), EVENTS);
    const submitted = await system.as(2, [
      "batch",
      "submit",
      "--brand",
      "1",
      "--kind",
      "trace",
      "--input",
      "events.json",
    ]);
    expect(submitted.code, submitted.stderr).to.equal(0);
    root = submitted.json.root as string;
    await system.index();
    epcisDir = fs.mkdtempSync(path.join(os.tmpdir(), "ta-epcis-chain-"));
  });

  after(async function () {
    await rpc.close();
    fs.rmSync(epcisDir, { recursive: true, force: true });
  });

  it("answers the batch's events, each with a proof the contract verifies", async function () {
    const mirror = sqliteStore(openDatabase(system.dbPath, { readonly: true }));
    const epcis = sqliteEpcisStore(openDatabase(path.join(epcisDir, "epcis.db")));
    const reader = createMirrorReader(mirror);
    const app = await buildApp({
      db: mirror,
      config: apiConfig({ rateLimit: 0, scans: false, contentDir: system.env.TRACE_CONTENT_DIR! }),
      processMetrics: false,
      epcis: { query: { store: epcis, mirror } },
    });
    try {
      expect(await createQueryIndexer({ reader, query: createEpcisQueryStore(epcis) }).runOnce()).to.equal(1);
      const res = await app.inject({
        url: `/epcis/events?MATCH_epc=${encodeURIComponent("urn:epc:id:sgtin:9506000.013435.SN1")}`,
      });
      expect(res.statusCode, res.body).to.equal(200);
      const events = res.json<{
        epcisBody: { queryResults: { resultsBody: { eventList: Record<string, unknown>[] } } };
      }>().epcisBody.queryResults.resultsBody.eventList;
      expect(events.map((e) => e.bizStep)).to.deep.equal(["commissioning", "shipping"]);
      const registry = TraceAnchor__factory.connect(system.contract, ethers.provider);
      for (const { "ta:proof": value, ...event } of events) {
        const proof = value as TaProof;
        expect(proof.root).to.equal(root);
        expect(recordHash({ v: 1, kind: "trace", salt: proof.salt, event: event as never })).to.equal(proof.recordHash);
        expect(StandardMerkleTree.verify(proof.root, ["bytes32"], [proof.recordHash], proof.proof)).to.equal(true);
        const leaf = await registry.leafOf(proof.recordHash);
        expect(await registry.verify(proof.anchor.brandId, proof.root, proof.proof, leaf)).to.equal(true);
      }
    } finally {
      await app.close();
      reader.close();
      await epcis.close();
      await mirror.close();
    }
  });
});
