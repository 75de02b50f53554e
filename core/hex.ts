/**
 * Byte/hex helpers shared by the hashing modules.
 *
 * `Hex32` is a lowercase 0x-prefixed 32-byte hex string, the only hash form the public API returns.
 */
import { MerkleError } from "./errors";

export type Hex32 = `0x${string}`;

const HEX32 = /^0x[0-9a-fA-F]{64}$/;

export function isHex32(value: unknown): value is Hex32 {
  return typeof value === "string" && HEX32.test(value);
}

export function bytesToHex(bytes: Uint8Array, offset = 0, length = bytes.length - offset): `0x${string}` {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset + offset, length).toString("hex")}`;
}

/** Parses a 0x-prefixed 32-byte hex string; throws `MerkleError` on anything else. */
export function hex32ToBytes(hex: string, what = "hash"): Uint8Array {
  if (!isHex32(hex)) throw new MerkleError("BAD_HEX32", `${what} must be a 0x-prefixed 32-byte hex string`);
  return Buffer.from(hex.slice(2), "hex");
}

export function hex32ToBytesInto(hex: string, out: Uint8Array, offset: number, what = "hash"): void {
  if (!isHex32(hex)) throw new MerkleError("BAD_HEX32", `${what} must be a 0x-prefixed 32-byte hex string`);
  Buffer.from(out.buffer, out.byteOffset, out.byteLength).write(hex.slice(2), offset, 32, "hex");
}
