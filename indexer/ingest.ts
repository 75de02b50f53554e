/**
 * Content ingestion: accepts a batch's content file only if it is exactly what the chain anchored,
 * then stores its records, item keys and Merkle tree.
 *
 *   createIngester({ db, source, log, config }): Ingester
 *     ingestPending()           anchors 'pending' and due for retry, one batch of them, in chain order
 *     ingestOne(anchor)         one anchor, from its content source
 *     ingestStream(anchor, s)   one anchor, from the given stream
 *   ingestUpload(db, anchor, stream): { ok } | { ok: false, code, reason }   the same check, for an upload;
 *                                                  stores on success, changes nothing on failure
 *   acceptUpload({ db, contentDir, anchor, stream, maxBytes })          ingestUpload that also keeps
 *                                                  the file as <contentDir>/<root>.ndjson
 *
 * The check is against the ANCHOR ROW (the chain's kind, root and leafCount), never the header's
 * claims: each line is parsed, validated as a v1 record of the anchored kind, re-canonicalised and
 * hashed, and the rebuilt root must equal the anchored one.
 *
 * Two phases, so that the mirror only ever holds whole batches and a kill leaves nothing behind:
 * 1. stage (async): stream the file, check it, and spill canonical records and item keys into TEMP
 *    tables of this connection (a temp file, not memory), a few thousand rows per synchronous
 *    transaction. Memory holds 32 bytes per record plus the tree.
 * 2. commit (sync): one IMMEDIATE transaction copies the staged rows into records / item_keys,
 *    stores the serialised tree and sets content_status = 'ok'. A kill before it commits leaves the
 *    anchor 'pending' and no rows (temp tables die with the connection).
 *
 * Outcomes: 'ok'; 'mismatch' with a precise reason (final until someone uploads the right content);
 * or still 'pending' with the reason, when the content is not there yet, the source failed
 * (5xx, timeout), or the source was refused (path escape, too large): tried again after a delay
 * that doubles per attempt (content_attempts, content_retry_at).
 */
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rename, rm } from "node:fs/promises";
import path from "node:path";
import { StringDecoder } from "node:string_decoder";
import {
  buildTree,
  canonicalRecord,
  extractItemKeys,
  isGtin14,
  parseContentHeader,
  parseRecord,
  recordHashInto,
  ValidationError,
  type ContentHeader,
  type EpcisEvent,
  type ItemKey,
  type MerkleTree,
  type RecordKind,
} from "../core";
import { ContentRefusedError, ContentUnavailableError, type ContentSource } from "./content-source";
import type { Db } from "../mirror/db";
import { IndexerError } from "./errors";
import type { Logger } from "./indexer";

/** Which anchor: the rest (kind, leafCount, contentURI) is always read from the anchors table. */
export interface AnchorKey {
  readonly brandId: number | bigint;
  readonly root: string;
}

export interface IngesterConfig {
  /** Anchors per ingestPending() call. Default 10. */
  readonly batchSize?: number;
  /** Delay before the first retry of content that is not available; doubles per attempt. Default 60 000. */
  readonly retryDelayMs?: number;
  /** Longest retry delay. Default 3 600 000 (1 h). */
  readonly maxRetryDelayMs?: number;
  /** Longest content line, in characters. Default 16 Mi. */
  readonly maxLineLength?: number;
}

export interface CreateIngesterOptions {
  readonly db: Db;
  readonly source: ContentSource;
  readonly log: Logger;
  readonly config?: IngesterConfig;
  /** Clock for retry scheduling (unix ms). Default Date.now. */
  readonly now?: () => number;
}

export type IngestOutcome =
  | { readonly status: "ok"; readonly records: number; /** true when it was 'ok' already: nothing done. */ readonly already: boolean }
  | { readonly status: "mismatch"; readonly reason: string }
  | { readonly status: "pending"; readonly reason: string; readonly retryAt: number }
  /** No such anchor in the mirror (never seen, or removed by a reorg): nothing done. */
  | { readonly status: "absent" };

