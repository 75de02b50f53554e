/**
 * The mirror's content writes: batch contents that passed core's content check, and the content
 * status of anchors, over either engine. Both the indexer's ingester and API uploads store through
 * `storeContent`.
 *
 *   createContentStore(store: MirrorStore): ContentStore
 *     anchor(key) / due(now, limit)            the anchor rows content is checked against
 *     markMismatch / markPending               content status and retry schedule
 *   storeContent(store, anchor, chunks, { maxLineLength?, beforeCommit? }): Promise<StoreOutcome>
 *
 * Two phases, so that the mirror only ever holds whole batches and a kill leaves nothing behind:
 * 1. stage: core's checkContentStream streams and checks the content; every record it accepts, with
 *    its item keys, goes into the engine's staging area (TEMP tables of one connection, spilled to
 *    a temp file, not memory). Memory holds 32 bytes per record plus the tree.
 * 2. commit: one transaction re-reads the anchor (a reorg may have removed or replaced it
 *    meanwhile), copies the staged rows into records / item_keys, stores the serialised tree and
 *    sets content_status = 'ok'. A kill before it commits leaves the anchor 'pending' and no rows
 *    (temp tables die with the connection).
 *
 * SQLite stages with a few thousand inserts per synchronous transaction (here); PostgreSQL with one
 * binary COPY on one client held from the first row to the COMMIT (mirror/pg/content.ts).
 *
 * The check is against the ANCHOR ROW (the chain's kind, root and leafCount), never the header's
 * claims. A failed check changes nothing here: the caller decides whether it marks the anchor
 * 'mismatch' (the ingester) or not (an upload: whoever sends wrong content does not get to mark it).
 */
import { checkContentStream, type ContentCheck } from "../../core/content";
import { extractItemKeys, type ItemKey } from "../../core/epcis";
import { isGtin14 } from "../../core/gs1";
import type { MerkleTree } from "../../core/merkle";
import { kindOfCode, type EpcisEvent, type RecordKind } from "../../core/record";
import { ValidationError } from "../../core/errors";
import type { Db } from "../db";
import { createPgContentStore } from "../pg/content";
import type { Engine, MirrorStore } from "../store";
import type { ContentStatus } from "../types";

/** Which anchor: the rest (kind, leafCount, contentURI) is always read from the anchors table. */
export interface AnchorKey {
  readonly brandId: number | bigint;
  readonly root: string;
}

/** An anchor row as content ingestion needs it. */
export interface ContentAnchor {
  readonly brandId: number | bigint;
  /** As stored (0x hex). */
  readonly root: string;
  /** The anchor row's batch id: the batch's rows reference it. */
  readonly batchId: number;
  /** 1 identity, 2 trace (as anchored; anything else fails the check with KIND). */
  readonly kind: number;
  readonly leafCount: number;
  readonly contentUri: string;
  readonly status: ContentStatus;
  readonly attempts: number;
}

export interface ContentStore {
  readonly engine: Engine;
  anchor(key: AnchorKey): Promise<ContentAnchor | undefined>;
  /** Anchors 'pending' whose retry time has come (or that were never tried), in chain order. */
  due(now: number, limit: number): Promise<ContentAnchor[]>;
  /** 'mismatch' with the reason, unless the anchor is 'ok' or no longer the one checked. */
  markMismatch(anchor: ContentAnchor, reason: string): Promise<void>;
  /** Still 'pending', with the reason and the time of the next try; unless it is 'ok'. */
  markPending(anchor: ContentAnchor, reason: string, retryAt: number): Promise<void>;
  /** A staging area for one batch's checked rows: storeContent's, not for other callers. */
  stage(kind: RecordKind): Promise<ContentStaging>;
}

/** An identity record's item key: gtin, serial, lot (null when the record has none). */
export type StagedItem = readonly [gtin: string, serial: string, lot: string | null];

/**
 * One batch's checked rows on their way into the mirror: an engine's staging area and its commit.
 * `record` and `key` are called synchronously, in leaf order, from core's onRecord; `hashes` is the
 * checker's hash buffer (the leaf's record hash at leaf * 32; read it there, keep no reference).
 */
export interface ContentStaging {
  record(leaf: number, hashes: Uint8Array, canonical: string, item: StagedItem | undefined): void;
  /** A trace record's item key ('' for the serial or lot it does not name). */
  key(leaf: number, hashes: Uint8Array, gtin: string, serial: string, lot: string): void;
  /** Undefined when more rows may come now; else settles when they may (rejects when staging failed). */
  ready(): Promise<void> | undefined;
  /** Re-reads the anchor and moves the staged rows into the mirror, in one transaction. */
  commit(anchor: ContentAnchor, tree: MerkleTree): Promise<"ingested" | "already" | "gone">;
  /** Drops whatever is staged and gives the connection back; safe to call more than once. */
  dispose(): Promise<void>;
}

