/**
 * Capture jobs and captured events in the EPCIS store, on either engine. A job and all the events it
 * stores are written in one transaction, so an event is durable (committed) before the 202 or 201
 * answers, and a refused document leaves nothing behind.
 *
 *   prepareEvent(event, { context? }): PreparedEvent     eventID (CBV 2.0 hash id when absent), salt,
 *                                                        record and content hashes, index rows
 *   storeCapture(store, job): { stored, duplicates }     one job and its new events; an event whose
 *                                                        eventID (or content) is already stored is skipped
 *   storedJob(job, result): CaptureJob                   the job as getCapture reads it right after storeCapture
 *   getCapture(store, captureId, brandId?): CaptureJob | undefined
 *   listCaptures(store, brandId, { limit, before? }): CaptureJob[]   newest first
 *
 * An event with an `errorDeclaration` is a correction: stored beside the event it corrects
 * (correction = 1), never a duplicate of it; the same correction sent twice is stored once.
 */
import { createHash } from "node:crypto";
import { withEventId } from "../../core/event-hash";
import { canonicalJson, recordHash, traceRecord, type EpcisEvent } from "../../core/record";
import { randomSalt } from "../../core/salt";
import { all, run, runEpcis, runEpcisGrouped, type Statement } from "./capture-sql";
import { eventColumns, eventIndexRows, type EventColumns, type EventIndexRow } from "./event-rows";
import type { EpcisStore } from "./store";

export type ErrorBehaviour = "rollback" | "proceed";

export interface CaptureError {
  readonly eventIndex?: number;
  readonly field: string;
  readonly message: string;
}

export interface PreparedEvent {
  /** The event with its eventID: the record's `event`, exactly as hashed. */
  readonly event: EpcisEvent;
  readonly eventId: string;
  readonly correction: boolean;
  /** The leaf's salt (Protocol v1: 32 lowercase hex characters). */
  readonly salt: string;
  readonly recordHash: Buffer;
  /** SHA-256 of JCS(event). */
  readonly contentHash: Buffer;
  /** JCS(event): the text stored (the event exactly as hashed), serialised once. */
  readonly text: string;
  readonly columns: EventColumns;
  readonly epcs: readonly EventIndexRow[];
}

export interface CaptureJobInput {
  readonly captureId: string;
  readonly brandId: number;
  readonly tokenId: string;
  readonly behaviour: ErrorBehaviour;
  /** Events in the document, valid or not. */
  readonly eventCount: number;
  /** The valid events, in document order, with their index in the document. */
  readonly events: readonly { readonly eventIndex: number; readonly prepared: PreparedEvent }[];
  readonly errors: readonly CaptureError[];
  readonly now: number;
  /**
   * POST /epcis/events: when the one event is already stored, write nothing (not even the job)
   * and answer `duplicates: [0]`, for a 409.
   */
  readonly single?: boolean;
}

export interface CaptureResult {
  /** Events stored by this job. */
  readonly stored: number;
  /** Document indexes of valid events skipped because they were already stored. */
  readonly duplicates: readonly number[];
}

export interface CaptureAnchor {
  readonly root: string;
  readonly txHash: string;
  readonly block: number;
}

export interface CaptureJob {
  readonly captureId: string;
  readonly brandId: number;
  readonly createdAt: number;
  readonly finishedAt: number | null;
  readonly running: boolean;
  readonly success: boolean | null;
  readonly captureErrorBehaviour: ErrorBehaviour;
  readonly eventCount: number;
  readonly storedCount: number;
  readonly errors: readonly CaptureError[];
  /** Set once every stored event of the job is in an anchored batch (a job is never split). */
  readonly anchor: CaptureAnchor | null;
}

export function prepareEvent(event: EpcisEvent, options: { context?: unknown } = {}): PreparedEvent {
  const withId = withEventId(event, { context: options.context });
  const salt = randomSalt();
  const canonical = canonicalJson(withId);
  traceRecord(withId, salt); // checks the salt and the event's shape
  // JCS of {v:1, kind:"trace", salt, event}: its keys sort event, kind, salt, v, so the event's JCS
  // text is reused rather than canonicalised a second time.
  const record = `{"event":${canonical},"kind":"trace","salt":${JSON.stringify(salt)},"v":1}`;
  return {
    event: withId,
    eventId: withId.eventID as string,
    correction: withId.errorDeclaration !== undefined,
    salt,
    recordHash: Buffer.from(recordHash(record).slice(2), "hex"),
    contentHash: createHash("sha256").update(canonical, "utf8").digest(),
    text: canonical,
    columns: eventColumns(withId),
    epcs: eventIndexRows(withId),
  };
}

const INSERT_EVENT =
  "INSERT INTO epcis_events (event_id, correction, brand_id, capture_id, content_hash, record_hash, salt, event, " +
  "event_type, event_time, record_time, action, biz_step, disposition, read_point, biz_location) " +
  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING seq";
