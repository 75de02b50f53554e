/**
 * keccak256, synchronous, behind one small interface so a browser build can swap the backend.
 *
 *   keccak256(data: Uint8Array): Uint8Array            32-byte digest
 *   keccak256Hex(data: Uint8Array | string): Hex32     string input is hashed as UTF-8
 *   keccak256Into(data, out, outOffset): void          no allocation; for hot loops
 *   keccak256Utf8Into(text, out, outOffset): void      hashes UTF-8 of text without an intermediate copy
 *   leafHashBytesInto / keccak256PairInto              the two Merkle hot paths, allocation-free
 *   keccakBackendName(): string                        "hash-wasm" | "noble"
 *
 * Node uses hash-wasm's WebAssembly Keccak (fastest measured); anything else, or a failed self-test,
 * uses @noble/hashes. A browser bundle should alias `./keccak-wasm` to a module that throws.
 */
import type { KeccakBackend } from "./keccak-backend";
import { bytesToHex, type Hex32 } from "./hex";
import { createNobleKeccak } from "./keccak-noble";

const EMPTY_KECCAK = "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470";
const ABC_KECCAK = "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45";

/** keccak256 of 40,000 bytes of 0x07 (more than the WebAssembly buffer: the multi-chunk path). */
const BIG_KECCAK = "0x1d84a5367925bfcf4c61a54564ff2b231564adf1ea7cc44d5c9a287a49de2da8";
/** The leaf and pair hashes of SELF_TEST_NODES (below) at the offsets selfTest uses. */
const LEAF_KECCAK = "0xaabf6063e309be3e2697288cf7a829053408e175927b3f86960d916db4b7cabe";
const PAIR_KECCAK = "0xf3b298ef5d290980f7d708d874cf020115390147b6d457de67cf1c9382dbe4a8";

/**
 * Checks a backend against known digests (computed with ethers' and noble's keccak256, and checked
 * against both by test/core/keccak.test.ts). Constants, not a second backend: hashing 40 kB with a
 * cold noble cost every process ~0.1 s of start-up.
 */
export function selfTest(backend: KeccakBackend): boolean {
  const out = new Uint8Array(32);
  backend.hashInto(new Uint8Array(0), out, 0);
  if (bytesToHex(out) !== EMPTY_KECCAK) return false;
  backend.hashUtf8Into("abc", out, 0);
  if (bytesToHex(out) !== ABC_KECCAK) return false;
  backend.hashInto(new Uint8Array(40_000).fill(7), out, 0);
  if (bytesToHex(out) !== BIG_KECCAK) return false;
  const nodes = selfTestNodes();
  backend.leafInto(nodes, 7, out, 0);
  if (bytesToHex(out) !== LEAF_KECCAK) return false;
  backend.pairInto(nodes, 64, 3, out, 0);
  return bytesToHex(out) === PAIR_KECCAK;
}

/** 96 bytes, byte i = 37·i mod 256. */
export function selfTestNodes(): Uint8Array {
  return new Uint8Array(96).map((_, i) => (i * 37) & 0xff);
}

function selectBackend(): KeccakBackend {
  const isNode = typeof process !== "undefined" && process.versions?.node !== undefined;
  if (isNode) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const wasm = (require("./keccak-wasm") as typeof import("./keccak-wasm")).createWasmKeccak();
      if (selfTest(wasm)) return wasm;
    } catch {
      // hash-wasm missing or changed layout: the portable backend gives identical digests.
    }
  }
  return createNobleKeccak();
}

const backend = selectBackend();

export function keccakBackendName(): string {
  return backend.name;
}

export function keccak256Into(data: Uint8Array, out: Uint8Array, outOffset = 0): void {
  backend.hashInto(data, out, outOffset);
}

export function keccak256Utf8Into(text: string, out: Uint8Array, outOffset = 0): void {
  backend.hashUtf8Into(text, out, outOffset);
}

/** OZ bytes32 leaf: keccak256(keccak256(src[srcOffset .. +32))). */
export function leafHashBytesInto(src: Uint8Array, srcOffset: number, out: Uint8Array, outOffset: number): void {
  backend.leafInto(src, srcOffset, out, outOffset);
}

/** keccak256 of two 32-byte slices of `src`, in the order given. */
export function keccak256PairInto(
  src: Uint8Array,
  first: number,
  second: number,
  out: Uint8Array,
  outOffset: number,
): void {
  backend.pairInto(src, first, second, out, outOffset);
}

export function keccak256(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  backend.hashInto(data, out, 0);
  return out;
}

export function keccak256Hex(data: Uint8Array | string): Hex32 {
  const out = new Uint8Array(32);
  if (typeof data === "string") backend.hashUtf8Into(data, out, 0);
  else backend.hashInto(data, out, 0);
  return bytesToHex(out);
}
