/**
 * eth_getLogs block ranges: recognising a provider's refusal of a range (and the range it
 * suggests, when it gives one), and sizing the next range from how the last ones were answered.
 * Pure.
 *
 * The messages are the ones Ponder's getLogsRetryHelper reads (ponder-sh/ponder,
 * packages/utils/src/getLogsRetryHelper.ts), plus a few more providers'.
 */

/**
 * What a provider said about a refused range. `suggestedTo` is the last block of a range from the
 * same start that it said would work. `blockLimit` is true when the provider caps the number of
 * blocks (a fixed limit of its plan, so never worth growing past again); false when it caps the
 * results or the response size (which depends on how many logs the blocks hold).
 */
export interface RangeRefusal {
  readonly suggestedTo: number | undefined;
  readonly blockLimit: boolean;
}

/** "Try this range": computed from the log density of the refused range, so a result limit. */
const SUGGESTED_HEX_RANGE: readonly RegExp[] = [
  /Try with this block range \[0x([0-9a-fA-F]+),\s*0x([0-9a-fA-F]+)\]/i, // infura, zksync
  /this block range should work: \[0x([0-9a-fA-F]+),\s*0x([0-9a-fA-F]+)\]/i, // alchemy
];

/** Ranges given in decimal, also density-based. */
const SUGGESTED_DECIMAL_RANGE: readonly RegExp[] = [
  /retry with the range (\d+)-(\d+)/i, // llamarpc
];

/**
 * Stated maxima, each read as that many blocks from the start ("Max range: N" and "maximum is set
 * to N" count from..to distances, which allow N + 1, and a few are off by one the other way: N is
 * the safe reading of all of them). "2K" is 2,000.
 */
const STATED_SPAN: readonly RegExp[] = [
  /requested too many blocks from \d+ to \d+, maximum is set to ([\d,.]+)/i, // avalanche
  /Max range: ([\d,.]+)/i, // cloudflare
  /Maximum allowed number of requested blocks is ([\d,.]+)/i, // thirdweb
  /limited to an? ([\d,.]+)[ -](?:blocks? )?range/i, // quicknode, 1rpc, blast
  /limited to ([\d,.]+) blocks?/i, // blockpi
  /up to an? ([\d,.]+k?) block range/i, // alchemy (free tier), aurora
  /exceeds the range allowed for your plan \(\d+ > ([\d,.]+)\)/i, // blast (paid)
  /please limit the query to at most ([\d,.]+) blocks/i, // coinbase (base node)
  /maximum block range: ([\d,.]+)/i, // publicnode
  /query exceeds max block range ([\d,.]+)/i, // hyperliquid
  /block range greater than ([\d,.]+) max/i, // swell
  /block range exceeds ([\d,.]+)/i, // somnia
  /query must be smaller than size ([\d,.]+)/i, // harmony
  /block range is too wide \(maximum ([\d,.]+)\)/i, // moonriver
  /maximum \[from, to\] blocks distance: ([\d,.]+)/i, // ankr (tac)
  /ranges over ([\d,.]+) blocks are not supported/i, // drpc
  /range is too large, max is (\d+k) blocks/i, // merkle
];

/**
 * Limits on the number of blocks that do not say the number: [pattern, blocks to try given the
 * refused range's, or null to halve].
 */
const UNSTATED_SPAN: readonly [RegExp, (refusedBlocks: number) => number | null][] = [
  [/block range is too wide/i, () => 3000], // ankr
  [/block range too large/i, () => 2000], // base
  [/Block range limit exceeded/i, (refused) => (refused <= 10_000 ? 100 : 10_000)], // chainstack: free plan, paid plans
  [/range is too large/i, () => null], // optimism, others
  [/too many blocks/i, () => null],
];

/** Limits on results or response size: halve the range (they depend on how full the blocks are). */
const RESULT_LIMIT: readonly RegExp[] = [
  /query returned more than [\d,.]+ results/i, // infura, zkevm, zksync, geth-style
  /query exceeds max results/i, // llamarpc, ankr
  /logs matched by query exceeds limit/i, // arbitrum
  /backend response too large/i, // optimism
  /response size should not greater than/i, // 1rpc
  /Log response size exceeded/i, // alchemy
  /response (size|too large)/i,
  /too many (results|logs)/i,
  /no backend is currently healthy to serve traffic/i, // base, under a too large query
  /query timeout exceeded/i,
  /statement timeout/i, // providers backed by SQL
];

/**
 * If `message` is a provider refusing eth_getLogs over `fromBlock..toBlock` for its size, what to
 * try next; null if it is some other error. A suggestion is always inside the refused range and
 * smaller than it (at least one block).
 */
