/**
 * The EPCIS query index on either engine: reads for the query interface (api/epcis/query.ts) and
 * the writes of the query indexer (query-indexer.ts), over the EPCIS store's tables.
 *
 *   createEpcisQueryStore(store): EpcisQueryStore
 *
 * A page of events is one statement: every filter is a condition on epcis_events, an EPC match a
 * semi-join on epcis_event_epcs' primary key (epc, role, seq), and the page a keyset on seq
 * (`seq > after ORDER BY seq LIMIT n`), so MATCH_epc and EQ_bizStep are index range scans on both
 * engines. Distinct values (business steps, EPCs, …) are read with a loose index scan (a recursive
 * MIN(value) > previous), one index probe per value.
 */
import type { Db } from "../db";
import { inTransaction, type Pool } from "../pg/db";
import type { EpcRole } from "./event-rows";
import type { EpcisStore } from "./store";

/** One way an EPC parameter value matches a stored identifier. */
export type EpcValueMatch = { readonly exact: string } | { readonly prefix: string };

/** Identifiers in any of `roles` matching any of `values` (one MATCH_… parameter). */
export interface EpcCondition {
  readonly roles: readonly EpcRole[];
  readonly values: readonly EpcValueMatch[];
}

/** A query's conditions, all of which an event must meet (each list is an OR of its values). */
export interface EventFilter {
  readonly eventTypes?: readonly string[];
  readonly eventTimeGe?: number;
  readonly eventTimeLt?: number;
  readonly recordTimeGe?: number;
  readonly recordTimeLt?: number;
  readonly actions?: readonly string[];
  readonly bizSteps?: readonly string[];
  readonly dispositions?: readonly string[];
  readonly readPoints?: readonly string[];
  readonly bizLocations?: readonly string[];
  readonly eventIds?: readonly string[];
  readonly epcs?: readonly EpcCondition[];
  /** Subscriptions: only events neither sent nor claimed for this subscription yet. */
  readonly notDeliveredTo?: string;
  /** Subscriptions: only events claimed for this subscription and not sent yet. */
  readonly claimedBy?: string;
  /** Subscriptions: only mirror events and captured events whose batch is anchored. */
  readonly anchoredOnly?: boolean;
}

export interface StoredEvent {
  readonly seq: number;
  readonly eventId: string;
  readonly correction: boolean;
  readonly brandId: number;
  /** Null for an event read from a mirror batch. */
  readonly captureId: string | null;
  /** The event's JSON text, exactly as hashed. */
  readonly event: string;
  readonly salt: string;
  readonly recordHash: Buffer;
  readonly recordTime: number;
}

/** A row the query indexer (or capture) adds, with its identifiers. */
export interface NewEvent {
  readonly eventId: string;
  readonly correction: boolean;
  readonly brandId: number;
  readonly captureId: string | null;
  readonly contentHash: Buffer;
  readonly recordHash: Buffer;
  readonly salt: string;
  readonly event: string;
  readonly eventType: string;
  readonly eventTime: number;
  readonly recordTime: number;
  readonly action: string | null;
  readonly bizStep: string | null;
  readonly disposition: string | null;
  readonly readPoint: string | null;
  readonly bizLocation: string | null;
  readonly epcs: readonly { readonly epc: string; readonly role: EpcRole }[];
}

/** Columns whose distinct values the discovery endpoints list. */
export type ValueColumn = "event_type" | "biz_step" | "biz_location" | "read_point" | "disposition" | "epc";

export interface EpcisQueryStore {
  /** Events matching `filter` with seq > `afterSeq`, in seq order, at most `limit`. */
  events(filter: EventFilter, afterSeq: number, limit: number): Promise<StoredEvent[]>;
  /** The event named `eventId` and its corrections (errorDeclaration), the event first. */
  byEventId(eventId: string): Promise<StoredEvent[]>;
  /** Distinct values of `column` greater than `after` (from the first when null), ascending. */
  values(column: ValueColumn, after: string | null, limit: number): Promise<string[]>;
  /** Adds events not stored yet (by record hash, content hash or eventID); returns how many were new. */
  insertEvents(events: readonly NewEvent[]): Promise<number>;
  /** Mirror batches already indexed, as "brandId:root". */
  indexedBatches(): Promise<Set<string>>;
  markIndexed(brandId: number, root: string, at: number): Promise<void>;
}

