/**
 * The mirror's read repositories on PostgreSQL: the same interfaces and row shapes as SQLite's
 * (mirror/read/*), over the store's read pool (a standby when TRACE_DB_READ_URL is set).
 *
 *   createPgReader(store): MirrorReader
 *
 * Every method is one statement, a network round trip, so reads are coarse: the item reads join
 * item_keys to records, anchors and the submitter's role in one statement (SQLite reads the anchor
 * rows from a memo instead, which costs nothing there). `items.serial` goes further: the serials
 * asked for in one event-loop turn share one statement, which also brings the level events of their
 * identities' lots (see SERIAL_BATCH_READ). Rarely changing rows (the cursor, brands,
 * prefix owners) are memoised until the mirror's version moves; the version is mirror_version's
 * counter (migration 005), polled every VERSION_POLL_MS, so a replica serves a memo at most that
 * much older than the last commit it can see.
 */
import { createHash } from "node:crypto";
import type { EventLevel } from "../../core/verdict";
import { KIND_CODE } from "../../core/record";
import type { Async } from "../async";
import type { AnchorsRepository, ListAnchorsQuery } from "../read/anchors";
import { ANCHOR_COLUMNS, toAnchor, type AnchorDb } from "../read/anchors";
import {
  BRAND_COLUMNS,
  PREFIX_COLUMNS,
  PREFIX_LENGTHS,
  toBrand,
  toPrefix,
  type BrandDb,
  type BrandsRepository,
  type PrefixDb,
} from "../read/brands";
import { memoAsync, mirrorVersion, polledVersion, versionedCache } from "../read/cache";
import type { CursorRepository } from "../read/cursor";
import type { MirrorReader, StandbyLag } from "../read";
import { mergeEventLists, type ItemsRepository } from "../read/items";
import type { RecordsRepository } from "../read/records";
import type { TreeNodesRepository } from "../read/tree-nodes";
import type { PgStore } from "../store";
import type {
  AnchorRow,
  AnchoredRecordRow,
  BrandRow,
  CursorRow,
  IdentityCountRow,
  IdentityRow,
  LotEventRow,
  PrefixRow,
  SerialRows,
  SubmitterRow,
  TraceEventRow,
} from "../types";
import type { Pool } from "./db";

/** How often a replica looks at mirror_version. */
export const VERSION_POLL_MS = 100;

/** The same caps as SQLite's items repository (mirror/read/items.ts). */
const MAX_IDENTITIES = 16;
const MAX_EVENTS = 200;

const JOIN_RECORDS = "JOIN records r ON r.batch_id = k.batch_id AND r.leaf_index = k.leaf_index";
const JOIN_ANCHOR = "JOIN anchors a ON a.batch_id = k.batch_id";
/** The batch id of the anchor ($1, $2): batch rows are keyed by it (migration 007). */
const BATCH_OF = "(SELECT batch_id FROM anchors WHERE brand_id = $1 AND root = $2)";
const JOIN_ROLE = "LEFT JOIN submitters s ON s.brand_id = a.brand_id AND s.account = a.submitter";
/** SQLite's primary-key order of item_keys, so that both engines cut at the same rows. */
const KEY_ORDER = "ORDER BY k.lot, k.kind, k.batch_id, k.leaf_index";

interface RecordJoinDb extends AnchorDb {
  leaf_index: number;
  record_hash: Buffer;
  record: string;
  role: string | null;
}

/** A row of SERIAL_BATCH_READ: one of a serial's own rows, or (`lot_level`) one of a lot's events, all nulls when it has none. */
interface SerialJoinDb extends RecordJoinDb {
  lot_level: boolean;
  i: number;
  key_kind: number;
  lot: string;
}

const byAnchorOrder = (a: AnchoredRecordRow, b: AnchoredRecordRow): number =>
  a.anchor.blockNumber - b.anchor.blockNumber || a.anchor.logIndex - b.anchor.logIndex || a.leafIndex - b.leafIndex;

function sorted<T extends AnchoredRecordRow>(rows: T[]): T[] {
  return rows.length > 1 ? rows.sort(byAnchorOrder) : rows;
}

/**
 * Every read is a named prepared statement: each connection parses and plans a statement once, not
 * on every request (the item read joins four tables, and planning it cost about as much as running
 * it). Names come from the text, so equal texts share one.
 */
