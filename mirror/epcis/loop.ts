/**
 * A background job's loop: one pass every `intervalMs` (or sooner when poked) while `leads()` says
 * this replica runs it (PostgreSQL: it holds the indexer's writer lock; SQLite: always). A failed
 * pass is logged and retried on the next turn; `stop()` waits for the pass under way.
 */
import type { Logger } from "pino";

export interface JobLoop {
  /** Runs a pass soon (e.g. right after content was ingested). */
  poke(): void;
  stop(): Promise<void>;
}

export function startJobLoop(options: {
  readonly pass: () => Promise<unknown>;
  readonly intervalMs: number;
  readonly leads: () => boolean;
  readonly log?: Pick<Logger, "error">;
  /** Logged when a pass fails, e.g. "EPCIS query indexing failed; retrying". */
  readonly failure: string;
}): JobLoop {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (!stopped) {
      if (options.leads()) {
        try {
          await options.pass();
        } catch (error) {
          options.log?.error({ err: error }, options.failure);
        }
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, options.intervalMs);
      });
      wake = undefined;
    }
  })();
  return {
    poke: () => wake?.(),
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      wake?.();
      await loop;
    },
  };
}