/**
 * What storing a content did. `ok: false` outcomes changed nothing. Codes:
 * - the content check's (`HEADER`, `HEADER_MISMATCH`, `LEAF_COUNT`, `ROOT`, `BAD_LINE`) and `KIND`
 *   (the anchored kind is neither 1 nor 2): the content is not what was anchored;
 * - `ANCHOR_CHANGED`: the anchor was removed or replaced (a reorg) while the content streamed;
 * - `UNSTORABLE`: the batch has more leaves than one tree_nodes value can hold (not the content's
 *   fault: nothing was read).
 */
export type StoreOutcome =
  | {
      readonly ok: true;
      /** 'already' when the anchor was 'ok' by the time of the commit: nothing written. */
      readonly result: "ingested" | "already";
      readonly records: number;
      /** EPCIS identifiers that name a GTIN scheme but could not be decoded (no item key for them). */
      readonly skippedIdentifiers: number;
      /** Milliseconds streaming + checking + staging, and the commit. */
      readonly stageMs: number;
      readonly commitMs: number;
    }
  | {
      readonly ok: false;
      readonly code: ContentCheckCode | "KIND" | "ANCHOR_CHANGED" | "UNSTORABLE";
      readonly reason: string;
    };

export type ContentCheckCode = Extract<ContentCheck, { ok: false }>["code"];

export interface StoreContentOptions {
  readonly maxLineLength?: number;
  /** Runs after the check passed and before the commit (an upload moves its file into place here). */
  readonly beforeCommit?: () => Promise<void>;
}

/**
 * The serialised tree (68 bytes per leaf) is one value, and both engines' largest value is about
 * 10^9 bytes (SQLite's SQLITE_MAX_LENGTH in better-sqlite3, PostgreSQL's 1 GB field limit): larger
 * batches cannot be stored as the schema stands.
 */
export const MAX_STORABLE_LEAVES = Math.floor((1_000_000_000 + 24) / 68);

export function createContentStore(store: MirrorStore): ContentStore {
  return store.engine === "sqlite" ? createSqliteContentStore(store.db) : createPgContentStore(store.pool);
}

/**
 * Checks `chunks` against the anchor with core's checkContentStream and, if they match, stores the
 * records, item keys and tree and sets the anchor 'ok'. A failure of the stream itself (or of the
 * database while staging) rejects, with nothing stored.
 */
export async function storeContent(
  store: ContentStore,
  anchor: ContentAnchor,
  chunks: AsyncIterable<string | Uint8Array>,
  options: StoreContentOptions = {},
): Promise<StoreOutcome> {
  const kind = kindOfCode(anchor.kind);
  if (kind === undefined)
    return {
      ok: false,
      code: "KIND",
      reason: `kind: anchored kind ${anchor.kind} is neither 1 (identity) nor 2 (trace)`,
    };
  if (anchor.leafCount > MAX_STORABLE_LEAVES) {
    return {
      ok: false,
      code: "UNSTORABLE",
      reason: `${anchor.leafCount} leaves: the tree of a batch over ${MAX_STORABLE_LEAVES} leaves does not fit in one tree_nodes value`,
    };
  }
  const started = Date.now();
  const staging = await store.stage(kind);
  try {
    let skipped = 0;
    const check = await checkContentStream(
      paced(chunks, staging),
      { root: anchor.root, kind, leafCount: anchor.leafCount },
      {
        ...(options.maxLineLength === undefined ? {} : { maxLineLength: options.maxLineLength }),
        onRecord(leaf, canonical, record, hashes) {
          if (record.kind === "identity") {
            const { gtin, serial, lot } = record.item;
            staging.record(leaf, hashes, canonical, [gtin, serial, lot ?? null]);
            return;
          }
          staging.record(leaf, hashes, canonical, undefined);
          const decoded = traceItemKeys(record.event);
          skipped += decoded.skipped;
          for (const [gtin, serial, lot] of decoded.keys) staging.key(leaf, hashes, gtin, serial, lot);
        },
      },
    );
    if (!check.ok) return { ok: false, code: check.code, reason: check.reason };
    await options.beforeCommit?.();
    const staged = Date.now();
    const result = await staging.commit(anchor, check.tree);
    if (result === "gone") {
      return {
        ok: false,
        code: "ANCHOR_CHANGED",
        reason: "the anchor was removed or changed (chain reorganisation) during the check",
      };
    }
    return {
      ok: true,
      result,
      records: check.leafCount,
      skippedIdentifiers: skipped,
      stageMs: staged - started,
      commitMs: Date.now() - staged,
    };
  } finally {
    await staging.dispose();
  }
}