const INSERT_EPC = "INSERT INTO epcis_event_epcs (epc, role, seq) VALUES (?, ?, ?) ON CONFLICT DO NOTHING";
const INSERT_JOB =
  "INSERT INTO epcis_captures (capture_id, brand_id, token_id, created_at, finished_at, running, success, " +
  "error_behaviour, event_count, stored_count, errors) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)";

/** PostgreSQL: a document's events in one statement (round trips, not rows, cost there). */
const INSERT_EVENTS_PG =
  "INSERT INTO trace_state.epcis_events (event_id, correction, brand_id, capture_id, content_hash, record_hash, salt, " +
  "event, event_type, event_time, record_time, action, biz_step, disposition, read_point, biz_location) " +
  "SELECT u.event_id, u.correction, $11::bigint, $12::text, u.content_hash, u.record_hash, u.salt, u.event, u.event_type, " +
  "u.event_time, $13::bigint, u.action, u.biz_step, u.disposition, u.read_point, u.biz_location " +
  "FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::bytea[], $5::text[], $6::text[], $7::text[], $8::bigint[], " +
  "$9::text[], $10::text[], $14::text[], $15::text[], $16::text[]) WITH ORDINALITY AS " +
  "u(event_id, correction, content_hash, record_hash, salt, event, event_type, event_time, action, biz_step, disposition, " +
  "read_point, biz_location, n) ORDER BY u.n ON CONFLICT DO NOTHING RETURNING seq, content_hash";
const INSERT_EPCS_PG =
  "INSERT INTO trace_state.epcis_event_epcs (epc, role, seq) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) " +
  "ON CONFLICT DO NOTHING";

type Events = CaptureJobInput["events"];

/** SQLite: one prepared INSERT per event and per identifier, inside the job's transaction. */
function* insertEach(job: CaptureJobInput): Generator<Statement, CaptureResult, unknown> {
  const duplicates: number[] = [];
  let stored = 0;
  for (const { eventIndex, prepared: p } of job.events) {
    const c = p.columns;
    const rows = yield* all<{ seq: number }>(INSERT_EVENT, [
      p.eventId,
      p.correction ? 1 : 0,
      job.brandId,
      job.captureId,
      p.contentHash,
      p.recordHash,
      p.salt,
      p.text,
      c.eventType,
      c.eventTime,
      job.now,
      c.action,
      c.bizStep,
      c.disposition,
      c.readPoint,
      c.bizLocation,
    ]);
    const seq = rows[0]?.seq;
    if (seq === undefined) {
      duplicates.push(eventIndex);
      continue;
    }
    stored++;
    for (const { epc, role } of p.epcs) yield* run(INSERT_EPC, [epc, role, Number(seq)]);
  }
  return { stored, duplicates };
}

/** PostgreSQL: all events in one INSERT, all identifiers in another; duplicates are the rows not returned. */
function* insertBulk(job: CaptureJobInput): Generator<Statement, CaptureResult, unknown> {
  const events: Events = job.events;
  if (events.length === 0) return { stored: 0, duplicates: [] };
  const column = <T>(pick: (p: PreparedEvent) => T): T[] => events.map((e) => pick(e.prepared));
  const rows = yield* all<{ seq: number; content_hash: Buffer }>({ sqlite: "", postgres: INSERT_EVENTS_PG }, [
    column((p) => p.eventId),
    column((p) => (p.correction ? 1 : 0)),
    column((p) => p.contentHash),
    column((p) => p.recordHash),
    column((p) => p.salt),
    column((p) => p.text),
    column((p) => p.columns.eventType),
    column((p) => p.columns.eventTime),
    column((p) => p.columns.action),
    column((p) => p.columns.bizStep),
    job.brandId,
    job.captureId,
    job.now,
    column((p) => p.columns.disposition),
    column((p) => p.columns.readPoint),
    column((p) => p.columns.bizLocation),
  ]);
  const seqOf = new Map(rows.map((r) => [Buffer.from(r.content_hash).toString("hex"), Number(r.seq)]));
  const duplicates: number[] = [];
  const epcs: string[] = [];
  const roles: string[] = [];
  const seqs: number[] = [];
  for (const { eventIndex, prepared } of events) {
    const key = prepared.contentHash.toString("hex");
    const seq = seqOf.get(key);
    if (seq === undefined) {
      duplicates.push(eventIndex);
      continue;
    }
    seqOf.delete(key); // the same content later in the document is a duplicate of this one
    for (const { epc, role } of prepared.epcs) {
      epcs.push(epc);
      roles.push(role);
      seqs.push(seq);
    }
  }
  if (epcs.length > 0) yield* run({ sqlite: "", postgres: INSERT_EPCS_PG }, [epcs, roles, seqs]);
  return { stored: rows.length, duplicates };
}

