/**
 * Node keccak256 backend: the Keccak WebAssembly module that ships inside the `hash-wasm` package,
 * instantiated synchronously so that hashing stays a plain synchronous function.
 *
 * Why not hash-wasm's own API: it only hands out hashers through a Promise, which would make every
 * hashing function in core async. Why not the native `keccak` addon: it crosses N-API four times and
 * allocates a Buffer per hash, which made it ~5x slower than this on 64-byte inputs (see
 * docs/benchmarks.md). `core/keccak.ts` checks this backend against a known vector and falls back to
 * @noble/hashes if hash-wasm's internal layout ever changes.
 */
import { readFileSync } from "node:fs";
import type { KeccakBackend } from "./keccak-backend";

/** hash-wasm's working buffer size; larger inputs go through Init/Update/Final in chunks. */
const HEAP = 16 * 1024;
const BITS = 256;
/** Keccak (pre-standard) padding byte; SHA3 would be 0x06. */
const KECCAK_PADDING = 0x01;

interface HashWasmExports {
  memory: WebAssembly.Memory;
  Hash_GetBuffer(): number;
  Hash_Init(bits: number): void;
  Hash_Update(length: number): void;
  Hash_Final(padding: number): void;
  Hash_Calculate(length: number, bits: number, padding: number): void;
}

function loadWasmBinary(): Uint8Array<ArrayBuffer> {
  const file = require.resolve("hash-wasm/dist/keccak.umd.min.js");
  const source = readFileSync(file, "utf8");
  const match = /name:"sha3",data:"([A-Za-z0-9+/=]+)"/.exec(source);
  if (match === null || match[1] === undefined) throw new Error(`no Keccak WebAssembly module found in ${file}`);
  return new Uint8Array(Buffer.from(match[1], "base64"));
}

export function createWasmKeccak(): KeccakBackend {
  const module = new WebAssembly.Module(loadWasmBinary());
  const ex = new WebAssembly.Instance(module, {}).exports as unknown as HashWasmExports;
  const offset = ex.Hash_GetBuffer();
  let heap = new Uint8Array(ex.memory.buffer, offset, HEAP);
  let digest = heap.subarray(0, 32);
  const encoder = new TextEncoder();

  // A grown WebAssembly memory detaches old views; re-create the views if that ever happens.
  const view = (): Uint8Array => {
    if (heap.byteLength === 0) {
      heap = new Uint8Array(ex.memory.buffer, offset, HEAP);
      digest = heap.subarray(0, 32);
    }
    return heap;
  };
  // Byte loops instead of subarray+set: for 32 bytes, allocating the view costs more than copying.
  const copyOut = (out: Uint8Array, outOffset: number): void => {
    for (let i = 0; i < 32; i++) out[outOffset + i] = heap[i] as number;
  };

  const hashLarge = (data: Uint8Array): void => {
    const h = view();
    ex.Hash_Init(BITS);
    for (let read = 0; read < data.length; read += HEAP) {
      const chunk = data.subarray(read, read + HEAP);
      h.set(chunk);
      ex.Hash_Update(chunk.length);
    }
    ex.Hash_Final(KECCAK_PADDING);
  };

  return {
    name: "hash-wasm",
    hashInto(data, out, outOffset) {
      const h = view();
      if (data.length <= HEAP) {
        h.set(data);
        ex.Hash_Calculate(data.length, BITS, KECCAK_PADDING);
      } else {
        hashLarge(data);
      }
      out.set(digest, outOffset);
    },
    hashUtf8Into(text, out, outOffset) {
      const h = view();
      // Worst case 3 bytes per UTF-16 unit; only then can encodeInto run out of room.
      if (text.length * 3 <= HEAP) {
        const { written } = encoder.encodeInto(text, h);
        ex.Hash_Calculate(written, BITS, KECCAK_PADDING);
      } else {
        hashLarge(encoder.encode(text));
      }
      out.set(digest, outOffset);
    },
    leafInto(src, srcOffset, out, outOffset) {
      const h = view();
      for (let i = 0; i < 32; i++) h[i] = src[srcOffset + i] as number;
      // The digest lands where the input was read from, so the second round needs no copy.
      ex.Hash_Calculate(32, BITS, KECCAK_PADDING);
      ex.Hash_Calculate(32, BITS, KECCAK_PADDING);
      copyOut(out, outOffset);
    },
    pairInto(src, first, second, out, outOffset) {
      const h = view();
      for (let i = 0; i < 32; i++) h[i] = src[first + i] as number;
      for (let i = 0; i < 32; i++) h[32 + i] = src[second + i] as number;
      ex.Hash_Calculate(64, BITS, KECCAK_PADDING);
      copyOut(out, outOffset);
    },
  };
}
