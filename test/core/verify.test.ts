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
import {
  createRpcChainReader,
  encodeAnchorOf,
  encodeBrandOfGtin,
  type ChainReader,
  type OnChainAnchor,
} from "../../core/chain-reader";
import { openContentFile } from "../../core/content";
import { epcisDocument } from "../../core/epcis";
import { gs1CheckDigit } from "../../core/gs1";
import { KIND_CODE, recordHash, type TraceAnchorRecord } from "../../core/record";
import { verifiedStatement, type CodeLevel } from "../../core/verdict";
import { verifyDocument, type VerifyReport } from "../../core/verify";
import { startRpcServer, type RpcServer } from "../scripts/rpc";

const GTIN = "09506000134352";
/** A GTIN under Acme's prefix that Acme registered no item of. */
const UNLISTED_GTIN = `0950600099999${gs1CheckDigit("0950600099999")}`;
/** A GTIN whose company prefix no brand holds. */
const UNOWNED_GTIN = `0401234500001${gs1CheckDigit("0401234500001")}`;
const CSV = `gtin,serial,lot\n${GTIN},SN1,L42\n${GTIN},SN2,L42\n${GTIN},SN3,L43\n`;

type Event = Record<string, unknown>;
const at = (day: number): Pick<Event, "eventTime" | "eventTimeZoneOffset"> => ({
  eventTime: `2026-11-0${day}T08:00:00+01:00`,
  eventTimeZoneOffset: "+01:00",
});
const itemEvent = (serial: string, extra: Event = {}): Event => ({
  type: "ObjectEvent",
  ...at(1),
  action: "ADD",
  bizStep: "commissioning",
  epcList: [`urn:epc:id:sgtin:9506000.013435.${serial}`],
  ...extra,
});
const lotEvent = (lot: string, extra: Event = {}): Event => ({
  type: "ObjectEvent",
  ...at(2),
  action: "OBSERVE",
  bizStep: "holding",
  quantityList: [{ epcClass: `urn:epc:class:lgtin:9506000.013435.${lot}`, quantity: 2 }],
  ...extra,
});
const classEvent = (extra: Event = {}): Event => ({
  type: "ObjectEvent",
  ...at(3),
  action: "OBSERVE",
  bizStep: "holding",
  quantityList: [{ epcClass: "urn:epc:idpat:sgtin:9506000.013435.*", quantity: 10 }],
  ...extra,
});
const RECALLED = { disposition: "recalled" };

interface Batch {
  root: string;
  leafCount: number;
  records: TraceAnchorRecord[];
  tree: StandardMerkleTree<[string]>;
}

interface Part {
  record: TraceAnchorRecord;
  recordHash: string;
  proof: string[];
  root: string;
  anchor: AnchorRef;
}

let names = 0;
async function build(dir: string, kind: "identity" | "trace", text: string): Promise<Batch> {
  const input = path.join(dir, `batch-${++names}.${kind === "identity" ? "csv" : "json"}`);
  fs.writeFileSync(input, text);
  const result = await buildBatch({ kind, input, outDir: path.join(dir, "content") });
  const reader = await openContentFile(result.content);
  const records: TraceAnchorRecord[] = [];
  for await (const { record } of reader.records) records.push(record);
  const tree = StandardMerkleTree.of(
    records.map((r) => [recordHash(r)] as [string]),
    ["bytes32"],
  );
  return { root: result.root, leafCount: result.leafCount, records, tree };
}

