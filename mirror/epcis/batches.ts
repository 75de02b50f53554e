/**
 * The capture worker's trace batches in the EPCIS store, on either engine.
 *
 *   pendingByBrand(store): PendingBrand[]                  captured events not yet in a batch, per brand
 *   buildPendingBatch(store, brandId, maxEvents, now)      one transaction: the brand's oldest pending
 *                                                          jobs (whole jobs, at least maxEvents events
 *                                                          when there are that many), their Merkle root,
 *                                                          the batch row (state built) and the events'
 *                                                          batch_id; undefined when nothing is pending
 *   unfinishedBatches(store): CaptureBatch[]               state built or sent, oldest first
 *   batchRecordLines(store, batchId): string[]             the batch's records, canonical, in leaf order
 *   markBatchSent / markBatchAnchored / markBatchError
 *
 * A batch's leaves are its events in seq order; each leaf is the event's stored record hash, the
 * hash of {v:1, kind:"trace", salt, event} with the salt chosen at capture.
 */
import { canonicalRecord, traceRecord, type EpcisEvent } from "../../core/record";
import { buildTree } from "../../core/merkle";
import { contentFileName } from "../../core/content";
import { all, run, runEpcis } from "./capture-sql";
import type { EpcisStore } from "./store";

export type BatchState = "built" | "sent" | "anchored" | "failed";

export interface CaptureBatch {
  readonly batchId: number;
  readonly brandId: number;
  readonly root: string;
  readonly eventCount: number;
  readonly contentUri: string;
  readonly state: BatchState;
  readonly createdAt: number;
  readonly txHash: string | null;
  readonly blockNumber: number | null;
}

export interface PendingBrand {
  readonly brandId: number;
  readonly events: number;
  /** record_time of the oldest pending event (Unix ms). */
  readonly oldest: number;
}

interface BatchRow {
  batch_id: number;
  brand_id: number;
  root: string;
  event_count: number;
  content_uri: string;
  state: BatchState;
  created_at: number;
  tx_hash: string | null;
  block_number: number | null;
}

const BATCH_COLUMNS = "batch_id, brand_id, root, event_count, content_uri, state, created_at, tx_hash, block_number";
const PENDING = "batch_id IS NULL AND capture_id IS NOT NULL";

function toBatch(row: BatchRow): CaptureBatch {
  return {
    batchId: Number(row.batch_id),
    brandId: Number(row.brand_id),
    root: row.root,
    eventCount: Number(row.event_count),
    contentUri: row.content_uri,
    state: row.state,
    createdAt: Number(row.created_at),
    txHash: row.tx_hash,
    blockNumber: row.block_number === null ? null : Number(row.block_number),
  };
}

/**
 * On SQLite the pending index is named: without ANALYZE statistics SQLite reads `batch_id IS NULL`
 * from epcis_events_batch instead, which also holds every event indexed from a mirror batch (no
 * capture_id, no batch_id): with 1M of those stored each worker tick read them all (about 300 ms,
 * a third of the capture benchmark's main thread).
 */
export const PENDING_BY_BRAND = {
  sqlite: `SELECT brand_id, count(*) AS n, min(record_time) AS oldest FROM epcis_events INDEXED BY epcis_events_pending WHERE ${PENDING} GROUP BY brand_id ORDER BY brand_id`,
  postgres: `SELECT brand_id, count(*) AS n, min(record_time) AS oldest FROM trace_state.epcis_events WHERE ${PENDING} GROUP BY brand_id ORDER BY brand_id`,
};

export async function pendingByBrand(store: EpcisStore): Promise<PendingBrand[]> {
  const rows = await runEpcis(store, function* () {
    return yield* all<{ brand_id: number; n: number; oldest: number }>(PENDING_BY_BRAND);
  });
  return rows.map((r) => ({ brandId: Number(r.brand_id), events: Number(r.n), oldest: Number(r.oldest) }));
}

/**
 * The jobs that hold the brand's oldest `maxEvents` pending events, then those jobs' pending events
 * in seq order: two statements, each on an index (pending, then capture), because as one statement
 * with the jobs as a subquery PostgreSQL planned it as a scan over the table (over 5 minutes with
 * 1M events stored and 150,000 pending).
 */
const SELECT_BATCH_JOBS = `SELECT DISTINCT capture_id FROM (SELECT capture_id FROM epcis_events WHERE brand_id = ? AND ${PENDING} ORDER BY seq LIMIT ?) AS oldest`;
const SELECT_BATCH_EVENTS = {
  sqlite: `SELECT seq, record_hash FROM epcis_events WHERE brand_id = ? AND ${PENDING} AND capture_id IN (SELECT value FROM json_each(?)) ORDER BY seq`,
  postgres: `SELECT seq, record_hash FROM trace_state.epcis_events WHERE brand_id = $1 AND ${PENDING} AND capture_id = ANY($2::text[]) ORDER BY seq`,
};

