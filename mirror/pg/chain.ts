/**
 * The chain writes on PostgreSQL: the same `ChainStore` as SQLite's (mirror/write/chain.ts), with the
 * same rows. Each write is one transaction on one client, the cursor moving in it: a pooled client
 * (`inTransaction`), or the session the caller names (the indexer's leader session, so that a write
 * cannot commit once the advisory lock is gone, because the lock goes only with that session).
 *
 * A range costs a handful of round trips whatever its size: its logs go into events_raw in one
 * multi-row INSERT over unnest() arrays (ON CONFLICT DO NOTHING; RETURNING says which were new), its
 * anchors into anchors in another, and the headers in a third. The other events (registry changes,
 * revocations) are rare and run one statement each, in chain order, as on SQLite; both engines take
 * each event's effect from `effectOf`, so the folds are the same (`applyEffects` says why the
 * anchors may go first).
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { from as copyFrom } from "pg-copy-streams";
import { decodeLog, REGISTRY_EVENTS } from "../decode";
import type { MirrorStore } from "../store";
import {
  chainMismatch,
  cursorOf,
  headUnchanged,
  effectOf,
  replayEffectOf,
  type ChainStore,
  type ChainStoreOptions,
  type Cursor,
  type CursorRowDb,
  type Effect,
  type EffectOp,
  type RangeBatch,
  type RegistryEventRow,
} from "../write/chain";
import { inTransaction, type Pool, type PoolClient } from "./db";

type PgStore = Extract<MirrorStore, { engine: "postgres" }>;

/** One statement per effect, with the parameters in `Effect`'s order (SQLite's statements, in $n form). */
const EFFECT_SQL: Record<EffectOp, string> = {
  insertBrand:
    "INSERT INTO brands (brand_id, admin, pending_admin, name, registered_block, registered_tx, registered_log, registered_time, updated_block) " +
    "VALUES ($1, $2, NULL, $3, $4, $5, $6, $7, $8)",
  setPendingAdmin: "UPDATE brands SET pending_admin = $1, updated_block = $2 WHERE brand_id = $3",
  setAdmin: "UPDATE brands SET admin = $1, pending_admin = NULL, updated_block = $2 WHERE brand_id = $3",
  insertPrefix:
    "INSERT INTO prefixes (prefix, brand_id, assigned_block, assigned_tx, assigned_log, assigned_time) VALUES ($1, $2, $3, $4, $5, $6)",
  deletePrefix: "DELETE FROM prefixes WHERE prefix = $1",
  upsertSubmitter:
    "INSERT INTO submitters (brand_id, account, role, role_raw, set_block, set_tx, set_log, set_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) " +
    "ON CONFLICT (brand_id, account) DO UPDATE SET role = excluded.role, role_raw = excluded.role_raw, " +
    "set_block = excluded.set_block, set_tx = excluded.set_tx, set_log = excluded.set_log, set_time = excluded.set_time",
  deleteSubmitter: "DELETE FROM submitters WHERE brand_id = $1 AND account = $2",
  insertAnchor:
    "INSERT INTO anchors (brand_id, root, kind, leaf_count, content_uri, submitter, block_number, block_hash, tx_hash, tx_index, log_index, block_time) " +
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
  revokeAnchor:
    "UPDATE anchors SET revoked_at_block = $1, revoked_by = $2, revoke_reason = $3, revoke_tx = $4, revoke_log = $5, revoked_time = $6 " +
    "WHERE brand_id = $7 AND root = $8",
};

const RAW_COLUMNS =
  "block_number, block_hash, tx_hash, tx_index, log_index, address, topics, data, event, args, block_time";

/** The columns of an insertAnchor effect, in its values' order. */
const ANCHOR_COLUMNS =
  "brand_id, root, kind, leaf_count, content_uri, submitter, block_number, block_hash, tx_hash, tx_index, log_index, block_time";

