/**
 * Merkle trees bit-for-bit equal to OpenZeppelin's `StandardMerkleTree.of(values, ["bytes32"])` with
 * each value `[recordHash]`, built over packed bytes instead of hex strings.
 *
 *   leafHash(recordHash: string | Uint8Array): Hex32          keccak256(keccak256(recordHash))
 *   nodeHash(a, b): Hex32                                     keccak256 of the sorted pair
 *   buildTree(recordHashes: Uint8Array | readonly string[]): MerkleTree
 *   loadTree(serialized: Uint8Array): MerkleTree              inverse of tree.serialize()
 *   proofFromNodes(nodes: Uint8Array, treeIndex: number): Hex32[]
 *   rootFromProof(recordHash, proof): Hex32                   OZ processProof over our leaf
 *   verifyProof(root, recordHash, proof): boolean
 *
 * Layout (OZ's): nodes[0] is the root, node i has children 2i+1 and 2i+2, and the n leaves sorted
 * ascending by leaf hash sit at the end in reverse order, so the smallest leaf is the last node.
 * "valueIndex" everywhere means the record's position in input (content-file) order; "treeIndex" is a
 * node position, the same number OZ stores as `values[i].treeIndex`.
 *
 * With abi.encode(bytes32) being the 32 bytes themselves, OZ's leaf is keccak256(keccak256(h)).
 */
import { MerkleError } from "./errors";
import { bytesToHex, hex32ToBytes, hex32ToBytesInto, type Hex32 } from "./hex";
import { keccak256PairInto, leafHashBytesInto } from "./keccak";

export interface MerkleTree {
  readonly root: Hex32;
  readonly leafCount: number;
  /** (2n-1) nodes of 32 bytes each, OZ order. Do not mutate. */
  readonly nodes: Uint8Array;
  /** treeIndices[valueIndex] = node position of that record's leaf. */
  readonly treeIndices: Uint32Array;
  /** Node position of the leaf of the record at `valueIndex` (input order). */
  leafIndexOf(valueIndex: number): number;
  /** The leaf hash of the record at `valueIndex`. */
  leafHash(valueIndex: number): Hex32;
  /** Proof for the record at `valueIndex`, leaf to root, as OZ `getProof(valueIndex)` returns it. */
  proof(valueIndex: number): Hex32[];
  /** One buffer an indexer can store; `loadTree` rebuilds the tree without hashing. */
  serialize(): Uint8Array;
}

const MAGIC = [0x54, 0x41, 0x4d, 0x31]; // "TAM1"
const HEADER = 8;

export function leafHash(recordHash: string | Uint8Array): Hex32 {
  const out = new Uint8Array(32);
  leafHashInto(toBytes32(recordHash, "recordHash"), 0, out, 0);
  return bytesToHex(out);
}

export function nodeHash(a: string | Uint8Array, b: string | Uint8Array): Hex32 {
  const pair = new Uint8Array(64);
  pair.set(toBytes32(a, "node"), 0);
  pair.set(toBytes32(b, "node"), 32);
  const out = new Uint8Array(32);
  hashSortedPair(pair, 0, 32, out, 0);
  return bytesToHex(out);
}

export function buildTree(recordHashes: Uint8Array | readonly string[]): MerkleTree {
  const packed =
    typeof (recordHashes as Uint8Array).BYTES_PER_ELEMENT === "number"
      ? (recordHashes as Uint8Array)
      : packHex(recordHashes as readonly string[]);
  if (packed.length % 32 !== 0)
    throw new MerkleError("BAD_INPUT", "packed record hashes must be a multiple of 32 bytes");
  const n = packed.length / 32;
  if (n === 0) throw new MerkleError("EMPTY_TREE", "a Merkle tree needs at least one leaf");
  if (n > 0x7fffffff) throw new MerkleError("TOO_MANY_LEAVES", "too many leaves");

  const leaves = new Uint8Array(n * 32);
  for (let i = 0; i < n; i++) leafHashInto(packed, i * 32, leaves, i * 32);

  const order = sortLeafOrder(leaves, n);
  const size = 2 * n - 1;
  const nodes = new Uint8Array(size * 32);
  const treeIndices = new Uint32Array(n);
  for (let k = 0; k < n; k++) {
    const valueIndex = order[k] as number;
    const treeIndex = size - 1 - k;
    nodes.set(leaves.subarray(valueIndex * 32, valueIndex * 32 + 32), treeIndex * 32);
    treeIndices[valueIndex] = treeIndex;
  }
  for (let i = size - 1 - n; i >= 0; i--) {
    hashSortedPair(nodes, (2 * i + 1) * 32, (2 * i + 2) * 32, nodes, i * 32);
  }
  return makeTree(nodes, treeIndices);
}