const statementNames = new Map<string, string>();
export function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `ta_${createHash("sha1").update(text).digest("hex").slice(0, 16)}`;
    statementNames.set(text, name);
  }
  return name;
}

async function query<T>(pool: Pool, text: string, values: unknown[]): Promise<T[]> {
  return (await pool.query({ name: statementName(text), text, values })).rows as T[];
}

/** Most serials one item read carries; more wait for the next statement. */
export const MAX_SERIAL_BATCH = 64;
/** Item reads in flight at once: under load the serials that arrive meanwhile share the next one. */
export const MAX_SERIAL_READS = 2;

/**
 * The item read of every serial asked for in one event-loop turn (and of those asked for while
 * MAX_SERIAL_READS statements run), as one statement: each serial's rows (`own`) exactly as its own
 * statement would return them (the same joins, order and limit, per serial), numbered by its place
 * in the arrays; then, for up to MAX_READ_LOTS lots of its identity rows, that lot's level events
 * as `items.level` reads them (`lot_level`; a lot with none gives one row of nulls, so that every
 * lot read is known). A statement and its answer cost the app about as much CPU as the rest of an
 * item request, and the lot's events would be a second round trip after the first: one statement
 * per turn instead of two per request. All serials of a statement read one snapshot.
 */
const RECORD_JOIN_COLUMNS = `r.leaf_index, r.record_hash, r.record, ${ANCHOR_COLUMNS}, s.role`;
export const MAX_READ_LOTS = 4;
const SERIAL_BATCH_READ =
  "WITH q AS (SELECT * FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS q (gtin, serial, i)), " +
  "own AS (SELECT q.i, x.* FROM q CROSS JOIN LATERAL (" +
  `SELECT k.kind AS key_kind, k.lot, ${RECORD_JOIN_COLUMNS} FROM item_keys k ${JOIN_RECORDS} ${JOIN_ANCHOR} ${JOIN_ROLE} ` +
  `WHERE k.gtin = q.gtin AND k.serial = q.serial AND (k.kind = 1 OR (k.kind = 2 AND k.lot = '')) ${KEY_ORDER} LIMIT ${MAX_IDENTITIES + MAX_EVENTS}) x), ` +
  "lots AS (SELECT w.i, w.lot, q.gtin FROM (SELECT d.i, d.lot, row_number() OVER (PARTITION BY d.i ORDER BY d.lot) AS n " +
  `FROM (SELECT DISTINCT i, lot FROM own WHERE key_kind = 1 AND lot <> '') d) w JOIN q ON q.i = w.i WHERE w.n <= ${MAX_READ_LOTS}) ` +
  "SELECT false AS lot_level, own.* FROM own UNION ALL " +
  `SELECT true, lots.i, e.key_kind, lots.lot, ${RECORD_JOIN_COLUMNS.replace(/\b[ras]\./g, "e.")} FROM lots LEFT JOIN LATERAL (` +
  `SELECT k.kind AS key_kind, ${RECORD_JOIN_COLUMNS} FROM item_keys k ${JOIN_RECORDS} ${JOIN_ANCHOR} ${JOIN_ROLE} ` +
  `WHERE k.gtin = lots.gtin AND k.serial = '' AND k.lot = lots.lot AND k.kind = 2 ${KEY_ORDER} LIMIT ${MAX_EVENTS}) e ON true`;

interface SerialRead {
  readonly gtin: string;
  readonly serial: string;
  readonly waiters: { resolve(rows: SerialRows): void; reject(error: Error): void }[];
}

export interface SerialBatcherOptions {
  readonly maxBatch?: number;
  readonly maxRunning?: number;
}

