/**
 * Item keys: the identity records of one serial, the trace events naming an item, its lot or its
 * class. Simple primary-key lookups per table (item_keys → records, anchors, submitters), with the
 * rarely changing anchor and submitter rows memoised for a second.
 */
import type { Database } from "better-sqlite3";
import { ttlCache } from "../cache";
import { ANCHOR_COLUMNS, toAnchor, type AnchorDb, type AnchorRow } from "./anchors";
import type { AnchoredRecordRow } from "./records";

export interface TraceEventRow extends AnchoredRecordRow {
  /** What the event names: this serial, this lot, or the whole GTIN. */
  readonly level: "item" | "lot" | "class";
  /** The submitter's current role label in the anchoring brand, null when removed or not text. */
  readonly submitterRole: string | null;
}

export interface ItemsRepository {
  /** Identity records with this GTIN-14 and serial, oldest anchor first. */
  identities(gtin: string, serial: string): AnchoredRecordRow[];
  /** Trace records naming the item (when serial), its lot (when lot) and its class; duplicates removed. */
  events(key: { gtin: string; serial?: string; lot?: string }): TraceEventRow[];
}

interface KeyDb {
  brand_id: number;
  root: string;
  leaf_index: number;
  record_hash: Buffer;
}

/** Identity copies and trace events per key level looked at: a cap, not a page size. */
const MAX_IDENTITIES = 16;
const MAX_EVENTS = 200;

/** How long anchor and submitter rows are reused; revocations and content status show up this late at most. */
const MEMO_MS = 1000;

export function createItemsRepository(db: Database): ItemsRepository {
  const statements = {
    identities: db.prepare<[string, string], KeyDb>(
      `SELECT brand_id, root, leaf_index, record_hash FROM item_keys WHERE gtin = ? AND serial = ? AND kind = 1 LIMIT ${MAX_IDENTITIES}`,
    ),
    events: db.prepare<[string, string, string], KeyDb>(
      `SELECT brand_id, root, leaf_index, record_hash FROM item_keys WHERE gtin = ? AND serial = ? AND lot = ? AND kind = 2 LIMIT ${MAX_EVENTS}`,
    ),
    record: db.prepare<[number, string, number], { record: string }>("SELECT record FROM records WHERE brand_id = ? AND root = ? AND leaf_index = ?"),
    anchor: db.prepare<[number, string], AnchorDb>(`SELECT ${ANCHOR_COLUMNS} FROM anchors a WHERE a.brand_id = ? AND a.root = ?`),
    role: db.prepare<[number, string], { role: string | null }>("SELECT role FROM submitters WHERE brand_id = ? AND account = ?"),
  };
  const anchors = ttlCache<string, AnchorRow | undefined>(MEMO_MS, 10_000);
  const roles = ttlCache<string, string | null>(MEMO_MS, 10_000);

  const anchorOf = (brandId: number, root: string): AnchorRow | undefined =>
    anchors.get(`${brandId}:${root}`, () => {
      const row = statements.anchor.get(brandId, root);
      return row === undefined ? undefined : toAnchor(row);
    });

  /** Joins one key row to its record and anchor; undefined when a reorg removed them between reads. */
  const resolve = (key: KeyDb): AnchoredRecordRow | undefined => {
    const anchor = anchorOf(key.brand_id, key.root);
    const record = statements.record.get(key.brand_id, key.root, key.leaf_index);
    if (anchor === undefined || record === undefined) return undefined;
    return { leafIndex: key.leaf_index, recordHash: key.record_hash, record: record.record, anchor };
  };
  const byAnchorOrder = (a: AnchoredRecordRow, b: AnchoredRecordRow): number =>
    a.anchor.blockNumber - b.anchor.blockNumber || a.anchor.logIndex - b.anchor.logIndex || a.leafIndex - b.leafIndex;

  return {
    identities(gtin, serial) {
      const out: AnchoredRecordRow[] = [];
      for (const key of statements.identities.all(gtin, serial)) {
        const row = resolve(key);
        if (row !== undefined) out.push(row);
      }
      return out.sort(byAnchorOrder);
    },
    events(key) {
      const levels: { level: TraceEventRow["level"]; serial: string; lot: string }[] = [];
      if (key.serial !== undefined) levels.push({ level: "item", serial: key.serial, lot: "" });
      if (key.lot !== undefined) levels.push({ level: "lot", serial: "", lot: key.lot });
      levels.push({ level: "class", serial: "", lot: "" });
      const seen = new Set<string>();
      const out: TraceEventRow[] = [];
      for (const { level, serial, lot } of levels) {
        for (const k of statements.events.all(key.gtin, serial, lot)) {
          const id = `${k.brand_id}:${k.root}:${k.leaf_index}`;
          if (seen.has(id)) continue;
          seen.add(id);
          const row = resolve(k);
          if (row === undefined) continue;
          const submitterRole = roles.get(`${row.anchor.brandId}:${row.anchor.submitter}`, () => statements.role.get(row.anchor.brandId, row.anchor.submitter)?.role ?? null);
          out.push({ ...row, level, submitterRole });
        }
      }
      return out.sort(byAnchorOrder);
    },
  };
}