export function parseRangeRefusal(message: string, fromBlock: number, toBlock: number): RangeRefusal | null {
  const refusedBlocks = toBlock - fromBlock + 1;
  const within = (blocks: number): number => clamp(fromBlock + blocks - 1, fromBlock, toBlock - 1);

  for (const [patterns, radix] of [
    [SUGGESTED_HEX_RANGE, 16],
    [SUGGESTED_DECIMAL_RANGE, 10],
  ] as const) {
    for (const pattern of patterns) {
      const match = pattern.exec(message);
      if (match?.[1] === undefined || match[2] === undefined) continue;
      const start = Number.parseInt(match[1], radix);
      const end = Number.parseInt(match[2], radix);
      if (Number.isSafeInteger(start) && Number.isSafeInteger(end) && end >= start) {
        return { suggestedTo: within(end - start + 1), blockLimit: false };
      }
    }
  }
  for (const pattern of STATED_SPAN) {
    const match = pattern.exec(message);
    if (match?.[1] === undefined) continue;
    const blocks = Number.parseInt(match[1].replace(/[,.]/g, ""), 10) * (/k$/i.test(match[1]) ? 1000 : 1);
    if (Number.isSafeInteger(blocks) && blocks > 0) return { suggestedTo: within(blocks), blockLimit: true };
  }
  for (const [pattern, blocksToTry] of UNSTATED_SPAN) {
    if (!pattern.test(message)) continue;
    const span = blocksToTry(refusedBlocks);
    return { suggestedTo: span !== null && span < refusedBlocks ? within(span) : undefined, blockLimit: true };
  }
  if (RESULT_LIMIT.some((pattern) => pattern.test(message))) return { suggestedTo: undefined, blockLimit: false };
  return null;
}

function clamp(value: number, low: number, high: number): number {
  return Math.max(low, Math.min(high, value));
}

export interface RangeSizerOptions {
  /** Largest range, in blocks. */
  readonly maxRange: number;
  /** The first range. Default min(maxRange, 100). */
  readonly initialRange?: number;
  /** An answer that took longer shrinks the range; growing needs answers under half of it. Default 1000 ms. */
  readonly targetMs?: number;
  /** An answer with more logs shrinks the range; growing needs answers under half of it. Default 1000. */
  readonly targetLogs?: number;
}

/** How one eth_getLogs over `fromBlock..toBlock` was answered. */
export interface RangeAnswer {
  readonly fromBlock: number;
  readonly toBlock: number;
  readonly logs: number;
  readonly ms: number;
}

export interface RangeSizer {
  /** Blocks in the next range. */
  readonly size: number;
  /** The most the provider is known to accept (maxRange until it refuses a range for its block count). */
  readonly ceiling: number;
  /** The last block of the next range starting at `fromBlock`, at most `limit`. */
  end(fromBlock: number, limit: number): number;
  /**
   * A range was read. Over a target (slow, or more logs than targetLogs): shrink to the share of it
   * that would have met both. Under half of both, and as large as the current size: double.
   */
  answered(answer: RangeAnswer): void;
  /**
   * `fromBlock..toBlock` was refused or timed out: shrink to the suggestion or to half. A block
   * limit also lowers the ceiling, so the range never grows into the same refusal again.
   */
  refused(fromBlock: number, toBlock: number, refusal: RangeRefusal): void;
}

export const DEFAULT_TARGET_MS = 1000;
export const DEFAULT_TARGET_LOGS = 1000;
export const DEFAULT_INITIAL_RANGE = 100;

export function createRangeSizer(options: RangeSizerOptions): RangeSizer {
  const targetMs = options.targetMs ?? DEFAULT_TARGET_MS;
  const targetLogs = options.targetLogs ?? DEFAULT_TARGET_LOGS;
  for (const [name, value] of Object.entries({
    maxRange: options.maxRange,
    targetMs,
    targetLogs,
    initialRange: options.initialRange ?? 1,
  })) {
    if (!Number.isSafeInteger(value) || value < 1)
      throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
  let ceiling = options.maxRange;
  let size = Math.min(ceiling, options.initialRange ?? DEFAULT_INITIAL_RANGE);
  return {
    get size() {
      return size;
    },
    get ceiling() {
      return ceiling;
    },
    end(fromBlock, limit) {
      return Math.min(limit, fromBlock + size - 1);
    },
    answered({ fromBlock, toBlock, logs, ms }) {
      const blocks = toBlock - fromBlock + 1;
      if (logs > targetLogs || ms > targetMs) {
        const share = Math.min(logs > targetLogs ? targetLogs / logs : 1, ms > targetMs ? targetMs / ms : 1);
        size = Math.max(1, Math.min(size, Math.floor(blocks * share)));
      } else if (blocks >= size && logs * 2 <= targetLogs && ms * 2 <= targetMs) {
        size = Math.min(ceiling, size * 2);
      }
    },
    refused(fromBlock, toBlock, { suggestedTo, blockLimit }) {
      const refusedBlocks = toBlock - fromBlock + 1;
      const next =
        suggestedTo !== undefined && suggestedTo < toBlock
          ? suggestedTo - fromBlock + 1
          : Math.floor(refusedBlocks / 2);
      size = Math.max(1, Math.min(size, next));
      if (blockLimit) ceiling = Math.max(1, Math.min(ceiling, next));
    },
  };
}

/** Exponential backoff with jitter: between half and all of min(cap, base·2^attempt) ms. */
export function backoffDelay(
  attempt: number,
  baseMs = 250,
  capMs = 30_000,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling * (0.5 + random() / 2));
}