/** Where an events_raw row (in RAW_COLUMNS order) keeps its key. */
const RAW_HASH = 1;
const RAW_LOG_INDEX = 4;

const rawKey = (blockHash: unknown, logIndex: unknown): string => `${String(blockHash)}/${String(logIndex)}`;

/**
 * Ranges with at least this many logs go into events_raw, and runs of at least this many anchors
 * into anchors, by COPY; smaller ones in one INSERT over unnest() arrays, one round trip. Measured
 * on a 10,000-log range (2 shared cores): the INSERT into events_raw 450–850 ms, COPY into a staging
 * table + INSERT … SELECT 350–500 ms, COPY straight in (after one SELECT of the keys present)
 * about 70–90 ms; anchors 280–400 ms by INSERT, 75–100 ms by COPY.
 */
const COPY_FROM_ROWS = 500;

const SQL = {
  cursor: "SELECT * FROM cursor WHERE id = 1",
  insertCursor:
    "INSERT INTO cursor (id, chain_id, contract, from_block, block_number, block_hash, head_block, finalized_block) " +
    "VALUES (1, $1, $2, $3, $4, NULL, NULL, $5) ON CONFLICT (id) DO NOTHING",
  moveCursor:
    "UPDATE cursor SET block_number = $1, block_hash = $2, head_block = $3, finalized_block = $4 WHERE id = 1",
  // SQLite's rollback keeps head_block and takes min(number, finalized_block), as this does.
  rollbackCursor:
    "UPDATE cursor SET block_number = $1, block_hash = $2, finalized_block = LEAST($1, finalized_block) WHERE id = 1",
  setHead: "UPDATE cursor SET head_block = $1, finalized_block = LEAST(block_number, $2) WHERE id = 1",
  storedBlocks: "SELECT number, hash FROM blocks WHERE number <= $1 ORDER BY number DESC",
  insertRaw:
    `INSERT INTO events_raw (${RAW_COLUMNS}) ` +
    "SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::integer[], $5::integer[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::bigint[]) " +
    "ON CONFLICT (block_hash, log_index) DO NOTHING RETURNING block_hash, log_index",
  // Large ranges: the keys already there (the primary key's index), then COPY of the others.
  presentRaw: "SELECT block_hash, log_index FROM events_raw WHERE block_hash = ANY($1::text[])",
  copyRaw: `COPY events_raw (${RAW_COLUMNS}) FROM STDIN`,
  // No conflict to skip here (as on SQLite, an anchor already there is an error): straight in.
  copyAnchors: `COPY anchors (${ANCHOR_COLUMNS}) FROM STDIN`,
  insertAnchors:
    `INSERT INTO anchors (${ANCHOR_COLUMNS}) ` +
    "SELECT * FROM unnest($1::bigint[], $2::text[], $3::integer[], $4::bigint[], $5::text[], $6::text[], $7::bigint[], $8::text[], $9::text[], $10::integer[], $11::integer[], $12::bigint[])",
  upsertBlocks:
    "INSERT INTO blocks (number, hash, parent_hash, timestamp) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[]) " +
    "ON CONFLICT (number) DO UPDATE SET hash = excluded.hash, parent_hash = excluded.parent_hash, timestamp = excluded.timestamp",
  pruneBlocks: "DELETE FROM blocks WHERE number < $1",
  removedRegistryEvents:
    "SELECT EXISTS (SELECT 1 FROM events_raw WHERE block_number > $1 AND event = ANY($2::text[])) AS changed",
  rollbackAnchors: "DELETE FROM anchors WHERE block_number > $1",
  rollbackRevocations:
    "UPDATE anchors SET revoked_at_block = NULL, revoked_by = NULL, revoke_reason = NULL, revoke_tx = NULL, revoke_log = NULL, revoked_time = NULL " +
    "WHERE revoked_at_block > $1",
  rollbackRaw: "DELETE FROM events_raw WHERE block_number > $1",
  rollbackBlocks: "DELETE FROM blocks WHERE number > $1",
  clearRegistry: "DELETE FROM brands; DELETE FROM prefixes; DELETE FROM submitters;",
  registryEvents:
    "SELECT block_number, tx_hash, log_index, topics, data, block_time FROM events_raw WHERE event = ANY($1::text[]) " +
    "ORDER BY block_number, tx_index, log_index",
} as const;

