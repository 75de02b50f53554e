/**
 * The per-event CPU work of POST /epcis/capture (validation, the CBV 2.0 hash id, JCS, record and
 * content hashes, index rows: about 45 µs an event) in a worker thread, so that the main thread,
 * which parses the HTTP bodies and writes SQLite, is left with less to do per event.
 *
 *   prepareDocumentEvents(events, context): EventOutcome[]   the work itself, on the calling thread
 *   createPreparePool(threads): PreparePool                   `threads` worker threads, started on first use
 *     pool.prepare(events, context): Promise<EventOutcome[]>  the same answers, from a thread
 *     pool.close(): Promise<void>
 *
 * A thread answers exactly what prepareDocumentEvents answers on the main thread (the same code);
 * a thread that fails or exits rejects its pending documents, which the route then prepares on the
 * main thread, so a failure there surfaces as it would without the pool.
 */
import os from "node:os";
import { Worker } from "node:worker_threads";
import { validateEpcisEvent, type EpcisProblem } from "../../core/epcis-validate";
import type { EpcisEvent } from "../../core/record";
import { prepareEvent, type PreparedEvent } from "../../mirror/epcis/capture";

export type EventOutcome =
  | { readonly problems: readonly EpcisProblem[]; readonly prepared?: undefined }
  | { readonly problems?: undefined; readonly prepared: PreparedEvent };

export function prepareDocumentEvents(events: readonly unknown[], context: unknown): EventOutcome[] {
  return events.map((event): EventOutcome => {
    const problems = validateEpcisEvent(event).errors;
    return problems.length > 0 ? { problems } : { prepared: prepareEvent(event as EpcisEvent, { context }) };
  });
}

/** A PreparedEvent as posted between threads: without the event object (its JCS text is there). */
type WirePrepared = Omit<PreparedEvent, "event">;
type WireOutcome = { readonly problems: readonly EpcisProblem[] } | { readonly prepared: WirePrepared };

interface Request {
  readonly id: number;
  readonly events: readonly unknown[];
  readonly context: unknown;
}

type Answer =
  { readonly id: number; readonly outcomes: WireOutcome[] } | { readonly id: number; readonly error: string };

export interface PreparePool {
  prepare(events: readonly unknown[], context: unknown): Promise<EventOutcome[]>;
  close(): Promise<void>;
}

/** Threads for TRACE_CAPTURE_PREPARE_THREADS unset: one when the machine has a second core. */
export function defaultPrepareThreads(): number {
  return os.availableParallelism() > 1 ? 1 : 0;
}

/** A PreparedEvent whose `event` is read back from its text when asked for. */
function fromWire(p: WirePrepared): PreparedEvent {
  const buffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  let event: EpcisEvent | undefined;
  return {
    ...p,
    recordHash: buffer(p.recordHash),
    contentHash: buffer(p.contentHash),
    get event(): EpcisEvent {
      return (event ??= JSON.parse(p.text) as EpcisEvent);
    },
  };
}

function toWire(outcome: EventOutcome): WireOutcome {
  if (outcome.prepared === undefined) return { problems: outcome.problems };
  const { event: _event, ...rest } = outcome.prepared; // the event is not posted back: its text is
  return { prepared: rest };
}

/** Runs in the worker thread: answers each posted document. */
export function servePreparation(port: import("node:worker_threads").MessagePort): void {
  port.on("message", (request: Request) => {
    let answer: Answer;
    try {
      answer = { id: request.id, outcomes: prepareDocumentEvents(request.events, request.context).map(toWire) };
    } catch (error) {
      answer = { id: request.id, error: error instanceof Error ? error.message : String(error) };
    }
    port.postMessage(answer);
  });
}

/** Plain JavaScript evaluated by the Worker, so it starts the same from the TypeScript sources and dist/. */
const BOOT = `
const { parentPort, workerData } = require("node:worker_threads");
if (workerData.tsNode !== undefined) require(workerData.tsNode);
require(workerData.module).servePreparation(parentPort);
`;

interface Thread {
  readonly worker: Worker;
  readonly pending: Map<number, { resolve: (o: EventOutcome[]) => void; reject: (e: Error) => void }>;
}

export function createPreparePool(threads: number): PreparePool {
  const live: (Thread | undefined)[] = Array.from({ length: threads }, () => undefined);
  let next = 0;
  let ids = 0;
  let closed = false;

  function start(slot: number): Thread {
    const fromSource = __filename.endsWith(".ts");
    const worker = new Worker(BOOT, {
      eval: true,
      workerData: {
        module: __filename,
        tsNode: fromSource ? require.resolve("ts-node/register/transpile-only") : undefined,
      },
    });
    const thread: Thread = { worker, pending: new Map() };
    const fail = (error: Error): void => {
      if (live[slot] === thread) live[slot] = undefined;
      for (const p of thread.pending.values()) p.reject(error);
      thread.pending.clear();
    };
    worker.on("message", (answer: Answer) => {
      const p = thread.pending.get(answer.id);
      if (p === undefined) return;
      thread.pending.delete(answer.id);
      if ("error" in answer) p.reject(new Error(answer.error));
      else p.resolve(answer.outcomes.map((o) => ("prepared" in o ? { prepared: fromWire(o.prepared) } : o)));
    });
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`capture preparation thread exited with code ${code}`)));
    // An idle thread does not keep the process alive.
    worker.unref();
    live[slot] = thread;
    return thread;
  }

  return {
    prepare(events, context) {
      if (closed || threads === 0) return Promise.reject(new Error("the preparation pool is closed"));
      const slot = next++ % threads;
      const thread = live[slot] ?? start(slot);
      const id = ids++;
      return new Promise<EventOutcome[]>((resolve, reject) => {
        thread.pending.set(id, { resolve, reject });
        try {
          thread.worker.postMessage({ id, events, context } satisfies Request);
        } catch (error) {
          thread.pending.delete(id);
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    },
    async close() {
      closed = true;
      await Promise.all(live.flatMap((t) => (t === undefined ? [] : [t.worker.terminate()])));
    },
  };
}
