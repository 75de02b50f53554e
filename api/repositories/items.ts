/**
 * Item keys: the identity records of one serial, the trace events naming an item, its lot or its
 * class. Each read is one statement over item_keys joined to records (raw rows, no per-row objects
 * from SQLite); the rarely changing anchor and submitter rows are memoised until the mirror changes
 * (or for a second, without the mirror's version).
 */
import type { Database } from "better-sqlite3";
import { ttlCache, versionedCache, type MirrorVersion, type TtlCache } from "../cache";
import { ANCHOR_COLUMNS, toAnchor, type AnchorDb, type AnchorRow } from "./anchors";
import type { AnchoredRecordRow } from "./records";

export type EventLevel = "item" | "lot" | "class";

export interface TraceEventRow extends AnchoredRecordRow {
  /** What the event names: this serial, this lot, or the whole GTIN. */
  readonly level: EventLevel;
  /** The submitter's current role label in the anchoring brand, null when removed or not text. */
  readonly submitterRole: string | null;
}

export interface IdentityRow extends AnchoredRecordRow {
  /** The record's lot (item.lot), as the indexer keyed it; undefined when the record names none. */
  readonly lot: string | undefined;
}

export interface SerialRows {
  /** Identity copies of the serial, oldest anchor first. */
  readonly identities: IdentityRow[];
  /** Trace events naming the serial itself, oldest anchor first. */
  readonly events: TraceEventRow[];
}

export interface ItemsRepository {
  /** Identity records with this GTIN-14 and serial, oldest anchor first. */
  identities(gtin: string, serial: string): AnchoredRecordRow[];
  /** Trace records naming the item (when serial), its lot (when lot) and its class; duplicates removed. */
  events(key: { gtin: string; serial?: string; lot?: string }): TraceEventRow[];
  /** One read for a serial: its identity copies and the trace events naming it. */
  serial(gtin: string, serial: string): SerialRows;
  /** Trace events naming the lot (`lot` non-empty, level "lot") or the class (`lot` "", level "class"), oldest anchor first. */
  level(gtin: string, lot: string): TraceEventRow[];
}

/** Identity copies and trace events per key level looked at: a cap, not a page size. */
const MAX_IDENTITIES = 16;
const MAX_EVENTS = 200;
/** Lots with events remembered per GTIN; a GTIN with more is looked up lot by lot. */
const MAX_LOT_SET = 4096;

/** How long anchor and submitter rows are reused without the mirror's version. */
const MEMO_MS = 1000;

/** Raw rows: [kind, lot, brand_id, root, leaf_index, record_hash, record]. */
type SerialDb = [number, string, number, string, number, Buffer, string];
/** Raw rows: [brand_id, root, leaf_index, record_hash, record]. */
type LevelDb = [number, string, number, Buffer, string];

const JOIN_RECORDS = "JOIN records r ON r.brand_id = k.brand_id AND r.root = k.root AND r.leaf_index = k.leaf_index";