export interface IngestPendingResult {
  readonly ingested: number;
  readonly mismatched: number;
  /** Anchors tried by this call that are still pending. */
  readonly pending: number;
}

export interface Ingester {
  /** Up to batchSize anchors that are 'pending' and due, in chain order; call again for more. */
  ingestPending(): Promise<IngestPendingResult>;
  /** One anchor from its content source, whatever its retry time; a no-op when it is 'ok'. A 'mismatch' is checked again. */
  ingestOne(anchor: AnchorKey): Promise<IngestOutcome>;
  /** As ingestOne, from `stream` instead of the content source. */
  ingestStream(anchor: AnchorKey, stream: NodeJS.ReadableStream): Promise<IngestOutcome>;
}

export type UploadResult =
  | { readonly ok: true }
  /** UNKNOWN_ANCHOR (404), TOO_LARGE (413), MISMATCH (422: the content is not what was anchored), ANCHOR_CHANGED (409: a reorg). */
  | { readonly ok: false; readonly code: "UNKNOWN_ANCHOR" | "TOO_LARGE" | "MISMATCH" | "ANCHOR_CHANGED"; readonly reason: string };

export interface AcceptUploadOptions {
  readonly db: Db;
  readonly contentDir: string;
  readonly anchor: AnchorKey;
  readonly stream: NodeJS.ReadableStream;
  /** Largest upload accepted, in bytes. */
  readonly maxBytes: number;
  readonly maxLineLength?: number;
}

type ContentStatus = "pending" | "ok" | "missing" | "mismatch";

interface AnchorState {
  readonly brandId: number | bigint;
  /** As stored: rows reference it through the foreign key. */
  readonly root: string;
  readonly kind: number;
  readonly leafCount: number;
  readonly contentUri: string;
  readonly status: ContentStatus;
  readonly attempts: number;
}

const KIND_NAME: Readonly<Record<number, RecordKind>> = { 1: "identity", 2: "trace" };
const DEFAULT_MAX_LINE = 16 * 1024 * 1024;
/** Records per spill transaction: large enough to amortise the commit, small enough to stay cheap. */
const SPILL_EVERY = 4096;
/**
 * The serialised tree (68 bytes per leaf) is one BLOB, and SQLite's largest value is 10^9 bytes
 * (better-sqlite3's SQLITE_MAX_LENGTH): larger batches cannot be stored as the schema stands.
 */
const MAX_STORABLE_LEAVES = Math.floor((1_000_000_000 + 24) / 68);
/** Upper bound of the page cache a commit may use (see commit). */
const DEFAULT_COMMIT_CACHE_MIB = 256;

const ANCHOR_COLUMNS =
  "brand_id AS brandId, root, kind, leaf_count AS leafCount, content_uri AS contentUri, content_status AS status, content_attempts AS attempts";

