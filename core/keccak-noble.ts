/**
 * Portable keccak256 backend (@noble/hashes, pure JS). Used in browsers and as the Node fallback.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import type { KeccakBackend } from "./keccak-backend";

export function createNobleKeccak(): KeccakBackend {
  const encoder = new TextEncoder();
  const pair = new Uint8Array(64);
  return {
    name: "noble",
    hashInto(data, out, outOffset) {
      out.set(keccak_256(data), outOffset);
    },
    hashUtf8Into(text, out, outOffset) {
      out.set(keccak_256(encoder.encode(text)), outOffset);
    },
    leafInto(src, srcOffset, out, outOffset) {
      out.set(keccak_256(keccak_256(src.subarray(srcOffset, srcOffset + 32))), outOffset);
    },
    pairInto(src, first, second, out, outOffset) {
      pair.set(src.subarray(first, first + 32), 0);
      pair.set(src.subarray(second, second + 32), 32);
      out.set(keccak_256(pair), outOffset);
    },
  };
}