export function loadTree(serialized: Uint8Array): MerkleTree {
  if (serialized.length < HEADER || MAGIC.some((b, i) => serialized[i] !== b)) {
    throw new MerkleError("BAD_SERIALIZED_TREE", "not a serialised TraceAnchor tree");
  }
  const view = new DataView(serialized.buffer, serialized.byteOffset, serialized.byteLength);
  const n = view.getUint32(4, false);
  const nodesLength = (2 * n - 1) * 32;
  if (n === 0 || serialized.length !== HEADER + nodesLength + 4 * n) {
    throw new MerkleError("BAD_SERIALIZED_TREE", "serialised tree has the wrong length");
  }
  const nodes = serialized.slice(HEADER, HEADER + nodesLength);
  const treeIndices = new Uint32Array(n);
  const seen = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const t = view.getUint32(HEADER + nodesLength + 4 * i, false);
    const k = 2 * n - 2 - t;
    if (t < n - 1 || t > 2 * n - 2 || seen[k] === 1) {
      throw new MerkleError("BAD_SERIALIZED_TREE", `serialised tree has a bad leaf index for value ${i}`);
    }
    seen[k] = 1;
    treeIndices[i] = t;
  }
  return makeTree(nodes, treeIndices);
}

/** Proof for the leaf at node position `treeIndex` of an OZ-layout node buffer. */
export function proofFromNodes(nodes: Uint8Array, treeIndex: number): Hex32[] {
  const size = nodes.length / 32;
  if (
    !Number.isInteger(size) ||
    !Number.isInteger(treeIndex) ||
    treeIndex < 0 ||
    treeIndex >= size ||
    2 * treeIndex + 1 < size
  ) {
    throw new MerkleError("NOT_A_LEAF", `node ${treeIndex} is not a leaf`);
  }
  const proof: Hex32[] = [];
  for (let i = treeIndex; i > 0; i = (i - 1) >> 1) {
    const sibling = i % 2 === 1 ? i + 1 : i - 1;
    proof.push(bytesToHex(nodes, sibling * 32, 32));
  }
  return proof;
}

export function rootFromProof(recordHash: string | Uint8Array, proof: readonly string[]): Hex32 {
  const acc = new Uint8Array(32);
  leafHashInto(toBytes32(recordHash, "recordHash"), 0, acc, 0);
  const pair = new Uint8Array(64);
  const sibling = new Uint8Array(32);
  for (const p of proof) {
    hex32ToBytesInto(p, sibling, 0, "proof element");
    pair.set(acc, 0);
    pair.set(sibling, 32);
    hashSortedPair(pair, 0, 32, acc, 0);
  }
  return bytesToHex(acc);
}

/**
 * Whether `proof` links `recordHash` to `root`. Throws `MerkleError` on malformed hex (a caller bug);
 * returns false for well-formed input that does not verify.
 */
export function verifyProof(root: string, recordHash: string | Uint8Array, proof: readonly string[]): boolean {
  const expected = bytesToHex(hex32ToBytes(root, "root"));
  return rootFromProof(recordHash, proof) === expected;
}

