/**
 * Proofs from stored trees, through a byte-capped LRU of loaded node buffers, so that a request never
 * reloads a large BLOB. A batch whose tree row is missing is rebuilt once from its record hashes.
 *
 *   createTreeCache({ treeNodes, records, maxBytes }): TreeCache
 *
 * The stored BLOB is either `MerkleTree.serialize()` output ("TAM1" header, nodes, leaf positions) or
 * the bare node buffer. Either way a leaf is found without the positions: OpenZeppelin's layout keeps
 * the n leaves sorted by hash at the end of the buffer (smallest last), so a binary search finds it.
 *
 * Every proof is checked against the root before it is served, without re-hashing what an earlier
 * proof already checked: a node is marked once it equals the hash of its children and every ancestor
 * up to the root did too, so a proof only hashes the part of its path no earlier proof covered (the
 * loaded buffer never changes). The hex of the upper levels, shared by every proof, is kept too.
 *
 * A loaded tree is also checked whole in the background, top down, one slice of `VERIFY_SLICE`
 * nodes per event-loop turn across all waiting trees (about 1 ms): once done, a proof hashes only
 * its leaf. A node that does not match its children is left unmarked, so the proofs through it
 * still fail (503).
 */
import { buildTree, type Hex32 } from "../core";
import { keccak256PairInto, leafHashBytesInto } from "../core/keccak";
import type { Async } from "../mirror/async";
import type { RecordsRepository, TreeNodesRepository } from "../mirror/read";
import { ApiError } from "./errors";

export interface TreeCache {
  /** The proof of `recordHash` in batch (brandId, root); verified against `root` before it is returned. */
  proof(brandId: number, root: string, recordHash: Buffer, leafIndex?: number): Promise<Hex32[]>;
  /**
   * The same proof as a JSON array text, e.g. `["0x…","0x…"]`. `leafIndex`, the record's position in
   * its batch, finds the leaf in one step when the stored tree has leaf positions; the leaf found is
   * checked against the record hash either way.
   */
  proofJson(brandId: number, root: string, recordHash: Buffer, leafIndex?: number): Promise<string>;
  /** `checkedTrees`: trees whose background check has finished. */
  stats(): { trees: number; bytes: number; hits: number; misses: number; checkedTrees: number };
}

interface Stored {
  readonly nodes: Uint8Array;
  readonly leafCount: number;
  /** positions[leafIndex] = node position of that record's leaf, when stored. */
  readonly positions?: Uint32Array;
}

interface Loaded extends Stored {
  /** The nodes as a Buffer view (no copy). */
  readonly buf: Buffer;
  /** Bit i: node i equals the hash of its children, and so does every ancestor of it. */
  readonly checked: Uint8Array;
  /** `"0x…"` (with the quotes) of nodes below HEX_MEMO_NODES, filled as proofs ask for them. */
  readonly hex: (string | undefined)[];
}

/** The upper 13 levels: shared by many proofs, at most 8191 strings per tree. */
const HEX_MEMO_NODES = 8191;

const MAGIC = Buffer.from("TAM1", "latin1");
const HEADER = 8;

/** Inner nodes checked per background slice: ~1 ms of keccak, so requests wait at most that long. */
const VERIFY_SLICE = 1024;

export interface TreeCacheOptions {
  readonly treeNodes: Pick<Async<TreeNodesRepository>, "get">;
  readonly records: Pick<Async<RecordsRepository>, "packedHashes">;
  readonly maxBytes: number;
  /** Check each loaded tree whole in the background (default true); off, paths are checked as proofs ask. */
  readonly backgroundCheck?: boolean;
}

