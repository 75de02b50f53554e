/**
 * Item keys: the identity records of one serial, the trace events naming an item, its lot or its
 * class, and for lot- and product-level codes the identity records a brand anchored per GTIN and lot
 * (identity_counts, kept by triggers) and the lot recalls of a GTIN. Each read is one statement over
 * item_keys joined to records (raw rows, no per-row objects from SQLite); the rarely changing anchor
 * and submitter rows are memoised until the mirror changes (or for a second, without the mirror's
 * version).
 */
import type { Database } from "better-sqlite3";
import type {
  AnchorRow,
  AnchoredRecordRow,
  IdentityCountRow,
  IdentityRow,
  LotEventRow,
  SerialRows,
  TraceEventRow,
} from "../types";
import type { EventLevel } from "../../core/verdict";
import { ttlCache, versionedCache, type MirrorVersion, type TtlCache } from "./cache";
import { ANCHOR_COLUMNS, toAnchor, type AnchorDb } from "./anchors";
import { KIND_CODE } from "../../core/record";

export type { EventLevel };

export interface ItemsRepository {
  /** Identity records with this GTIN-14 and serial, oldest anchor first. */
  identities(gtin: string, serial: string): AnchoredRecordRow[];
  /** Trace records naming the item (when serial), its lot (when lot) and its class; duplicates removed. */
  events(key: { gtin: string; serial?: string; lot?: string }): TraceEventRow[];
  /** One read for a serial: its identity copies and the trace events naming it. */
  serial(gtin: string, serial: string): SerialRows;
  /** Trace events naming the lot (`lot` non-empty, level "lot") or the class (`lot` "", level "class"), oldest anchor first. */
  level(gtin: string, lot: string): TraceEventRow[];
  /** Identity records anchored by `brandId` for the GTIN (and lot), per batch and lot, oldest anchor first; revoked batches included. */
  identityCounts(gtin: string, brandId: number, lot?: string): IdentityCountRow[];
  /** The identity record at a leaf of a batch, or undefined when there is none (or a reorg removed it). */
  identityAt(brandId: number, root: string, leafIndex: number, lot: string): IdentityRow | undefined;
  /**
   * Trace events naming a lot of the GTIN whose record mentions "recalled" (level "lot"), any
   * brand, oldest anchor first: candidates, the caller checks the disposition itself.
   */
  lotRecalls(gtin: string): LotEventRow[];
  /** Whether any record is keyed by this GTIN and serial: one index seek, the cheapest read of an item (bench:api's reference). */
  isKeyed(gtin: string, serial: string): boolean;
}

/** Identity copies and trace events per key level looked at: a cap, not a page size. */
const MAX_IDENTITIES = 16;
const MAX_EVENTS = 200;
/** Lots with events remembered per GTIN; a GTIN with more is looked up lot by lot. */
const MAX_LOT_SET = 4096;

/** How long anchor and submitter rows are reused without the mirror's version. */
const MEMO_MS = 1000;

/** Raw rows: [kind, lot, batch_id, leaf_index, record_hash, record]. */
type SerialDb = [number, string, number, number, Buffer, string];
/** Raw rows: [batch_id, leaf_index, record_hash, record]. */
type LevelDb = [number, number, Buffer, string];
/** Raw rows: [lot, batch_id, leaf_index, record_hash, record]. */
type LotDb = [string, number, number, Buffer, string];
/** Raw rows: [batch_id, lot, items, first_leaf]. */
type CountDb = [number, string, number, number];
/** Raw rows: [record_hash, record]. */
type RecordDb = [Buffer, string];

const JOIN_RECORDS = "JOIN records r ON r.batch_id = k.batch_id AND r.leaf_index = k.leaf_index";