/** Reads serials through SERIAL_BATCH_READ: `read` resolves with the serial's rows, or rejects with its statement's error. */
export function serialBatcher(
  pool: Pool,
  rowsOf: (
    own: readonly SerialJoinDb[],
    lots: ReadonlyMap<string, SerialJoinDb[]>,
    anchor: (row: RecordJoinDb) => AnchorRow,
  ) => SerialRows,
  anchorsOf: () => (row: RecordJoinDb) => AnchorRow,
  options: SerialBatcherOptions = {},
): { read(gtin: string, serial: string): Promise<SerialRows> } {
  const maxBatch = options.maxBatch ?? MAX_SERIAL_BATCH;
  const maxRunning = options.maxRunning ?? MAX_SERIAL_READS;
  // Serials waiting for a statement, by key: a serial asked for twice is read once.
  const queue = new Map<string, SerialRead>();
  let running = 0;
  let scheduled = false;

  const run = async (batch: readonly SerialRead[]): Promise<void> => {
    try {
      const { rows } = await pool.query<SerialJoinDb>({
        name: statementName(SERIAL_BATCH_READ),
        text: SERIAL_BATCH_READ,
        values: [batch.map((r) => r.gtin), batch.map((r) => r.serial)],
      });
      const own: SerialJoinDb[][] = batch.map(() => []);
      const lots: Map<string, SerialJoinDb[]>[] = batch.map(() => new Map<string, SerialJoinDb[]>());
      for (const row of rows) {
        const i = row.i - 1;
        if (!row.lot_level) {
          own[i]?.push(row);
          continue;
        }
        const ofLot = lots[i];
        if (ofLot === undefined) continue;
        let list = ofLot.get(row.lot);
        if (list === undefined) ofLot.set(row.lot, (list = []));
        // A lot without events: the row of nulls that says it was read.
        if (row.record !== null) list.push(row);
      }
      // One AnchorRow object per batch of the answer, as a single read gives (the renderer keys on them).
      const anchor = anchorsOf();
      // Each waiter its own arrays (a serial asked for twice in a turn is rare).
      batch.forEach((read, i) => {
        for (const waiter of read.waiters)
          waiter.resolve(rowsOf(own[i] ?? [], lots[i] ?? new Map<string, SerialJoinDb[]>(), anchor));
      });
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      for (const read of batch) for (const waiter of read.waiters) waiter.reject(error);
    }
  };
  const start = (): void => {
    while (running < maxRunning && queue.size > 0) {
      const batch: SerialRead[] = [];
      for (const [key, read] of queue) {
        if (batch.length >= maxBatch) break;
        batch.push(read);
        queue.delete(key);
      }
      running++;
      void run(batch).finally(() => {
        running--;
        schedule();
      });
    }
  };
  // After the turn's I/O callbacks, so that the requests of one turn share a statement.
  const schedule = (): void => {
    if (scheduled || queue.size === 0 || running >= maxRunning) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      start();
    });
  };
  return {
    read(gtin, serial) {
      // PostgreSQL text holds no NUL, so no key has one; in a statement it would fail every serial of it.
      if (gtin.includes("\u0000") || serial.includes("\u0000")) return Promise.resolve({ identities: [], events: [] });
      return new Promise<SerialRows>((resolve, reject) => {
        const key = `${gtin}\u0000${serial}`;
        let read = queue.get(key);
        if (read === undefined) {
          read = { gtin, serial, waiters: [] };
          queue.set(key, read);
        }
        read.waiters.push({ resolve, reject });
        schedule();
      });
    },
  };
}

export function createPgReader(store: PgStore): MirrorReader {
  const pool = store.readPool;
  const poll = polledVersion(async () => {
    const result = await pool.query<{ version: number }>("SELECT version FROM mirror_version WHERE id = 1");
    return result.rows[0]?.version ?? 0;
  }, VERSION_POLL_MS);
  const version = mirrorVersion(() => poll.current());
  return {
    engine: "postgres",
    cursor: cursorRepository(pool, version),
    brands: brandsRepository(pool, version),
    anchors: anchorsRepository(pool),
    records: recordsRepository(pool),
    items: itemsRepository(pool),
    treeNodes: {
      get: async (brandId, root) =>
        (
          await query<{ nodes: Buffer }>(pool, `SELECT nodes FROM tree_nodes WHERE batch_id = ${BATCH_OF}`, [
            brandId,
            root,
          ])
        )[0]?.nodes,
    } satisfies Async<TreeNodesRepository>,
    version,
    standbyLag: () => (store.readPool === store.pool ? Promise.resolve(null) : standbyLag(store)),
    close: () => poll.stop(),
  };
}

/** The standby's replay position against the primary's WAL position. */
async function standbyLag(store: PgStore): Promise<StandbyLag> {
  const [standby] = await query<{ lsn: string | null; seconds: number | null }>(
    store.readPool,
    "SELECT pg_last_wal_replay_lsn()::text AS lsn, EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8 AS seconds",
    [],
  );
  if (standby?.lsn === null || standby?.lsn === undefined) return { seconds: null, bytes: null };
  const [primary] = await query<{ bytes: number }>(
    store.pool,
    "SELECT greatest(pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn), 0)::bigint AS bytes",
    [standby.lsn],
  );
  const bytes = primary?.bytes ?? null;
  return { bytes, seconds: bytes === 0 ? 0 : standby.seconds === null ? null : Math.max(0, standby.seconds) };
}

