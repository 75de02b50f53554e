/**
 * The capture worker: anchors captured events as trace batches with the service's key.
 *
 *   createCaptureWorker({ store, chain, contentDir, log, config }): CaptureWorker
 *   worker.tick(): one pass (finish unfinished batches, then build and anchor what is due)
 *   worker.start() / worker.stop(): tick every `pollMs` until stopped
 *
 * A brand's pending events are due once the oldest has waited `batchSeconds`, or once
 * `batchEvents` of them wait. A batch goes through these steps, each durable before the next:
 *   1. one transaction: the batch row (state built, root, content_uri) and the events' batch_id;
 *   2. the content file `<contentDir>/<root>.ndjson` (written to a temp file, synced, renamed), where
 *      the indexer's content ingestion looks for CLI batches too;
 *   3. the chain is asked whether (brand, root) is anchored; only if not, the anchor transaction is
 *      sent (state sent, with its hash), and once mined the batch is anchored (txHash, block).
 * A process killed anywhere resumes at the batch's step: events are never lost (they are in the
 * store before the 202) and never anchored twice (a root is checked on chain before it is sent, and
 * the contract refuses the same root twice for a brand). While a brand's batch cannot be sent (RPC
 * down, consent withdrawn on chain) it is retried every pass and that brand gets no new batch.
 */
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { contentFileName, contentHeaderLine } from "../../core/content";
import {
  batchRecordLines,
  buildPendingBatch,
  markBatchAnchored,
  markBatchError,
  markBatchSent,
  pendingByBrand,
  unfinishedBatches,
  type CaptureBatch,
} from "./batches";
import type { EpcisStore } from "./store";

export interface ChainAnchor {
  readonly txHash: string;
  readonly block: number;
}

/** The chain as the worker sees it (api/epcis/anchor-chain.ts implements it with ethers). */
export interface AnchorChain {
  /** The service's account, which brands name as a submitter. */
  readonly account: string;
  /** The transaction that anchored (brandId, root), or undefined when it is not anchored. */
  findAnchor(brandId: number, root: string): Promise<ChainAnchor | undefined>;
  /** Sends the anchor transaction of a trace batch; `onSent` runs once it is sent, before it is mined. */
  sendAnchor(
    brandId: number,
    batch: { root: string; leafCount: number; contentURI: string },
    onSent: (txHash: string) => Promise<void>,
  ): Promise<ChainAnchor>;
}

export interface CaptureWorkerConfig {
  /** TRACE_CAPTURE_BATCH_SECONDS: the longest an event waits for its batch (default 60). */
  readonly batchSeconds: number;
  /** TRACE_CAPTURE_BATCH_EVENTS: a batch is made as soon as this many events wait (default 10,000). */
  readonly batchEvents: number;
  /** How often the worker looks (default 1 s, or batchSeconds when shorter). */
  readonly pollMs?: number;
}

export const CAPTURE_BATCH_DEFAULTS: CaptureWorkerConfig = { batchSeconds: 60, batchEvents: 10_000 };

interface Log {
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface CaptureWorkerDeps {
  readonly store: EpcisStore;
  readonly chain: AnchorChain;
  readonly contentDir: string;
  readonly log: Log;
  readonly config: CaptureWorkerConfig;
  /** Injected for tests; default Date.now. */
  readonly now?: () => number;
  /** Whether to work now (on PostgreSQL: while this process's indexer leads); default always. */
  readonly active?: () => boolean;
  /** Runs before each step of a batch (tests kill the process there). */
  readonly onStep?: (step: "built" | "content" | "sent" | "anchored", batch: CaptureBatch) => void | Promise<void>;
}

export interface TickResult {
  readonly built: number;
  readonly anchored: number;
  readonly failed: number;
}

export interface CaptureWorker {
  tick(): Promise<TickResult>;
  start(): void;
  stop(): Promise<void>;
}

/** A whole number 1…max from `env[name]`, `fallback` when unset or empty; throws naming the variable. */
export function wholeNumberEnv(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: number,
  max: number,
): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max)
    throw new RangeError(`${name} must be a whole number from 1 to ${max}, got "${raw}"`);
  return Number(raw);
}

