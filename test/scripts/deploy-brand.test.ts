import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ethers } from "hardhat";
import { TraceAnchor__factory } from "../../typechain-types";
import { cli } from "./cli-harness";
import { DEV_KEYS, startRpcServer, type RpcServer } from "./rpc";

describe("traceanchor deploy / brand", function () {
  let rpc: RpcServer;
  let env: Record<string, string>;
  let dir: string;

  before(async function () {
    rpc = await startRpcServer();
  });
  after(async function () {
    await rpc.close();
  });
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "trace-cli-"));
    env = {
      TRACE_RPC_URL: rpc.url,
      TRACE_PRIVATE_KEY: DEV_KEYS[0],
      TRACE_DEPLOYMENTS_DIR: path.join(dir, "deployments"),
    };
  });

  it("deploys, records deployments/<chainId>.json and prints the JSON result last", async function () {
    const result = await cli(["deploy", "--json"], env, dir);
    expect(result.code, result.stderr).to.equal(0);
    const { contract, chainId, blockNumber, txHash } = result.json as Record<string, string | number>;
    expect(chainId).to.equal("31337");
    const file = JSON.parse(fs.readFileSync(path.join(dir, "deployments", "31337.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(file.contract).to.equal(contract);
    expect(file.blockNumber).to.equal(blockNumber);
    expect(file.txHash).to.equal(txHash);
    expect((file.compiler as { version: string }).version).to.equal("0.8.28");
    const receipt = await ethers.provider.getTransactionReceipt(txHash as string);
    expect(receipt?.contractAddress).to.equal(contract);
    const registry = TraceAnchor__factory.connect(contract as string, ethers.provider);
    const [deployer] = await ethers.getSigners();
    expect(await registry.hasRole(await registry.REGISTRAR_ROLE(), deployer!.address)).to.equal(true);
    expect(await registry.defaultAdminDelay()).to.equal(259200n);
  });

  it("with another --admin: grants it the registrar role and starts the delayed admin transfer to it", async function () {
    const other = (await ethers.getSigners())[5]!.address;
    const result = await cli(["deploy", "--admin", other, "--admin-delay", "3600", "--json"], env, dir);
    expect(result.code, result.stderr).to.equal(0);
    const registry = TraceAnchor__factory.connect(result.json.contract as string, ethers.provider);
    const [deployer] = await ethers.getSigners();
    expect(await registry.defaultAdmin()).to.equal(deployer!.address);
    expect((await registry.pendingDefaultAdmin())[0]).to.equal(other);
    expect(await registry.hasRole(await registry.REGISTRAR_ROLE(), other)).to.equal(true);
    expect((result.json.adminTransfer as { to: string }).to).to.equal(other);
  });

  it("never prints the private key, even with --verbose on an error", async function () {
    const result = await cli(
      ["brand", "register", "--name", "X", "--admin", "0x0000000000000000000000000000000000000001", "--verbose"],
      env,
      dir,
    );
    expect(result.code).to.equal(1);
    expect(result.stdout + result.stderr).not.to.include(DEV_KEYS[0].slice(2));
    expect(result.stderr).to.match(/^error: no contract: set TRACE_CONTRACT or run "traceanchor deploy"/);
  });

  describe("after deploy", function () {
    let admin: string;
    beforeEach(async function () {
      expect((await cli(["deploy", "--json"], env, dir)).code).to.equal(0);
      admin = (await ethers.getSigners())[1]!.address;
    });

    it("registers a brand with prefixes and prints its id", async function () {
      const result = await cli(
        [
          "brand",
          "register",
          "--name",
          "Acme",
          "--admin",
          admin,
          "--prefix",
          "9506000",
          "--prefix",
          "0614141",
          "--json",
        ],
        env,
        dir,
      );
      expect(result.code, result.stderr).to.equal(0);
      const deployment = JSON.parse(fs.readFileSync(path.join(dir, "deployments", "31337.json"), "utf8")) as {
        contract: string;
      };
      const registry = TraceAnchor__factory.connect(deployment.contract, ethers.provider);
      expect(result.json.brandId).to.equal("1");
      expect(await registry.brandAdmin(1)).to.equal(admin);
      expect(await registry.brandOfPrefix("0614141")).to.equal(1n);
    });

    it("refuses a prefix that another brand holds, in one line, before sending anything", async function () {
      await cli(["brand", "register", "--name", "Acme", "--admin", admin, "--prefix", "9506000"], env, dir);
      const result = await cli(
        ["brand", "register", "--name", "Copycat", "--admin", admin, "--prefix", "9506000"],
        env,
        dir,
      );
      expect(result.code).to.equal(1);
      expect(result.stderr.trim()).to.equal("error: prefix 9506000 already belongs to brand 1");
    });

    it("names a submitter with a role when the brand admin asks, and refuses anyone else", async function () {
      await cli(["brand", "register", "--name", "Acme", "--admin", admin, "--prefix", "9506000"], env, dir);
      const submitter = (await ethers.getSigners())[2]!.address;
      const refused = await cli(
        ["brand", "submitter", "--brand", "1", "--account", submitter, "--role", "factory"],
        env,
        dir,
      );
      expect(refused.code).to.equal(1);
      expect(refused.stderr).to.match(/only brand 1's admin/);
      const ok = await cli(
        ["brand", "submitter", "--brand", "1", "--account", submitter, "--role", "factory", "--json"],
        { ...env, TRACE_PRIVATE_KEY: DEV_KEYS[1] },
        dir,
      );
      expect(ok.code, ok.stderr).to.equal(0);
      const deployment = JSON.parse(fs.readFileSync(path.join(dir, "deployments", "31337.json"), "utf8")) as {
        contract: string;
      };
      const registry = TraceAnchor__factory.connect(deployment.contract, ethers.provider);
      expect(ethers.decodeBytes32String(await registry.submitterRole(1, submitter))).to.equal("factory");
    });

    it("rejects malformed flags with a message naming the flag", async function () {
      const result = await cli(["brand", "prefix", "--brand", "1", "--prefix", "12ab"], env, dir);
      expect(result.code).to.equal(1);
      expect(result.stderr.trim()).to.equal(
        'error: --prefix must be a GS1 company prefix of 6 to 12 digits, got "12ab"',
      );
      const missing = await cli(["brand", "register", "--name", "X"], env, dir);
      expect(missing.code).to.equal(2);
      expect(missing.stderr).to.match(/--admin/);
    });
  });
});