export function createIngester(options: CreateIngesterOptions): Ingester {
  const { db, source, log } = options;
  const now = options.now ?? Date.now;
  const batchSize = positive(options.config?.batchSize ?? 10, "batchSize");
  const retryDelayMs = nonNegative(options.config?.retryDelayMs ?? 60_000, "retryDelayMs");
  const maxRetryDelayMs = nonNegative(options.config?.maxRetryDelayMs ?? 3_600_000, "maxRetryDelayMs");
  const maxLineLength = positive(options.config?.maxLineLength ?? DEFAULT_MAX_LINE, "maxLineLength");

  const statements = {
    due: db.prepare(
      `SELECT ${ANCHOR_COLUMNS} FROM anchors WHERE content_status = 'pending' AND (content_retry_at IS NULL OR content_retry_at <= ?) ` +
        "ORDER BY block_number, log_index LIMIT ?",
    ),
    markMismatch: db.prepare(
      "UPDATE anchors SET content_status = 'mismatch', content_error = ?, content_attempts = content_attempts + 1, content_retry_at = NULL " +
        "WHERE brand_id = ? AND root = ? AND kind = ? AND leaf_count = ? AND content_status <> 'ok'",
    ),
    markPending: db.prepare(
      "UPDATE anchors SET content_status = 'pending', content_error = ?, content_attempts = content_attempts + 1, content_retry_at = ? " +
        "WHERE brand_id = ? AND root = ? AND content_status <> 'ok'",
    ),
  };

  function retryAt(attempts: number): number {
    const delay = Math.min(maxRetryDelayMs, retryDelayMs * 2 ** Math.min(attempts, 40));
    return now() + delay;
  }

  function pending(anchor: AnchorState, reason: string): IngestOutcome {
    const at = retryAt(anchor.attempts);
    statements.markPending.run(reason, at, anchor.brandId, anchor.root);
    log.info({ brandId: String(anchor.brandId), root: anchor.root, reason, attempts: anchor.attempts + 1, retryAt: at }, "content not ingested yet");
    return { status: "pending", reason, retryAt: at };
  }

  /** Source problems keep the anchor pending; anything else (a bug, a SQLite error) propagates. */
  function sourceFailure(anchor: AnchorState, err: unknown): IngestOutcome {
    if (err instanceof ContentUnavailableError) return pending(anchor, `unavailable: ${err.message}`);
    if (err instanceof ContentRefusedError) return pending(anchor, `refused: ${err.message}`);
    throw err;
  }

  async function ingestState(anchor: AnchorState, stream: NodeJS.ReadableStream): Promise<IngestOutcome> {
    const started = Date.now();
    let staged: Staged;
    try {
      staged = await stage(db, anchor, stream, maxLineLength);
    } catch (err) {
      return sourceFailure(anchor, err);
    }
    if (!staged.ok) {
      statements.markMismatch.run(staged.reason, anchor.brandId, anchor.root, anchor.kind, anchor.leafCount);
      log.warn({ brandId: String(anchor.brandId), root: anchor.root, reason: staged.reason }, "content does not match its anchor");
      return { status: "mismatch", reason: staged.reason };
    }
    const staging = Date.now() - started;
    try {
      const result = commit(db, staged);
      if (result === "gone") return { status: "absent" };
      if (staged.skippedIdentifiers > 0) {
        log.warn(
          { brandId: String(anchor.brandId), root: anchor.root, skippedIdentifiers: staged.skippedIdentifiers },
          "some EPCIS identifiers could not be decoded; their records are stored without those item keys",
        );
      }
      log.info(
        {
          brandId: String(anchor.brandId),
          root: anchor.root,
          records: staged.records,
          stageMs: staging,
          commitMs: Date.now() - started - staging,
          already: result === "already",
        },
        "content ingested",
      );
      return { status: "ok", records: staged.records, already: result === "already" };
    } finally {
      staged.dispose();
    }
  }

  async function ingestAnchor(anchor: AnchorState): Promise<IngestOutcome> {
    if (anchor.status === "ok") return { status: "ok", records: anchor.leafCount, already: true };
    let stream: NodeJS.ReadableStream | undefined;
    try {
      stream = await source.open({ brandId: anchor.brandId, root: anchor.root, contentUri: anchor.contentUri });
    } catch (err) {
      return sourceFailure(anchor, err);
    }
    if (stream === undefined) {
      const uri = anchor.contentUri.trim() === "" ? "a contentURI (none given)" : `contentURI ${anchor.contentUri}`;
      return pending(anchor, `not found: neither ${anchor.root.toLowerCase()}.ndjson in the content directory nor ${uri}`);
    }
    return ingestState(anchor, stream);
  }

  return {
    async ingestPending() {
      const due = statements.due.all(now(), batchSize) as AnchorState[];
      let ingested = 0;
      let mismatched = 0;
      let stillPending = 0;
      for (const anchor of due) {
        const outcome = await ingestAnchor(anchor);
        if (outcome.status === "ok" && !outcome.already) ingested++;
        else if (outcome.status === "mismatch") mismatched++;
        else if (outcome.status === "pending") stillPending++;
      }
      return { ingested, mismatched, pending: stillPending };
    },
    async ingestOne(key) {
      const anchor = readAnchor(db, key);
      return anchor === undefined ? { status: "absent" } : ingestAnchor(anchor);
    },
    async ingestStream(key, stream) {
      const anchor = readAnchor(db, key);
      if (anchor === undefined || anchor.status === "ok") {
        destroy(stream);
        return anchor === undefined ? { status: "absent" } : { status: "ok", records: anchor.leafCount, already: true };
      }
      return ingestState(anchor, stream);
    },
  };
}

