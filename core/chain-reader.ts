/**
 * Reads the few TraceAnchor views the verifier needs over plain JSON-RPC (`fetch`), so the same code
 * runs in Node and in a browser without bundling ethers. The calldata encoding here is checked
 * against ethers' ABI coder with the contract's real ABI in test/core/chain-reader.test.ts.
 *
 *   createRpcChainReader(url, fetchFn?): ChainReader
 */
import { keccak256Hex } from "./keccak";

export interface OnChainAnchor {
  readonly kind: number;
  readonly leafCount: bigint;
  readonly anchoredAt: bigint;
  readonly revokedAt: bigint;
}

export interface ChainReader {
  /** A label for reports: the RPC URL. */
  readonly name: string;
  chainId(): Promise<bigint>;
  /** Runtime bytecode at `address` (to tell a contract from an empty account). */
  code(address: string): Promise<string>;
  anchorOf(contract: string, brandId: bigint, root: string): Promise<OnChainAnchor>;
  brandOfGtin(contract: string, gtin14: string): Promise<bigint>;
}

export class RpcError extends Error {
  override readonly name = "RpcError";
}

function selector(signature: string): string {
  return keccak256Hex(signature).slice(2, 10);
}

const ANCHOR_OF = selector("anchorOf(uint64,bytes32)");
const BRAND_OF_GTIN = selector("brandOfGtin(string)");

function word(value: bigint): string {
  return value.toString(16).padStart(64, "0");
}

export function encodeAnchorOf(brandId: bigint, root: string): string {
  if (!/^0x[0-9a-fA-F]{64}$/.test(root)) throw new RpcError(`root must be 32 bytes of hex, got ${root}`);
  return `0x${ANCHOR_OF}${word(brandId)}${root.slice(2).toLowerCase()}`;
}

export function encodeBrandOfGtin(gtin: string): string {
  const bytes = new TextEncoder().encode(gtin);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const padded = hex.padEnd(Math.ceil(hex.length / 64) * 64, "0");
  return `0x${BRAND_OF_GTIN}${word(32n)}${word(BigInt(bytes.length))}${padded}`;
}

function words(result: string, count: number): bigint[] {
  const hex = result.startsWith("0x") ? result.slice(2) : result;
  if (hex.length < count * 64) throw new RpcError(`short eth_call result (${hex.length / 2} bytes)`);
  return Array.from({ length: count }, (_, i) => BigInt(`0x${hex.slice(i * 64, i * 64 + 64)}`));
}

export function decodeAnchor(result: string): OnChainAnchor {
  const [kind, leafCount, anchoredAt, revokedAt] = words(result, 4) as [bigint, bigint, bigint, bigint];
  return { kind: Number(kind), leafCount, anchoredAt, revokedAt };
}

type FetchFn = (url: string, init: { method: string; headers: Record<string, string>; body: string }) => Promise<{
  ok: boolean;
  status: number;
  json(): Promise<unknown>;
}>;

export function createRpcChainReader(url: string, fetchFn: FetchFn = fetch): ChainReader {
  let id = 0;
  async function rpc(method: string, params: unknown[]): Promise<string> {
    let response;
    try {
      response = await fetchFn(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }),
      });
    } catch (error) {
      throw new RpcError(`${url}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    if (!response.ok) throw new RpcError(`${url}: HTTP ${response.status}`);
    const body = (await response.json()) as { result?: unknown; error?: { message?: string } };
    if (body.error) throw new RpcError(`${url}: ${body.error.message ?? "JSON-RPC error"}`);
    if (typeof body.result !== "string") throw new RpcError(`${url}: unexpected ${method} result`);
    return body.result;
  }
  const call = (to: string, data: string): Promise<string> => rpc("eth_call", [{ to, data }, "latest"]);
  return {
    name: url,
    chainId: async () => BigInt(await rpc("eth_chainId", [])),
    code: (address) => rpc("eth_getCode", [address, "latest"]),
    anchorOf: async (contract, brandId, root) => decodeAnchor(await call(contract, encodeAnchorOf(brandId, root))),
    brandOfGtin: async (contract, gtin14) => words(await call(contract, encodeBrandOfGtin(gtin14)), 1)[0] as bigint,
  };
}
