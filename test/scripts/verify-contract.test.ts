import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { cli } from "./cli-harness";
import { DEV_KEYS, startRpcServer, type RpcServer } from "./rpc";

describe("traceanchor verify-contract", function () {
  this.timeout(300_000);
  let rpc: RpcServer;
  let dir: string;
  let env: Record<string, string>;

  before(async function () {
    rpc = await startRpcServer();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "trace-vc-"));
    env = {
      TRACE_RPC_URL: rpc.url,
      TRACE_PRIVATE_KEY: DEV_KEYS[0],
      TRACE_DEPLOYMENTS_DIR: path.join(dir, "deployments"),
    };
    const deployed = await cli(["deploy", "--json"], env, dir);
    expect(deployed.code, deployed.stderr).to.equal(0);
  });
  after(async function () {
    await rpc.close();
  });

  it("recompiles the sources and matches the deployed runtime code, metadata hash included", async function () {
    const result = await cli(["verify-contract", "--json"], env, dir);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.json).to.include({
      match: true,
      metadataMatch: true,
      compiler: "0.8.28+commit.7893614a.Emscripten.clang",
    });
    expect(result.json.immutables).to.have.length.greaterThan(0);
  });

  it("reports a mismatch when the recorded settings are not the ones the code was compiled with", async function () {
    const file = path.join(dir, "deployments", "31337.json");
    const original = fs.readFileSync(file, "utf8");
    const record = JSON.parse(original) as { compiler: { settings: { optimizer: { runs: number } } } };
    record.compiler.settings.optimizer.runs = 200;
    fs.writeFileSync(file, JSON.stringify(record));
    try {
      const result = await cli(["verify-contract", "--json"], env, dir);
      expect(result.code).to.equal(3);
      expect(result.json.match).to.equal(false);
      expect(result.stdout).to.not.match(/^MATCH/m);
    } finally {
      fs.writeFileSync(file, original);
    }
  });
});