/**
 * Checks `stream` against the anchor and, if it matches, stores it (content_status 'ok'). Unlike
 * the ingester, a failed check changes nothing: whoever uploads wrong content does not get to mark
 * the anchor 'mismatch'. Rejects with ContentUnavailableError when the stream itself fails (client
 * gone), ContentRefusedError when the batch is too large to store.
 */
export async function ingestUpload(
  db: Db,
  anchor: AnchorKey,
  stream: NodeJS.ReadableStream,
  options: { readonly maxLineLength?: number } = {},
): Promise<UploadResult> {
  const state = readAnchor(db, anchor);
  if (state === undefined) {
    destroy(stream);
    return { ok: false, code: "UNKNOWN_ANCHOR", reason: `no anchor ${anchor.root} for brand ${String(anchor.brandId)} is indexed` };
  }
  const staged = await stage(db, state, stream, options.maxLineLength ?? DEFAULT_MAX_LINE);
  if (!staged.ok) return { ok: false, code: "MISMATCH", reason: staged.reason };
  try {
    return commitUpload(db, staged);
  } finally {
    staged.dispose();
  }
}

/**
 * The upload path of `PUT /v1/batches/{brandId}/{root}/content`: streams to a temp file in
 * contentDir, checks it, renames it to `<root>.ndjson`, then stores it. On any failure the temp file
 * is deleted and nothing changes. The rename comes before the commit, so a crash between the two
 * leaves a correct file for the next ingestPending() to pick up.
 */
export async function acceptUpload(options: AcceptUploadOptions): Promise<UploadResult> {
  const { db, contentDir, anchor, stream, maxBytes } = options;
  const state = readAnchor(db, anchor);
  if (state === undefined) {
    destroy(stream);
    return { ok: false, code: "UNKNOWN_ANCHOR", reason: `no anchor ${anchor.root} for brand ${String(anchor.brandId)} is indexed` };
  }
  await mkdir(contentDir, { recursive: true });
  const root = state.root.toLowerCase();
  const temp = path.join(contentDir, `.upload-${root}-${randomBytes(6).toString("hex")}.tmp`);
  let staged: Staged | undefined;
  try {
    const written = await writeCapped(stream, temp, maxBytes);
    if (!written) return { ok: false, code: "TOO_LARGE", reason: `content is larger than the ${maxBytes}-byte limit` };
    staged = await stage(db, state, createReadStream(temp), options.maxLineLength ?? DEFAULT_MAX_LINE);
    if (!staged.ok) return { ok: false, code: "MISMATCH", reason: staged.reason };
    await rename(temp, path.join(contentDir, `${root}.ndjson`));
    return commitUpload(db, staged);
  } finally {
    if (staged?.ok === true) staged.dispose();
    await rm(temp, { force: true });
  }
}

function commitUpload(db: Db, staged: StagedOk): UploadResult {
  const result = commit(db, staged);
  if (result === "gone") return { ok: false, code: "ANCHOR_CHANGED", reason: "the anchor was removed or changed (chain reorganisation) during the check" };
  return { ok: true };
}

/** Streams to `file`; false (and nothing kept) when more than maxBytes arrive. */
async function writeCapped(stream: NodeJS.ReadableStream, file: string, maxBytes: number): Promise<boolean> {
  const handle = await open(file, "wx");
  try {
    let total = 0;
    for await (const chunk of readChunks(stream, "upload")) {
      total += chunk.byteLength;
      if (total > maxBytes) return false;
      await handle.write(chunk);
    }
    await handle.sync();
    return true;
  } finally {
    await handle.close();
  }
}

function readAnchor(db: Db, key: AnchorKey): AnchorState | undefined {
  return db.prepare(`SELECT ${ANCHOR_COLUMNS} FROM anchors WHERE brand_id = ? AND root = ?`).get(key.brandId, key.root.toLowerCase()) as
    | AnchorState
    | undefined;
}

