import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";
import fc from "fast-check";
import { randomBytes } from "node:crypto";
import {
  buildTree,
  leafHash,
  loadTree,
  MerkleError,
  nodeHash,
  proofFromNodes,
  rootFromProof,
  verifyProof,
} from "../../core";

type Hex = `0x${string}`;

function randomHashes(n: number): Hex[] {
  const bytes = randomBytes(n * 32);
  return Array.from({ length: n }, (_, i): Hex => `0x${bytes.subarray(i * 32, i * 32 + 32).toString("hex")}`);
}

/** OZ's per-value tree index; not in its public typings but part of its dump format. */
function ozTreeIndex(tree: StandardMerkleTree<[string]>, i: number): number {
  const entry = tree.dump().values[i];
  if (entry === undefined) throw new Error(`no value ${i}`);
  return entry.treeIndex;
}

function expectSameAsOz(hashes: Hex[], checkEveryProof = true): void {
  const oz = StandardMerkleTree.of(
    hashes.map((h) => [h] as [string]),
    ["bytes32"],
  );
  const ours = buildTree(hashes);
  expect(ours.root).to.equal(oz.root);
  expect(ours.leafCount).to.equal(hashes.length);
  const step = checkEveryProof ? 1 : Math.max(1, Math.floor(hashes.length / 200));
  for (let i = 0; i < hashes.length; i += step) {
    expect(ours.proof(i)).to.deep.equal(oz.getProof(i));
    expect(ours.leafIndexOf(i)).to.equal(ozTreeIndex(oz, i));
  }
}

