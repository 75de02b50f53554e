import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ethers } from "hardhat";
import Database from "better-sqlite3";
import pg from "pg";
import { describeEngines } from "../helpers/engines";
import { createTestSystem, type TestSystem } from "../helpers/system";
import { cli } from "./cli-harness";
import { DEV_KEYS, startRpcServer, type RpcServer } from "./rpc";
import { epcisDocument } from "../../core/epcis";

const CSV = "gtin,serial,lot\n09506000134352,SN1,L42\n09506000134352,SN2,L42\n06141410000014,SN3,L1\n";
const EPCIS = JSON.stringify(
  epcisDocument(
    [
      {
        type: "ObjectEvent",
        eventTime: "2026-11-01T08:00:00+01:00",
        eventTimeZoneOffset: "+01:00",
        epcList: ["urn:epc:id:sgtin:9506000.013435.SN1"],
        action: "OBSERVE",
        bizStep: "shipping",
      },
    ],
    "2026-11-01T08:00:00Z",
  ),
);

describe("traceanchor audit (content and chain)", function () {
  let rpc: RpcServer;
  let dir: string;
  let env: Record<string, string>;
  let identityRoot: string;
  let traceRoot: string;

  before(async function () {
    rpc = await startRpcServer();
  });
  after(async function () {
    await rpc.close();
  });

  beforeEach(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "trace-audit-"));
    const base = {
      TRACE_RPC_URL: rpc.url,
      TRACE_DEPLOYMENTS_DIR: path.join(dir, "deployments"),
      TRACE_CONTENT_DIR: path.join(dir, "content"),
      TRACE_EXPLORER_URL: "https://explorer.example",
    };
    const signers = await ethers.getSigners();
    expect((await cli(["deploy"], { ...base, TRACE_PRIVATE_KEY: DEV_KEYS[0] }, dir)).code).to.equal(0);
    await cli(
      ["brand", "register", "--name", "Acme", "--admin", signers[1]!.address, "--prefix", "9506000"],
      { ...base, TRACE_PRIVATE_KEY: DEV_KEYS[0] },
      dir,
    );
    await cli(
      ["brand", "submitter", "--brand", "1", "--account", signers[2]!.address, "--role", "factory"],
      { ...base, TRACE_PRIVATE_KEY: DEV_KEYS[1] },
      dir,
    );
    env = { ...base, TRACE_PRIVATE_KEY: DEV_KEYS[2] };
    fs.writeFileSync(path.join(dir, "items.csv"), CSV);
    fs.writeFileSync(path.join(dir, "events.json"), EPCIS);
    identityRoot = (
      await cli(["batch", "submit", "--brand", "1", "--kind", "identity", "--input", "items.csv", "--json"], env, dir)
    ).json.root as string;
    traceRoot = (
      await cli(["batch", "submit", "--brand", "1", "--kind", "trace", "--input", "events.json", "--json"], env, dir)
    ).json.root as string;
  });

  it("passes when every anchored root rebuilds from its content, and reports findings", async function () {
    const result = await cli(["audit", "--json"], env, dir);
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    expect(result.json).to.include({ anchorsChecked: 2, ok: 2, contentMissing: 0 });
    expect(result.json.discrepancies).to.deep.equal([]);
    const findings = result.json.findings as Array<{ root: string; reason: string }>;
    expect(findings).to.have.length(1);
    expect(findings[0]!.root).to.equal(identityRoot);
    expect(findings[0]!.reason).to.match(/^1 item\(s\) have GTINs outside brand 1's prefixes/);
  });

  it("fails, naming the batch, when a content file was altered on disk", async function () {
    const file = path.join(dir, "content", `${traceRoot}.ndjson`);
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace('"shipping"', '"receiving"'));
    const result = await cli(["audit", "--json"], env, dir);
    expect(result.code).to.equal(3);
    const mismatches = result.json.mismatches as Array<{ root: string; reason: string; explorerTxUrl: string }>;
    expect(mismatches).to.have.length(1);
    expect(mismatches[0]!.root).to.equal(traceRoot);
    expect(mismatches[0]!.reason).to.match(/root/);
    expect(mismatches[0]!.explorerTxUrl).to.match(/^https:\/\/explorer\.example\/tx\/0x/);
    const human = await cli(["audit"], env, dir);
    expect(human.stdout).to.include(`DISCREPANCY [content] brand 1 ${traceRoot}`);
  });

  it("fails on missing content unless --allow-missing, and --brand limits the audit", async function () {
    fs.rmSync(path.join(dir, "content", `${identityRoot}.ndjson`));
    expect((await cli(["audit", "--json"], env, dir)).code).to.equal(3);
    const allowed = await cli(["audit", "--allow-missing", "--json"], env, dir);
    expect(allowed.code).to.equal(0);
    expect(allowed.json).to.include({ contentMissing: 1, ok: 1 });
    expect((await cli(["audit", "--brand", "2", "--json"], env, dir)).json.anchorsChecked).to.equal(0);
  });
});