/** The chunks, each only once the staging area can take the rows of the last one (backpressure). */
async function* paced(
  chunks: AsyncIterable<string | Uint8Array>,
  staging: ContentStaging,
): AsyncGenerator<string | Uint8Array> {
  for await (const chunk of chunks) {
    const wait = staging.ready();
    if (wait !== undefined) await wait;
    yield chunk;
  }
  const wait = staging.ready();
  if (wait !== undefined) await wait;
}

// ---- SQLite: statements, staging in TEMP tables, the commit -------------------------------------

/** Records per spill transaction: large enough to amortise the commit, small enough to stay cheap. */
const SPILL_EVERY = 4096;
/** Upper bound of the page cache a commit may use (see commitSqlite). */
const DEFAULT_COMMIT_CACHE_MIB = 256;

const ANCHOR_COLUMNS =
  "brand_id AS brandId, root, batch_id AS batchId, kind, leaf_count AS leafCount, content_uri AS contentUri, content_status AS status, content_attempts AS attempts";

/** The SQLite implementation: synchronous inside (better-sqlite3), settled promises outside. */
export function createSqliteContentStore(db: Db): ContentStore {
  const statements = {
    anchor: db.prepare(`SELECT ${ANCHOR_COLUMNS} FROM anchors WHERE brand_id = ? AND root = ?`),
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
  const settle = <T>(work: () => T): Promise<T> => {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  };
  return {
    engine: "sqlite",
    anchor: (key) =>
      settle(() => statements.anchor.get(key.brandId, key.root.toLowerCase()) as ContentAnchor | undefined),
    due: (now, limit) => settle(() => statements.due.all(now, limit) as ContentAnchor[]),
    markMismatch: (anchor, reason) =>
      settle(() => {
        statements.markMismatch.run(reason, anchor.brandId, anchor.root, anchor.kind, anchor.leafCount);
      }),
    markPending: (anchor, reason, retryAt) =>
      settle(() => {
        statements.markPending.run(reason, retryAt, anchor.brandId, anchor.root);
      }),
    stage: () => settle(() => stageSqlite(db)),
  };
}

let stageSequence = 0;

function stageSqlite(db: Db): ContentStaging {
  stageSequence++;
  const recordsTable = `ingest_records_${stageSequence}`;
  const keysTable = `ingest_keys_${stageSequence}`;
  db.exec(
    // Identity keys ride along with their record (one insert instead of three); trace keys have their own table.
    `CREATE TEMP TABLE ${recordsTable} (leaf_index INTEGER PRIMARY KEY, record_hash BLOB NOT NULL, record TEXT NOT NULL, gtin TEXT, serial TEXT, lot TEXT);` +
      `CREATE TEMP TABLE ${keysTable} (leaf_index INTEGER NOT NULL, gtin TEXT NOT NULL, serial TEXT NOT NULL, lot TEXT NOT NULL);`,
  );
  let disposed = false;
  const dispose = (): Promise<void> => {
    if (!disposed) {
      disposed = true;
      db.exec(`DROP TABLE IF EXISTS temp.${recordsTable}; DROP TABLE IF EXISTS temp.${keysTable};`);
    }
    return Promise.resolve();
  };
  try {
    const insertRecord = db.prepare(
      `INSERT INTO temp.${recordsTable} (leaf_index, record_hash, record, gtin, serial, lot) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    const insertKey = db.prepare(`INSERT INTO temp.${keysTable} (leaf_index, gtin, serial, lot) VALUES (?, ?, ?, ?)`);
    const spillRecords: string[] = [];
    /** The checker's hash buffer as last passed: it holds the hashes of every leaf so far. */
    let hashes: Uint8Array = new Uint8Array(0);
    /** gtin, serial, lot (or null) per record; all null for trace records. */
    const spillItems: (string | null)[] = [];
    let spillFrom = 0;
    /** Trace records: leaf, gtin, serial, lot per key. */
    const spillKeys: (string | number)[] = [];
    const spill = db.transaction(() => {
      for (let i = 0; i < spillRecords.length; i++) {
        // A view, not a copy.
        const hash = Buffer.from(hashes.buffer, hashes.byteOffset + (spillFrom + i) * 32, 32);
        insertRecord.run(
          spillFrom + i,
          hash,
          spillRecords[i],
          spillItems[3 * i],
          spillItems[3 * i + 1],
          spillItems[3 * i + 2],
        );
      }
      for (let i = 0; i < spillKeys.length; i += 4)
        insertKey.run(spillKeys[i], spillKeys[i + 1], spillKeys[i + 2], spillKeys[i + 3]);
    });
    const flush = (): void => {
      if (spillRecords.length === 0 && spillKeys.length === 0) return;
      spill();
      spillFrom += spillRecords.length;
      spillRecords.length = 0;
      spillItems.length = 0;
      spillKeys.length = 0;
    };
    return {
      record(_leaf, latest, canonical, item) {
        hashes = latest;
        if (spillRecords.length >= SPILL_EVERY) flush();
        if (item === undefined) spillItems.push(null, null, null);
        else spillItems.push(item[0], item[1], item[2]);
        spillRecords.push(canonical);
      },
      key(leaf, latest, gtin, serial, lot) {
        hashes = latest;
        spillKeys.push(leaf, gtin, serial, lot);
      },
      ready: () => undefined,
      commit(anchor, tree) {
        try {
          flush();
          return Promise.resolve(commitSqlite(db, anchor, { recordsTable, keysTable }, tree, spillFrom));
        } catch (error) {
          return Promise.reject(error instanceof Error ? error : new Error(String(error)));
        }
      },
      dispose,
    };
  } catch (err) {
    void dispose();
    throw err;
  }
}

// ---- commit: TEMP tables → the mirror, in one transaction ------------------------------------------

function commitSqlite(
  db: Db,
  anchor: ContentAnchor,
  staging: { readonly recordsTable: string; readonly keysTable: string },
  tree: MerkleTree,
  records: number,
  maxCacheMiB = DEFAULT_COMMIT_CACHE_MIB,
): "ingested" | "already" | "gone" {
  const { recordsTable, keysTable } = staging;
  const run = db.transaction((): "ingested" | "already" | "gone" => {
    // Re-read inside the transaction: a reorg may have removed or replaced the anchor meanwhile.
    const current = db
      .prepare(`SELECT ${ANCHOR_COLUMNS} FROM anchors WHERE brand_id = ? AND root = ?`)
      .get(anchor.brandId, anchor.root) as ContentAnchor | undefined;
    if (current === undefined || current.kind !== anchor.kind || current.leafCount !== anchor.leafCount) return "gone";
    if (current.status === "ok") return "already";
    const batchId = current.batchId;
    // Defensive: 'pending' anchors have no rows, as every write below happens together.
    for (const table of ["records", "item_keys", "tree_nodes"])
      db.prepare(`DELETE FROM ${table} WHERE batch_id = ?`).run(batchId);
    db.prepare(
      `INSERT INTO records (batch_id, leaf_index, record_hash, record) SELECT ?, leaf_index, record_hash, record FROM temp.${recordsTable} ORDER BY leaf_index`,
    ).run(batchId);
    // Identity: a serial key (with the lot, if any); lots are counted in identity_counts. Trace: the
    // decoded keys; an event may name one item twice, stored once. Sorted so the B-tree inserts are
    // sequential.
    db.prepare(
      "INSERT OR IGNORE INTO item_keys (gtin, serial, lot, kind, batch_id, leaf_index) " +
        "SELECT gtin, serial, lot, ?, ?, leaf_index FROM (" +
        `SELECT gtin, serial, coalesce(lot, '') AS lot, leaf_index FROM temp.${recordsTable} WHERE gtin IS NOT NULL ` +
        `UNION ALL SELECT gtin, serial, lot, leaf_index FROM temp.${keysTable}` +
        ") ORDER BY gtin, serial, lot, leaf_index",
    ).run(current.kind, batchId);
    const serialized = tree.serialize();
    db.prepare("INSERT INTO tree_nodes (batch_id, nodes) VALUES (?, ?)").run(
      batchId,
      Buffer.from(serialized.buffer, serialized.byteOffset, serialized.byteLength),
    );
    db.prepare(
      "UPDATE anchors SET content_status = 'ok', content_error = NULL, content_attempts = content_attempts + 1, content_retry_at = NULL " +
        "WHERE batch_id = ?",
    ).run(batchId);
    return "ingested";
  });
  // records_hash is keyed by a hash, so a big batch inserts all over that index: with SQLite's
  // 16 MiB default page cache most inserts miss. A larger cache for this one transaction keeps the
  // index pages in memory (measured: 1M records, 8 s → 4 s for the records copy).
  const previous = db.pragma("cache_size", { simple: true }) as number;
  const wantedKiB = Math.min(maxCacheMiB * 1024, Math.ceil(records / 4));
  const currentKiB =
    previous < 0 ? -previous : (previous * (db.pragma("page_size", { simple: true }) as number)) / 1024;
  const grow = wantedKiB > currentKiB;
  if (grow) db.pragma(`cache_size = -${wantedKiB}`);
  try {
    return run.immediate();
  } finally {
    if (grow) db.pragma(`cache_size = ${previous}`);
  }
}

// ---- item keys of trace events ------------------------------------------------------------------

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