export function storeCapture(store: EpcisStore, job: CaptureJobInput): Promise<CaptureResult> {
  // Grouped: on SQLite the documents that arrive together share one commit (capture-sql.ts).
  return runEpcisGrouped(store, function* () {
    const result = store.engine === "postgres" ? yield* insertBulk(job) : yield* insertEach(job);
    if (job.single === true && result.stored === 0) return result;
    yield* run(INSERT_JOB, [
      job.captureId,
      job.brandId,
      job.tokenId,
      job.now,
      job.now,
      job.errors.length === 0 ? 1 : 0,
      job.behaviour,
      job.eventCount,
      result.stored,
      JSON.stringify(job.errors),
    ]);
    return result;
  });
}

/** What getCapture returns for a job just stored: finished, and not yet in any batch (so no anchor). */
export function storedJob(job: CaptureJobInput, result: CaptureResult): CaptureJob {
  return {
    captureId: job.captureId,
    brandId: job.brandId,
    createdAt: job.now,
    finishedAt: job.now,
    running: false,
    success: job.errors.length === 0,
    captureErrorBehaviour: job.behaviour,
    eventCount: job.eventCount,
    storedCount: result.stored,
    errors: job.errors,
    anchor: null,
  };
}

interface JobRow {
  capture_id: string;
  brand_id: number;
  created_at: number;
  finished_at: number | null;
  running: number;
  success: number | null;
  error_behaviour: ErrorBehaviour;
  event_count: number;
  stored_count: number;
  errors: string;
}

interface AnchorRow {
  pending: number;
  root: string | null;
  tx_hash: string | null;
  block_number: number | null;
}

const JOB_COLUMNS =
  "capture_id, brand_id, created_at, finished_at, running, success, error_behaviour, event_count, stored_count, errors";

/** Unanchored events of a job, and the anchored batch of its latest event. */
const JOB_ANCHOR =
  "SELECT (SELECT count(*) FROM epcis_events e LEFT JOIN epcis_batches b ON b.batch_id = e.batch_id " +
  "WHERE e.capture_id = ? AND (b.state IS NULL OR b.state <> 'anchored')) AS pending, " +
  "b.root, b.tx_hash, b.block_number FROM epcis_batches b " +
  "WHERE b.batch_id = (SELECT max(batch_id) FROM epcis_events WHERE capture_id = ?)";

function* jobOf(row: JobRow): Generator<Statement, CaptureJob, unknown> {
  let anchor: CaptureAnchor | null = null;
  if (Number(row.stored_count) > 0) {
    const [a] = yield* all<AnchorRow>(JOB_ANCHOR, [row.capture_id, row.capture_id]);
    if (a !== undefined && Number(a.pending) === 0 && a.root !== null && a.tx_hash !== null && a.block_number !== null)
      anchor = { root: a.root, txHash: a.tx_hash, block: Number(a.block_number) };
  }
  return {
    captureId: row.capture_id,
    brandId: Number(row.brand_id),
    createdAt: Number(row.created_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
    running: Number(row.running) === 1,
    success: row.success === null ? null : Number(row.success) === 1,
    captureErrorBehaviour: row.error_behaviour,
    eventCount: Number(row.event_count),
    storedCount: Number(row.stored_count),
    errors: JSON.parse(row.errors) as CaptureError[],
    anchor,
  };
}

export function getCapture(store: EpcisStore, captureId: string, brandId?: number): Promise<CaptureJob | undefined> {
  return runEpcis(store, function* () {
    const [row] = yield* all<JobRow>(`SELECT ${JOB_COLUMNS} FROM epcis_captures WHERE capture_id = ?`, [captureId]);
    if (row === undefined || (brandId !== undefined && Number(row.brand_id) !== brandId)) return undefined;
    return yield* jobOf(row);
  });
}

export function listCaptures(
  store: EpcisStore,
  brandId: number,
  options: { limit: number; before?: { createdAt: number; captureId: string } },
): Promise<CaptureJob[]> {
  return runEpcis(store, function* () {
    const before = options.before;
    const rows =
      before === undefined
        ? yield* all<JobRow>(
            `SELECT ${JOB_COLUMNS} FROM epcis_captures WHERE brand_id = ? ORDER BY created_at DESC, capture_id DESC LIMIT ?`,
            [brandId, options.limit],
          )
        : yield* all<JobRow>(
            `SELECT ${JOB_COLUMNS} FROM epcis_captures WHERE brand_id = ? AND (created_at < ? OR (created_at = ? AND capture_id < ?)) ` +
              "ORDER BY created_at DESC, capture_id DESC LIMIT ?",
            [brandId, before.createdAt, before.createdAt, before.captureId, options.limit],
          );
    const jobs: CaptureJob[] = [];
    for (const row of rows) jobs.push(yield* jobOf(row));
    return jobs;
  });
}