export function createItemsRepository(db: Database, version?: MirrorVersion): ItemsRepository {
  const statements = {
    // item_keys is ordered (gtin, serial, lot, kind, …): a serial's identity keys and the trace keys
    // naming it (lot '') are one range, read together with their records.
    serial: db
      .prepare<[string, string], SerialDb>(
        `SELECT k.kind, k.lot, k.brand_id, k.root, k.leaf_index, k.record_hash, r.record FROM item_keys k ${JOIN_RECORDS} ` +
          `WHERE k.gtin = ? AND k.serial = ? AND (k.kind = 1 OR (k.kind = 2 AND k.lot = '')) LIMIT ${MAX_IDENTITIES + MAX_EVENTS}`,
      )
      .raw(),
    level: db
      .prepare<[string, string], LevelDb>(
        `SELECT k.brand_id, k.root, k.leaf_index, k.record_hash, r.record FROM item_keys k ${JOIN_RECORDS} ` +
          `WHERE k.gtin = ? AND k.serial = '' AND k.lot = ? AND k.kind = 2 LIMIT ${MAX_EVENTS}`,
      )
      .raw(),
    // The lots of a GTIN that any trace event names (one range of the primary key).
    lots: db
      .prepare<[string], string>(`SELECT DISTINCT lot FROM item_keys WHERE gtin = ? AND serial = '' AND kind = 2 AND lot <> '' LIMIT ${MAX_LOT_SET + 1}`)
      .pluck(),
    anchor: db.prepare<[number, string], AnchorDb>(`SELECT ${ANCHOR_COLUMNS} FROM anchors a WHERE a.brand_id = ? AND a.root = ?`),
    role: db.prepare<[number, string], string | null>("SELECT role FROM submitters WHERE brand_id = ? AND account = ?").pluck(),
  };
  const memo = <K, V>(max: number): TtlCache<K, V> => (version === undefined ? ttlCache<K, V>(MEMO_MS, max) : versionedCache<K, V>(version, max));
  const anchors = memo<string, AnchorRow | undefined>(10_000);
  const roles = memo<string, string | null>(10_000);
  // Most lots have no event of their own: knowing a GTIN's lots with events spares their lookups.
  // undefined: more lots than MAX_LOT_SET, looked up one by one.
  const lotSets = memo<string, ReadonlySet<string> | undefined>(10_000);
  const lotsOf = (gtin: string): ReadonlySet<string> | undefined =>
    lotSets.get(gtin, () => {
      const lots = statements.lots.all(gtin);
      return lots.length > MAX_LOT_SET ? undefined : new Set(lots);
    });

  const anchorOf = (brandId: number, root: string): AnchorRow | undefined =>
    anchors.get(`${brandId}:${root}`, () => {
      const row = statements.anchor.get(brandId, root);
      return row === undefined ? undefined : toAnchor(row);
    });
  const roleOf = (anchor: AnchorRow): string | null =>
    roles.get(`${anchor.brandId}:${anchor.submitter}`, () => statements.role.get(anchor.brandId, anchor.submitter) ?? null);

  const byAnchorOrder = (a: AnchoredRecordRow, b: AnchoredRecordRow): number =>
    a.anchor.blockNumber - b.anchor.blockNumber || a.anchor.logIndex - b.anchor.logIndex || a.leafIndex - b.leafIndex;

  /** A trace row joined to its anchor; undefined when a reorg removed the anchor between reads. */
  const traceRow = (level: EventLevel, brandId: number, root: string, leafIndex: number, recordHash: Buffer, record: string): TraceEventRow | undefined => {
    const anchor = anchorOf(brandId, root);
    if (anchor === undefined) return undefined;
    return { leafIndex, recordHash, record, anchor, level, submitterRole: roleOf(anchor) };
  };

  const serial = (gtin: string, serialValue: string): SerialRows => {
    const identities: IdentityRow[] = [];
    const events: TraceEventRow[] = [];
    for (const [kind, lot, brandId, root, leafIndex, recordHash, record] of statements.serial.all(gtin, serialValue)) {
      if (kind === 1) {
        if (identities.length >= MAX_IDENTITIES) continue;
        const anchor = anchorOf(brandId, root);
        if (anchor !== undefined) identities.push({ leafIndex, recordHash, record, anchor, lot: lot === "" ? undefined : lot });
      } else if (events.length < MAX_EVENTS) {
        const row = traceRow("item", brandId, root, leafIndex, recordHash, record);
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
    for (const [brandId, root, leafIndex, recordHash, record] of statements.level.all(gtin, lot)) {
      const row = traceRow(name, brandId, root, leafIndex, recordHash, record);
      if (row !== undefined) out.push(row);
    }
    if (out.length > 1) out.sort(byAnchorOrder);
    return out;
  };

  return {
    serial,
    level,
    identities: (gtin, serialValue) => serial(gtin, serialValue).identities,
    events(key) {
      const lists: TraceEventRow[][] = [];
      if (key.serial !== undefined) lists.push(serial(key.gtin, key.serial).events);
      if (key.lot !== undefined) lists.push(level(key.gtin, key.lot));
      lists.push(level(key.gtin, ""));
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
      return out.sort(byAnchorOrder);
    },
  };
}
