/**
 * Byte/hex helpers shared by the hashing modules. Node's Buffer does the work where it exists (it is
 * the fastest path); browsers, which have no Buffer, use the portable loops below.
 *
 * `Hex32` is a lowercase 0x-prefixed 32-byte hex string, the only hash form the public API returns.
 */
import { MerkleError } from "./errors";

export type Hex32 = `0x${string}`;

const HEX32 = /^0x[0-9a-fA-F]{64}$/;
const NodeBuffer: typeof Buffer | undefined = typeof Buffer === "undefined" ? undefined : Buffer;
const BYTE_HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

export function isHex32(value: unknown): value is Hex32 {
  return typeof value === "string" && HEX32.test(value);
}

export function bytesToHex(bytes: Uint8Array, offset = 0, length = bytes.length - offset): `0x${string}` {
  if (NodeBuffer) return `0x${NodeBuffer.from(bytes.buffer, bytes.byteOffset + offset, length).toString("hex")}`;
  let hex = "0x";
  for (let i = offset; i < offset + length; i++) hex += BYTE_HEX[bytes[i] as number];
  return hex as `0x${string}`;
}

function writeHex(hex: string, out: Uint8Array, offset: number): void {
  for (let i = 0; i < 32; i++) out[offset + i] = Number.parseInt(hex.slice(2 + i * 2, 4 + i * 2), 16);
}

/** Parses a 0x-prefixed 32-byte hex string; throws `MerkleError` on anything else. */
export function hex32ToBytes(hex: string, what = "hash"): Uint8Array {
  if (!isHex32(hex)) throw new MerkleError("BAD_HEX32", `${what} must be a 0x-prefixed 32-byte hex string`);
  if (NodeBuffer) return NodeBuffer.from(hex.slice(2), "hex");
  const out = new Uint8Array(32);
  writeHex(hex, out, 0);
  return out;
}

export function hex32ToBytesInto(hex: string, out: Uint8Array, offset: number, what = "hash"): void {
  if (!isHex32(hex)) throw new MerkleError("BAD_HEX32", `${what} must be a 0x-prefixed 32-byte hex string`);
  if (NodeBuffer) NodeBuffer.from(out.buffer, out.byteOffset, out.byteLength).write(hex.slice(2), offset, 32, "hex");
  else writeHex(hex, out, offset);
}