// ---- stage: stream → checks → TEMP tables --------------------------------------------------------

interface StagedOk {
  readonly ok: true;
  readonly anchor: AnchorState;
  readonly tree: MerkleTree;
  readonly records: number;
  /** EPCIS identifiers that name a GTIN scheme but could not be decoded (no item key for them). */
  readonly skippedIdentifiers: number;
  readonly recordsTable: string;
  readonly keysTable: string;
  dispose(): void;
}

type Staged = StagedOk | { readonly ok: false; readonly reason: string };

let stageSequence = 0;

async function stage(db: Db, anchor: AnchorState, stream: NodeJS.ReadableStream, maxLineLength: number): Promise<Staged> {
  const kind = KIND_NAME[anchor.kind];
  if (kind === undefined) {
    destroy(stream);
    return { ok: false, reason: `kind: anchored kind ${anchor.kind} is neither 1 (identity) nor 2 (trace)` };
  }
  const anchoredRoot = anchor.root.toLowerCase();
  const expected = anchor.leafCount;
  if (expected > MAX_STORABLE_LEAVES) {
    destroy(stream);
    // Not the content's fault, so not a mismatch: it stays pending, with the reason.
    throw new ContentRefusedError(anchoredRoot, `${expected} leaves: the tree of a batch over ${MAX_STORABLE_LEAVES} leaves does not fit in one tree_nodes BLOB`);
  }

  stageSequence++;
  const recordsTable = `ingest_records_${stageSequence}`;
  const keysTable = `ingest_keys_${stageSequence}`;
  db.exec(
    // Identity keys ride along with their record (one insert instead of three); trace keys have their own table.
    `CREATE TEMP TABLE ${recordsTable} (leaf_index INTEGER PRIMARY KEY, record_hash BLOB NOT NULL, record TEXT NOT NULL, gtin TEXT, serial TEXT, lot TEXT);` +
      `CREATE TEMP TABLE ${keysTable} (leaf_index INTEGER NOT NULL, gtin TEXT NOT NULL, serial TEXT NOT NULL, lot TEXT NOT NULL);`,
  );
  let disposed = false;
  const dispose = (): void => {
    if (disposed) return;
    disposed = true;
    db.exec(`DROP TABLE IF EXISTS temp.${recordsTable}; DROP TABLE IF EXISTS temp.${keysTable};`);
  };

  try {
    const insertRecord = db.prepare(`INSERT INTO temp.${recordsTable} (leaf_index, record_hash, record, gtin, serial, lot) VALUES (?, ?, ?, ?, ?, ?)`);
    const insertKey = db.prepare(`INSERT INTO temp.${keysTable} (leaf_index, gtin, serial, lot) VALUES (?, ?, ?, ?)`);

    let hashes = new Uint8Array(32 * Math.max(1, Math.min(expected, 65_536)));
    const spillRecords: string[] = [];
    /** Identity records: gtin, serial, lot (or null) per record. */
    const spillItems: (string | null)[] = [];
    let spillFrom = 0;
    /** Trace records: leaf, gtin, serial, lot per key. */
    const spillKeys: (string | number)[] = [];
    const spill = db.transaction(() => {
      for (let i = 0; i < spillRecords.length; i++) {
        const leaf = spillFrom + i;
        const hash = Buffer.from(hashes.buffer, hashes.byteOffset + leaf * 32, 32);
        if (kind === "identity") insertRecord.run(leaf, hash, spillRecords[i], spillItems[3 * i], spillItems[3 * i + 1], spillItems[3 * i + 2]);
        else insertRecord.run(leaf, hash, spillRecords[i], null, null, null);
      }
      for (let i = 0; i < spillKeys.length; i += 4) insertKey.run(spillKeys[i], spillKeys[i + 1], spillKeys[i + 2], spillKeys[i + 3]);
    });
    const flush = (): void => {
      if (spillRecords.length === 0 && spillKeys.length === 0) return;
      spill();
      spillFrom += spillRecords.length;
      spillRecords.length = 0;
      spillItems.length = 0;
      spillKeys.length = 0;
    };

    let lineNo = 0;
    let header: ContentHeader | undefined;
    let count = 0;
    let skippedIdentifiers = 0;

    /** One line (without its terminator); returns a mismatch reason, or undefined. Synchronous on purpose. */
    const onLine = (raw: string): string | undefined => {
      lineNo++;
      let text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (lineNo === 1) {
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        try {
          header = parseContentHeader(text);
        } catch (err) {
          if (err instanceof ValidationError) return `line 1: ${err.reason}`;
          throw err;
        }
        const wrong: string[] = [];
        if (header.kind !== kind) wrong.push(`kind: file says ${header.kind}, anchored ${kind}`);
        if (header.root !== anchoredRoot) wrong.push(`root: file says ${header.root}, anchored ${anchoredRoot}`);
        if (header.leafCount !== expected) wrong.push(`leafCount: header says ${header.leafCount}, anchored ${expected}`);
        return wrong.length > 0 ? wrong.join("; ") : undefined;
      }
      if (text === "") return undefined; // as core's reader: blank lines carry no record
      count++;
      if (count > expected) return undefined; // only counted, for the reason
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        return `line ${lineNo}: not JSON`;
      }
      let canonical: string;
      const leaf = count - 1;
      try {
        const record = parseRecord(value, kind);
        canonical = inJcsKeyOrder(value) ? JSON.stringify(value) : canonicalRecord(record);
        if (record.kind === "identity") {
          spillItems.push(record.item.gtin, record.item.serial, record.item.lot ?? null);
        } else {
          const decoded = traceItemKeys(record.event);
          skippedIdentifiers += decoded.skipped;
          for (const [gtin, serial, lot] of decoded.keys) spillKeys.push(leaf, gtin, serial, lot);
        }
      } catch (err) {
        if (err instanceof ValidationError) return `line ${lineNo}: ${err.message}`;
        throw err;
      }
      if ((leaf + 1) * 32 > hashes.length) {
        const grown = new Uint8Array(Math.min(hashes.length * 2, expected * 32));
        grown.set(hashes);
        hashes = grown;
      }
      recordHashInto(canonical, hashes, leaf * 32);
      spillRecords.push(canonical);
      return undefined;
    };

    const decoder = new StringDecoder("utf8");
    const carry: string[] = [];
    let carryLength = 0;
    let failure: string | undefined;
    /** Splits decoded text into lines; keeps an unfinished line in `carry` without re-copying it. */
    const onText = (piece: string): void => {
      let nl = piece.indexOf("\n");
      if (nl < 0) {
        carry.push(piece);
        carryLength += piece.length;
        if (carryLength > maxLineLength) failure = `line ${lineNo + 1}: longer than ${maxLineLength} characters`;
        return;
      }
      let text = piece;
      if (carry.length > 0) {
        carry.push(piece);
        text = carry.join("");
        nl += carryLength;
        carry.length = 0;
        carryLength = 0;
      }
      let start = 0;
      while (nl >= 0) {
        failure = onLine(text.slice(start, nl));
        if (failure !== undefined) return;
        start = nl + 1;
        nl = text.indexOf("\n", start);
      }
      if (start < text.length) {
        carry.push(text.slice(start));
        carryLength = text.length - start;
        if (carryLength > maxLineLength) failure = `line ${lineNo + 1}: longer than ${maxLineLength} characters`;
      }
      if (spillRecords.length >= SPILL_EVERY) flush();
    };

    for await (const chunk of readChunks(stream, anchor.contentUri || anchor.root)) {
      onText(decoder.write(chunk));
      if (failure !== undefined) break;
    }
    if (failure === undefined) {
      const rest = carry.join("") + decoder.end();
      if (rest !== "") failure = onLine(rest);
    }
    if (failure === undefined && header === undefined) failure = "line 1: content file is empty";
    if (failure === undefined && count !== expected) failure = `leafCount: file has ${count}, anchored ${expected}`;
    if (failure !== undefined) {
      dispose();
      return { ok: false, reason: failure };
    }
    flush();
    const tree = buildTree(hashes.subarray(0, count * 32));
    if (tree.root !== anchoredRoot) {
      dispose();
      return { ok: false, reason: `root mismatch: rebuilt ${tree.root} ≠ anchored ${anchoredRoot}` };
    }
    return { ok: true, anchor, tree, records: count, skippedIdentifiers, recordsTable, keysTable, dispose };
  } catch (err) {
    dispose();
    throw err;
  }
}

