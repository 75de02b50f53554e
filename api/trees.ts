/**
 * Proofs from stored trees, through a byte-capped LRU of loaded node buffers, so that a request never
 * reloads a large BLOB. A batch whose tree row is missing is rebuilt once from its record hashes.
 *
 *   createTreeCache({ treeNodes, records, maxBytes }): TreeCache
 *
 * The stored BLOB is either `MerkleTree.serialize()` output ("TAM1" header, nodes, leaf positions) or
 * the bare node buffer. Either way a leaf is found without the positions: OpenZeppelin's layout keeps
 * the n leaves sorted by hash at the end of the buffer (smallest last), so a binary search finds it.
 */
import { buildTree, leafHash, proofFromNodes, verifyProof, type Hex32 } from "../core";
import type { RecordsRepository } from "./repositories/records";
import type { TreeNodesRepository } from "./repositories/tree-nodes";
import { ApiError } from "./errors";

export interface TreeCache {
  /** The proof of `recordHash` in batch (brandId, root); verified against `root` before it is returned. */
  proof(brandId: number, root: string, recordHash: Buffer): Hex32[];
  stats(): { trees: number; bytes: number; hits: number; misses: number };
}

interface Loaded {
  readonly nodes: Uint8Array;
  readonly leafCount: number;
}

const MAGIC = Buffer.from("TAM1", "latin1");
const HEADER = 8;

export function createTreeCache(options: { treeNodes: TreeNodesRepository; records: RecordsRepository; maxBytes: number }): TreeCache {
  const { treeNodes, records, maxBytes } = options;
  // A Map iterates in insertion order: re-inserting on a hit makes the first key the least recent.
  const cache = new Map<string, Loaded>();
  let bytes = 0;
  let hits = 0;
  let misses = 0;

  const load = (brandId: number, root: string): Loaded => {
    const key = `${brandId}:${root}`;
    const cached = cache.get(key);
    if (cached !== undefined) {
      hits++;
      cache.delete(key);
      cache.set(key, cached);
      return cached;
    }
    misses++;
    const loaded = parseStored(treeNodes.get(brandId, root)) ?? rebuild(records.packedHashes(brandId, root));
    if (loaded === undefined || bytesToHexRoot(loaded.nodes) !== root) {
      throw new ApiError(503, "TREE_UNAVAILABLE", `the tree of batch ${root} is missing or inconsistent in the mirror`);
    }
    if (loaded.nodes.byteLength <= maxBytes) {
      cache.set(key, loaded);
      bytes += loaded.nodes.byteLength;
      for (const [oldKey, old] of cache) {
        if (bytes <= maxBytes) break;
        cache.delete(oldKey);
        bytes -= old.nodes.byteLength;
      }
    }
    return loaded;
  };

  return {
    proof(brandId, root, recordHash) {
      const { nodes, leafCount } = load(brandId, root);
      const treeIndex = findLeaf(nodes, leafCount, Buffer.from(leafHash(recordHash).slice(2), "hex"));
      if (treeIndex < 0) throw new ApiError(503, "TREE_UNAVAILABLE", `record is not a leaf of the stored tree of batch ${root}`);
      const proof = proofFromNodes(nodes, treeIndex);
      if (!verifyProof(root, recordHash, proof)) throw new ApiError(503, "TREE_UNAVAILABLE", `stored tree of batch ${root} gives a bad proof`);
      return proof;
    },
    stats: () => ({ trees: cache.size, bytes, hits, misses }),
  };
}

function parseStored(blob: Buffer | undefined): Loaded | undefined {
  if (blob === undefined || blob.length < 32) return undefined;
  if (blob.length >= HEADER && blob.subarray(0, 4).equals(MAGIC)) {
    const n = blob.readUInt32BE(4);
    if (n > 0 && blob.length === HEADER + (2 * n - 1) * 32 + 4 * n) {
      return { nodes: blob.subarray(HEADER, HEADER + (2 * n - 1) * 32), leafCount: n };
    }
  }
  if (blob.length % 32 !== 0) return undefined;
  const size = blob.length / 32;
  if (size % 2 !== 1) return undefined;
  return { nodes: blob, leafCount: (size + 1) / 2 };
}

function rebuild(packed: Buffer): Loaded | undefined {
  if (packed.length === 0) return undefined;
  const tree = buildTree(packed);
  return { nodes: tree.nodes, leafCount: tree.leafCount };
}

function bytesToHexRoot(nodes: Uint8Array): string {
  return `0x${Buffer.from(nodes.buffer, nodes.byteOffset, 32).toString("hex")}`;
}

/** Node position of the leaf equal to `leaf`, or -1. Leaves are ascending from position size-1 downwards. */
function findLeaf(nodes: Uint8Array, n: number, leaf: Buffer): number {
  const size = 2 * n - 1;
  const buf = Buffer.from(nodes.buffer, nodes.byteOffset, nodes.byteLength);
  let lo = 0;
  let hi = n - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const at = (size - 1 - mid) * 32;
    const cmp = buf.compare(leaf, 0, 32, at, at + 32);
    if (cmp === 0) return size - 1 - mid;
    // cmp > 0: the stored leaf sorts after the target, so the target has a smaller rank.
    if (cmp > 0) hi = mid - 1;
    else lo = mid + 1;
  }
  return -1;
}
