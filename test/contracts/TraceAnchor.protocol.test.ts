import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";
import { BRAND_ID, KIND, anchorRequest, deployTraceAnchorFixture, leafOf, randomBytes32 } from "../helpers/traceAnchor";

/** Protocol v1 on chain: OpenZeppelin StandardMerkleTree over ["bytes32"] record hashes, checked by the registry. */
describe("TraceAnchor Protocol v1", function () {
  function buildTree(size: number) {
    const recordHashes = Array.from({ length: size }, () => randomBytes32());
    const tree = StandardMerkleTree.of(
      recordHashes.map((h) => [h]),
      ["bytes32"],
    );
    return { recordHashes, tree };
  }

  for (const size of [1, 2, 3, 7, 64]) {
    describe(`a tree of ${size} record hash${size === 1 ? "" : "es"}`, function () {
      it("anchors its root", async function () {
        const { registry, submitter } = await loadFixture(deployTraceAnchorFixture);
        const { tree } = buildTree(size);
        await expect(registry.connect(submitter).anchor(BRAND_ID, anchorRequest({ root: tree.root, leafCount: size })))
          .to.emit(registry, "Anchored")
          .withArgs(BRAND_ID, tree.root, submitter.address, KIND.identity, size, "ipfs://batch");
        expect((await registry.anchorOf(BRAND_ID, tree.root)).leafCount).to.equal(BigInt(size));
      });

      it("verifies every leaf with its proof, and leafOf matches the tree's leaf hash", async function () {
        const { registry, submitter } = await loadFixture(deployTraceAnchorFixture);
        const { recordHashes, tree } = buildTree(size);
        await registry.connect(submitter).anchor(BRAND_ID, anchorRequest({ root: tree.root, leafCount: size }));
        for (const h of recordHashes) {
          const leaf = tree.leafHash([h]);
          expect(leaf).to.equal(leafOf(h));
          expect(await registry.leafOf(h)).to.equal(leaf);
          expect(await registry.verify(BRAND_ID, tree.root, tree.getProof([h]), leaf)).to.equal(true);
        }
      });

      it("rejects every leaf with a proof from another tree", async function () {
        const { registry, submitter } = await loadFixture(deployTraceAnchorFixture);
        const { recordHashes, tree } = buildTree(size);
        const other = buildTree(size + 1).tree;
        await registry.connect(submitter).anchor(BRAND_ID, anchorRequest({ root: tree.root, leafCount: size }));
        await registry.connect(submitter).anchor(BRAND_ID, anchorRequest({ root: other.root, leafCount: size + 1 }));
        for (const [i, h] of recordHashes.entries()) {
          const leaf = tree.leafHash([h]);
          expect(await registry.verify(BRAND_ID, tree.root, other.getProof(i), leaf)).to.equal(false);
          expect(await registry.verify(BRAND_ID, other.root, tree.getProof([h]), leaf)).to.equal(false);
        }
      });
    });
  }
});
