/**
 * eth_getLogs block ranges: recognising a provider's "range too large" refusal (and the range it
 * suggests, when it gives one), and sizing the next range adaptively. Pure.
 */

const SUGGESTED_HEX_RANGE = [
  /Try with this block range \[0x([0-9a-fA-F]+),\s*0x([0-9a-fA-F]+)\]/, // infura, zksync
  /this block range should work: \[0x([0-9a-fA-F]+),\s*0x([0-9a-fA-F]+)\]/, // alchemy
];

/** Messages that state a maximum number of blocks. */
const SUGGESTED_SPAN: readonly [RegExp, number][] = [
  [/requested too many blocks from \d+ to \d+, maximum is set to (\d+)/, 0],
  [/Max range: (\d+)/, 0],
  [/Maximum allowed number of requested blocks is (\d+)/, 0],
  [/maximum block range: ([\d,.]+)/, 0],
  [/please limit the query to at most ([\d,.]+) blocks/, 0],
  [/block range is too wide \(maximum (\d+)\)/, 0],
  [/up to a ([\d,.]+) block range/, 0],
  [/block range greater than ([\d,.]+) max/, 0],
  [/block range exceeds ([\d,.]+)/, 0],
  [/exceeds the range allowed for your plan \(\d+ > (\d+)\)/, 0],
  [/query exceeds max block range ([\d,.]+)/, 0],
  [/limited to (?:a )?([\d,.]+)(?: block)?/, 0],
];

/** Messages that refuse the range without saying what would work: halve it. */
const RANGE_REFUSED = [
  /query returned more than \d+ results/i,
  /block range (is )?too (large|wide)/i,
  /range is too large/i,
  /limit exceeded/i,
  /response size/i,
  /response too large/i,
  /query exceeds max results/i,
  /logs matched by query exceeds limit/i,
  /too many (results|logs|blocks)/i,
  /query timeout exceeded/i,
];

export interface RangeRefusal {
  /** Last block of a range starting at `fromBlock` that the provider said would work. */
  readonly suggestedTo: number | undefined;
}

/**
 * If `message` is a provider refusing eth_getLogs over `fromBlock..toBlock` for its size, what to
 * try next; null if it is some other error.
 */
export function parseRangeRefusal(message: string, fromBlock: number, toBlock: number): RangeRefusal | null {
  for (const pattern of SUGGESTED_HEX_RANGE) {
    const match = pattern.exec(message);
    if (match?.[1] !== undefined && match[2] !== undefined) {
      const start = Number.parseInt(match[1], 16);
      const end = Number.parseInt(match[2], 16);
      if (Number.isSafeInteger(start) && Number.isSafeInteger(end) && end >= start) {
        return { suggestedTo: clamp(fromBlock + (end - start), fromBlock, toBlock - 1) };
      }
    }
  }
  for (const [pattern] of SUGGESTED_SPAN) {
    const match = pattern.exec(message);
    if (match?.[1] !== undefined) {
      const span = Number.parseInt(match[1].replace(/[,.]/g, ""), 10);
      if (Number.isSafeInteger(span) && span > 0) return { suggestedTo: clamp(fromBlock + span - 1, fromBlock, toBlock - 1) };
    }
  }
  if (RANGE_REFUSED.some((pattern) => pattern.test(message))) return { suggestedTo: undefined };
  return null;
}

function clamp(value: number, low: number, high: number): number {
  return Math.max(low, Math.min(high, value));
}

export interface RangeSizer {
  /** Blocks in the next range. */
  readonly size: number;
  /** The last block of the next range starting at `fromBlock`, at most `limit`. */
  end(fromBlock: number, limit: number): number;
  /** A range was read: after a few successes in a row, grow back towards the maximum. */
  succeeded(): void;
  /** `fromBlock..toBlock` was refused; shrink to the suggestion or to half. */
  refused(fromBlock: number, toBlock: number, suggestedTo: number | undefined): void;
}

export function createRangeSizer(maxRange: number, growAfter = 3): RangeSizer {
  let size = maxRange;
  let successes = 0;
  return {
    get size() {
      return size;
    },
    end(fromBlock, limit) {
      return Math.min(limit, fromBlock + size - 1);
    },
    succeeded() {
      successes++;
      if (size < maxRange && successes >= growAfter) {
        size = Math.min(maxRange, size * 2);
        successes = 0;
      }
    },
    refused(fromBlock, toBlock, suggestedTo) {
      successes = 0;
      const refusedSize = toBlock - fromBlock + 1;
      const next = suggestedTo !== undefined && suggestedTo < toBlock ? suggestedTo - fromBlock + 1 : Math.floor(refusedSize / 2);
      size = Math.max(1, Math.min(size, next));
    },
  };
}

/** Exponential backoff with jitter: between half and all of min(cap, base·2^attempt) ms. */
export function backoffDelay(attempt: number, baseMs = 250, capMs = 30_000, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling * (0.5 + random() / 2));
}
