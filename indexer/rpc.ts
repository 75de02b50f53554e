/**
 * The few JSON-RPC calls the indexer needs, over any provider with ethers' `send(method, params)`
 * (JsonRpcProvider) or EIP-1193's `request({ method, params })`. Every failure comes out as a
 * `RetryableRpcError` or, for eth_getLogs over too many blocks (refused, or not answered in time), a
 * `LogRangeTooLargeError`; a response of the wrong shape (truncated, garbled) is a failure, never an
 * empty result.
 */
import { LogRangeTooLargeError, RetryableRpcError } from "./errors";
import { parseRangeRefusal } from "./range";
import type { ChainLogRow } from "../mirror/types";

export interface SendProvider {
  send(method: string, params: unknown[]): Promise<unknown>;
}

export interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
}

export type ProviderLike = SendProvider | Eip1193Provider;

export interface BlockHeader {
  readonly number: number;
  readonly hash: string;
  readonly parentHash: string;
  /** Seconds since the epoch, from the block. */
  readonly timestamp: number;
}

/** A contract log as read: the row the mirror stores (mirror/types.ts). */
export type ChainLog = ChainLogRow;

export interface ChainClient {
  chainId(): Promise<number>;
  blockNumber(): Promise<number>;
  /** The canonical header at `number`, or null if the chain is shorter. */
  header(number: number): Promise<BlockHeader | null>;
  /** Several headers at once (the provider may batch them). */
  headers(numbers: readonly number[]): Promise<Map<number, BlockHeader | null>>;
  /** The contract's logs in `fromBlock..toBlock`, in chain order. */
  logs(address: string, fromBlock: number, toBlock: number): Promise<ChainLog[]>;
}

export interface ChainClientOptions {
  /** Give up on one call after this long (the provider may keep it running). Default 30 s. */
  readonly timeoutMs?: number;
  /** Headers requested at once. Default 100. */
  readonly headerConcurrency?: number;
}

/** The text of an error and the JSON-RPC error it wraps, for pattern matching. */
export function errorText(error: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  const visit = (value: unknown, depth: number): void => {
    if (value === null || value === undefined || depth > 4 || seen.has(value)) return;
    if (typeof value === "string") {
      parts.push(value);
      return;
    }
    if (typeof value !== "object") return;
    seen.add(value);
    const record = value as Record<string, unknown>;
    for (const key of ["message", "shortMessage", "body", "code", "status"]) {
      const field = record[key];
      if (typeof field === "string" || typeof field === "number") parts.push(String(field));
    }
    for (const key of ["error", "info", "cause", "data"]) visit(record[key], depth + 1);
  };
  visit(error, 0);
  return parts.join(" | ");
}

function hexNumber(value: unknown, what: string): number {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]+$/.test(value))
    throw new Error(`${what} is not a hex quantity: ${String(value)}`);
  const n = Number.parseInt(value.slice(2), 16);
  if (!Number.isSafeInteger(n)) throw new Error(`${what} is too large: ${value}`);
  return n;
}

const ANY_BYTES = /^0x([0-9a-fA-F]{2})*$/;
/** One compiled pattern per length: a log has seven fixed-length fields, and a range thousands of logs. */
const FIXED_BYTES = new Map<number, RegExp>();

function hexString(value: unknown, what: string, bytes?: number): string {
  let pattern = ANY_BYTES;
  if (bytes !== undefined) {
    pattern = FIXED_BYTES.get(bytes) ?? new RegExp(`^0x[0-9a-fA-F]{${bytes * 2}}$`);
    FIXED_BYTES.set(bytes, pattern);
  }
  if (typeof value !== "string" || !pattern.test(value))
    throw new Error(`${what} is not ${bytes ?? "byte"} hex: ${String(value)}`);
  return value.toLowerCase();
}

function parseHeader(value: unknown): BlockHeader | null {
  if (value === null) return null;
  if (typeof value !== "object" || value === undefined) throw new Error("block is not an object");
  const block = value as Record<string, unknown>;
  return {
    number: hexNumber(block.number, "block.number"),
    hash: hexString(block.hash, "block.hash", 32),
    parentHash: hexString(block.parentHash, "block.parentHash", 32),
    timestamp: hexNumber(block.timestamp, "block.timestamp"),
  };
}

