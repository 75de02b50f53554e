import { randomBytes } from "node:crypto";
import { expect } from "chai";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { buildTree } from "../../core/merkle";
import { ApiError } from "../../api/errors";
import type { Async } from "../../mirror/async";
import type { RecordsRepository } from "../../mirror/read";
import { createTreeCache } from "../../api/trees";

function batch(n: number) {
  const packed = randomBytes(32 * n);
  const tree = buildTree(packed);
  const hashes = Array.from({ length: n }, (_, i) => packed.subarray(i * 32, i * 32 + 32));
  return { packed, tree, hashes };
}

const recordsOf = (packed: Buffer | undefined): Async<RecordsRepository> => ({
  byHash: () => Promise.resolve([]),
  page: () => Promise.resolve([]),
  packedHashes: () => Promise.resolve(packed ?? Buffer.alloc(0)),
});

async function refused503(pending: Promise<unknown>): Promise<void> {
  const error = await pending.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).to.be.instanceOf(ApiError).with.property("statusCode", 503);
}

const ozVerifies = (root: string, hash: Buffer, proof: string[]): boolean =>
  StandardMerkleTree.verify(root, ["bytes32"], [`0x${hash.toString("hex")}`], proof);

describe("api: tree cache", function () {
  it("serves proofs from a serialised tree, a bare node buffer, or a rebuild from record hashes", async function () {
    const { packed, tree, hashes } = batch(37);
    const sources: [string, Buffer | undefined, Buffer | undefined][] = [
      ["serialised", Buffer.from(tree.serialize()), undefined],
      ["bare nodes", Buffer.from(tree.nodes), undefined],
      ["rebuilt", undefined, packed],
    ];
    for (const [name, blob, records] of sources) {
      const cache = createTreeCache({
        treeNodes: { get: () => Promise.resolve(blob) },
        records: recordsOf(records),
        maxBytes: 2 ** 20,
      });
      for (const hash of hashes)
        expect(ozVerifies(tree.root, hash, await cache.proof(1, tree.root, hash)), name).to.equal(true);
      expect(cache.stats().misses, name).to.equal(1);
    }
  });

  it("refuses (503) a tree whose root is not the anchored one, or a record that is not a leaf", async function () {
    const { tree, hashes } = batch(8);
    const other = batch(8);
    const cache = createTreeCache({
      treeNodes: { get: () => Promise.resolve(Buffer.from(other.tree.nodes)) },
      records: recordsOf(undefined),
      maxBytes: 2 ** 20,
    });
    await refused503(cache.proof(1, tree.root, hashes[0] as Buffer));
    const own = createTreeCache({
      treeNodes: { get: () => Promise.resolve(Buffer.from(tree.nodes)) },
      records: recordsOf(undefined),
      maxBytes: 2 ** 20,
    });
    await refused503(own.proof(1, tree.root, randomBytes(32)));
  });

  it("keeps loaded trees within the byte cap, evicting the least recently used", async function () {
    const trees = [batch(64), batch(64), batch(64)];
    const loads: string[] = [];
    const cache = createTreeCache({
      treeNodes: {
        get: (_brand, root) => {
          loads.push(root);
          return Promise.resolve(Buffer.from(trees.find((b) => b.tree.root === root)?.tree.nodes ?? []));
        },
      },
      records: recordsOf(undefined),
      maxBytes: 2 * 127 * 32,
    });
    const ask = async (i: number) => {
      const b = trees[i];
      if (b === undefined) throw new Error("no batch");
      await cache.proof(1, b.tree.root, b.hashes[0] as Buffer);
    };
    await ask(0);
    await ask(1);
    await ask(0);
    await ask(2); // evicts 1, the least recently used
    await ask(0);
    await ask(1);
    expect(loads.map((root) => trees.findIndex((b) => b.tree.root === root))).to.deep.equal([0, 1, 2, 1]);
    expect(cache.stats().bytes).to.be.at.most(2 * 127 * 32);
  });
});