export function createTreeCache(options: TreeCacheOptions): TreeCache {
  const { treeNodes, records, maxBytes } = options;
  const backgroundCheck = options.backgroundCheck ?? true;
  // A Map iterates in insertion order: re-inserting on a hit makes the first key the least recent.
  const cache = new Map<string, Loaded>();
  let bytes = 0;
  let hits = 0;
  let misses = 0;
  let checkedTrees = 0;
  const leaf = Buffer.alloc(32);
  const pair = Buffer.alloc(32);

  /** Loads in flight: concurrent requests for one tree share one read. */
  const loading = new Map<string, Promise<Loaded>>();

  const load = (brandId: number, root: string): Loaded | Promise<Loaded> => {
    const key = `${brandId}:${root}`;
    const cached = cache.get(key);
    if (cached !== undefined) {
      hits++;
      cache.delete(key);
      cache.set(key, cached);
      return cached;
    }
    let pending = loading.get(key);
    if (pending === undefined) {
      misses++;
      pending = fetchTree(key, brandId, root).finally(() => loading.delete(key));
      loading.set(key, pending);
    }
    return pending;
  };

  const fetchTree = async (key: string, brandId: number, root: string): Promise<Loaded> => {
    const stored =
      parseStored(await treeNodes.get(brandId, root)) ?? rebuild(await records.packedHashes(brandId, root));
    if (stored === undefined || bytesToHexRoot(stored.nodes) !== root) {
      throw new ApiError(503, "TREE_UNAVAILABLE", `the tree of batch ${root} is missing or inconsistent in the mirror`);
    }
    const size = stored.nodes.byteLength / 32;
    const loaded: Loaded = {
      ...stored,
      buf: Buffer.from(stored.nodes.buffer, stored.nodes.byteOffset, stored.nodes.byteLength),
      checked: new Uint8Array((size + 7) >>> 3),
      hex: new Array<string | undefined>(Math.min(size, HEX_MEMO_NODES)),
    };
    if (sizeOf(loaded) <= maxBytes) {
      cache.set(key, loaded);
      bytes += sizeOf(loaded);
      for (const [oldKey, old] of cache) {
        if (bytes <= maxBytes) break;
        cache.delete(oldKey);
        bytes -= sizeOf(old);
      }
      if (backgroundCheck) checkInBackground(key, loaded);
    }
    return loaded;
  };

  /**
   * Trees waiting for their background check, oldest first; one slice of VERIFY_SLICE inner nodes
   * per event-loop turn in all, however many trees are waiting. A tree evicted meanwhile is dropped.
   */
  const queue: { key: string; loaded: Loaded; next: number }[] = [];
  let scheduled = false;
  const slice = (): void => {
    scheduled = false;
    let budget = VERIFY_SLICE;
    while (budget > 0 && queue.length > 0) {
      const job = queue[0]!;
      const { loaded } = job;
      const inner = loaded.leafCount - 1;
      if (cache.get(job.key) !== loaded) {
        queue.shift();
        continue;
      }
      const end = Math.min(inner, job.next + budget);
      const { buf, checked } = loaded;
      for (let node = job.next; node < end; node++) {
        if (node > 0 && !isChecked(checked, (node - 1) >>> 1)) continue;
        if (!isChecked(checked, node) && matchesChildren(buf, node)) checked[node >>> 3]! |= 1 << (node & 7);
      }
      budget -= end - job.next;
      job.next = end;
      if (job.next >= inner) {
        queue.shift();
        checkedTrees++;
      }
    }
    if (queue.length > 0) schedule();
  };
  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(slice).unref();
  };
  const checkInBackground = (key: string, loaded: Loaded): void => {
    if (loaded.leafCount <= 1) return;
    queue.push({ key, loaded, next: 0 });
    schedule();
  };

  const path: number[] = [];

  /** Whether inner node `node` is the keccak256 of its two children, sorted (OpenZeppelin's pair hash). */
  const matchesChildren = (buf: Buffer, node: number): boolean => {
    const left = (2 * node + 1) * 32;
    const right = left + 32;
    if (compare32(buf, left, buf, right) <= 0) keccak256PairInto(buf, left, right, pair, 0);
    else keccak256PairInto(buf, right, left, pair, 0);
    return compare32(pair, 0, buf, node * 32) === 0;
  };

  /** Node position of the record's leaf, its path to the root checked; throws 503 otherwise. */
  const locate = (loaded: Loaded, root: string, recordHash: Buffer, leafIndex: number | undefined): number => {
    if (recordHash.length !== 32)
      throw new ApiError(503, "TREE_UNAVAILABLE", `record hash of batch ${root} is not 32 bytes`);
    leafHashBytesInto(recordHash, 0, leaf, 0);
    const n = loaded.leafCount;
    const at =
      leafIndex === undefined || loaded.positions === undefined || leafIndex < 0 || leafIndex >= n
        ? -1
        : (loaded.positions[leafIndex] as number);
    const treeIndex =
      at >= n - 1 && at <= 2 * n - 2 && compare32(loaded.buf, at * 32, leaf, 0) === 0
        ? at
        : findLeaf(loaded.buf, n, leaf);
    if (treeIndex < 0)
      throw new ApiError(503, "TREE_UNAVAILABLE", `record is not a leaf of the stored tree of batch ${root}`);
    checkPath(loaded, treeIndex, root);
    return treeIndex;
  };

  /** Checks each ancestor of `treeIndex` against its children up to the root or to a checked node. */
  const checkPath = (loaded: Loaded, treeIndex: number, root: string): void => {
    const { buf, checked } = loaded;
    path.length = 0;
    for (let i = treeIndex; i > 0;) {
      const parent = (i - 1) >>> 1;
      if (isChecked(checked, parent)) break;
      if (!matchesChildren(buf, parent)) {
        throw new ApiError(503, "TREE_UNAVAILABLE", `stored tree of batch ${root} gives a bad proof`);
      }
      path.push(parent);
      i = parent;
    }
    for (const node of path) checked[node >>> 3]! |= 1 << (node & 7);
  };

  const nodeJson = (loaded: Loaded, node: number): string => {
    if (node < HEX_MEMO_NODES) {
      const memo = loaded.hex[node];
      if (memo !== undefined) return memo;
      const text = `"0x${loaded.buf.toString("hex", node * 32, node * 32 + 32)}"`;
      loaded.hex[node] = text;
      return text;
    }
    return `"0x${loaded.buf.toString("hex", node * 32, node * 32 + 32)}"`;
  };

  return {
    async proof(brandId, root, recordHash, leafIndex) {
      const loaded = await load(brandId, root);
      const proof: Hex32[] = [];
      for (let i = locate(loaded, root, recordHash, leafIndex); i > 0; i = (i - 1) >>> 1) {
        const sibling = i % 2 === 1 ? i + 1 : i - 1;
        proof.push(nodeJson(loaded, sibling).slice(1, -1) as Hex32);
      }
      return proof;
    },
    async proofJson(brandId, root, recordHash, leafIndex) {
      const loaded = await load(brandId, root);
      let text = "[";
      for (let i = locate(loaded, root, recordHash, leafIndex); i > 0; i = (i - 1) >>> 1) {
        const sibling = i % 2 === 1 ? i + 1 : i - 1;
        text += text.length === 1 ? nodeJson(loaded, sibling) : `,${nodeJson(loaded, sibling)}`;
      }
      return `${text}]`;
    },
    stats: () => ({ trees: cache.size, bytes, hits, misses, checkedTrees }),
  };
}