function cursorRepository(pool: Pool, version: MirrorReader["version"]): Async<CursorRepository> {
  const memo = versionedCache<0, Promise<CursorRow | undefined>>(version, 1);
  const read = async (): Promise<CursorRow | undefined> => {
    const [row] = await query<{
      chain_id: number;
      contract: string;
      block_number: number;
      head_block: number | null;
      finalized_block: number;
      block_time: number | null;
    }>(
      pool,
      "SELECT c.chain_id, c.contract, c.block_number, c.head_block, c.finalized_block, b.timestamp AS block_time " +
        "FROM cursor c LEFT JOIN blocks b ON b.number = c.block_number WHERE c.id = 1",
      [],
    );
    if (row === undefined) return undefined;
    return {
      chainId: row.chain_id,
      contract: row.contract,
      blockNumber: row.block_number,
      headBlock: row.head_block,
      finalizedBlock: row.finalized_block,
      blockTime: row.block_time,
    };
  };
  return { get: () => memoAsync(memo, 0, read) };
}

function brandsRepository(pool: Pool, version: MirrorReader["version"]): Async<BrandsRepository> {
  const owners = versionedCache<string, Promise<PrefixRow | undefined>>(version, 100_000);
  const brands = versionedCache<number, Promise<BrandRow | undefined>>(version, 10_000);
  return {
    list: async () =>
      (await query<BrandDb>(pool, `SELECT ${BRAND_COLUMNS} FROM brands ORDER BY brand_id`, [])).map(toBrand),
    get: (brandId) =>
      memoAsync(brands, brandId, async () => {
        const [row] = await query<BrandDb>(pool, `SELECT ${BRAND_COLUMNS} FROM brands WHERE brand_id = $1`, [brandId]);
        return row === undefined ? undefined : toBrand(row);
      }),
    prefixes: async (brandId) =>
      (
        await query<PrefixDb>(
          pool,
          `SELECT ${PREFIX_COLUMNS} FROM prefixes WHERE brand_id = $1 ORDER BY prefix COLLATE "C"`,
          [brandId],
        )
      ).map(toPrefix),
    submitters: async (brandId) =>
      (
        await query<{
          account: string;
          role: string | null;
          role_raw: string;
          set_block: number;
          set_tx: string;
          set_time: number;
        }>(
          pool,
          'SELECT account, role, role_raw, set_block, set_tx, set_time FROM submitters WHERE brand_id = $1 ORDER BY account COLLATE "C"',
          [brandId],
        )
      ).map((row): SubmitterRow => ({
        account: row.account,
        role: row.role,
        roleRaw: row.role_raw,
        setBlock: row.set_block,
        setTx: row.set_tx,
        setTime: row.set_time,
      })),
    ownerOfGtin: (gtin14) =>
      memoAsync(owners, gtin14, async () => {
        const digits = gtin14.slice(1);
        const [row] = await query<PrefixDb>(
          pool,
          `SELECT ${PREFIX_COLUMNS} FROM prefixes WHERE prefix = ANY($1::text[]) ORDER BY length(prefix) DESC LIMIT 1`,
          [PREFIX_LENGTHS.map((length) => digits.slice(0, length))],
        );
        return row === undefined ? undefined : toPrefix(row);
      }),
  };
}

const MAX_POSITION = Number.MAX_SAFE_INTEGER;

function anchorsRepository(pool: Pool): Async<AnchorsRepository> {
  return {
    async get(brandId, root) {
      const [row] = await query<AnchorDb>(
        pool,
        `SELECT ${ANCHOR_COLUMNS} FROM anchors a WHERE a.brand_id = $1 AND a.root = $2`,
        [brandId, root],
      );
      return row === undefined ? undefined : toAnchor(row);
    },
    async list(wanted: ListAnchorsQuery) {
      const before = wanted.before ?? { blockNumber: MAX_POSITION, logIndex: MAX_POSITION };
      return (
        await query<AnchorDb>(
          pool,
          `SELECT ${ANCHOR_COLUMNS} FROM anchors a ` +
            "WHERE (a.block_number < $1::bigint OR (a.block_number = $1::bigint AND a.log_index < $2::bigint)) " +
            "AND ($3::bigint IS NULL OR a.brand_id = $3) AND ($4::integer IS NULL OR a.kind = $4) " +
            "ORDER BY a.block_number DESC, a.log_index DESC LIMIT $5",
          [before.blockNumber, before.logIndex, wanted.brandId ?? null, wanted.kind ?? null, wanted.limit],
        )
      ).map(toAnchor);
    },
  };
}

