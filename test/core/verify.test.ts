import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { TraceAnchor__factory } from "../../typechain-types";
import { buildBatch } from "../../core/batch";
import { makeProofBundle, type AnchorRef } from "../../core/bundle";
import { createRpcChainReader, encodeAnchorOf, encodeBrandOfGtin, type ChainReader } from "../../core/chain-reader";
import { openContentFile } from "../../core/content";
import { recordHash, type TraceAnchorRecord } from "../../core/record";
import { verifyDocument } from "../../core/verify";
import { startRpcServer, type RpcServer } from "../scripts/rpc";
import { epcisDocument } from "../../core/epcis";

const CSV = "gtin,serial,lot\n09506000134352,SN1,L42\n09506000134352,SN2,L42\n09506000134352,SN3,L43\n";

function epcis(disposition: string): object {
  return epcisDocument(
    [
      { type: "ObjectEvent", eventTime: "2026-11-01T08:00:00+01:00", eventTimeZoneOffset: "+01:00", epcList: ["urn:epc:id:sgtin:9506000.013435.SN1"], action: "ADD", bizStep: "commissioning" },
      { type: "ObjectEvent", eventTime: "2026-11-02T08:00:00+01:00", eventTimeZoneOffset: "+01:00", quantityList: [{ epcClass: "urn:epc:class:lgtin:9506000.013435.L42", quantity: 2 }], action: "OBSERVE", bizStep: "holding", disposition },
    ],
    "2026-11-01T08:00:00Z",
  );
}

interface Batch {
  root: string;
  leafCount: number;
  records: TraceAnchorRecord[];
  tree: StandardMerkleTree<[string]>;
}

async function build(dir: string, kind: "identity" | "trace", name: string, text: string): Promise<Batch> {
  fs.writeFileSync(path.join(dir, name), text);
  const result = await buildBatch({ kind, input: path.join(dir, name), outDir: path.join(dir, "content") });
  const reader = await openContentFile(result.content);
  const records: TraceAnchorRecord[] = [];
  for await (const { record } of reader.records) records.push(record);
  const tree = StandardMerkleTree.of(records.map((r) => [recordHash(r)] as [string]), ["bytes32"]);
  return { root: result.root, leafCount: result.leafCount, records, tree };
}