/** Bytes a loaded tree holds: its nodes and leaf positions (the hex memo is bounded apart). */
const sizeOf = (tree: Stored): number => tree.nodes.byteLength + (tree.positions?.byteLength ?? 0);

function parseStored(blob: Buffer | undefined): Stored | undefined {
  if (blob === undefined || blob.length < 32) return undefined;
  if (blob.length >= HEADER && blob.subarray(0, 4).equals(MAGIC)) {
    const n = blob.readUInt32BE(4);
    if (n > 0 && blob.length === HEADER + (2 * n - 1) * 32 + 4 * n) {
      const end = HEADER + (2 * n - 1) * 32;
      const positions = new Uint32Array(n);
      for (let i = 0; i < n; i++) positions[i] = blob.readUInt32BE(end + 4 * i);
      return { nodes: blob.subarray(HEADER, end), leafCount: n, positions };
    }
  }
  if (blob.length % 32 !== 0) return undefined;
  const size = blob.length / 32;
  if (size % 2 !== 1) return undefined;
  return { nodes: blob, leafCount: (size + 1) / 2 };
}

function rebuild(packed: Buffer): Stored | undefined {
  if (packed.length === 0) return undefined;
  const tree = buildTree(packed);
  return { nodes: tree.nodes, leafCount: tree.leafCount, positions: tree.treeIndices };
}

function bytesToHexRoot(nodes: Uint8Array): string {
  return `0x${Buffer.from(nodes.buffer, nodes.byteOffset, 32).toString("hex")}`;
}

/** Node position of the leaf equal to `leaf`, or -1. Leaves are ascending from position size-1 downwards. */
function findLeaf(buf: Buffer, n: number, leaf: Buffer): number {
  const size = 2 * n - 1;
  let lo = 0;
  let hi = n - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const at = (size - 1 - mid) * 32;
    const cmp = compare32(buf, at, leaf, 0);
    if (cmp === 0) return size - 1 - mid;
    // cmp > 0: the stored leaf sorts after the target, so the target has a smaller rank.
    if (cmp > 0) hi = mid - 1;
    else lo = mid + 1;
  }
  return -1;
}

/** Bit `node` of a tree's checked set. */
const isChecked = (checked: Uint8Array, node: number): boolean => (checked[node >>> 3]! & (1 << (node & 7))) !== 0;

/** Compares 32 bytes at a[ao] with b[bo], like Buffer#compare but without its per-call overhead. */
function compare32(a: Uint8Array, ao: number, b: Uint8Array, bo: number): number {
  for (let i = 0; i < 32; i++) {
    const d = (a[ao + i] as number) - (b[bo + i] as number);
    if (d !== 0) return d;
  }
  return 0;
}