type Queryable = Pick<PoolClient, "query">;

/** Runs a statement prepared once per connection (named after its key). */
function run<R extends object = Record<string, unknown>>(
  client: Queryable,
  name: string,
  text: string,
  values: readonly unknown[],
): Promise<{ rows: R[]; rowCount: number | null }> {
  return client.query<R>({ name: `ta_chain_${name}`, text, values: values as unknown[] });
}

/** bigints as decimal text: pg has no bigint parameters, and int8 columns take the text exactly. */
function param(value: unknown): unknown {
  return typeof value === "bigint" ? value.toString(10) : value;
}

function runEffect(client: Queryable, effect: Effect): Promise<unknown> {
  return run(client, effect.op, EFFECT_SQL[effect.op], effect.values.map(param));
}

/** Inserts a run of Anchored effects in one statement, column arrays in `Effect`'s order. */
async function insertAnchors(client: PoolClient, anchors: readonly Effect[]): Promise<void> {
  if (anchors.length === 0) return;
  if (anchors.length >= COPY_FROM_ROWS) {
    await copyRows(
      client,
      SQL.copyAnchors,
      anchors.map((effect) => effect.values),
    );
    return;
  }
  const columns: unknown[][] = Array.from({ length: 12 }, () => new Array<unknown>(anchors.length));
  anchors.forEach((effect, i) => {
    effect.values.forEach((value, c) => {
      (columns[c] as unknown[])[i] = param(value);
    });
  });
  await run(client, "insertAnchors", SQL.insertAnchors, columns);
}

