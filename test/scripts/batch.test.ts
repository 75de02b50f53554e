import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ethers } from "hardhat";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { TraceAnchor__factory, type TraceAnchor } from "../../typechain-types";
import { parseRecord, recordHash } from "../../core/record";
import { cli } from "./cli-harness";
import { DEV_KEYS, startRpcServer, type RpcServer } from "./rpc";
import { epcisDocument } from "../../core/epcis";

const CSV = `gtin,serial,lot,product
09506000134352,SN0001,L42,"Infant formula, stage 1"
09506000134352,SN0002,L42,"Infant formula, stage 1"
9506000134352,SN0003,L43,"Infant formula, stage 1"
`;

const EPCIS = epcisDocument(
  [
    {
      type: "ObjectEvent",
      eventTime: "2026-11-01T08:00:00+01:00",
      eventTimeZoneOffset: "+01:00",
      epcList: ["urn:epc:id:sgtin:9506000.013435.SN0001"],
      action: "ADD",
      bizStep: "commissioning",
    },
  ],
  "2026-11-01T08:00:00Z",
);

describe("traceanchor batch", function () {
  let rpc: RpcServer;
  let dir: string;
  let env: Record<string, string>;
  let registry: TraceAnchor;
  let submitter: string;

  before(async function () {
    rpc = await startRpcServer();
  });
  after(async function () {
    await rpc.close();
  });

  beforeEach(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "trace-batch-"));
    const base = {
      TRACE_RPC_URL: rpc.url,
      TRACE_DEPLOYMENTS_DIR: path.join(dir, "deployments"),
      TRACE_CONTENT_DIR: path.join(dir, "content"),
    };
    const signers = await ethers.getSigners();
    const deployed = await cli(["deploy", "--json"], { ...base, TRACE_PRIVATE_KEY: DEV_KEYS[0] }, dir);
    expect(deployed.code, deployed.stderr).to.equal(0);
    registry = TraceAnchor__factory.connect(deployed.json.contract as string, ethers.provider);
    await cli(
      ["brand", "register", "--name", "Acme", "--admin", signers[1]!.address, "--prefix", "9506000"],
      { ...base, TRACE_PRIVATE_KEY: DEV_KEYS[0] },
      dir,
    );
    submitter = signers[2]!.address;
    const named = await cli(
      ["brand", "submitter", "--brand", "1", "--account", submitter, "--role", "factory"],
      { ...base, TRACE_PRIVATE_KEY: DEV_KEYS[1] },
      dir,
    );
    expect(named.code, named.stderr).to.equal(0);
    env = { ...base, TRACE_PRIVATE_KEY: DEV_KEYS[2] };
    fs.writeFileSync(path.join(dir, "items.csv"), CSV);
    fs.writeFileSync(path.join(dir, "events.json"), JSON.stringify(EPCIS));
  });

  it("build writes <root>.ndjson whose records rebuild the printed root with OpenZeppelin's tree", async function () {
    const result = await cli(
      ["batch", "build", "--kind", "identity", "--input", "items.csv", "--out", "out", "--json"],
      env,
      dir,
    );
    expect(result.code, result.stderr).to.equal(0);
    const { root, leafCount, content } = result.json as { root: string; leafCount: number; content: string };
    expect(path.basename(content)).to.equal(`${root}.ndjson`);
    const lines = fs.readFileSync(content, "utf8").trimEnd().split("\n");
    expect(JSON.parse(lines[0]!)).to.deep.equal({ v: 1, kind: "identity", root, leafCount: 3 });
    const hashes = lines.slice(1).map((line) => recordHash(parseRecord(JSON.parse(line))));
    expect(
      StandardMerkleTree.of(
        hashes.map((h) => [h]),
        ["bytes32"],
      ).root,
    ).to.equal(root);
    expect(leafCount).to.equal(3);
    expect(JSON.parse(lines[3]!)).to.have.nested.property("item.gtin", "09506000134352"); // GTIN-13 normalised to 14 digits
  });

  it("submit anchors the identity batch and a second submit anchors nothing new", async function () {
    const first = await cli(
      ["batch", "submit", "--brand", "1", "--kind", "identity", "--input", "items.csv", "--json"],
      env,
      dir,
    );
    expect(first.code, first.stderr).to.equal(0);
    const root = first.json.root as string;
    const anchor = await registry.anchorOf(1, root);
    expect(anchor.kind).to.equal(1n);
    expect(anchor.leafCount).to.equal(3n);
    const receipt = await ethers.provider.getTransactionReceipt(first.json.txHash as string);
    expect(receipt?.blockNumber).to.equal(first.json.blockNumber);
    const blockBefore = await ethers.provider.getBlockNumber();

    const again = await cli(
      ["batch", "submit", "--brand", "1", "--kind", "identity", "--input", "items.csv", "--json"],
      env,
      dir,
    );
    expect(again.code, again.stderr).to.equal(0);
    expect(again.json.root).to.equal(root);
    expect(again.json.alreadyAnchored).to.equal(true);
    expect(await ethers.provider.getBlockNumber()).to.equal(blockBefore);
  });

  it("finishes the job when the first run died after writing the content and before anchoring", async function () {
    // --relay without a relayer key fails after the content and journal are written: a stand-in for a crash there.
    const died = await cli(
      ["batch", "submit", "--brand", "1", "--kind", "trace", "--input", "events.json", "--relay"],
      env,
      dir,
    );
    expect(died.code).to.equal(1);
    expect(died.stderr).to.match(/TRACE_RELAYER_KEY/);
    const written = fs.readdirSync(path.join(dir, "content")).filter((f) => f.endsWith(".ndjson"));
    expect(written).to.have.length(1);

    const resumed = await cli(
      ["batch", "submit", "--brand", "1", "--kind", "trace", "--input", "events.json", "--json"],
      env,
      dir,
    );
    expect(resumed.code, resumed.stderr).to.equal(0);
    expect(resumed.stderr).to.match(/reusing batch/);
    expect(`${resumed.json.root as string}.ndjson`).to.equal(written[0]);
    expect((await registry.anchorOf(1, resumed.json.root as string)).kind).to.equal(2n);
  });

  it("--relay: the brand key signs, the relayer pays, the event names the signer", async function () {
    const relayer = (await ethers.getSigners())[3]!;
    const balanceBefore = await ethers.provider.getBalance(submitter);
    const result = await cli(
      ["batch", "submit", "--brand", "1", "--kind", "identity", "--input", "items.csv", "--relay", "--json"],
      { ...env, TRACE_RELAYER_KEY: DEV_KEYS[3] },
      dir,
    );
    expect(result.code, result.stderr).to.equal(0);
    const tx = await ethers.provider.getTransaction(result.json.txHash as string);
    expect(tx?.from).to.equal(relayer.address);
    expect(await ethers.provider.getBalance(submitter)).to.equal(balanceBefore);
    const receipt = await ethers.provider.getTransactionReceipt(result.json.txHash as string);
    const event = registry.interface.parseLog(receipt!.logs[0]!);
    expect(event?.name).to.equal("Anchored");
    expect(event?.args.submitter).to.equal(submitter);
  });

  it("refuses a file with a bad GTIN, naming file, line and field, and anchors nothing", async function () {
    fs.writeFileSync(path.join(dir, "bad.csv"), "gtin,serial\n09506000134352,A1\n09506000134353,A2\n");
    const blockBefore = await ethers.provider.getBlockNumber();
    const result = await cli(["batch", "submit", "--brand", "1", "--kind", "identity", "--input", "bad.csv"], env, dir);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.match(/bad\.csv/);
    expect(result.stderr).to.match(/line 3/);
    expect(result.stderr).to.match(/gtin/);
    expect(result.stderr.trim().split("\n")).to.have.length(1);
    expect(await ethers.provider.getBlockNumber()).to.equal(blockBefore);
    expect(
      fs.existsSync(path.join(dir, "content"))
        ? fs.readdirSync(path.join(dir, "content")).filter((f) => f.endsWith(".ndjson"))
        : [],
    ).to.deep.equal([]);
  });

  it("--skip-invalid builds from the valid rows and writes the rejects with reasons", async function () {
    fs.writeFileSync(
      path.join(dir, "mixed.csv"),
      "gtin,serial\n09506000134352,A1\n09506000134353,A2\n09506000134352,A1\n09506000134352,A3\n",
    );
    const result = await cli(
      [
        "batch",
        "build",
        "--kind",
        "identity",
        "--input",
        "mixed.csv",
        "--out",
        "out",
        "--skip-invalid",
        "rejects.ndjson",
        "--json",
      ],
      env,
      dir,
    );
    expect(result.code, result.stderr).to.equal(0);
    expect(result.json.leafCount).to.equal(2);
    const rejects = fs
      .readFileSync(path.join(dir, "rejects.ndjson"), "utf8")
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { line: number; field: string });
    expect(rejects.map((r) => r.line)).to.deep.equal([3, 4]);
    expect(rejects[0]!.field).to.equal("gtin");
  });

  it("refuses a key that is not a submitter of the brand before building anything", async function () {
    const result = await cli(
      ["batch", "submit", "--brand", "1", "--kind", "identity", "--input", "items.csv"],
      { ...env, TRACE_PRIVATE_KEY: DEV_KEYS[3] },
      dir,
    );
    expect(result.code).to.equal(1);
    expect(result.stderr).to.match(/is not a submitter of brand 1/);
    expect(fs.existsSync(path.join(dir, "content"))).to.equal(false);
  });

  it("revoke: the brand admin revokes with a reason; a second revoke is refused clearly", async function () {
    const submitted = await cli(
      ["batch", "submit", "--brand", "1", "--kind", "identity", "--input", "items.csv", "--json"],
      env,
      dir,
    );
    const root = submitted.json.root as string;
    const adminEnv = { ...env, TRACE_PRIVATE_KEY: DEV_KEYS[1] };
    const revoked = await cli(
      ["batch", "revoke", "--brand", "1", "--root", root, "--reason", "labels counterfeited", "--json"],
      adminEnv,
      dir,
    );
    expect(revoked.code, revoked.stderr).to.equal(0);
    expect((await registry.anchorOf(1, root)).revokedAt).to.not.equal(0n);
    const twice = await cli(["batch", "revoke", "--brand", "1", "--root", root, "--reason", "again"], adminEnv, dir);
    expect(twice.code).to.equal(1);
    expect(twice.stderr.trim()).to.equal(`error: batch ${root} of brand 1 is already revoked`);
  });

  it("signs with an encrypted keystore and never echoes the password or key", async function () {
    const wallet = new ethers.Wallet(DEV_KEYS[2]);
    const json = await ethers.encryptKeystoreJson(
      { address: wallet.address, privateKey: wallet.privateKey },
      "correct horse",
      { scrypt: { N: 1024 } },
    );
    fs.writeFileSync(path.join(dir, "key.json"), json);
    const keyEnv = {
      ...env,
      TRACE_PRIVATE_KEY: "",
      TRACE_KEYSTORE: "key.json",
      TRACE_KEYSTORE_PASSWORD: "correct horse",
    };
    const result = await cli(
      ["batch", "submit", "--brand", "1", "--kind", "identity", "--input", "items.csv", "--json"],
      keyEnv,
      dir,
    );
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout + result.stderr).not.to.include("correct horse");
    const wrong = await cli(
      ["batch", "submit", "--brand", "1", "--kind", "identity", "--input", "items.csv"],
      { ...keyEnv, TRACE_KEYSTORE_PASSWORD: "nope" },
      dir,
    );
    expect(wrong.code).to.equal(1);
    expect(wrong.stderr.trim()).to.match(/^error: TRACE_KEYSTORE: cannot decrypt .*key\.json \(wrong password\?\)$/);
  });
});