/** How many values one pipe-separated parameter may list (an SQL IN list each). */
export const MAX_VALUES = 100;

interface EventDb {
  seq: number;
  event_id: string;
  correction: number;
  brand_id: number;
  capture_id: string | null;
  event: string;
  salt: string;
  record_hash: Buffer;
  record_time: number;
}

const EVENT_COLUMNS =
  "e.seq, e.event_id, e.correction, e.brand_id, e.capture_id, e.event, e.salt, e.record_hash, e.record_time";

const toEvent = (row: EventDb): StoredEvent => ({
  seq: Number(row.seq),
  eventId: row.event_id,
  correction: Number(row.correction) === 1,
  brandId: Number(row.brand_id),
  captureId: row.capture_id,
  event: row.event,
  salt: row.salt,
  recordHash: row.record_hash,
  recordTime: Number(row.record_time),
});

/** A statement with `?` placeholders and its values, engine-neutral until rendered. */
interface Sql {
  readonly text: string;
  readonly values: unknown[];
}

/** Tables' names on an engine: PostgreSQL keeps them in schema trace_state. */
export interface Tables {
  readonly events: string;
  readonly epcs: string;
  readonly indexed: string;
  readonly deliveries: string;
  readonly batches: string;
}

export const tablesOf = (engine: EpcisStore["engine"]): Tables => {
  const schema = engine === "postgres" ? "trace_state." : "";
  return {
    events: `${schema}epcis_events`,
    epcs: `${schema}epcis_event_epcs`,
    indexed: `${schema}epcis_indexed_batches`,
    deliveries: `${schema}epcis_deliveries`,
    batches: `${schema}epcis_batches`,
  };
};

const placeholders = (n: number): string => Array.from({ length: n }, () => "?").join(", ");

/** The character after the last one of `prefix`: every string starting with `prefix` sorts in [prefix, upper). */
export function prefixUpperBound(prefix: string): string {
  const last = prefix.charCodeAt(prefix.length - 1);
  return `${prefix.slice(0, -1)}${String.fromCharCode(last + 1)}`;
}

/** The SELECT of one page of events; exported for the plan tests and the benchmark. */
export function eventsSql(tables: Tables, filter: EventFilter, afterSeq: number, limit: number): Sql {
  const where: string[] = ["e.seq > ?"];
  const values: unknown[] = [afterSeq];
  const anyOf = (column: string, list: readonly string[] | undefined): void => {
    if (list === undefined) return;
    if (list.length === 0) {
      where.push("1 = 0");
      return;
    }
    where.push(`e.${column} IN (${placeholders(list.length)})`);
    values.push(...list);
  };
  const bound = (column: string, op: ">=" | "<", value: number | undefined): void => {
    if (value === undefined) return;
    where.push(`e.${column} ${op} ?`);
    values.push(value);
  };
  anyOf("event_type", filter.eventTypes);
  bound("event_time", ">=", filter.eventTimeGe);
  bound("event_time", "<", filter.eventTimeLt);
  bound("record_time", ">=", filter.recordTimeGe);
  bound("record_time", "<", filter.recordTimeLt);
  anyOf("action", filter.actions);
  anyOf("biz_step", filter.bizSteps);
  anyOf("disposition", filter.dispositions);
  anyOf("read_point", filter.readPoints);
  anyOf("biz_location", filter.bizLocations);
  if (filter.eventIds !== undefined) {
    // The two partial indexes on event_id (events, corrections), each probed.
    const list = placeholders(filter.eventIds.length);
    where.push(
      `e.seq IN (SELECT i.seq FROM ${tables.events} i WHERE i.event_id IN (${list}) AND i.correction = 0 ` +
        `UNION ALL SELECT i.seq FROM ${tables.events} i WHERE i.event_id IN (${list}) AND i.correction = 1)`,
    );
    values.push(...filter.eventIds, ...filter.eventIds);
  }
  for (const condition of filter.epcs ?? []) {
    const matches: string[] = [];
    const matchValues: unknown[] = [];
    const exact = condition.values.flatMap((v) => ("exact" in v ? [v.exact] : []));
    if (exact.length > 0) {
      matches.push(`x.epc IN (${placeholders(exact.length)})`);
      matchValues.push(...exact);
    }
    for (const v of condition.values) {
      if (!("prefix" in v)) continue;
      matches.push("(x.epc >= ? AND x.epc < ?)");
      matchValues.push(v.prefix, prefixUpperBound(v.prefix));
    }
    where.push(
      `e.seq IN (SELECT x.seq FROM ${tables.epcs} x WHERE (${matches.join(" OR ")}) ` +
        `AND x.role IN (${placeholders(condition.roles.length)}) AND x.seq > ?)`,
    );
    values.push(...matchValues, ...condition.roles, afterSeq);
  }
  if (filter.notDeliveredTo !== undefined) {
    where.push(`NOT EXISTS (SELECT 1 FROM ${tables.deliveries} d WHERE d.subscription_id = ? AND d.seq = e.seq)`);
    values.push(filter.notDeliveredTo);
  }
  if (filter.claimedBy !== undefined) {
    where.push(
      `e.seq IN (SELECT d.seq FROM ${tables.deliveries} d WHERE d.subscription_id = ? AND d.delivered_at = 0)`,
    );
    values.push(filter.claimedBy);
  }
  if (filter.anchoredOnly === true) {
    where.push(
      `(e.capture_id IS NULL OR e.batch_id IN (SELECT b.batch_id FROM ${tables.batches} b WHERE b.state = 'anchored'))`,
    );
  }
  values.push(limit);
  return {
    text: `SELECT ${EVENT_COLUMNS} FROM ${tables.events} e WHERE ${where.join(" AND ")} ORDER BY e.seq LIMIT ?`,
    values,
  };
}