/**
 * Whether every object in a decoded JSON value has its keys in JCS order (UTF-16 code units,
 * ascending). Then JSON.stringify(value) is its JCS text: JCS takes its string escaping and number
 * formatting from JSON.stringify. Content files are written canonical, so this is the usual case and
 * saves about half of core's canonicalRecord time (1M identity records: 2.9 s → 1.6 s). It
 * re-serialises the parsed value, never the line's bytes; and a divergence from canonicalRecord
 * could only make the rebuilt root differ (a spurious mismatch), never store a record that does not
 * hash into the anchored root.
 */
function inJcsKeyOrder(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (!inJcsKeyOrder(item)) return false;
    return true;
  }
  const object = value as Record<string, unknown>;
  let previous: string | undefined;
  for (const key in object) {
    if (previous !== undefined && !(previous < key)) return false;
    if (!inJcsKeyOrder(object[key])) return false;
    previous = key;
  }
  return true;
}

/**
 * The stream's chunks as Buffers. A failure of the stream itself becomes ContentUnavailableError
 * (retry later), unless the source already classified it; stopping early destroys the stream.
 */
async function* readChunks(stream: NodeJS.ReadableStream, where: string): AsyncGenerator<Buffer> {
  const iterator = stream[Symbol.asyncIterator]();
  let done = false;
  try {
    for (;;) {
      let next: IteratorResult<string | Buffer>;
      try {
        next = await iterator.next();
      } catch (err) {
        done = true;
        if (err instanceof IndexerError) throw err;
        throw new ContentUnavailableError(where, `reading failed: ${(err as Error).message}`, { cause: err });
      }
      if (next.done === true) {
        done = true;
        return;
      }
      yield typeof next.value === "string" ? Buffer.from(next.value, "utf8") : next.value;
    }
  } finally {
    if (!done) {
      destroy(stream);
      await iterator.return?.();
    }
  }
}