/** Parses TRACE_CAPTURE_BATCH_SECONDS and TRACE_CAPTURE_BATCH_EVENTS; throws naming a bad one. */
export function parseCaptureBatchEnv(env: Readonly<Record<string, string | undefined>>): CaptureWorkerConfig {
  const read = (name: string, fallback: number, max: number): number => wholeNumberEnv(env, name, fallback, max);
  return {
    batchSeconds: read("TRACE_CAPTURE_BATCH_SECONDS", CAPTURE_BATCH_DEFAULTS.batchSeconds, 86_400),
    batchEvents: read("TRACE_CAPTURE_BATCH_EVENTS", CAPTURE_BATCH_DEFAULTS.batchEvents, 1_000_000),
  };
}

export function createCaptureWorker(deps: CaptureWorkerDeps): CaptureWorker {
  const { store, chain, log, config } = deps;
  const now = deps.now ?? Date.now;
  const contentDir = path.resolve(deps.contentDir);
  const step = async (name: "built" | "content" | "sent" | "anchored", batch: CaptureBatch): Promise<void> => {
    await deps.onStep?.(name, batch);
  };

  async function writeContent(batch: CaptureBatch): Promise<void> {
    const file = path.join(contentDir, contentFileName(batch.root));
    if (fs.existsSync(file)) return;
    const lines = await batchRecordLines(store, batch.batchId);
    const header = contentHeaderLine({
      v: 1,
      kind: "trace",
      root: batch.root as `0x${string}`,
      leafCount: lines.length,
    });
    fs.mkdirSync(contentDir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    const fd = fs.openSync(tmp, "w");
    try {
      fs.writeSync(fd, `${header}\n${lines.join("\n")}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  }

  /** Takes a built or sent batch to anchored; false when the chain could not be reached or refused. */
  async function finish(batch: CaptureBatch): Promise<boolean> {
    try {
      await writeContent(batch);
      await step("content", batch);
      const found = await chain.findAnchor(batch.brandId, batch.root);
      if (found !== undefined) {
        await markBatchAnchored(store, batch.batchId, found);
        return true;
      }
      const anchor = await chain.sendAnchor(
        batch.brandId,
        { root: batch.root, leafCount: batch.eventCount, contentURI: batch.contentUri },
        async (txHash) => {
          await markBatchSent(store, batch.batchId, txHash);
          await step("sent", batch);
        },
      );
      await markBatchAnchored(store, batch.batchId, anchor);
      await step("anchored", batch);
      log.info({ brandId: batch.brandId, root: batch.root, events: batch.eventCount }, "captured events anchored");
      return true;
    } catch (error) {
      // A revert may mean another attempt anchored it first: the chain says which.
      const found = await chain.findAnchor(batch.brandId, batch.root).catch(() => undefined);
      if (found !== undefined) {
        await markBatchAnchored(store, batch.batchId, found);
        return true;
      }
      log.error({ err: error, brandId: batch.brandId, root: batch.root }, "anchoring captured events failed; retrying");
      await markBatchError(store, batch.batchId, error instanceof Error ? error.message : String(error)).catch(
        () => undefined,
      );
      return false;
    }
  }

  async function tick(): Promise<TickResult> {
    let built = 0;
    let anchored = 0;
    let failed = 0;
    // A brand whose batch cannot be sent now gets no new batch; the others are not held up by it.
    const blocked = new Set<number>();
    for (const batch of await unfinishedBatches(store)) {
      if (await finish(batch)) anchored++;
      else {
        failed++;
        blocked.add(batch.brandId);
      }
    }
    const due = (await pendingByBrand(store)).filter(
      (p) =>
        !blocked.has(p.brandId) && (p.events >= config.batchEvents || now() - p.oldest >= config.batchSeconds * 1000),
    );
    for (const { brandId } of due) {
      const batch = await buildPendingBatch(store, brandId, config.batchEvents, now());
      if (batch === undefined) continue;
      built++;
      await step("built", batch);
      if (await finish(batch)) anchored++;
      else failed++;
    }
    return { built, anchored, failed };
  }

  let running: Promise<void> | undefined;
  let stopping = false;
  const pollMs = config.pollMs ?? Math.min(1000, config.batchSeconds * 1000);
  return {
    tick,
    start() {
      if (running !== undefined) return;
      stopping = false;
      running = (async () => {
        while (!stopping) {
          if (deps.active !== undefined && !deps.active()) {
            await sleep(pollMs);
            continue;
          }
          try {
            const result = await tick();
            if (result.built > 0 && result.failed === 0) continue;
          } catch (error) {
            log.error({ err: error }, "capture worker pass failed; retrying");
          }
          await sleep(pollMs);
        }
      })();
    },
    async stop() {
      stopping = true;
      await running;
      running = undefined;
    },
  };
}
