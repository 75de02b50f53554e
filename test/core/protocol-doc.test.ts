import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";
import { concat, keccak256, toUtf8Bytes } from "ethers";
import { readFileSync } from "node:fs";
import path from "node:path";
import {
  buildTree,
  canonicalRecord,
  contentHeaderLine,
  eventHashId,
  eventPreHash,
  identityRecord,
  leafHash,
  recordHash,
  traceRecord,
  withEventId,
  type EpcisEvent,
} from "../../core";

const DOC = readFileSync(path.resolve(__dirname, "../../docs/protocol.md"), "utf8");

describe("docs/protocol.md worked example", function () {
  const records = [
    identityRecord(
      { gtin: "09506000134352", serial: "SER1", lot: "LOT1", attributes: { color: "red" } },
      "000102030405060708090a0b0c0d0e0f",
    ),
    identityRecord({ gtin: "09506000134352", serial: "SER2", lot: "LOT1" }, "101112131415161718191a1b1c1d1e1f"),
    identityRecord({ gtin: "09506000134352", serial: "SER3", lot: "LOT1" }, "202122232425262728292a2b2c2d2e2f"),
  ];
  const hashes = records.map((r) => recordHash(r));
  const tree = buildTree(hashes);

  it("shows the canonical forms, record hashes, leaves and node positions our code computes", function () {
    records.forEach((r, i) => {
      expect(DOC).to.include(canonicalRecord(r));
      const row = `| ${i} | \`${hashes[i]}\` | \`${leafHash(hashes[i] as string)}\` | ${tree.leafIndexOf(i)} |`;
      expect(DOC).to.include(row);
    });
  });

  it("shows the node array, root, proof and content header", function () {
    for (let i = 0; i < 5; i++) {
      expect(DOC).to.include(`${i}: 0x${Buffer.from(tree.nodes.subarray(i * 32, i * 32 + 32)).toString("hex")}`);
    }
    expect(DOC).to.include(`Root: \`${tree.root}\``);
    expect(DOC).to.include(`Proof for record 0: \`${JSON.stringify(tree.proof(0))}\``);
    expect(DOC).to.include(contentHeaderLine({ v: 1, kind: "identity", root: tree.root, leafCount: 3 }));
  });

  it("agrees with OpenZeppelin and with the ethers recipe in the doc", function () {
    const oz = StandardMerkleTree.of(
      hashes.map((h) => [h]),
      ["bytes32"],
    );
    expect(oz.root).to.equal(tree.root);
    const rh = keccak256(toUtf8Bytes(canonicalRecord(records[0]!)));
    const leaf = keccak256(keccak256(rh));
    const node = (a: string, b: string): string => keccak256(concat([a, b].sort()));
    const [p0, p1] = tree.proof(0) as [string, string];
    expect(node(node(leaf, p0), p1)).to.equal(tree.root);
  });
});

describe("docs/protocol.md event id example", function () {
  // The example's event and @context are read from the page itself, so the page is the input.
  const event = JSON.parse(/```json\n(\{"type":"ObjectEvent".*\})\n```/.exec(DOC)?.[1] ?? "null") as EpcisEvent;
  const context: unknown = JSON.parse(/`@context` is\n`(\[.*\])`/.exec(DOC)?.[1] ?? "null");

  it("shows the pre-hash string and the hash id our code computes", function () {
    expect(event).to.be.an("object").and.not.have.property("eventID");
    const shown = /Its pre-hash string[^\n]*\n\n```\n([^`]*)```/.exec(DOC)?.[1] ?? "";
    expect(shown.split("\n").join("")).to.equal(eventPreHash(event, { context }));
    expect(DOC).to.include(`Its id: \`${eventHashId(event, { context })}\``);
  });

  it("shows the record and record hash of the event with its id", function () {
    const record = traceRecord(withEventId(event, { context }), "303132333435363738393a3b3c3d3e3f");
    expect(record.event.eventID).to.equal(eventHashId(event, { context }));
    expect(eventHashId(record.event, { context }), "the id does not depend on eventID").to.equal(record.event.eventID);
    expect(DOC).to.include(canonicalRecord(record));
    expect(DOC).to.include(`record hash \`${recordHash(record)}\``);
  });
});
