/**
 * Reads the few TraceAnchor views the verifier needs over plain JSON-RPC (`fetch`), so the same code
 * runs in Node and in a browser without bundling ethers. The calldata encoding here is checked
 * against ethers' ABI coder with the contract's real ABI in test/core/chain-reader.test.ts.
 *
 * On a phone every request is a round trip, so the reader sends the calls issued in one turn of the
 * event loop as one JSON-RPC batch (identical calls once), and in a browser it sends them as
 * `text/plain`: a CORS "simple" request, which needs no preflight (another round trip). An endpoint
 * that refuses either gets what it accepts from then on: single requests, `application/json`.
 *
 *   createRpcChainReader(url, options?: { fetch?, batch?, maxBatchSize?, contentType? }): ChainReader
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

type FetchFn = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string },
) => Promise<{
  ok: boolean;
  status: number;
  json(): Promise<unknown>;
}>;

export type RpcContentType = "text/plain" | "application/json";

export interface RpcReaderOptions {
  /** Default the global `fetch`. */
  readonly fetch?: FetchFn;
  /** Send the calls issued in one turn of the event loop as one JSON-RPC batch (default true). */
  readonly batch?: boolean;
  /** Most calls in one batch request; more go out as several requests at once (default 100). */
  readonly maxBatchSize?: number;
  /**
   * The requests' content type. Default `text/plain` where requests are subject to CORS (a page or a
   * worker: a global `location`), because a cross-origin POST of `application/json` waits for a
   * preflight; elsewhere `application/json`. A `text/plain` request that the endpoint refuses (HTTP
   * 415, or no answer a browser may read) before it has accepted one is sent again as
   * `application/json`, which is then used for the reader's lifetime.
   */
  readonly contentType?: RpcContentType;
}

interface Waiter {
  resolve(result: unknown): void;
  reject(error: RpcError): void;
}

interface Call {
  readonly method: string;
  readonly params: readonly unknown[];
  readonly waiters: Waiter[];
}

interface RpcResponse {
  readonly id?: unknown;
  readonly result?: unknown;
  readonly error?: { readonly message?: unknown };
}

type Posted = { readonly ok: true; readonly body: unknown } | { readonly ok: false; readonly status: number };

const DEFAULT_MAX_BATCH = 100;

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isResponse(value: unknown): value is RpcResponse {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function defaultContentType(): RpcContentType {
  return typeof location === "object" ? "text/plain" : "application/json";
}

export function createRpcChainReader(url: string, options: RpcReaderOptions = {}): ChainReader {
  const fetchFn: FetchFn = options.fetch ?? fetch;
  const maxBatch = Math.max(1, options.maxBatchSize ?? DEFAULT_MAX_BATCH);
  let id = 0;
  // undefined until the endpoint has answered a text/plain request, or refused one.
  let textPlainWorks: boolean | undefined =
    (options.contentType ?? defaultContentType()) === "text/plain" ? undefined : false;
  // undefined until the endpoint has answered a batch: with an array (true) or otherwise (false).
  let batches: boolean | undefined = options.batch === false ? false : undefined;
  let queue: Map<string, Call> | undefined;

  async function post(payload: unknown): Promise<Posted> {
    const body = JSON.stringify(payload);
    const type: RpcContentType = textPlainWorks === false ? "application/json" : "text/plain";
    let response;
    try {
      response = await fetchFn(url, { method: "POST", headers: { "content-type": type }, body });
    } catch (error) {
      if (type === "text/plain" && textPlainWorks === undefined) {
        textPlainWorks = false;
        return post(payload);
      }
      throw new RpcError(`${url}: ${errorMessage(error)}`, { cause: error });
    }
    if (type === "text/plain" && textPlainWorks === undefined) {
      if (response.status === 415) {
        textPlainWorks = false;
        return post(payload);
      }
      textPlainWorks = true;
    }
    if (!response.ok) return { ok: false, status: response.status };
    try {
      return { ok: true, body: await response.json() };
    } catch (error) {
      throw new RpcError(`${url}: the answer is not JSON (${errorMessage(error)})`, { cause: error });
    }
  }

  function settle(call: Call, response: RpcResponse | undefined): void {
    if (response === undefined) {
      for (const w of call.waiters) w.reject(new RpcError(`${url}: no answer to ${call.method} in the batch`));
    } else if (response.error !== undefined && response.error !== null) {
      const message = typeof response.error.message === "string" ? response.error.message : "JSON-RPC error";
      for (const w of call.waiters) w.reject(new RpcError(`${url}: ${message}`));
    } else {
      for (const w of call.waiters) w.resolve(response.result);
    }
  }

  function fail(calls: readonly Call[], error: unknown): void {
    const rpcError =
      error instanceof RpcError ? error : new RpcError(`${url}: ${errorMessage(error)}`, { cause: error });
    for (const call of calls) for (const w of call.waiters) w.reject(rpcError);
  }

  async function sendOne(call: Call): Promise<void> {
    const posted = await post({ jsonrpc: "2.0", id: ++id, method: call.method, params: call.params });
    if (!posted.ok) throw new RpcError(`${url}: HTTP ${posted.status}`);
    if (!isResponse(posted.body)) throw new RpcError(`${url}: unexpected answer to ${call.method}`);
    settle(call, posted.body);
  }

  async function sendBatch(calls: readonly Call[]): Promise<void> {
    const ids = calls.map(() => ++id);
    const posted = await post(
      calls.map((call, i) => ({ jsonrpc: "2.0", id: ids[i], method: call.method, params: call.params })),
    );
    if (!posted.ok || !Array.isArray(posted.body)) {
      // An endpoint that has answered a batch before is failing, not refusing batches.
      if (batches === true)
        throw new RpcError(`${url}: ${posted.ok ? "a batch answered with a non-array" : `HTTP ${posted.status}`}`);
      batches = false;
      await Promise.all(calls.map((call) => sendOne(call).catch((error: unknown) => fail([call], error))));
      return;
    }
    batches = true;
    const byId = new Map<string, RpcResponse>();
    for (const response of posted.body) if (isResponse(response)) byId.set(String(response.id), response);
    calls.forEach((call, i) => settle(call, byId.get(String(ids[i]))));
  }

  function dispatch(calls: readonly Call[]): void {
    const send =
      calls.length === 1 || batches === false
        ? Promise.all(calls.map((c) => sendOne(c).catch((error: unknown) => fail([c], error))))
        : sendBatch(calls);
    send.catch((error: unknown) => fail(calls, error));
  }

  function flush(): void {
    const calls = [...(queue?.values() ?? [])];
    queue = undefined;
    for (let i = 0; i < calls.length; i += maxBatch) dispatch(calls.slice(i, i + maxBatch));
  }

  function request(method: string, params: readonly unknown[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      if (options.batch === false) {
        dispatch([{ method, params, waiters: [waiter] }]);
        return;
      }
      if (queue === undefined) {
        queue = new Map();
        // A macrotask, not a microtask: every call started before the event loop moves on, however
        // many awaits deep, goes in this batch.
        setTimeout(flush, 0);
      }
      const key = JSON.stringify([method, params]);
      const same = queue.get(key);
      if (same) same.waiters.push(waiter);
      else queue.set(key, { method, params, waiters: [waiter] });
    });
  }

  async function rpc(method: string, params: readonly unknown[]): Promise<string> {
    const result = await request(method, params);
    if (typeof result !== "string") throw new RpcError(`${url}: unexpected ${method} result`);
    return result;
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