/**
 * Item keys of a trace event as [gtin, serial, lot] ('' for absent). SSCC, SGLN and other non-item
 * identifiers give none. core's extractItemKeys gives up on the whole event at the first identifier
 * it cannot decode; then each identifier is decoded alone, so one bad EPC does not hide the others.
 */
function traceItemKeys(event: EpcisEvent): { keys: [string, string, string][]; skipped: number } {
  let itemKeys: ItemKey[];
  let skipped = 0;
  try {
    itemKeys = extractItemKeys(event);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    itemKeys = [];
    for (const single of singleIdentifierEvents(event)) {
      try {
        itemKeys.push(...extractItemKeys(single));
      } catch (inner) {
        if (!(inner instanceof ValidationError)) throw inner;
        skipped++;
      }
    }
  }
  const keys: [string, string, string][] = [];
  for (const key of itemKeys) {
    if (key.type === "other" || !isGtin14(key.gtin)) continue;
    if (key.type === "serial") keys.push([key.gtin, key.serial, ""]);
    else if (key.type === "lot") keys.push([key.gtin, "", key.lot]);
    else keys.push([key.gtin, "", ""]);
  }
  return { keys, skipped };
}

const EPC_LISTS = ["epcList", "childEPCs", "inputEPCList", "outputEPCList"] as const;
const QUANTITY_LISTS = ["quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"] as const;

function* singleIdentifierEvents(event: EpcisEvent): Generator<EpcisEvent> {
  for (const field of [...EPC_LISTS, ...QUANTITY_LISTS]) {
    const list = event[field];
    if (Array.isArray(list)) for (const entry of list) yield { type: event.type, [field]: [entry] };
  }
  if (event.parentID !== undefined) yield { type: event.type, parentID: event.parentID };
}