export function createItemsRepository(db: Database, version?: MirrorVersion): ItemsRepository {
  const statements = {
    isKeyed: db
      .prepare<[string, string], number>("SELECT leaf_index FROM item_keys WHERE gtin = ? AND serial = ? LIMIT 1")
      .pluck(),
    // item_keys is ordered (gtin, serial, lot, kind, …): a serial's identity keys and the trace keys
    // naming it (lot '') are one range, read together with their records.
    serial: db
      .prepare<[string, string], SerialDb>(
        `SELECT k.kind, k.lot, k.batch_id, k.leaf_index, r.record_hash, r.record FROM item_keys k ${JOIN_RECORDS} ` +
          `WHERE k.gtin = ? AND k.serial = ? AND (k.kind = 1 OR (k.kind = 2 AND k.lot = '')) LIMIT ${MAX_IDENTITIES + MAX_EVENTS}`,
      )
      .raw(),
    level: db
      .prepare<[string, string], LevelDb>(
        `SELECT k.batch_id, k.leaf_index, r.record_hash, r.record FROM item_keys k ${JOIN_RECORDS} ` +
          `WHERE k.gtin = ? AND k.serial = '' AND k.lot = ? AND k.kind = 2 LIMIT ${MAX_EVENTS}`,
      )
      .raw(),
    // The lots of a GTIN that any trace event names: from the trace-only index, since the primary
    // key's range for (gtin, serial '') also holds a lot-level key per identity record.
    lots: db
      .prepare<[string], string>(
        `SELECT DISTINCT lot FROM item_keys INDEXED BY item_keys_trace_lots WHERE gtin = ? AND serial = '' AND kind = 2 AND lot <> '' LIMIT ${MAX_LOT_SET + 1}`,
      )
      .pluck(),
    lotRecalls: db
      .prepare<[string], LotDb>(
        `SELECT k.lot, k.batch_id, k.leaf_index, r.record_hash, r.record FROM item_keys k INDEXED BY item_keys_trace_lots ${JOIN_RECORDS} ` +
          `WHERE k.gtin = ? AND k.serial = '' AND k.kind = 2 AND k.lot <> '' AND instr(r.record, 'recalled') > 0 LIMIT ${MAX_EVENTS}`,
      )
      .raw(),
    counts: db
      // Uncapped: a count must not stop short. One row per batch and lot of the GTIN.
      .prepare<[string, number], CountDb>(
        "SELECT batch_id, lot, items, first_leaf FROM identity_counts WHERE gtin = ? AND brand_id = ?",
      )
      .raw(),
    lotCounts: db
      .prepare<[string, number, string], CountDb>(
        "SELECT batch_id, lot, items, first_leaf FROM identity_counts WHERE gtin = ? AND brand_id = ? AND lot = ?",
      )
      .raw(),
    record: db
      .prepare<[number, number], RecordDb>(
        "SELECT record_hash, record FROM records WHERE batch_id = ? AND leaf_index = ?",
      )
      .raw(),
    anchor: db.prepare<[number], AnchorDb>(`SELECT ${ANCHOR_COLUMNS} FROM anchors a WHERE a.batch_id = ?`),
    batchId: db
      .prepare<[number, string], number>("SELECT batch_id FROM anchors WHERE brand_id = ? AND root = ?")
      .pluck(),
    role: db
      .prepare<[number, string], string | null>("SELECT role FROM submitters WHERE brand_id = ? AND account = ?")
      .pluck(),
  };
  const memo = <K, V>(max: number): TtlCache<K, V> =>
    version === undefined ? ttlCache<K, V>(MEMO_MS, max) : versionedCache<K, V>(version, max);
  // By batch id: ids are never reused, so a memo cannot hand out another batch's anchor.
  const anchors = memo<number, AnchorRow | undefined>(10_000);
  const batchIds = memo<string, number | undefined>(10_000);
  const roles = memo<string, string | null>(10_000);
  // Most lots have no event of their own: knowing a GTIN's lots with events spares their lookups.
  // undefined: more lots than MAX_LOT_SET, looked up one by one.
  const lotSets = memo<string, ReadonlySet<string> | undefined>(10_000);
  const lotsOf = (gtin: string): ReadonlySet<string> | undefined =>
    lotSets.get(gtin, () => {
      const lots = statements.lots.all(gtin);
      return lots.length > MAX_LOT_SET ? undefined : new Set(lots);
    });

  const anchorOf = (batchId: number): AnchorRow | undefined =>
    anchors.get(batchId, () => {
      const row = statements.anchor.get(batchId);
      return row === undefined ? undefined : toAnchor(row);
    });
  const batchOf = (brandId: number, root: string): number | undefined =>
    batchIds.get(`${brandId}:${root}`, () => statements.batchId.get(brandId, root));
  const roleOf = (anchor: AnchorRow): string | null =>
    roles.get(
      `${anchor.brandId}:${anchor.submitter}`,
      () => statements.role.get(anchor.brandId, anchor.submitter) ?? null,
    );

  const byAnchorOrder = (a: AnchoredRecordRow, b: AnchoredRecordRow): number =>
    a.anchor.blockNumber - b.anchor.blockNumber || a.anchor.logIndex - b.anchor.logIndex || a.leafIndex - b.leafIndex;

  /** A trace row joined to its anchor; undefined when a reorg removed the anchor between reads. */
  const traceRow = (
    level: EventLevel,
    batchId: number,
    leafIndex: number,
    recordHash: Buffer,
    record: string,
  ): TraceEventRow | undefined => {
    const anchor = anchorOf(batchId);
    if (anchor === undefined) return undefined;
    return { leafIndex, recordHash, record, anchor, level, submitterRole: roleOf(anchor) };
  };

  const serial = (gtin: string, serialValue: string): SerialRows => {
    const identities: IdentityRow[] = [];
    const events: TraceEventRow[] = [];
    for (const [kind, lot, batchId, leafIndex, recordHash, record] of statements.serial.all(gtin, serialValue)) {
      if (kind === KIND_CODE.identity) {
        if (identities.length >= MAX_IDENTITIES) continue;
        const anchor = anchorOf(batchId);
        if (anchor !== undefined)
          identities.push({ leafIndex, recordHash, record, anchor, lot: lot === "" ? undefined : lot });
      } else if (events.length < MAX_EVENTS) {
        const row = traceRow("item", batchId, leafIndex, recordHash, record);
        if (row !== undefined) events.push(row);
      }
    }
    if (identities.length > 1) identities.sort(byAnchorOrder);
    if (events.length > 1) events.sort(byAnchorOrder);
    return { identities, events };
  };

  const level = (gtin: string, lot: string): TraceEventRow[] => {
    const out: TraceEventRow[] = [];
    if (lot !== "" && lotsOf(gtin)?.has(lot) === false) return out;
    const name: EventLevel = lot === "" ? "class" : "lot";
    for (const [batchId, leafIndex, recordHash, record] of statements.level.all(gtin, lot)) {
      const row = traceRow(name, batchId, leafIndex, recordHash, record);
      if (row !== undefined) out.push(row);
    }
    if (out.length > 1) out.sort(byAnchorOrder);
    return out;
  };

  const identityCounts = (gtin: string, brandId: number, lot?: string): IdentityCountRow[] => {
    const out: IdentityCountRow[] = [];
    const rows =
      lot === undefined ? statements.counts.all(gtin, brandId) : statements.lotCounts.all(gtin, brandId, lot);
    for (const [batchId, rowLot, items, firstLeaf] of rows) {
      const anchor = anchorOf(batchId);
      if (anchor !== undefined) out.push({ anchor, lot: rowLot, items, firstLeaf });
    }
    return out.sort(
      (a, b) =>
        a.anchor.blockNumber - b.anchor.blockNumber ||
        a.anchor.logIndex - b.anchor.logIndex ||
        a.firstLeaf - b.firstLeaf,
    );
  };

  const identityAt = (brandId: number, root: string, leafIndex: number, lot: string): IdentityRow | undefined => {
    const batchId = batchOf(brandId, root);
    const anchor = batchId === undefined ? undefined : anchorOf(batchId);
    const row = anchor === undefined || batchId === undefined ? undefined : statements.record.get(batchId, leafIndex);
    if (anchor === undefined || row === undefined) return undefined;
    return { leafIndex, recordHash: row[0], record: row[1], anchor, lot: lot === "" ? undefined : lot };
  };

  const lotRecalls = (gtin: string): LotEventRow[] => {
    const out: LotEventRow[] = [];
    for (const [lot, batchId, leafIndex, recordHash, record] of statements.lotRecalls.all(gtin)) {
      const row = traceRow("lot", batchId, leafIndex, recordHash, record);
      if (row !== undefined) out.push({ ...row, lot });
    }
    if (out.length > 1) out.sort(byAnchorOrder);
    return out;
  };

  return {
    isKeyed: (gtin, serialValue) => statements.isKeyed.get(gtin, serialValue) !== undefined,
    serial,
    level,
    identityCounts,
    identityAt,
    lotRecalls,
    identities: (gtin, serialValue) => serial(gtin, serialValue).identities,
    events(key) {
      const lists: TraceEventRow[][] = [];
      if (key.serial !== undefined) lists.push(serial(key.gtin, key.serial).events);
      if (key.lot !== undefined) lists.push(level(key.gtin, key.lot));
      lists.push(level(key.gtin, ""));
      return mergeEventLists(lists);
    },
  };
}

/** Event lists as one, each record once (at its first list's level), oldest anchor first: both engines' `events`. */
export function mergeEventLists(lists: readonly (readonly TraceEventRow[])[]): TraceEventRow[] {
  const seen = new Set<string>();
  const out: TraceEventRow[] = [];
  for (const list of lists) {
    for (const row of list) {
      const id = `${row.anchor.brandId}:${row.anchor.root}:${row.leafIndex}`;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push(row);
    }
  }
  return out.sort(
    (a, b) =>
      a.anchor.blockNumber - b.anchor.blockNumber || a.anchor.logIndex - b.anchor.logIndex || a.leafIndex - b.leafIndex,
  );
}