const failures = (report: VerifyReport) => report.steps.filter((s) => s.status === "fail");
const why = (report: VerifyReport): string => JSON.stringify(report.steps, null, 1);

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
    const signers = await ethers.getSigners();
    const account = (i: number) => {
      const found = signers[i];
      if (found === undefined) throw new Error(`Hardhat has no account ${i}`);
      return found;
    };
    const [admin, brandAdmin, submitter, otherAdmin] = [account(0), account(1), account(2), account(3)];
    const registry = await new TraceAnchor__factory(admin).deploy(0, admin.address);
    await registry.grantRole(await registry.REGISTRAR_ROLE(), admin.address);
    await registry.registerBrand("Acme", brandAdmin.address, ["9506000"]);
    await registry.registerBrand("Copycat", otherAdmin.address, []);
    await registry.connect(brandAdmin).setSubmitter(1, submitter.address, ethers.encodeBytes32String("factory"));
    await registry.connect(otherAdmin).setSubmitter(2, submitter.address, ethers.encodeBytes32String("factory"));
    const identity = await build(dir, "identity", CSV);
    const trace = await build(
      dir,
      "trace",
      JSON.stringify(
        epcisDocument([itemEvent("SN1"), lotEvent("L42", { disposition: "in_progress" })], "2026-11-01T08:00:00Z"),
      ),
    );
    const contract = await registry.getAddress();
    const chainId = (await ethers.provider.getNetwork()).chainId.toString();
    const anchorAs = async (brandId: number, batch: Batch, kind: "identity" | "trace"): Promise<AnchorRef> => {
      const tx = await registry.connect(submitter).anchor(brandId, {
        root: batch.root,
        kind: KIND_CODE[kind],
        leafCount: batch.leafCount,
        contentURI: `${batch.root}.ndjson`,
      });
      const receipt = (await tx.wait())!;
      const block = (await ethers.provider.getBlock(receipt.blockNumber))!;
      return {
        chainId,
        contract,
        brandId: String(brandId),
        kind,
        leafCount: batch.leafCount,
        txHash: receipt.hash as `0x${string}`,
        blockNumber: receipt.blockNumber,
        logIndex: receipt.logs[0]!.index,
        blockTime: new Date(block.timestamp * 1000).toISOString(),
      };
    };
    const identityAnchor = await anchorAs(1, identity, "identity");
    const traceAnchor = await anchorAs(1, trace, "trace");
    const part = (batch: Batch, index: number, anchor: AnchorRef): Part => {
      const record = batch.records[index]!;
      const hash = recordHash(record);
      return { record, recordHash: hash, proof: batch.tree.getProof([hash]), root: batch.root, anchor };
    };
    /** The identity record of `serial` as brand 1 anchored it. */
    const item = (serial: string): Part =>
      part(
        identity,
        identity.records.findIndex((r) => r.kind === "identity" && r.item.serial === serial),
        identityAnchor,
      );
    /** Anchors one trace batch of `events` for `brandId` and returns its events' parts. */
    const events = async (brandId: number, list: Event[]): Promise<Part[]> => {
      const batch = await build(dir, "trace", JSON.stringify(epcisDocument(list, "2026-11-01T08:00:00Z")));
      const anchor = await anchorAs(brandId, batch, "trace");
      return list.map((_, i) => part(batch, i, anchor));
    };
    const revoke = async (brandId: number, root: string): Promise<void> => {
      const brandSigner = brandId === 1 ? brandAdmin : otherAdmin;
      await (await registry.connect(brandSigner).revoke(brandId, root, "withdrawn")).wait();
    };
    const doc = {
      verdict: "genuine",
      level: "serial" as CodeLevel,
      item: {
        gtin: GTIN,
        serial: "SN1" as string | null,
        lot: "L42" as string | null,
        digitalLink: `https://id.example/01/${GTIN}/10/L42/21/SN1`,
      },
      brand: { brandId: "1", name: "Acme", prefix: "9506000" } as {
        brandId: string;
        name: string;
        prefix: string;
      } | null,
      identity: item("SN1") as Part | null,
      events: [part(trace, 0, traceAnchor), part(trace, 1, traceAnchor)],
      scans: { count: 1 as number | null, firstScanAt: null },
    };
    /** A lot- or product-level document: a sample item, the events, and the server's product summary. */
    const classDoc = (level: "lot" | "product", overrides: Partial<typeof doc> = {}) => ({
      ...doc,
      level,
      verdict: "registered",
      item: {
        gtin: GTIN,
        serial: null,
        lot: level === "lot" ? "L42" : null,
        digitalLink: `https://id.example/01/${GTIN}${level === "lot" ? "/10/L42" : ""}`,
      },
      identity: item(level === "lot" ? "SN2" : "SN3"),
      events: [part(trace, 1, traceAnchor)],
      product: { name: null, attributes: null, items: 3, lots: 2, recalledLots: [] },
      scans: { count: null, firstScanAt: null },
      ...overrides,
    });
    return { registry, identity, trace, doc, classDoc, anchorAs, part, item, events, revoke, contract, identityAnchor };
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

  describe("a serial code", function () {
    it("is genuine when every hash, proof and on-chain check passes", async function () {
      const { doc, contract } = await loadFixture(fixture);
      const report = await verifyDocument(doc, { chains: chains(), trustedContract: contract });
      expect(report.verdict, why(report)).to.equal("genuine");
      expect(report).to.include({
        level: "serial",
        onChain: true,
        records: 3,
        serverVerdict: "genuine",
        agreesWithServer: true,
        revokedAt: null,
      });
      expect(failures(report)).to.deep.equal([]);
      expect(report.steps.map((s) => s.check)).to.include.members([
        "record-hash",
        "merkle-proof",
        "item-binding",
        "chain",
        "contract",
        "anchor",
        "revocation",
        "prefix-owner",
      ]);
      expect(report.facts).to.deep.equal({
        level: "serial",
        prefixOwner: "1",
        identity: { brandId: "1", revoked: false },
        recalls: [],
        scans: { count: 1, threshold: 50 },
      });
    });

    it("is revoked, as a verified fact, once the brand revokes the identity batch", async function () {
      const { doc, contract, revoke } = await loadFixture(fixture);
      await revoke(1, doc.identity!.root);
      const report = await verifyDocument(doc, { chains: chains(), trustedContract: contract });
      expect(report.verdict, why(report)).to.equal("revoked");
      expect(failures(report), "a revocation is not a failed check").to.deep.equal([]);
      const revocation = report.steps.find((s) => s.check === "revocation" && s.subject === "identity");
      expect(revocation).to.include({ status: "pass" });
      expect(revocation!.detail).to.match(/^revoked on 20\d\d-\d\d-\d\dT/);
      expect(report.revokedAt).to.match(/^20\d\d-\d\d-\d\dT/);
      expect(verifiedStatement("revoked", { revokedAt: report.revokedAt })).to.equal(
        `Verified: the brand revoked this registration on ${report.revokedAt!.slice(0, 10)}`,
      );
      // The server still claiming "genuine" is caught.
      expect(report.agreesWithServer).to.equal(false);
    });

    it("is recalled when the prefix owner anchored a recall of the item's lot", async function () {
      const f = await loadFixture(fixture);
      const recall = await f.events(1, [lotEvent("L42", RECALLED)]);
      const report = await verifyDocument(
        { ...f.doc, events: [...f.doc.events, ...recall] },
        { chains: chains(), trustedContract: f.contract },
      );
      expect(report.verdict, why(report)).to.equal("recalled");
      expect(report.facts?.recalls).to.deep.equal([{ level: "lot", brandId: "1", revoked: false }]);
    });

    it("is recalled by a recall naming the item itself, or its product", async function () {
      const f = await loadFixture(fixture);
      for (const event of [itemEvent("SN1", RECALLED), classEvent(RECALLED)]) {
        const recall = await f.events(1, [event]);
        const report = await verifyDocument(
          { ...f.doc, events: recall },
          { chains: chains(), trustedContract: f.contract },
        );
        expect(report.verdict, why(report)).to.equal("recalled");
      }
    });

    it("is not recalled by a recall whose batch the brand revoked", async function () {
      const f = await loadFixture(fixture);
      const recall = await f.events(1, [lotEvent("L42", RECALLED)]);
      await f.revoke(1, recall[0]!.root);
      const report = await verifyDocument(
        { ...f.doc, events: [...f.doc.events, ...recall] },
        { chains: chains(), trustedContract: f.contract },
      );
      expect(report.verdict, why(report)).to.equal("genuine");
      expect(report.facts?.recalls).to.deep.equal([{ level: "lot", brandId: "1", revoked: true }]);
    });

    it("is not recalled by a recall that a brand other than the prefix owner anchored", async function () {
      const f = await loadFixture(fixture);
      const recall = await f.events(2, [lotEvent("L42", RECALLED)]);
      const report = await verifyDocument(
        { ...f.doc, events: [...f.doc.events, ...recall] },
        { chains: chains(), trustedContract: f.contract },
      );
      expect(failures(report)).to.deep.equal([]);
      expect(report.verdict).to.equal("genuine");
      expect(report.facts?.recalls).to.deep.equal([{ level: "lot", brandId: "2", revoked: false }]);
    });

    it("is prefix-mismatch when the identity batch comes from a brand that does not hold the prefix", async function () {
      const f = await loadFixture(fixture);
      const anchor = await f.anchorAs(2, f.identity, "identity");
      const report = await verifyDocument(
        { ...f.doc, identity: f.part(f.identity, 0, anchor) },
        { chains: chains(), trustedContract: f.contract },
      );
      expect(report.verdict, why(report)).to.equal("prefix-mismatch");
      expect(failures(report)).to.deep.equal([]);
      expect(report.steps.find((s) => s.check === "prefix-owner")?.detail).to.match(/belongs to brand 1, not 2/);
    });

    it("is prefix-mismatch when no brand holds the prefix, even if the brand revoked the batch", async function () {
      const f = await loadFixture(fixture);
      const batch = await build(dir, "identity", `gtin,serial\n${UNOWNED_GTIN},X1\n`);
      const anchor = await f.anchorAs(2, batch, "identity");
      await f.revoke(2, batch.root);
      const doc = {
        ...f.doc,
        item: { ...f.doc.item, gtin: UNOWNED_GTIN, serial: "X1", lot: null },
        identity: f.part(batch, 0, anchor),
        events: [],
        brand: null,
      };
      const report = await verifyDocument(doc, { chains: chains(), trustedContract: f.contract });
      expect(report.verdict, why(report)).to.equal("prefix-mismatch");
      expect(report.facts?.prefixOwner).to.equal(null);
    });

    it("is suspicious when the server counts more scans than the threshold", async function () {
      const { doc, contract } = await loadFixture(fixture);
      const scanned = { ...doc, scans: { count: 51, firstScanAt: null } };
      expect((await verifyDocument(scanned, { chains: chains(), trustedContract: contract })).verdict).to.equal(
        "suspicious",
      );
      expect(
        (await verifyDocument(scanned, { chains: chains(), trustedContract: contract, scanThreshold: 100 })).verdict,
      ).to.equal("genuine");
    });

    it("is unknown without an identity record", async function () {
      const { doc, contract } = await loadFixture(fixture);
      const report = await verifyDocument({ ...doc, identity: null }, { chains: chains(), trustedContract: contract });
      expect(report.verdict, why(report)).to.equal("unknown");
      expect(failures(report)).to.deep.equal([]);
    });

    it("infers the level of a document older than levels from its item", async function () {
      const { doc, classDoc, contract } = await loadFixture(fixture);
      const old: Partial<typeof doc> = { ...doc };
      delete old.level;
      expect(await verifyDocument(old, { chains: chains(), trustedContract: contract })).to.include({
        level: "serial",
        verdict: "genuine",
      });
      const oldLot: Partial<ReturnType<typeof classDoc>> = classDoc("lot");
      delete oldLot.level;
      delete oldLot.product;
      expect(await verifyDocument(oldLot, { chains: chains(), trustedContract: contract })).to.include({
        level: "lot",
        verdict: "registered",
      });
    });
  });

  for (const level of ["lot", "product"] as const) {
    describe(`a ${level} code`, function () {
      it("is registered when a live item of the prefix owner is anchored", async function () {
        const { classDoc, contract } = await loadFixture(fixture);
        const report = await verifyDocument(classDoc(level), { chains: chains(), trustedContract: contract });
        expect(report.verdict, why(report)).to.equal("registered");
        expect(report).to.include({ level, agreesWithServer: true });
        expect(failures(report)).to.deep.equal([]);
        expect(report.facts).to.not.have.property("scans");
      });

      it("is recalled by the prefix owner's recall of the product", async function () {
        const f = await loadFixture(fixture);
        const recall = await f.events(1, [classEvent(RECALLED)]);
        const report = await verifyDocument(f.classDoc(level, { events: recall }), {
          chains: chains(),
          trustedContract: f.contract,
        });
        expect(report.verdict, why(report)).to.equal("recalled");
      });

      it("is unlisted when the only item shown was anchored by another brand", async function () {
        const f = await loadFixture(fixture);
        const anchor = await f.anchorAs(2, f.identity, "identity");
        const sample = f.part(
          f.identity,
          f.identity.records.findIndex((r) => r.kind === "identity" && r.item.serial === "SN2"),
          anchor,
        );
        const report = await verifyDocument(f.classDoc(level, { identity: sample }), {
          chains: chains(),
          trustedContract: f.contract,
        });
        expect(report.verdict, why(report)).to.equal("unlisted");
        expect(failures(report)).to.deep.equal([]);
      });

      it("is unlisted when the prefix owner anchored no item of it", async function () {
        const f = await loadFixture(fixture);
        const doc = f.classDoc(level, { identity: null, events: [] });
        const report = await verifyDocument(
          { ...doc, item: { ...doc.item, gtin: UNLISTED_GTIN } },
          { chains: chains(), trustedContract: f.contract },
        );
        expect(report.verdict, why(report)).to.equal("unlisted");
        expect(report.facts?.prefixOwner).to.equal("1");
      });

      it("is unregistered when no brand holds the prefix, read from the trusted contract", async function () {
        const f = await loadFixture(fixture);
        const doc = f.classDoc(level, { identity: null, events: [], brand: null });
        const unowned = { ...doc, verdict: "unregistered", item: { ...doc.item, gtin: UNOWNED_GTIN } };
        const report = await verifyDocument(unowned, { chains: chains(), trustedContract: f.contract });
        expect(report.verdict, why(report)).to.equal("unregistered");
        expect(report.agreesWithServer).to.equal(true);
        expect(report.steps.find((s) => s.check === "prefix-owner")?.detail).to.equal(
          `no brand holds the company prefix of ${UNOWNED_GTIN}`,
        );
        // Nothing in the document names a contract: without a trusted one there is nothing to read.
        const blind = await verifyDocument(unowned, { chains: chains() });
        expect(blind.verdict).to.equal("not-verified");
        expect(failures(blind)[0]).to.include({ check: "contract" });
      });

      it("refuses an identity record of another product", async function () {
        const f = await loadFixture(fixture);
        const batch = await build(dir, "identity", `gtin,serial,lot\n${UNLISTED_GTIN},Z1,L42\n`);
        const anchor = await f.anchorAs(1, batch, "identity");
        const report = await verifyDocument(f.classDoc(level, { identity: f.part(batch, 0, anchor) }), {
          chains: chains(),
          trustedContract: f.contract,
        });
        expect(report.verdict).to.equal("not-verified");
        expect(failures(report)[0]).to.include({ check: "item-binding", subject: "identity" });
      });

      it("refuses an event that names only a serial item", async function () {
        const f = await loadFixture(fixture);
        const report = await verifyDocument(f.classDoc(level, { events: f.doc.events }), {
          chains: chains(),
          trustedContract: f.contract,
        });
        expect(report.verdict).to.equal("not-verified");
        expect(failures(report)[0]).to.include({ check: "item-binding", subject: "event 1" });
      });
    });
  }

  describe("lot and product levels differ", function () {
    it("a lot code is recalled by its own lot's recall, a product code is not", async function () {
      const f = await loadFixture(fixture);
      const recall = await f.events(1, [lotEvent("L42", RECALLED)]);
      const lot = await verifyDocument(f.classDoc("lot", { events: recall }), {
        chains: chains(),
        trustedContract: f.contract,
      });
      expect(lot.verdict, why(lot)).to.equal("recalled");
      const product = await verifyDocument(f.classDoc("product", { events: recall }), {
        chains: chains(),
        trustedContract: f.contract,
      });
      expect(product.verdict, why(product)).to.equal("registered");
    });

    it("a lot code refuses the sample item and the events of another lot; a product code takes any lot", async function () {
      const f = await loadFixture(fixture);
      const other = f.item("SN3");
      const lot = await verifyDocument(f.classDoc("lot", { identity: other }), {
        chains: chains(),
        trustedContract: f.contract,
      });
      expect(failures(lot)[0]).to.include({ check: "item-binding", subject: "identity" });
      const otherLot = await f.events(1, [lotEvent("L43")]);
      const lotEvents = await verifyDocument(f.classDoc("lot", { events: otherLot }), {
        chains: chains(),
        trustedContract: f.contract,
      });
      expect(failures(lotEvents)[0]).to.include({ check: "item-binding", subject: "event 1" });
      const product = await verifyDocument(f.classDoc("product", { identity: other, events: otherLot }), {
        chains: chains(),
        trustedContract: f.contract,
      });
      expect(product.verdict, why(product)).to.equal("registered");
    });
  });

  describe("what it does not verify", function () {
    it("says not-verified when a record was altered on its way, naming the step", async function () {
      const { doc, contract } = await loadFixture(fixture);
      const tampered = structuredClone(doc);
      (tampered.events[0]!.record as unknown as { event: { bizStep: string } }).event.bizStep = "shipping";
      const report = await verifyDocument(tampered, { chains: chains(), trustedContract: contract });
      expect(report).to.include({ verdict: "not-verified", agreesWithServer: null, facts: null });
      expect(failures(report)[0]).to.include({ check: "record-hash", subject: "event 1" });
    });

    it("says not-verified when the record hash and proof are recomputed for a forged record", async function () {
      const { doc, contract } = await loadFixture(fixture);
      const forged = structuredClone(doc);
      (forged.identity!.record as unknown as { item: { serial: string } }).item.serial = "SN999";
      forged.identity!.recordHash = recordHash(forged.identity!.record);
      forged.item.serial = "SN999";
      const report = await verifyDocument(forged, { chains: chains(), trustedContract: contract });
      expect(report.verdict).to.equal("not-verified");
      expect(failures(report)[0]).to.include({ check: "merkle-proof", subject: "identity" });
    });

    it("says not-verified when a proof step was altered", async function () {
      const { doc, contract } = await loadFixture(fixture);
      const forged = structuredClone(doc);
      forged.identity!.proof[0] = ethers.keccak256("0x02");
      const report = await verifyDocument(forged, { chains: chains(), trustedContract: contract });
      expect(report.verdict).to.equal("not-verified");
      expect(failures(report)[0]).to.include({ check: "merkle-proof", subject: "identity" });
    });

    it("refuses a record that is about another item", async function () {
      const { doc, contract } = await loadFixture(fixture);
      const report = await verifyDocument(
        { ...doc, item: { ...doc.item, serial: "SN2" } },
        { chains: chains(), trustedContract: contract },
      );
      expect(report.verdict).to.equal("not-verified");
      expect(failures(report)[0]).to.include({ check: "item-binding", subject: "identity" });
    });

    it("refuses a root the brand never anchored, and a document claiming another leaf count", async function () {
      const { doc, contract } = await loadFixture(fixture);
      const unanchored = await verifyDocument(
        { ...doc, identity: { ...doc.identity!, anchor: { ...doc.identity!.anchor, brandId: "2" } } },
        { chains: chains(), trustedContract: contract },
      );
      expect(failures(unanchored)[0]).to.include({ check: "anchor", subject: "identity" });
      expect(failures(unanchored)[0]!.detail).to.match(/brand 2 never anchored root/);
      const count = await verifyDocument(
        { ...doc, identity: { ...doc.identity!, anchor: { ...doc.identity!.anchor, leafCount: 4 } } },
        { chains: chains(), trustedContract: contract },
      );
      expect(failures(count)[0]!.detail).to.equal("leafCount on chain 3, document says 4");
    });

    it("refuses a document pointing at another contract than the trusted one", async function () {
      const { doc } = await loadFixture(fixture);
      const report = await verifyDocument(doc, {
        chains: chains(),
        trustedContract: ethers.ZeroAddress.replace(/0$/, "1"),
      });
      expect(report.verdict).to.equal("not-verified");
      expect(failures(report)[0]?.check).to.equal("contract");
    });

    it("needs every RPC to agree: one lying about an anchor makes the result not-verified", async function () {
      const { doc, contract } = await loadFixture(fixture);
      const honest = createRpcChainReader(rpc.url);
      const liar: ChainReader = {
        ...honest,
        name: "liar",
        anchorOf: () => Promise.resolve({ kind: 1, leafCount: 3n, anchoredAt: 1n, revokedAt: 0n }),
      };
      const report = await verifyDocument(doc, { chains: [honest, liar], trustedContract: contract });
      expect(report.verdict).to.equal("not-verified");
      expect(failures(report)[0]).to.include({ check: "rpc-agreement", subject: "identity" });
      const both = await verifyDocument(doc, {
        chains: [honest, createRpcChainReader(rpc.url)],
        trustedContract: contract,
      });
      expect(both.verdict, why(both)).to.equal("genuine");
    });

    it("needs every RPC to agree on the prefix owner", async function () {
      const { doc, contract } = await loadFixture(fixture);
      const honest = createRpcChainReader(rpc.url);
      const liar: ChainReader = { ...honest, name: "liar", brandOfGtin: () => Promise.resolve(2n) };
      const report = await verifyDocument(doc, { chains: [honest, liar], trustedContract: contract });
      expect(report.verdict).to.equal("not-verified");
      expect(failures(report)).to.have.length(1);
      expect(failures(report)[0]).to.include({ check: "rpc-agreement", subject: "prefix owner" });
    });

    it("verifies a proof bundle on its own, and reports an unreachable RPC as a failed step", async function () {
      const { doc, contract } = await loadFixture(fixture);
      const identity = doc.identity!;
      const bundle = makeProofBundle({
        record: identity.record,
        recordHash: identity.recordHash as `0x${string}`,
        proof: identity.proof as `0x${string}`[],
        root: identity.root as `0x${string}`,
        anchor: identity.anchor,
      });
      const report = await verifyDocument(bundle, { chains: chains(), trustedContract: contract });
      expect(report).to.include({ verdict: "genuine", serverVerdict: null, agreesWithServer: null, level: "serial" });
      const down = await verifyDocument(bundle, {
        chains: [createRpcChainReader("http://127.0.0.1:9")],
        trustedContract: contract,
      });
      expect(down.verdict).to.equal("not-verified");
      expect(failures(down)[0]?.check).to.equal("chain");
    });

    it("without an RPC checks hashes and proofs only, and says so", async function () {
      const { doc } = await loadFixture(fixture);
      const report = await verifyDocument(doc, { chains: [] });
      expect(report).to.include({ onChain: false, records: 3, verdict: "genuine" });
      expect(report.steps.every((s) => ["record-hash", "merkle-proof", "item-binding"].includes(s.check))).to.equal(
        true,
      );
    });

    it("never throws on malformed input: each is not-verified with the reason", async function () {
      const { doc } = await loadFixture(fixture);
      const bad: unknown[] = [
        null,
        "text",
        [],
        {},
        { ...doc, item: { gtin: "123" } },
        { ...doc, level: "pallet" },
        { ...doc, level: "lot", item: { ...doc.item, serial: null, lot: null } },
        { ...doc, events: "none" },
        { ...doc, events: [null] },
        { ...doc, identity: { ...doc.identity!, proof: ["0x12"] } },
        { ...doc, identity: { ...doc.identity!, anchor: { ...doc.identity!.anchor, brandId: "-1" } } },
        { ...doc, identity: { ...doc.identity!, anchor: { ...doc.identity!.anchor, brandId: "1".repeat(30) } } },
        { ...doc, identity: { ...doc.identity!, record: { v: 1, kind: "identity" } } },
        {
          ...doc,
          events: [
            {
              ...doc.events[0]!,
              record: {
                v: 1,
                kind: "trace",
                salt: "00".repeat(16),
                event: { type: "ObjectEvent", epcList: ["urn:epc:id:sgtin:bad"] },
              },
            },
          ],
        },
        { ...doc, identity: doc.events[0] },
        { type: "TraceAnchorProofBundle", v: 1, recordHash: "0x", proof: [] },
      ];
      for (const value of bad) {
        const report = await verifyDocument(value, { chains: [] });
        expect(report.verdict, JSON.stringify(value)?.slice(0, 200)).to.equal("not-verified");
        expect(failures(report), JSON.stringify(value)?.slice(0, 200)).to.have.length.greaterThan(0);
      }
    });
  });

  describe("the server's verdict", function () {
    it("is compared with the verifier's", async function () {
      const { doc, contract } = await loadFixture(fixture);
      expect((await verifyDocument(doc, { chains: chains(), trustedContract: contract })).agreesWithServer).to.equal(
        true,
      );
      const wrong = await verifyDocument(
        { ...doc, verdict: "recalled" },
        { chains: chains(), trustedContract: contract },
      );
      expect(wrong).to.include({ verdict: "genuine", serverVerdict: "recalled", agreesWithServer: false });
      expect(failures(wrong), "a wrong server verdict is reported, not a failed check").to.deep.equal([]);
    });

    it("is only a claim offline: without a chain the verdict follows the document's own claims", async function () {
      const { doc } = await loadFixture(fixture);
      const claimsRevoked = {
        ...doc,
        identity: { ...doc.identity!, anchor: { ...doc.identity!.anchor, revoked: true } },
      };
      expect(await verifyDocument(claimsRevoked, { chains: [] })).to.include({
        onChain: false,
        verdict: "revoked",
        agreesWithServer: false,
      });
    });
  });

  describe("chain reads", function () {
    it("starts every read before awaiting any, so a batching reader needs one round trip", async function () {
      const { doc, contract, identity } = await loadFixture(fixture);
      const started: string[] = [];
      const releases: Array<() => void> = [];
      const later = <T>(label: string, value: T): Promise<T> => {
        started.push(label);
        return new Promise<T>((resolve) => releases.push(() => resolve(value)));
      };
      const chainId = BigInt(doc.identity!.anchor.chainId);
      const fake = (name: string): ChainReader => ({
        name,
        chainId: () => later(`${name} chainId`, chainId),
        code: (address) => later(`${name} code ${address}`, "0x6080"),
        anchorOf: (_contract, _brand, root): Promise<OnChainAnchor> =>
          later(
            `${name} anchorOf ${root}`,
            root === identity.root
              ? { kind: 1, leafCount: 3n, anchoredAt: 1n, revokedAt: 0n }
              : { kind: 2, leafCount: 2n, anchoredAt: 1n, revokedAt: 0n },
          ),
        brandOfGtin: (_contract, gtin) => later(`${name} brandOfGtin ${gtin}`, 1n),
      });
      const pending = verifyDocument(doc, { chains: [fake("a"), fake("b")], trustedContract: contract });
      // Nothing has resolved yet: every read must already be in flight (the two events share one anchor).
      expect(started).to.have.length(2 * 5);
      expect(started.filter((s) => s.startsWith("a "))).to.have.members([
        "a chainId",
        `a code ${contract.toLowerCase()}`,
        `a anchorOf ${doc.identity!.root}`,
        `a anchorOf ${doc.events[0]!.root}`,
        `a brandOfGtin ${GTIN}`,
      ]);
      await new Promise((resolve) => setImmediate(resolve));
      expect(started, "no read waits for another").to.have.length(10);
      for (const release of releases) release();
      const report = await pending;
      expect(report.verdict, why(report)).to.equal("genuine");
    });
  });
});
