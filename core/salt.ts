/**
 * Record salts: 16 bytes as 32 lowercase hex characters.
 *
 *   randomSalt(): string                                  from the platform CSPRNG
 *   deterministicSalt(seed: Uint8Array, index: number)    first 16 bytes of HMAC-SHA256(seed, uint64be(index))
 *   createSaltSource(seed?: Uint8Array): (index) => string  the batch builder's choice of the two
 *
 * Deterministic salts exist so a brand can rebuild a batch byte for byte from its input and a
 * 32-byte secret seed; the seed must stay secret, or salts become guessable again.
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { ValidationError } from "./errors";

export const SALT_PATTERN = /^[0-9a-f]{32}$/;

/** Salts drawn per CSPRNG call; amortises the call over many records. */
const RANDOM_POOL = 16 * 4096;

let pool = new Uint8Array(0);
let poolOffset = 0;

export function randomSalt(): string {
  if (poolOffset + 16 > pool.length) {
    pool = new Uint8Array(RANDOM_POOL);
    globalThis.crypto.getRandomValues(pool);
    poolOffset = 0;
  }
  const salt = Buffer.from(pool.buffer, poolOffset, 16).toString("hex");
  // Wipe used bytes so the pool never hands out a salt twice, even if reused by mistake.
  pool.fill(0, poolOffset, poolOffset + 16);
  poolOffset += 16;
  return salt;
}

export function deterministicSalt(seed: Uint8Array, index: number): string {
  checkSeed(seed);
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`salt index must be a non-negative integer`);
  const message = new Uint8Array(8);
  new DataView(message.buffer).setBigUint64(0, BigInt(index), false);
  return Buffer.from(hmac(sha256, seed, message).subarray(0, 16)).toString("hex");
}

export function createSaltSource(seed?: Uint8Array): (index: number) => string {
  if (seed === undefined) return () => randomSalt();
  checkSeed(seed);
  // Keyed once: HMAC's inner/outer key schedule is the expensive part for a million records.
  const keyed = hmac.create(sha256, seed);
  const message = new Uint8Array(8);
  const view = new DataView(message.buffer);
  return (index) => {
    view.setBigUint64(0, BigInt(index), false);
    const mac = keyed.clone().update(message).digest();
    return Buffer.from(mac.subarray(0, 16)).toString("hex");
  };
}

function checkSeed(seed: Uint8Array): void {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) {
    throw new ValidationError("salt seed must be exactly 32 bytes", { field: "saltSeed", code: "BAD_SALT_SEED" });
  }
}