describeEngines("traceanchor audit --compare-db (the indexer's database against the chain)", function (engine) {
  let rpc: RpcServer;
  let system: TestSystem;
  let root: string;

  before(async function () {
    rpc = await startRpcServer();
    system = await createTestSystem(rpc.url, engine);
    fs.writeFileSync(path.join(system.dir, "items.csv"), CSV.split("\n").slice(0, 3).join("\n") + "\n");
    root = (await system.as(2, ["batch", "submit", "--brand", "1", "--kind", "identity", "--input", "items.csv"])).json
      .root as string;
    await system.index();
    await system.close(); // the audit opens the mirror on its own, as an auditor would
  });
  after(async function () {
    await rpc?.close();
  });

  /** Changes the mirror behind the indexer's back (`?` parameters). */
  const tamper = async (sql: string, ...params: unknown[]): Promise<void> => {
    if (engine === "sqlite") {
      const db = new Database(system.dbPath);
      db.prepare(sql).run(...params);
      db.close();
      return;
    }
    const client = new pg.Client({ connectionString: system.dbPath });
    await client.connect();
    try {
      let n = 0;
      await client.query(
        sql.replace(/\?/g, () => `$${++n}`),
        params,
      );
    } finally {
      await client.end();
    }
  };

  const audit = () =>
    cli(["audit", "--compare-db", system.dbPath, "--json"], { ...system.env, TRACE_PRIVATE_KEY: "" }, system.dir);

  it("passes on the database the indexer wrote", async function () {
    const result = await audit();
    expect(result.code, result.stdout).to.equal(0);
    expect(result.json.discrepancies).to.deep.equal([]);
  });

  it("fails, naming the batch, when a stored record was altered", async function () {
    await tamper(
      "UPDATE records SET record = replace(record, '\"SN2\"', '\"SN7\"') WHERE batch_id = (SELECT batch_id FROM anchors WHERE root = ?)",
      root,
    );
    const result = await audit();
    expect(result.code).to.equal(3);
    const found = (result.json.discrepancies as Array<{ root: string; source: string; reason: string }>).filter(
      (d) => d.source === "db",
    );
    expect(found).to.have.length(1);
    expect(found[0]!.root).to.equal(root);
    expect(found[0]!.reason).to.match(/stored hash .* is not the hash of the stored record/);
  });

  it("fails when an anchor row disagrees with the chain", async function () {
    await tamper("UPDATE anchors SET leaf_count = leaf_count + 1 WHERE root = ?", root);
    const reasons = ((await audit()).json.discrepancies as Array<{ reason: string }>).map((d) => d.reason);
    expect(reasons.some((r) => /anchor row differs from the chain: leafCount 3 ≠ 2/.test(r))).to.equal(true);
  });
});