const ASSIGN_BATCH = {
  sqlite: `UPDATE epcis_events SET batch_id = ? WHERE ${PENDING} AND seq IN (SELECT value FROM json_each(?))`,
  postgres: `UPDATE trace_state.epcis_events SET batch_id = $1 WHERE ${PENDING} AND seq = ANY($2::bigint[])`,
};

export function buildPendingBatch(
  store: EpcisStore,
  brandId: number,
  maxEvents: number,
  now: number,
): Promise<CaptureBatch | undefined> {
  return runEpcis(store, function* () {
    const jobs = (yield* all<{ capture_id: string }>(SELECT_BATCH_JOBS, [brandId, maxEvents])).map((r) => r.capture_id);
    if (jobs.length === 0) return undefined;
    const events = yield* all<{ seq: number; record_hash: Buffer }>(SELECT_BATCH_EVENTS, [
      brandId,
      store.engine === "sqlite" ? JSON.stringify(jobs) : jobs,
    ]);
    if (events.length === 0) return undefined;
    const hashes = new Uint8Array(events.length * 32);
    events.forEach((e, i) => hashes.set(e.record_hash, i * 32));
    const root = buildTree(hashes).root.toLowerCase();
    const contentUri = contentFileName(root);
    const [row] = yield* all<BatchRow>(
      "INSERT INTO epcis_batches (brand_id, root, event_count, content_uri, state, created_at) VALUES (?, ?, ?, ?, 'built', ?) " +
        `RETURNING ${BATCH_COLUMNS}`,
      [brandId, root, events.length, contentUri, now],
    );
    if (row === undefined) throw new Error("batch row not returned");
    const seqs = events.map((e) => Number(e.seq));
    const assigned = yield* run(ASSIGN_BATCH, [
      Number(row.batch_id),
      store.engine === "sqlite" ? JSON.stringify(seqs) : seqs,
    ]);
    // Another worker took some of these events meanwhile (a leader hand-over): this batch is void.
    if (assigned !== events.length) throw new Error(`batch of ${events.length} events assigned ${assigned}`);
    return toBatch(row);
  });
}

export async function unfinishedBatches(store: EpcisStore): Promise<CaptureBatch[]> {
  const rows = await runEpcis(store, function* () {
    return yield* all<BatchRow>(
      `SELECT ${BATCH_COLUMNS} FROM epcis_batches WHERE state IN ('built', 'sent') ORDER BY batch_id`,
    );
  });
  return rows.map(toBatch);
}

export async function getBatch(store: EpcisStore, batchId: number): Promise<CaptureBatch | undefined> {
  const rows = await runEpcis(store, function* () {
    return yield* all<BatchRow>(`SELECT ${BATCH_COLUMNS} FROM epcis_batches WHERE batch_id = ?`, [batchId]);
  });
  return rows[0] === undefined ? undefined : toBatch(rows[0]);
}

export async function batchRecordLines(store: EpcisStore, batchId: number): Promise<string[]> {
  const rows = await runEpcis(store, function* () {
    return yield* all<{ salt: string; event: string }>(
      "SELECT salt, event FROM epcis_events WHERE batch_id = ? ORDER BY seq",
      [batchId],
    );
  });
  return rows.map((r) => canonicalRecord(traceRecord(JSON.parse(r.event) as EpcisEvent, r.salt)));
}

export async function markBatchSent(store: EpcisStore, batchId: number, txHash: string): Promise<void> {
  await runEpcis(store, function* () {
    yield* run(
      "UPDATE epcis_batches SET state = 'sent', tx_hash = ?, error = NULL WHERE batch_id = ? AND state <> 'anchored'",
      [txHash, batchId],
    );
  });
}

export async function markBatchAnchored(
  store: EpcisStore,
  batchId: number,
  anchor: { txHash: string; block: number },
): Promise<void> {
  await runEpcis(store, function* () {
    yield* run(
      "UPDATE epcis_batches SET state = 'anchored', tx_hash = ?, block_number = ?, error = NULL WHERE batch_id = ?",
      [anchor.txHash, anchor.block, batchId],
    );
  });
}

export async function markBatchError(store: EpcisStore, batchId: number, error: string): Promise<void> {
  await runEpcis(store, function* () {
    yield* run("UPDATE epcis_batches SET error = ? WHERE batch_id = ?", [error.slice(0, 1000), batchId]);
  });
}