// ---- commit: TEMP tables → the mirror, in one transaction ------------------------------------------

function commit(db: Db, staged: StagedOk, maxCacheMiB = DEFAULT_COMMIT_CACHE_MIB): "ingested" | "already" | "gone" {
  const { anchor, recordsTable, keysTable, tree } = staged;
  const run = db.transaction((): "ingested" | "already" | "gone" => {
    // Re-read inside the transaction: a reorg may have removed or replaced the anchor meanwhile.
    const current = db.prepare(`SELECT ${ANCHOR_COLUMNS} FROM anchors WHERE brand_id = ? AND root = ?`).get(anchor.brandId, anchor.root) as
      | AnchorState
      | undefined;
    if (current === undefined || current.kind !== anchor.kind || current.leafCount !== anchor.leafCount) return "gone";
    if (current.status === "ok") return "already";
    const { brandId, root } = current;
    // Defensive: 'pending' anchors have no rows, as every write below happens together.
    for (const table of ["records", "item_keys", "tree_nodes"]) db.prepare(`DELETE FROM ${table} WHERE brand_id = ? AND root = ?`).run(brandId, root);
    db.prepare(
      `INSERT INTO records (brand_id, root, leaf_index, record_hash, record) SELECT ?, ?, leaf_index, record_hash, record FROM temp.${recordsTable} ORDER BY leaf_index`,
    ).run(brandId, root);
    // Identity: a serial key (with the lot, if any) and a lot-level key. Trace: the decoded keys;
    // an event may name one item twice, stored once. Sorted so the B-tree inserts are sequential.
    db.prepare(
      "INSERT OR IGNORE INTO item_keys (gtin, serial, lot, kind, record_hash, brand_id, root, leaf_index) " +
        "SELECT gtin, serial, lot, ?, record_hash, ?, ?, leaf_index FROM (" +
        `SELECT gtin, serial, coalesce(lot, '') AS lot, leaf_index, record_hash FROM temp.${recordsTable} WHERE gtin IS NOT NULL ` +
        `UNION ALL SELECT gtin, '', lot, leaf_index, record_hash FROM temp.${recordsTable} WHERE lot IS NOT NULL ` +
        `UNION ALL SELECT k.gtin, k.serial, k.lot, k.leaf_index, r.record_hash FROM temp.${keysTable} k JOIN temp.${recordsTable} r ON r.leaf_index = k.leaf_index` +
        ") ORDER BY gtin, serial, lot, leaf_index",
    ).run(current.kind, brandId, root);
    const serialized = tree.serialize();
    db.prepare("INSERT INTO tree_nodes (brand_id, root, nodes) VALUES (?, ?, ?)").run(
      brandId,
      root,
      Buffer.from(serialized.buffer, serialized.byteOffset, serialized.byteLength),
    );
    db.prepare(
      "UPDATE anchors SET content_status = 'ok', content_error = NULL, content_attempts = content_attempts + 1, content_retry_at = NULL " +
        "WHERE brand_id = ? AND root = ?",
    ).run(brandId, root);
    return "ingested";
  });
  // records_hash is keyed by a hash, so a big batch inserts all over that index: with SQLite's
  // 16 MiB default page cache most inserts miss. A larger cache for this one transaction keeps the
  // index pages in memory (measured: 1M records, 8 s → 4 s for the records copy).
  const previous = db.pragma("cache_size", { simple: true }) as number;
  const wantedKiB = Math.min(maxCacheMiB * 1024, Math.ceil(staged.records / 4));
  const currentKiB = previous < 0 ? -previous : (previous * (db.pragma("page_size", { simple: true }) as number)) / 1024;
  const grow = wantedKiB > currentKiB;
  if (grow) db.pragma(`cache_size = -${wantedKiB}`);
  try {
    return run.immediate();
  } finally {
    if (grow) db.pragma(`cache_size = ${previous}`);
  }
}

function destroy(stream: NodeJS.ReadableStream): void {
  (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  return value;
}