function valuesSql(tables: Tables, column: ValueColumn, after: string | null, limit: number): Sql {
  const table = column === "epc" ? tables.epcs : tables.events;
  const first = after === null ? `${column} IS NOT NULL` : `${column} > ?`;
  // A loose index scan: each step is one probe of the column's index for the next larger value.
  return {
    text:
      `WITH RECURSIVE v(x, n) AS (SELECT (SELECT MIN(${column}) FROM ${table} WHERE ${first}), 1 ` +
      `UNION ALL SELECT (SELECT MIN(${column}) FROM ${table} WHERE ${column} > v.x), v.n + 1 FROM v ` +
      "WHERE v.x IS NOT NULL AND v.n < ?) SELECT x FROM v WHERE x IS NOT NULL",
    values: after === null ? [limit] : [after, limit],
  };
}

function byEventIdSql(tables: Tables, eventId: string): Sql {
  return {
    text:
      `SELECT ${EVENT_COLUMNS} FROM ${tables.events} e WHERE e.event_id = ? AND e.correction = 0 UNION ALL ` +
      `SELECT ${EVENT_COLUMNS} FROM ${tables.events} e WHERE e.event_id = ? AND e.correction = 1 ORDER BY 3, 1`,
    values: [eventId, eventId],
  };
}

const INSERT_COLUMNS =
  "event_id, correction, brand_id, capture_id, content_hash, record_hash, salt, event, event_type, event_time, " +
  "record_time, action, biz_step, disposition, read_point, biz_location";

export function createEpcisQueryStore(store: EpcisStore): EpcisQueryStore {
  return store.engine === "postgres" ? pgQueryStore(store.pool) : sqliteQueryStore(store.db);
}

function sqliteQueryStore(db: Db): EpcisQueryStore {
  const tables = tablesOf("sqlite");
  const all = <T>(sql: Sql): T[] => db.prepare<unknown[], T>(sql.text).all(...sql.values);
  const insertEvent = db.prepare(
    `INSERT INTO epcis_events (${INSERT_COLUMNS}) VALUES (${placeholders(16)}) ON CONFLICT DO NOTHING`,
  );
  const insertEpc = db.prepare("INSERT INTO epcis_event_epcs (epc, role, seq) VALUES (?, ?, ?) ON CONFLICT DO NOTHING");
  const insertAll = db.transaction((events: readonly NewEvent[]): number => {
    let added = 0;
    for (const e of events) {
      const info = insertEvent.run(...insertValues(e));
      if (info.changes === 0) continue;
      added++;
      for (const { epc, role } of e.epcs) insertEpc.run(epc, role, info.lastInsertRowid);
    }
    return added;
  });
  const mark = db.prepare(
    "INSERT INTO epcis_indexed_batches (brand_id, root, indexed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
  );
  return {
    events: (filter, afterSeq, limit) =>
      Promise.resolve(all<EventDb>(eventsSql(tables, filter, afterSeq, limit)).map(toEvent)),
    byEventId: (eventId) => Promise.resolve(all<EventDb>(byEventIdSql(tables, eventId)).map(toEvent)),
    values: (column, after, limit) =>
      Promise.resolve(all<{ x: string }>(valuesSql(tables, column, after, limit)).map((row) => row.x)),
    insertEvents: (events) => Promise.resolve(insertAll(events)),
    indexedBatches: () =>
      Promise.resolve(
        new Set(
          db
            .prepare<[], { brand_id: number; root: string }>("SELECT brand_id, root FROM epcis_indexed_batches")
            .all()
            .map((row) => `${row.brand_id}:${row.root}`),
        ),
      ),
    markIndexed: (brandId, root, at) => Promise.resolve(void mark.run(brandId, root, at)),
  };
}