describe("core/merkle", function () {
  describe("matches OpenZeppelin StandardMerkleTree", function () {
    for (const n of [1, 2, 3, 4, 5, 7, 8, 33, 100, 1001]) {
      it(`gives the same root, proofs and leaf positions for ${n} random leaves`, function () {
        expectSameAsOz(randomHashes(n));
      });
    }

    it("gives the same root and every proof for 10,000 leaves", function () {
      this.timeout(120_000);
      expectSameAsOz(randomHashes(10_000));
    });

    it("agrees for arbitrary small batches (fast-check)", function () {
      fc.assert(
        fc.property(
          fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { minLength: 1, maxLength: 40 }),
          (arrays) => {
            const hashes = arrays.map((a): Hex => `0x${Buffer.from(a).toString("hex")}`);
            expectSameAsOz(hashes);
          },
        ),
        { numRuns: 60 },
      );
    });

    it("orders duplicate leaves like OpenZeppelin (stable by input index)", function () {
      const [a, b] = randomHashes(2) as [Hex, Hex];
      expectSameAsOz([a, b, a, a, b]);
    });

    it("accepts packed bytes and hex strings alike", function () {
      const hashes = randomHashes(9);
      const packed = Buffer.concat(hashes.map((h) => Buffer.from(h.slice(2), "hex")));
      expect(buildTree(packed).root).to.equal(buildTree(hashes).root);
    });

    it("accepts uppercase hex input and returns lowercase", function () {
      const hashes = randomHashes(3);
      const upper = hashes.map((h) => `0x${h.slice(2).toUpperCase()}`);
      expect(buildTree(upper).root).to.equal(buildTree(hashes).root);
      expect(buildTree(upper).root).to.match(/^0x[0-9a-f]{64}$/);
    });
  });

  describe("leafHash and nodeHash", function () {
    it("leafHash equals OZ leafHash for bytes32", function () {
      const [h] = randomHashes(1) as [Hex];
      const oz = StandardMerkleTree.of([[h]], ["bytes32"]);
      expect(leafHash(h)).to.equal(oz.leafHash([h]));
      expect(leafHash(Buffer.from(h.slice(2), "hex"))).to.equal(oz.leafHash([h]));
    });

    it("nodeHash is order independent", function () {
      const [a, b] = randomHashes(2) as [Hex, Hex];
      expect(nodeHash(a, b)).to.equal(nodeHash(b, a));
    });
  });

  describe("verifyProof", function () {
    it("accepts every OZ proof", function () {
      const hashes = randomHashes(37);
      const oz = StandardMerkleTree.of(
        hashes.map((h) => [h] as [string]),
        ["bytes32"],
      );
      hashes.forEach((h, i) => {
        expect(verifyProof(oz.root, h, oz.getProof(i))).to.equal(true);
        expect(StandardMerkleTree.verify(oz.root, ["bytes32"], [h], buildTree(hashes).proof(i))).to.equal(true);
      });
    });

    it("rejects altered proofs, records and roots", function () {
      const hashes = randomHashes(20);
      const tree = buildTree(hashes);
      const proof = tree.proof(5);
      const flip = (h: string): string => `${h.slice(0, -1)}${h.endsWith("0") ? "1" : "0"}`;
      expect(verifyProof(tree.root, hashes[5] as Hex, proof)).to.equal(true);
      expect(verifyProof(tree.root, hashes[6] as Hex, proof)).to.equal(false);
      expect(verifyProof(tree.root, flip(hashes[5] as Hex), proof)).to.equal(false);
      expect(verifyProof(flip(tree.root), hashes[5] as Hex, proof)).to.equal(false);
      expect(verifyProof(tree.root, hashes[5] as Hex, proof.slice(1))).to.equal(false);
      expect(verifyProof(tree.root, hashes[5] as Hex, [...proof, tree.root])).to.equal(false);
      for (let i = 0; i < proof.length; i++) {
        const altered = proof.map((p, j) => (j === i ? flip(p) : p));
        expect(verifyProof(tree.root, hashes[5] as Hex, altered)).to.equal(false);
      }
    });

    it("accepts the single-leaf tree with an empty proof", function () {
      const [h] = randomHashes(1) as [Hex];
      const tree = buildTree([h]);
      expect(tree.root).to.equal(leafHash(h));
      expect(tree.proof(0)).to.deep.equal([]);
      expect(verifyProof(tree.root, h, [])).to.equal(true);
      expect(rootFromProof(h, [])).to.equal(tree.root);
    });

    it("throws MerkleError on malformed hex", function () {
      expect(() => verifyProof("0x12", "0x" + "00".repeat(32), [])).to.throw(MerkleError);
      expect(() => verifyProof("0x" + "00".repeat(32), "0x" + "00".repeat(32), ["zz"])).to.throw(MerkleError);
    });
  });

  describe("errors", function () {
    it("refuses an empty tree", function () {
      expect(() => buildTree([]))
        .to.throw(MerkleError)
        .with.property("code", "EMPTY_TREE");
    });

    it("refuses a packed buffer that is not a multiple of 32 bytes", function () {
      expect(() => buildTree(new Uint8Array(33))).to.throw(MerkleError);
    });

    it("refuses out-of-range value indices", function () {
      const tree = buildTree(randomHashes(3));
      expect(() => tree.proof(3))
        .to.throw(MerkleError)
        .with.property("code", "INDEX_OUT_OF_RANGE");
      expect(() => tree.proof(-1)).to.throw(MerkleError);
    });
  });

  describe("serialisation", function () {
    it("round-trips and gives the same proofs", function () {
      const hashes = randomHashes(77);
      const tree = buildTree(hashes);
      const loaded = loadTree(tree.serialize());
      expect(loaded.root).to.equal(tree.root);
      for (let i = 0; i < hashes.length; i++) expect(loaded.proof(i)).to.deep.equal(tree.proof(i));
    });

    it("proofFromNodes works on the bare node buffer", function () {
      const hashes = randomHashes(12);
      const tree = buildTree(hashes);
      expect(proofFromNodes(tree.nodes, tree.leafIndexOf(4))).to.deep.equal(tree.proof(4));
      expect(() => proofFromNodes(tree.nodes, 0)).to.throw(MerkleError);
    });

    it("refuses a truncated or foreign buffer", function () {
      const bytes = buildTree(randomHashes(5)).serialize();
      expect(() => loadTree(bytes.subarray(0, bytes.length - 1))).to.throw(MerkleError);
      expect(() => loadTree(new Uint8Array(64))).to.throw(MerkleError);
    });
  });
});
