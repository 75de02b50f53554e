/**
 * The query indexer: puts the events of anchored CLI trace batches into the EPCIS query index, so
 * that /epcis/events answers for them as for captured events.
 *
 *   createQueryIndexer({ reader, query, log?, now? }): QueryIndexer
 *   indexer.runOnce(): Promise<number>                  batches indexed in this pass
 *   startQueryIndexer({ ..., intervalMs, leads }): { stop(): Promise<void>, poke(): void }
 *
 * A pass lists the mirror's trace anchors newest first (the reader's `anchors.list`) down to a
 * watermark below which every anchor is final and settled (indexed, or its content refused), and
 * indexes each anchor whose content is ingested (content_status 'ok') and not yet in
 * epcis_indexed_batches: its records, page by page through `records.page`, become epcis_events rows
 * (capture_id and batch_id NULL, record_time the anchor's block time) with their identifiers,
 * inserted with ON CONFLICT DO NOTHING (an event the capture worker anchored is already there, by
 * its record hash), and then the batch is marked. Each page is its own transaction: a crash leaves
 * the batch unmarked and the next pass inserts what is missing. A pass starts only when the mirror's
 * version moved (or a batch was left pending), so an idle service reads nothing.
 */
import { createHash } from "node:crypto";
import { eventHashId } from "../../core/event-hash";
import { canonicalJson, parseRecord, type EpcisEvent, type JsonObject } from "../../core/record";
import type { MirrorReader } from "../read";
import type { AnchorRow } from "../types";
import { eventColumns, eventIndexRows } from "./event-rows";
import type { EpcisQueryStore, NewEvent } from "./query";
import { startJobLoop, type JobLoop } from "./loop";

/** Anchors listed per statement, and records read per page. */
const ANCHOR_PAGE = 500;
const RECORD_PAGE = 1000;
const TRACE_KIND = 2;

interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface QueryIndexerDeps {
  readonly reader: Pick<MirrorReader, "anchors" | "records" | "cursor" | "version">;
  readonly query: EpcisQueryStore;
  readonly log?: Logger;
  readonly now?: () => number;
}

export interface QueryIndexer {
  /** One pass; returns the number of batches indexed. */
  runOnce(): Promise<number>;
}

interface Position {
  readonly blockNumber: number;
  readonly logIndex: number;
}

const below = (a: Position, b: Position): boolean =>
  a.blockNumber < b.blockNumber || (a.blockNumber === b.blockNumber && a.logIndex < b.logIndex);

export function createQueryIndexer(deps: QueryIndexerDeps): QueryIndexer {
  const { reader, query } = deps;
  const now = deps.now ?? Date.now;
  let indexed: Set<string> | undefined;
  /** Every trace anchor at or below this position is final and settled. */
  let watermark: Position = { blockNumber: -1, logIndex: -1 };
  let seenGeneration = -1;
  let unsettled = true;

  const indexBatch = async (anchor: AnchorRow): Promise<void> => {
    const recordTime = anchor.blockTime * 1000;
    for (let after = -1; ;) {
      const page = await reader.records.page(anchor.brandId, anchor.root, after, RECORD_PAGE);
      if (page.length === 0) break;
      const events: NewEvent[] = [];
      for (const row of page) {
        const event = traceEventRow(row.record, row.recordHash, anchor.brandId, recordTime);
        if (event !== undefined) events.push(event);
      }
      await query.insertEvents(events);
      after = page[page.length - 1]!.leafIndex;
      if (page.length < RECORD_PAGE) break;
    }
    await query.markIndexed(anchor.brandId, anchor.root, now());
  };

  return {
    async runOnce() {
      const generation = reader.version.refresh();
      if (generation === seenGeneration && !unsettled) return 0;
      indexed ??= await query.indexedBatches();
      const cursor = await reader.cursor.get();
      const finalized = cursor?.finalizedBlock ?? -1;
      const seen: { position: Position; settled: boolean }[] = [];
      let count = 0;
      let before: Position | undefined;
      scan: for (;;) {
        const anchors = await reader.anchors.list({
          kind: TRACE_KIND,
          limit: ANCHOR_PAGE,
          ...(before === undefined ? {} : { before }),
        });
        for (const anchor of anchors) {
          if (!below(watermark, anchor)) break scan;
          const key = `${anchor.brandId}:${anchor.root}`;
          if (anchor.contentStatus === "ok" && !indexed.has(key)) {
            await indexBatch(anchor);
            indexed.add(key);
            count++;
          }
          seen.push({
            position: anchor,
            settled: anchor.contentStatus !== "pending" && anchor.blockNumber <= finalized,
          });
        }
        if (anchors.length < ANCHOR_PAGE) break;
        before = anchors[anchors.length - 1];
      }
      // Oldest first: the watermark moves up over the settled, final anchors just above it.
      unsettled = false;
      for (let i = seen.length - 1; i >= 0; i--) {
        const entry = seen[i]!;
        if (!entry.settled) {
          unsettled = true;
          break;
        }
        watermark = { blockNumber: entry.position.blockNumber, logIndex: entry.position.logIndex };
      }
      seenGeneration = generation;
      if (count > 0) deps.log?.info({ batches: count }, "trace batches indexed for EPCIS queries");
      return count;
    },
  };
}

/** The epcis_events row of one trace record, or undefined for a record that is not a trace record. */
export function traceEventRow(
  recordText: string,
  recordHash: Buffer,
  brandId: number,
  recordTime: number,
): NewEvent | undefined {
  const record = parseRecord(JSON.parse(recordText) as unknown);
  if (record.kind !== "trace") return undefined;
  const event = record.event as JsonObject;
  const text = canonicalJson(event);
  return {
    eventId: typeof event.eventID === "string" ? event.eventID : eventHashId(event),
    correction: event.errorDeclaration !== undefined,
    brandId,
    captureId: null,
    contentHash: createHash("sha256").update(text).digest(),
    recordHash,
    salt: record.salt,
    event: text,
    ...eventColumns(event as EpcisEvent),
    recordTime,
    epcs: eventIndexRows(event as EpcisEvent),
  };
}

export type QueryIndexerLoop = JobLoop;

/**
 * Runs passes every `intervalMs` (and when poked) while `leads()` (PostgreSQL: this replica holds
 * the indexer's writer lock; SQLite: always). A failed pass is logged and retried on the next turn.
 */
export function startQueryIndexer(
  deps: QueryIndexerDeps & { readonly intervalMs: number; readonly leads: () => boolean },
): QueryIndexerLoop {
  const indexer = createQueryIndexer(deps);
  return startJobLoop({
    pass: () => indexer.runOnce(),
    intervalMs: deps.intervalMs,
    leads: deps.leads,
    ...(deps.log === undefined ? {} : { log: deps.log }),
    failure: "EPCIS query indexing failed; retrying",
  });
}