function insertValues(e: NewEvent): unknown[] {
  return [
    e.eventId,
    e.correction ? 1 : 0,
    e.brandId,
    e.captureId,
    e.contentHash,
    e.recordHash,
    e.salt,
    e.event,
    e.eventType,
    e.eventTime,
    e.recordTime,
    e.action,
    e.bizStep,
    e.disposition,
    e.readPoint,
    e.bizLocation,
  ];
}

/** `?` placeholders as PostgreSQL's `$1, $2, …` (the statements here have no `?` in literals). */
export function pgText(text: string): string {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
}

/** unnest's element types, in INSERT_COLUMNS order. */
const PG_TYPES = [
  "text",
  "bigint",
  "bigint",
  "text",
  "bytea",
  "bytea",
  "text",
  "text",
  "text",
  "bigint",
  "bigint",
  "text",
  "text",
  "text",
  "text",
  "text",
];

function pgQueryStore(pool: Pool): EpcisQueryStore {
  const tables = tablesOf("postgres");
  const rows = async <T>(sql: Sql): Promise<T[]> =>
    (await pool.query({ text: pgText(sql.text), values: sql.values })).rows as T[];
  const unnestArgs = PG_TYPES.map((type, i) => `$${i + 1}::${type}[]`).join(", ");
  return {
    events: async (filter, afterSeq, limit) =>
      (await rows<EventDb>(eventsSql(tables, filter, afterSeq, limit))).map(toEvent),
    byEventId: async (eventId) => (await rows<EventDb>(byEventIdSql(tables, eventId))).map(toEvent),
    values: async (column, after, limit) =>
      (await rows<{ x: string }>(valuesSql(tables, column, after, limit))).map((row) => row.x),
    insertEvents: (events) =>
      inTransaction(pool, async (client) => {
        if (events.length === 0) return 0;
        const columns = PG_TYPES.map((_, i) => events.map((e) => insertValues(e)[i]));
        // WITH ORDINALITY: seq follows the order given.
        const inserted = await client.query<{ seq: number; record_hash: Buffer }>({
          text:
            `INSERT INTO ${tables.events} (${INSERT_COLUMNS}) SELECT ${INSERT_COLUMNS} FROM ` +
            `unnest(${unnestArgs}) WITH ORDINALITY AS u(${INSERT_COLUMNS}, ord) ORDER BY ord ` +
            "ON CONFLICT DO NOTHING RETURNING seq, record_hash",
          values: columns,
        });
        const seqOf = new Map(inserted.rows.map((row) => [row.record_hash.toString("hex"), Number(row.seq)]));
        const epc: string[] = [];
        const role: string[] = [];
        const seq: number[] = [];
        for (const e of events) {
          const at = seqOf.get(e.recordHash.toString("hex"));
          if (at === undefined) continue;
          for (const id of e.epcs) {
            epc.push(id.epc);
            role.push(id.role);
            seq.push(at);
          }
        }
        if (epc.length > 0) {
          await client.query({
            text:
              `INSERT INTO ${tables.epcs} (epc, role, seq) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) ` +
              "ON CONFLICT DO NOTHING",
            values: [epc, role, seq],
          });
        }
        return inserted.rows.length;
      }),
    indexedBatches: async () =>
      new Set(
        (
          await rows<{ brand_id: number; root: string }>({
            text: `SELECT brand_id, root FROM ${tables.indexed}`,
            values: [],
          })
        ).map((row) => `${row.brand_id}:${row.root}`),
      ),
    markIndexed: async (brandId, root, at) => {
      await pool.query({
        text: `INSERT INTO ${tables.indexed} (brand_id, root, indexed_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
        values: [brandId, root, at],
      });
    },
  };
}