function parseLog(value: unknown): ChainLog & { removed: boolean } {
  if (typeof value !== "object" || value === null) throw new Error("log is not an object");
  const log = value as Record<string, unknown>;
  if (!Array.isArray(log.topics)) throw new Error("log.topics is not an array");
  return {
    blockNumber: hexNumber(log.blockNumber, "log.blockNumber"),
    blockHash: hexString(log.blockHash, "log.blockHash", 32),
    txHash: hexString(log.transactionHash, "log.transactionHash", 32),
    txIndex: hexNumber(log.transactionIndex, "log.transactionIndex"),
    logIndex: hexNumber(log.logIndex, "log.logIndex"),
    address: hexString(log.address, "log.address", 20),
    topics: log.topics.map((topic: unknown, i) => hexString(topic, `log.topics[${i}]`, 32)),
    data: hexString(log.data, "log.data"),
    removed: log.removed === true,
  };
}

/** Chain order: block, transaction index, log index. */
export function compareLogs(a: ChainLog, b: ChainLog): number {
  return a.blockNumber - b.blockNumber || a.txIndex - b.txIndex || a.logIndex - b.logIndex;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

export function createChainClient(provider: ProviderLike, options: ChainClientOptions = {}): ChainClient {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const headerConcurrency = options.headerConcurrency ?? 100;
  const send: (method: string, params: unknown[]) => Promise<unknown> =
    "send" in provider
      ? (method, params) => provider.send(method, params)
      : (method, params) => provider.request({ method, params });

  async function call<T>(method: string, params: unknown[], parse: (value: unknown) => T): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Error(`no answer after ${timeoutMs} ms`);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(timedOut), timeoutMs);
    });
    let raw: unknown;
    try {
      raw = await Promise.race([send(method, params), timeout]);
    } catch (error) {
      if (method === "eth_getLogs") {
        const [{ fromBlock, toBlock }] = params as [{ fromBlock: string; toBlock: string }];
        const from = Number.parseInt(fromBlock.slice(2), 16);
        const to = Number.parseInt(toBlock.slice(2), 16);
        // A range the provider cannot answer in time is too large for it, whatever it says (our
        // timer, or a transport's own: AbortSignal.timeout's TimeoutError).
        const late = error === timedOut || (error instanceof Error && error.name === "TimeoutError");
        const refusal = late
          ? { suggestedTo: undefined, blockLimit: false }
          : parseRangeRefusal(errorText(error), from, to);
        if (refusal !== null) throw new LogRangeTooLargeError(from, to, refusal, { cause: error });
      }
      throw new RetryableRpcError(method, errorText(error).slice(0, 500) || "request failed", { cause: error });
    } finally {
      clearTimeout(timer);
    }
    try {
      return parse(raw);
    } catch (error) {
      throw new RetryableRpcError(method, `invalid response: ${(error as Error).message}`, { cause: error });
    }
  }

  const header = (number: number): Promise<BlockHeader | null> =>
    call("eth_getBlockByNumber", [hex(number), false], (value) => {
      const parsed = parseHeader(value);
      if (parsed !== null && parsed.number !== number)
        throw new Error(`asked for block ${number}, got ${parsed.number}`);
      return parsed;
    });

  return {
    chainId: () => call("eth_chainId", [], (value) => hexNumber(value, "chainId")),
    blockNumber: () => call("eth_blockNumber", [], (value) => hexNumber(value, "blockNumber")),
    header,
    async headers(numbers) {
      const unique = [...new Set(numbers)];
      const result = new Map<number, BlockHeader | null>();
      for (let i = 0; i < unique.length; i += headerConcurrency) {
        const chunk = unique.slice(i, i + headerConcurrency);
        const found = await Promise.all(chunk.map((n) => header(n)));
        chunk.forEach((n, j) => result.set(n, found[j] ?? null));
      }
      return result;
    },
    async logs(address, fromBlock, toBlock) {
      const logs = await call(
        "eth_getLogs",
        [{ address, fromBlock: hex(fromBlock), toBlock: hex(toBlock) }],
        (value) => {
          if (!Array.isArray(value)) throw new Error("eth_getLogs result is not an array");
          return value.map(parseLog);
        },
      );
      const wanted = address.toLowerCase();
      for (const log of logs) {
        if (log.removed) throw new RetryableRpcError("eth_getLogs", `removed log at block ${log.blockNumber}`);
        if (log.address !== wanted) throw new RetryableRpcError("eth_getLogs", `log of another address ${log.address}`);
        if (log.blockNumber < fromBlock || log.blockNumber > toBlock) {
          throw new RetryableRpcError(
            "eth_getLogs",
            `log at block ${log.blockNumber} outside ${fromBlock}..${toBlock}`,
          );
        }
      }
      return logs.sort(compareLogs);
    },
  };
}