async function onSession<T>(client: PoolClient, work: (client: PoolClient) => Promise<T>): Promise<T> {
  await client.query("BEGIN");
  try {
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

/** A value in COPY's text format (no value here is NULL). */
function copyText(value: unknown): string {
  return String(value).replace(/[\\\t\n\r]/g, (c) =>
    c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r",
  );
}

type RawRow = readonly unknown[];

/** Sends `rows` through `COPY … FROM STDIN` (text format). */
async function copyRows(client: PoolClient, copy: string, rows: readonly (readonly unknown[])[]): Promise<void> {
  const text = rows.map((row) => `${row.map(copyText).join("\t")}\n`).join("");
  await pipeline(Readable.from([text]), client.query(copyFrom(copy)));
}

/** Inserts events_raw rows unless present (same block hash and log index); returns the keys of those inserted. */
async function insertRaw(client: PoolClient, rows: readonly RawRow[]): Promise<Set<string>> {
  if (rows.length < COPY_FROM_ROWS) {
    const columns = Array.from({ length: 11 }, (_, c) => rows.map((row) => row[c]));
    const inserted = await run<{ block_hash: string; log_index: number }>(client, "insertRaw", SQL.insertRaw, columns);
    return new Set(inserted.rows.map((row) => rawKey(row.block_hash, row.log_index)));
  }
  // COPY cannot skip conflicts: leave out the rows already there, and repeats within the range.
  const hashes = [...new Set(rows.map((row) => row[RAW_HASH] as string))];
  const present = await run<{ block_hash: string; log_index: number }>(client, "presentRaw", SQL.presentRaw, [hashes]);
  const keys = new Set(present.rows.map((row) => rawKey(row.block_hash, row.log_index)));
  const fresh = new Set<string>();
  const copied = rows.filter((row) => {
    const key = rawKey(row[RAW_HASH], row[RAW_LOG_INDEX]);
    if (keys.has(key) || fresh.has(key)) return false;
    fresh.add(key);
    return true;
  });
  if (copied.length > 0) await copyRows(client, SQL.copyRaw, copied);
  return fresh;
}

async function readCursor(client: Queryable): Promise<Cursor | undefined> {
  const { rows } = await run<CursorRowDb>(client, "cursor", SQL.cursor, []);
  return rows[0] === undefined ? undefined : cursorOf(rows[0]);
}

async function applyRange(client: PoolClient, batch: RangeBatch, reorgWindow: number): Promise<number> {
  const decoded = batch.logs.map((log) => {
    const header = batch.headers.get(log.blockNumber);
    if (header === undefined) throw new Error(`no header for block ${log.blockNumber}`);
    const d = decodeLog(log.topics, log.data);
    const row: RawRow = [
      log.blockNumber,
      log.blockHash,
      log.txHash,
      log.txIndex,
      log.logIndex,
      log.address,
      JSON.stringify(log.topics),
      log.data,
      d.name,
      d.argsJson,
      header.timestamp,
    ];
    return { log, row, event: d.event, blockTime: header.timestamp };
  });

  let applied = 0;
  if (decoded.length > 0) {
    const fresh = await insertRaw(
      client,
      decoded.map((entry) => entry.row),
    );
    const effects: Effect[] = [];
    for (const { log, event, blockTime } of decoded) {
      // Already present (same block hash and log index): its effects are applied already.
      if (!fresh.delete(rawKey(log.blockHash, log.logIndex)) || event === null) continue;
      effects.push(
        effectOf(
          event,
          { blockNumber: log.blockNumber, txHash: log.txHash, logIndex: log.logIndex, blockTime },
          log.blockHash,
          log.txIndex,
        ),
      );
    }
    applied = effects.length;
    await applyEffects(client, effects);
  }

  const headers = [...batch.headers.values()];
  if (headers.length > 0)
    await run(client, "upsertBlocks", SQL.upsertBlocks, [
      headers.map((h) => h.number),
      headers.map((h) => h.hash),
      headers.map((h) => h.parentHash),
      headers.map((h) => h.timestamp),
    ]);
  await run(client, "moveCursor", SQL.moveCursor, [
    batch.to.number,
    batch.to.hash,
    batch.head,
    Math.min(batch.to.number, batch.finalizedBlock),
  ]);
  await run(client, "pruneBlocks", SQL.pruneBlocks, [batch.to.number - reorgWindow]);
  return applied;
}

const anchorKey = (brandId: unknown, root: unknown): string => `${String(brandId)}/${String(root)}`;

/**
 * Runs a range's effects with the result of running them one by one in chain order, but all its
 * anchors in one statement, first. Only revocations read anchors (registry effects touch other
 * tables), so this differs from chain order only for a revocation of an anchor that comes later in
 * the range: in chain order it finds no row and changes nothing, so it is skipped here.
 */
async function applyEffects(client: PoolClient, effects: readonly Effect[]): Promise<void> {
  const anchors = effects.filter((effect) => effect.op === "insertAnchor");
  const anchoredAt = new Map<string, number>();
  effects.forEach((effect, i) => {
    if (effect.op === "insertAnchor") anchoredAt.set(anchorKey(effect.values[0], effect.values[1]), i);
  });
  await insertAnchors(client, anchors);
  for (const [i, effect] of effects.entries()) {
    if (effect.op === "insertAnchor") continue;
    if (effect.op === "revokeAnchor" && (anchoredAt.get(anchorKey(effect.values[6], effect.values[7])) ?? -1) > i)
      continue;
    await runEffect(client, effect);
  }
}

/** Rebuilds brands, prefixes and submitters by replaying their events from events_raw. */
async function replayRegistry(client: Queryable): Promise<void> {
  await client.query(SQL.clearRegistry);
  const { rows } = await run<RegistryEventRow>(client, "registryEvents", SQL.registryEvents, [REGISTRY_EVENTS]);
  for (const row of rows) {
    const effect = replayEffectOf(row);
    if (effect !== null) await runEffect(client, effect);
  }
}

async function rollbackTo(client: Queryable, number: number, hash: string | null): Promise<number> {
  const changed = await run<{ changed: boolean }>(client, "removedRegistryEvents", SQL.removedRegistryEvents, [
    number,
    REGISTRY_EVENTS,
  ]);
  // Content rows go with their anchors (ON DELETE CASCADE).
  await run(client, "rollbackAnchors", SQL.rollbackAnchors, [number]);
  await run(client, "rollbackRevocations", SQL.rollbackRevocations, [number]);
  const removed = (await run(client, "rollbackRaw", SQL.rollbackRaw, [number])).rowCount ?? 0;
  await run(client, "rollbackBlocks", SQL.rollbackBlocks, [number]);
  if (changed.rows[0]?.changed === true) await replayRegistry(client);
  await run(client, "rollbackCursor", SQL.rollbackCursor, [number, hash]);
  return removed;
}

async function openCursor(client: Queryable, chainId: number, contract: string, fromBlock: number): Promise<Cursor> {
  const wanted = contract.toLowerCase();
  const existing = await readCursor(client);
  if (existing === undefined) {
    await run(client, "insertCursor", SQL.insertCursor, [chainId, wanted, fromBlock, fromBlock - 1, fromBlock - 1]);
    const created = await readCursor(client);
    if (created === undefined) throw new Error("cursor row missing after insert");
    if (created.chainId !== chainId || created.contract !== wanted) throw chainMismatch(created, chainId, wanted);
    return created;
  }
  if (existing.chainId !== chainId || existing.contract !== wanted) throw chainMismatch(existing, chainId, wanted);
  return existing;
}

export function createPgChainStore(store: PgStore, options: ChainStoreOptions): ChainStore {
  const pool: Pool = store.pool;
  const { reorgWindow, session } = options;
  /** One write transaction: on the caller's session if it named one, else on a pooled client. */
  const write = <T>(work: (client: PoolClient) => Promise<T>): Promise<T> => {
    if (session === undefined) return inTransaction(pool, work);
    let client: PoolClient;
    try {
      client = session();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return onSession(client, work);
  };
  return {
    cursor: () => readCursor(pool),
    openCursor: (chainId, contract, fromBlock) => write((client) => openCursor(client, chainId, contract, fromBlock)),
    async storedBlocks(atOrBelow) {
      const { rows } = await run<{ number: number; hash: string }>(pool, "storedBlocks", SQL.storedBlocks, [atOrBelow]);
      return rows;
    },
    applyRange: (batch) => write((client) => applyRange(client, batch, reorgWindow)),
    rollbackTo: (number, hash) => write((client) => rollbackTo(client, number, hash)),
    async setHead(head, finalizedBlock) {
      // A caught-up indexer calls this every poll. Any UPDATE of cursor bumps mirror_version (its
      // statement trigger fires even when no row changes), and every replica then drops its memos:
      // an unchanged cursor is not written at all.
      await write(async (client) => {
        const cursor = await readCursor(client);
        if (cursor === undefined || headUnchanged(cursor, head, finalizedBlock)) return;
        await run(client, "setHead", SQL.setHead, [head, finalizedBlock]);
      });
    },
  };
}

/**
 * Whether a PostgreSQL error may pass on retry: the connection failed or was cut (class 08, a
 * server shutting down or restarting, 57P01–57P03), too many connections, a serialization failure
 * or deadlock; or the socket failed before any SQLSTATE. Decided on codes, never on messages.
 */
export function isTransientPgError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return false;
  if (/^08[0-9A-Z]{3}$/.test(code)) return true;
  return [
    "57P01",
    "57P02",
    "57P03",
    "53300",
    "40001",
    "40P01",
    "ECONNREFUSED",
    "ECONNRESET",
    "EPIPE",
    "ETIMEDOUT",
    "EHOSTUNREACH",
  ].includes(code);
}