describe("verifier", function () {
  let rpc: RpcServer;
  let dir: string;

  before(async function () {
    rpc = await startRpcServer();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "trace-verify-"));
  });
  after(async function () {
    await rpc.close();
  });

  async function fixture() {
    const [admin, brandAdmin, submitter, otherAdmin] = await ethers.getSigners();
    const registry = await new TraceAnchor__factory(admin!).deploy(0, admin!.address);
    await registry.grantRole(await registry.REGISTRAR_ROLE(), admin!.address);
    await registry.registerBrand("Acme", brandAdmin!.address, ["9506000"]);
    await registry.registerBrand("Copycat", otherAdmin!.address, []);
    await registry.connect(brandAdmin!).setSubmitter(1, submitter!.address, ethers.encodeBytes32String("factory"));
    await registry.connect(otherAdmin!).setSubmitter(2, submitter!.address, ethers.encodeBytes32String("factory"));
    const identity = await build(dir, "identity", "items.csv", CSV);
    const trace = await build(dir, "trace", "events.json", JSON.stringify(epcis("in_progress")));
    const contract = await registry.getAddress();
    const chainId = (await ethers.provider.getNetwork()).chainId.toString();
    const anchorAs = async (brandId: number, batch: Batch, kind: "identity" | "trace"): Promise<AnchorRef> => {
      const tx = await registry.connect(submitter!).anchor(brandId, { root: batch.root, kind: kind === "identity" ? 1 : 2, leafCount: batch.leafCount, contentURI: `${batch.root}.ndjson` });
      const receipt = (await tx.wait())!;
      const block = (await ethers.provider.getBlock(receipt.blockNumber))!;
      return { chainId, contract, brandId: String(brandId), kind, leafCount: batch.leafCount, txHash: receipt.hash as `0x${string}`, blockNumber: receipt.blockNumber, logIndex: receipt.logs[0]!.index, blockTime: new Date(block.timestamp * 1000).toISOString() };
    };
    const identityAnchor = await anchorAs(1, identity, "identity");
    const traceAnchor = await anchorAs(1, trace, "trace");
    const part = (batch: Batch, index: number, anchor: AnchorRef) => {
      const record = batch.records[index]!;
      const hash = recordHash(record);
      return { record, recordHash: hash, proof: batch.tree.getProof([hash]), root: batch.root, anchor };
    };
    const doc = {
      item: { gtin: "09506000134352", serial: "SN1", lot: "L42" },
      identity: part(identity, 0, identityAnchor),
      events: [part(trace, 0, traceAnchor), part(trace, 1, traceAnchor)],
    };
    return { registry, brandAdmin: brandAdmin!, submitter: submitter!, identity, trace, doc, anchorAs, part, contract };
  }

  const chains = (): ChainReader[] => [createRpcChainReader(rpc.url)];

  it("calls the contract with the calldata ethers encodes from the real ABI", function () {
    const iface = TraceAnchor__factory.createInterface();
    const root = ethers.keccak256("0x01");
    expect(encodeAnchorOf(7n, root)).to.equal(iface.encodeFunctionData("anchorOf", [7, root]));
    for (const gtin of ["09506000134352", "", "x".repeat(33)]) {
      expect(encodeBrandOfGtin(gtin)).to.equal(iface.encodeFunctionData("brandOfGtin", [gtin]));
    }
  });

  it("says genuine when every hash, proof and on-chain check passes", async function () {
    const { doc, contract } = await loadFixture(fixture);
    const report = await verifyDocument(doc, { chains: chains(), trustedContract: contract });
    expect(report.verdict, JSON.stringify(report.steps, null, 1)).to.equal("genuine");
    expect(report.onChain).to.equal(true);
    expect(report.steps.filter((s) => s.status !== "pass")).to.deep.equal([]);
    expect(report.steps.map((s) => s.check)).to.include.members(["record-hash", "merkle-proof", "item-binding", "chain", "contract", "anchor", "not-revoked", "prefix-owner"]);
  });

  it("says not-verified when a record was altered on its way, naming the step", async function () {
    const { doc, contract } = await loadFixture(fixture);
    const tampered = structuredClone(doc);
    (tampered.events[0]!.record as unknown as { event: { bizStep: string } }).event.bizStep = "shipping";
    const report = await verifyDocument(tampered, { chains: chains(), trustedContract: contract });
    expect(report.verdict).to.equal("not-verified");
    expect(report.steps.find((s) => s.status === "fail")).to.include({ check: "record-hash", subject: "event 1" });
  });

  it("says not-verified when the record hash and proof are recomputed for a forged record", async function () {
    const { doc, contract } = await loadFixture(fixture);
    const forged = structuredClone(doc);
    (forged.identity.record as unknown as { item: { serial: string } }).item.serial = "SN999";
    forged.identity.recordHash = recordHash(forged.identity.record);
    forged.item.serial = "SN999";
    const report = await verifyDocument(forged, { chains: chains(), trustedContract: contract });
    expect(report.verdict).to.equal("not-verified");
    expect(report.steps.find((s) => s.status === "fail")).to.include({ check: "merkle-proof", subject: "identity" });
  });

  it("refuses a record that is about another item", async function () {
    const { doc, contract } = await loadFixture(fixture);
    const report = await verifyDocument({ ...doc, item: { gtin: "09506000134352", serial: "SN2", lot: "L42" } }, { chains: chains(), trustedContract: contract });
    expect(report.verdict).to.equal("not-verified");
    expect(report.steps.find((s) => s.status === "fail")).to.include({ check: "item-binding", subject: "identity" });
  });

  it("says revoked once the brand revokes the identity batch", async function () {
    const { doc, contract, registry, brandAdmin } = await loadFixture(fixture);
    await registry.connect(brandAdmin).revoke(1, doc.identity.root, "counterfeit labels");
    const report = await verifyDocument(doc, { chains: chains(), trustedContract: contract });
    expect(report.verdict).to.equal("revoked");
  });

  it("says recalled when a verified event for the item's lot has disposition recalled", async function () {
    const f = await loadFixture(fixture);
    const recall = await build(dir, "trace", "recall.json", JSON.stringify(epcis("recalled")));
    const anchor = await f.anchorAs(1, recall, "trace");
    const report = await verifyDocument({ ...f.doc, events: [...f.doc.events, f.part(recall, 1, anchor)] }, { chains: chains(), trustedContract: f.contract });
    expect(report.verdict).to.equal("recalled");
  });

  it("says prefix-mismatch when the identity batch comes from a brand that does not hold the prefix", async function () {
    const f = await loadFixture(fixture);
    const anchor = await f.anchorAs(2, f.identity, "identity");
    const report = await verifyDocument({ ...f.doc, identity: f.part(f.identity, 0, anchor) }, { chains: chains(), trustedContract: f.contract });
    expect(report.verdict).to.equal("prefix-mismatch");
    expect(report.steps.find((s) => s.check === "prefix-owner")?.detail).to.match(/belongs to brand 1, not 2/);
  });

  it("refuses a document pointing at another contract than the trusted one", async function () {
    const { doc } = await loadFixture(fixture);
    const report = await verifyDocument(doc, { chains: chains(), trustedContract: ethers.ZeroAddress.replace(/0$/, "1") });
    expect(report.verdict).to.equal("not-verified");
    expect(report.steps.find((s) => s.status === "fail")?.check).to.equal("contract");
  });

  it("needs every RPC to agree: a lying RPC makes the result not-verified", async function () {
    const { doc, contract } = await loadFixture(fixture);
    const honest = createRpcChainReader(rpc.url);
    const liar: ChainReader = { ...honest, name: "liar", anchorOf: async () => ({ kind: 1, leafCount: 3n, anchoredAt: 1n, revokedAt: 0n }) };
    const report = await verifyDocument(doc, { chains: [honest, liar], trustedContract: contract });
    expect(report.verdict).to.equal("not-verified");
    expect(report.steps.find((s) => s.status === "fail")?.check).to.equal("rpc-agreement");
    const both = await verifyDocument(doc, { chains: [honest, createRpcChainReader(rpc.url)], trustedContract: contract });
    expect(both.verdict).to.equal("genuine");
  });

  it("verifies a proof bundle on its own, and reports an unreachable RPC as a failed step", async function () {
    const { doc, contract } = await loadFixture(fixture);
    const bundle = makeProofBundle({ record: doc.identity.record, recordHash: doc.identity.recordHash as `0x${string}`, proof: doc.identity.proof as `0x${string}`[], root: doc.identity.root as `0x${string}`, anchor: doc.identity.anchor });
    expect((await verifyDocument(bundle, { chains: chains(), trustedContract: contract })).verdict).to.equal("genuine");
    const down = await verifyDocument(bundle, { chains: [createRpcChainReader("http://127.0.0.1:9")], trustedContract: contract });
    expect(down.verdict).to.equal("not-verified");
    expect(down.steps.find((s) => s.status === "fail")?.check).to.equal("chain");
  });

  it("without an RPC checks hashes and proofs only, and says so", async function () {
    const { doc } = await loadFixture(fixture);
    const report = await verifyDocument(doc, { chains: [] });
    expect(report.onChain).to.equal(false);
    expect(report.steps.every((s) => ["record-hash", "merkle-proof", "item-binding"].includes(s.check))).to.equal(true);
  });
});