function recordsRepository(pool: Pool): Async<RecordsRepository> {
  return {
    async byHash(recordHash, limit) {
      return (
        await query<RecordJoinDb>(
          pool,
          `SELECT r.leaf_index, r.record_hash, r.record, ${ANCHOR_COLUMNS} FROM records r ` +
            "JOIN anchors a ON a.batch_id = r.batch_id " +
            // records_hash indexes the first 8 bytes of the hash.
            "WHERE substring(r.record_hash FROM 1 FOR 8) = $1 AND r.record_hash = $2 " +
            "ORDER BY a.block_number, a.log_index, r.leaf_index LIMIT $3",
          [recordHash.subarray(0, 8), recordHash, limit],
        )
      ).map((row) => ({
        leafIndex: row.leaf_index,
        recordHash: row.record_hash,
        record: row.record,
        anchor: toAnchor(row),
      }));
    },
    async page(brandId, root, after, limit) {
      return (
        await query<{ leaf_index: number; record_hash: Buffer; record: string }>(
          pool,
          `SELECT leaf_index, record_hash, record FROM records WHERE batch_id = ${BATCH_OF} AND leaf_index > $3 ORDER BY leaf_index LIMIT $4`,
          [brandId, root, after, limit],
        )
      ).map((row) => ({ leafIndex: row.leaf_index, recordHash: row.record_hash, record: row.record }));
    },
    async packedHashes(brandId, root) {
      const result = await pool.query({
        text: `SELECT record_hash FROM records WHERE batch_id = ${BATCH_OF} ORDER BY leaf_index`,
        values: [brandId, root],
        rowMode: "array",
      });
      return Buffer.concat((result.rows as [Buffer][]).map((row) => row[0]));
    },
  };
}