function makeTree(nodes: Uint8Array, treeIndices: Uint32Array): MerkleTree {
  const n = treeIndices.length;
  const check = (valueIndex: number): number => {
    if (!Number.isInteger(valueIndex) || valueIndex < 0 || valueIndex >= n) {
      throw new MerkleError("INDEX_OUT_OF_RANGE", `value index ${valueIndex} is out of range 0..${n - 1}`);
    }
    return treeIndices[valueIndex] as number;
  };
  return {
    root: bytesToHex(nodes, 0, 32),
    leafCount: n,
    nodes,
    treeIndices,
    leafIndexOf: check,
    leafHash: (valueIndex) => bytesToHex(nodes, check(valueIndex) * 32, 32),
    proof: (valueIndex) => proofFromNodes(nodes, check(valueIndex)),
    serialize() {
      const out = new Uint8Array(HEADER + nodes.length + 4 * n);
      out.set(MAGIC, 0);
      const view = new DataView(out.buffer);
      view.setUint32(4, n, false);
      out.set(nodes, HEADER);
      for (let i = 0; i < n; i++) view.setUint32(HEADER + nodes.length + 4 * i, treeIndices[i] as number, false);
      return out;
    },
  };
}

function leafHashInto(src: Uint8Array, srcOffset: number, out: Uint8Array, outOffset: number): void {
  leafHashBytesInto(src, srcOffset, out, outOffset);
}

/** keccak256(min(a,b) ‖ max(a,b)) where a, b are offsets of 32-byte slices of `src`. */
function hashSortedPair(src: Uint8Array, a: number, b: number, out: Uint8Array, outOffset: number): void {
  if (compareAt(src, a, src, b) <= 0) keccak256PairInto(src, a, b, out, outOffset);
  else keccak256PairInto(src, b, a, out, outOffset);
}

function compareAt(x: Uint8Array, xo: number, y: Uint8Array, yo: number): number {
  for (let i = 0; i < 32; i++) {
    const d = (x[xo + i] as number) - (y[yo + i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Value indices ordered by leaf bytes ascending, ties kept in input order (OZ uses a stable sort).
 * Counting sort on the first two bytes, then insertion sort inside each (tiny, since leaves are
 * hashes) bucket; large buckets fall back to a comparison sort.
 */
function sortLeafOrder(leaves: Uint8Array, n: number): Uint32Array {
  const buckets = 65536;
  const counts = new Uint32Array(buckets + 1);
  for (let i = 0; i < n; i++) {
    const b = (((leaves[i * 32] as number) << 8) | (leaves[i * 32 + 1] as number)) + 1;
    counts[b] = (counts[b] as number) + 1;
  }
  for (let b = 0; b < buckets; b++) counts[b + 1] = (counts[b + 1] as number) + (counts[b] as number);
  const starts = counts.slice(0, buckets);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const b = ((leaves[i * 32] as number) << 8) | (leaves[i * 32 + 1] as number);
    order[starts[b] as number] = i;
    starts[b] = (starts[b] as number) + 1;
  }
  const compare = (p: number, q: number): number => compareAt(leaves, p * 32, leaves, q * 32) || p - q;
  for (let b = 0; b < buckets; b++) {
    const lo = counts[b] as number;
    const hi = counts[b + 1] as number;
    if (hi - lo < 2) continue;
    if (hi - lo > 64) {
      order.subarray(lo, hi).sort(compare);
      continue;
    }
    for (let j = lo + 1; j < hi; j++) {
      const v = order[j] as number;
      let k = j - 1;
      while (k >= lo && compare(order[k] as number, v) > 0) {
        order[k + 1] = order[k] as number;
        k--;
      }
      order[k + 1] = v;
    }
  }
  return order;
}

function packHex(hashes: readonly string[]): Uint8Array {
  const packed = new Uint8Array(hashes.length * 32);
  hashes.forEach((h, i) => hex32ToBytesInto(h, packed, i * 32, `recordHashes[${i}]`));
  return packed;
}

function toBytes32(value: string | Uint8Array, what: string): Uint8Array {
  if (typeof value === "string") return hex32ToBytes(value, what);
  if (value.length !== 32) throw new MerkleError("BAD_HEX32", `${what} must be 32 bytes`);
  return value;
}