function itemsRepository(pool: Pool): Async<ItemsRepository> {
  /** Builds the rows of one answer, one AnchorRow object per batch. */
  const anchorsOf = (): ((row: RecordJoinDb) => AnchorRow) => {
    const seen = new Map<string, AnchorRow>();
    return (row) => {
      const key = `${row.brand_id}:${row.root}`;
      let anchor = seen.get(key);
      if (anchor === undefined) {
        anchor = toAnchor(row);
        seen.set(key, anchor);
      }
      return anchor;
    };
  };
  const traceRows = <T extends RecordJoinDb>(
    level: EventLevel,
    list: T[],
    anchor: (row: RecordJoinDb) => AnchorRow = anchorsOf(),
  ): (TraceEventRow & { source: T })[] => {
    return list.map((row) => ({
      leafIndex: row.leaf_index,
      recordHash: row.record_hash,
      record: row.record,
      anchor: anchor(row),
      level,
      submitterRole: row.role,
      source: row,
    }));
  };
  const strip = ({ source: _source, ...row }: TraceEventRow & { source: unknown }): TraceEventRow => row;

  /** One serial's rows of a batched read (SQLite's order and caps), with one AnchorRow object per batch of the answer. */
  const serialRowsOf = (
    list: readonly SerialJoinDb[],
    lots: ReadonlyMap<string, SerialJoinDb[]>,
    anchor: (row: RecordJoinDb) => AnchorRow,
  ): SerialRows => {
    const identities: IdentityRow[] = [];
    const events: TraceEventRow[] = [];
    for (const row of list) {
      if (row.key_kind === KIND_CODE.identity) {
        if (identities.length < MAX_IDENTITIES)
          identities.push({
            leafIndex: row.leaf_index,
            recordHash: row.record_hash,
            record: row.record,
            anchor: anchor(row),
            lot: row.lot === "" ? undefined : row.lot,
          });
      } else if (events.length < MAX_EVENTS) {
        events.push({
          leafIndex: row.leaf_index,
          recordHash: row.record_hash,
          record: row.record,
          anchor: anchor(row),
          level: "item",
          submitterRole: row.role,
        });
      }
    }
    const lotEvents = new Map<string, TraceEventRow[]>();
    for (const [lot, rows] of lots) lotEvents.set(lot, sorted(traceRows("lot", rows, anchor).map(strip)));
    return { identities: sorted(identities), events: sorted(events), lotEvents };
  };
  const serials = serialBatcher(pool, serialRowsOf, anchorsOf);
  const serial = (gtin: string, serialValue: string): Promise<SerialRows> => serials.read(gtin, serialValue);

  const level = async (gtin: string, lot: string): Promise<TraceEventRow[]> => {
    const list = await query<RecordJoinDb>(
      pool,
      `SELECT r.leaf_index, r.record_hash, r.record, ${ANCHOR_COLUMNS}, s.role FROM item_keys k ${JOIN_RECORDS} ${JOIN_ANCHOR} ${JOIN_ROLE} ` +
        `WHERE k.gtin = $1 AND k.serial = '' AND k.lot = $2 AND k.kind = 2 ${KEY_ORDER} LIMIT ${MAX_EVENTS}`,
      [gtin, lot],
    );
    return sorted(traceRows(lot === "" ? "class" : "lot", list).map(strip));
  };

  const identityCounts = async (gtin: string, brandId: number, lot?: string): Promise<IdentityCountRow[]> => {
    const list = await query<AnchorDb & { lot: string; items: number; first_leaf: number }>(
      pool,
      `SELECT c.lot, c.items, c.first_leaf, ${ANCHOR_COLUMNS} FROM identity_counts c ` +
        "JOIN anchors a ON a.batch_id = c.batch_id " +
        "WHERE c.gtin = $1 AND c.brand_id = $2 AND ($3::text IS NULL OR c.lot = $3) " +
        "ORDER BY a.block_number, a.log_index, c.first_leaf",
      [gtin, brandId, lot ?? null],
    );
    return list.map((row) => ({ anchor: toAnchor(row), lot: row.lot, items: row.items, firstLeaf: row.first_leaf }));
  };

  const identityAt = async (
    brandId: number,
    root: string,
    leafIndex: number,
    lot: string,
  ): Promise<IdentityRow | undefined> => {
    const [row] = await query<RecordJoinDb>(
      pool,
      `SELECT r.leaf_index, r.record_hash, r.record, ${ANCHOR_COLUMNS} FROM records r ` +
        "JOIN anchors a ON a.batch_id = r.batch_id " +
        "WHERE a.brand_id = $1 AND a.root = $2 AND r.leaf_index = $3",
      [brandId, root, leafIndex],
    );
    if (row === undefined) return undefined;
    return {
      leafIndex: row.leaf_index,
      recordHash: row.record_hash,
      record: row.record,
      anchor: toAnchor(row),
      lot: lot === "" ? undefined : lot,
    };
  };

  const lotRecalls = async (gtin: string): Promise<LotEventRow[]> => {
    const list = await query<RecordJoinDb & { lot: string }>(
      pool,
      `SELECT k.lot, r.leaf_index, r.record_hash, r.record, ${ANCHOR_COLUMNS}, s.role FROM item_keys k ${JOIN_RECORDS} ${JOIN_ANCHOR} ${JOIN_ROLE} ` +
        `WHERE k.gtin = $1 AND k.serial = '' AND k.kind = 2 AND k.lot <> '' AND strpos(r.record, 'recalled') > 0 ${KEY_ORDER} LIMIT ${MAX_EVENTS}`,
      [gtin],
    );
    return sorted(traceRows("lot", list).map(({ source, ...row }) => ({ ...row, lot: source.lot })));
  };

  return {
    async isKeyed(gtin, serialValue) {
      return (
        (await query(pool, "SELECT 1 FROM item_keys WHERE gtin = $1 AND serial = $2 LIMIT 1", [gtin, serialValue]))
          .length > 0
      );
    },
    serial,
    level,
    identityCounts,
    identityAt,
    lotRecalls,
    identities: async (gtin, serialValue) => (await serial(gtin, serialValue)).identities,
    async events(key) {
      const lists = await Promise.all([
        key.serial === undefined ? [] : serial(key.gtin, key.serial).then((r) => r.events),
        key.lot === undefined ? [] : level(key.gtin, key.lot),
        level(key.gtin, ""),
      ]);
      return mergeEventLists(lists);
    },
  };
}
