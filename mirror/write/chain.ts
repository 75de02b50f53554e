/**
 * The mirror's chain writes (the indexer's side; content has mirror/write/content.ts), behind one
 * engine-neutral, asynchronous `ChainStore`:
 *
 *   createChainStore(store, { reorgWindow, session? }): ChainStore     picks the engine by store.engine
 *   createSqliteChainStore(db, { reorgWindow }): SqliteChainStore       synchronous (better-sqlite3)
 *
 * Each write is one transaction: a range of logs with its cursor move, or a rollback to a common
 * ancestor with its cursor move. Derived tables are a fold of `events_raw` in (block, tx index, log
 * index) order; see docs/indexer.md for why a rollback can undo them exactly. What one event does to
 * them is decided once, here (`effectOf`), and each engine runs that effect with its own statement,
 * so both engines fold (and replay after a reorg) the same values. The PostgreSQL twin is
 * mirror/pg/chain.ts.
 */
import { lift } from "../async";
import { decodeLog, REGISTRY_EVENTS, roleLabel } from "../decode";
import type { TraceEvent } from "../decode";
import type { Db } from "../db";
import { ChainMismatchError } from "../errors";
import { createPgChainStore } from "../pg/chain";
import type { PoolClient } from "../pg/db";
import type { MirrorStore } from "../store";
import type { BlockHeaderRow as BlockHeader, ChainLogRow as ChainLog } from "../types";

export interface Cursor {
  readonly chainId: number;
  readonly contract: string;
  readonly fromBlock: number;
  /** Every event up to and including this block is applied; fromBlock - 1 before the first range. */
  readonly blockNumber: number;
  /** Hash of `blockNumber`, null before the first range. */
  readonly blockHash: string | null;
  readonly headBlock: number | null;
  readonly finalizedBlock: number;
}

export interface RangeBatch {
  /** The contract's logs in the range, in chain order. */
  readonly logs: readonly ChainLog[];
  /** Headers to keep: every block with a log, the last block of the range, and any others read. */
  readonly headers: ReadonlyMap<number, BlockHeader>;
  /** The last block of the range; the cursor moves to it. */
  readonly to: BlockHeader;
  readonly head: number;
  readonly finalizedBlock: number;
}

/** The chain writes, on either engine. Every write is one transaction that also moves the cursor. */
export interface ChainStore {
  cursor(): Promise<Cursor | undefined>;
  /** The cursor, created for this chain and contract if the database is new. */
  openCursor(chainId: number, contract: string, fromBlock: number): Promise<Cursor>;
  /** Stored headers at or below `number`, newest first. */
  storedBlocks(atOrBelow: number): Promise<{ number: number; hash: string }[]>;
  /** Writes a range's events and derived rows and moves the cursor, in one transaction; returns the events applied. */
  applyRange(batch: RangeBatch): Promise<number>;
  /** Removes everything above block `number` and moves the cursor there, in one transaction; returns the events removed. */
  rollbackTo(number: number, hash: string | null): Promise<number>;
  /** Records the head seen when nothing new was indexed; writes nothing when the cursor has them already. */
  setHead(head: number, finalizedBlock: number): Promise<void>;
}

/** SQLite's chain store: the same methods, synchronous (each write one IMMEDIATE transaction). */
export interface SqliteChainStore {
  cursor(): Cursor | undefined;
  openCursor(chainId: number, contract: string, fromBlock: number): Cursor;
  storedBlocks(atOrBelow: number): { number: number; hash: string }[];
  applyRange(batch: RangeBatch): number;
  rollbackTo(number: number, hash: string | null): number;
  setHead(head: number, finalizedBlock: number): void;
}

export interface ChainStoreOptions {
  /** Block headers kept below the cursor for reorg detection; older ones are pruned. */
  readonly reorgWindow: number;
  /**
   * PostgreSQL only: the session every write runs on (the indexer's leader session, which holds the
   * advisory lock, so that no write can commit once the lock is lost). It may throw to refuse the
   * write. Default: a pooled client per transaction.
   */
  readonly session?: () => PoolClient;
}

/** The chain store over either engine's mirror. */
export function createChainStore(store: MirrorStore, options: ChainStoreOptions): ChainStore {
  if (store.engine === "sqlite") return lift(createSqliteChainStore(store.db, options));
  return createPgChainStore(store, options);
}

/** Where a log sits and when its block was made; the columns every derived row records. */
export interface LogMeta {
  readonly blockNumber: number;
  readonly txHash: string;
  readonly logIndex: number;
  readonly blockTime: number;
}

/**
 * What one event does to the derived tables: a statement (named by `op`) and its values in
 * parameter order. Both engines hold one statement per op, with these parameters in this order.
 */
export type Effect =
  | {
      readonly op: "insertBrand";
      readonly values: readonly [bigint, string, string, number, string, number, number, number];
    }
  | { readonly op: "setPendingAdmin"; readonly values: readonly [string | null, number, bigint] }
  | { readonly op: "setAdmin"; readonly values: readonly [string, number, bigint] }
  | { readonly op: "insertPrefix"; readonly values: readonly [string, bigint, number, string, number, number] }
  | { readonly op: "deletePrefix"; readonly values: readonly [string] }
  | {
      readonly op: "upsertSubmitter";
      readonly values: readonly [bigint, string, string | null, string, number, string, number, number];
    }
  | { readonly op: "deleteSubmitter"; readonly values: readonly [bigint, string] }
  | {
      readonly op: "insertAnchor";
      readonly values: readonly [
        bigint,
        string,
        bigint,
        bigint,
        string,
        string,
        number,
        string,
        string,
        number,
        number,
        number,
      ];
    }
  | {
      readonly op: "revokeAnchor";
      readonly values: readonly [number, string, string, string, number, number, bigint, string];
    };

export type EffectOp = Effect["op"];

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

/** The effect of `event` (at `meta`, in block `blockHash`, transaction `txIndex`) on the derived tables. */
export function effectOf(event: TraceEvent, meta: LogMeta, blockHash: string, txIndex: number): Effect {
  const { blockNumber, txHash, logIndex, blockTime } = meta;
  switch (event.name) {
    case "BrandRegistered": {
      const { brandId, admin, name } = event.args;
      return {
        op: "insertBrand",
        values: [brandId, admin, name, blockNumber, txHash, logIndex, blockTime, blockNumber],
      };
    }
    case "BrandAdminTransferStarted": {
      const { brandId, pendingAdmin } = event.args;
      return {
        op: "setPendingAdmin",
        values: [pendingAdmin === ZERO_ADDRESS ? null : pendingAdmin, blockNumber, brandId],
      };
    }
    case "BrandAdminTransferred": {
      const { brandId, newAdmin } = event.args;
      return { op: "setAdmin", values: [newAdmin, blockNumber, brandId] };
    }
    case "PrefixAssigned": {
      const { brandId, prefix } = event.args;
      return { op: "insertPrefix", values: [prefix, brandId, blockNumber, txHash, logIndex, blockTime] };
    }
    case "PrefixReleased":
      return { op: "deletePrefix", values: [event.args.prefix] };
    case "SubmitterRoleSet": {
      const { brandId, account, role } = event.args;
      return {
        op: "upsertSubmitter",
        values: [brandId, account, roleLabel(role), role.toLowerCase(), blockNumber, txHash, logIndex, blockTime],
      };
    }
    case "SubmitterRemoved":
      return { op: "deleteSubmitter", values: [event.args.brandId, event.args.account] };
    case "Anchored": {
      const { brandId, root, submitter, kind, leafCount, contentURI } = event.args;
      return {
        op: "insertAnchor",
        values: [
          brandId,
          root,
          kind,
          leafCount,
          contentURI,
          submitter,
          blockNumber,
          blockHash,
          txHash,
          txIndex,
          logIndex,
          blockTime,
        ],
      };
    }
    case "Revoked": {
      const { brandId, root, admin, reason } = event.args;
      return { op: "revokeAnchor", values: [blockNumber, admin, reason, txHash, logIndex, blockTime, brandId, root] };
    }
  }
}

/** A stored registry event, as replayed after a reorg that removed one. */
export interface RegistryEventRow {
  readonly block_number: number;
  readonly tx_hash: string;
  readonly log_index: number;
  readonly topics: string;
  readonly data: string;
  readonly block_time: number;
}

/** The effect of a stored registry event, or null if it no longer decodes to one. */
export function replayEffectOf(row: RegistryEventRow): Effect | null {
  const decoded = decodeLog(JSON.parse(row.topics) as string[], row.data);
  if (decoded.event === null) return null;
  // Registry effects record neither the block hash nor the transaction index.
  return effectOf(
    decoded.event,
    { blockNumber: row.block_number, txHash: row.tx_hash, logIndex: row.log_index, blockTime: row.block_time },
    "",
    0,
  );
}

/** The error for a database that mirrors another chain or contract than the one configured. */
export function chainMismatch(existing: Cursor, chainId: number, contract: string): ChainMismatchError {
  return new ChainMismatchError(
    `database mirrors contract ${existing.contract} on chain ${existing.chainId}, not ${contract} on chain ${chainId}; use another TRACE_DB`,
  );
}

/** Whether setHead(head, finalizedBlock) would leave the cursor as it is (then it writes nothing). */
export function headUnchanged(cursor: Cursor, head: number, finalizedBlock: number): boolean {
  return cursor.headBlock === head && cursor.finalizedBlock === Math.min(cursor.blockNumber, finalizedBlock);
}

export interface CursorRowDb {
  chain_id: number;
  contract: string;
  from_block: number;
  block_number: number;
  block_hash: string | null;
  head_block: number | null;
  finalized_block: number;
}

export function cursorOf(row: CursorRowDb): Cursor {
  return {
    chainId: row.chain_id,
    contract: row.contract,
    fromBlock: row.from_block,
    blockNumber: row.block_number,
    blockHash: row.block_hash,
    headBlock: row.head_block,
    finalizedBlock: row.finalized_block,
  };
}

export function createSqliteChainStore(db: Db, options: { readonly reorgWindow: number }): SqliteChainStore {
  const statements = {
    cursor: db.prepare("SELECT * FROM cursor WHERE id = 1"),
    insertCursor: db.prepare(
      "INSERT INTO cursor (id, chain_id, contract, from_block, block_number, block_hash, head_block, finalized_block) VALUES (1, ?, ?, ?, ?, NULL, NULL, ?)",
    ),
    moveCursor: db.prepare(
      "UPDATE cursor SET block_number = ?, block_hash = ?, head_block = ?, finalized_block = ? WHERE id = 1",
    ),
    setHead: db.prepare("UPDATE cursor SET head_block = ?, finalized_block = MIN(block_number, ?) WHERE id = 1"),
    upsertBlock: db.prepare(
      "INSERT INTO blocks (number, hash, parent_hash, timestamp) VALUES (?, ?, ?, ?) " +
        "ON CONFLICT (number) DO UPDATE SET hash = excluded.hash, parent_hash = excluded.parent_hash, timestamp = excluded.timestamp",
    ),
    pruneBlocks: db.prepare("DELETE FROM blocks WHERE number < ?"),
    storedBlocks: db.prepare("SELECT number, hash FROM blocks WHERE number <= ? ORDER BY number DESC"),
    insertRaw: db.prepare(
      "INSERT OR IGNORE INTO events_raw (block_number, block_hash, tx_hash, tx_index, log_index, address, topics, data, event, args, block_time) " +
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    rollbackAnchors: db.prepare("DELETE FROM anchors WHERE block_number > ?"),
    rollbackRevocations: db.prepare(
      "UPDATE anchors SET revoked_at_block = NULL, revoked_by = NULL, revoke_reason = NULL, revoke_tx = NULL, revoke_log = NULL, revoked_time = NULL " +
        "WHERE revoked_at_block > ?",
    ),
    removedRegistryEvents: db.prepare(
      `SELECT count(*) AS n FROM events_raw WHERE block_number > ? AND event IN (${REGISTRY_EVENTS.map(() => "?").join(", ")})`,
    ),
    rollbackRaw: db.prepare("DELETE FROM events_raw WHERE block_number > ?"),
    rollbackBlocks: db.prepare("DELETE FROM blocks WHERE number > ?"),
    registryEvents: db.prepare(
      `SELECT block_number, tx_hash, log_index, topics, data, block_time FROM events_raw WHERE event IN (${REGISTRY_EVENTS.map(() => "?").join(", ")}) ` +
        "ORDER BY block_number, tx_index, log_index",
    ),
  };
  const effects: Record<EffectOp, { run(...params: unknown[]): unknown }> = {
    insertBrand: db.prepare(
      "INSERT INTO brands (brand_id, admin, pending_admin, name, registered_block, registered_tx, registered_log, registered_time, updated_block) " +
        "VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?)",
    ),
    setPendingAdmin: db.prepare("UPDATE brands SET pending_admin = ?, updated_block = ? WHERE brand_id = ?"),
    setAdmin: db.prepare("UPDATE brands SET admin = ?, pending_admin = NULL, updated_block = ? WHERE brand_id = ?"),
    insertPrefix: db.prepare(
      "INSERT INTO prefixes (prefix, brand_id, assigned_block, assigned_tx, assigned_log, assigned_time) VALUES (?, ?, ?, ?, ?, ?)",
    ),
    deletePrefix: db.prepare("DELETE FROM prefixes WHERE prefix = ?"),
    upsertSubmitter: db.prepare(
      "INSERT INTO submitters (brand_id, account, role, role_raw, set_block, set_tx, set_log, set_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?) " +
        "ON CONFLICT (brand_id, account) DO UPDATE SET role = excluded.role, role_raw = excluded.role_raw, " +
        "set_block = excluded.set_block, set_tx = excluded.set_tx, set_log = excluded.set_log, set_time = excluded.set_time",
    ),
    deleteSubmitter: db.prepare("DELETE FROM submitters WHERE brand_id = ? AND account = ?"),
    insertAnchor: db.prepare(
      "INSERT INTO anchors (brand_id, root, kind, leaf_count, content_uri, submitter, block_number, block_hash, tx_hash, tx_index, log_index, block_time) " +
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    revokeAnchor: db.prepare(
      "UPDATE anchors SET revoked_at_block = ?, revoked_by = ?, revoke_reason = ?, revoke_tx = ?, revoke_log = ?, revoked_time = ? " +
        "WHERE brand_id = ? AND root = ?",
    ),
  };

  const run = (effect: Effect): void => {
    effects[effect.op].run(...effect.values);
  };

  /** Rebuilds brands, prefixes and submitters by replaying their events from events_raw. */
  function replayRegistry(): void {
    db.exec("DELETE FROM brands; DELETE FROM prefixes; DELETE FROM submitters;");
    for (const row of statements.registryEvents.all(...REGISTRY_EVENTS) as RegistryEventRow[]) {
      const effect = replayEffectOf(row);
      if (effect !== null) run(effect);
    }
  }

  const readCursor = (): Cursor | undefined => {
    const row = statements.cursor.get() as CursorRowDb | undefined;
    return row === undefined ? undefined : cursorOf(row);
  };

  const applyRange = db.transaction((batch: RangeBatch): number => {
    let applied = 0;
    for (const log of batch.logs) {
      const header = batch.headers.get(log.blockNumber);
      if (header === undefined) throw new Error(`no header for block ${log.blockNumber}`);
      const decoded = decodeLog(log.topics, log.data);
      const inserted = statements.insertRaw.run(
        log.blockNumber,
        log.blockHash,
        log.txHash,
        log.txIndex,
        log.logIndex,
        log.address,
        JSON.stringify(log.topics),
        log.data,
        decoded.name,
        decoded.argsJson,
        header.timestamp,
      );
      // Already present (same block hash and log index): its effects are applied already.
      if (inserted.changes === 0 || decoded.event === null) continue;
      run(
        effectOf(
          decoded.event,
          { blockNumber: log.blockNumber, txHash: log.txHash, logIndex: log.logIndex, blockTime: header.timestamp },
          log.blockHash,
          log.txIndex,
        ),
      );
      applied++;
    }
    for (const header of batch.headers.values()) {
      statements.upsertBlock.run(header.number, header.hash, header.parentHash, header.timestamp);
    }
    statements.moveCursor.run(
      batch.to.number,
      batch.to.hash,
      batch.head,
      Math.min(batch.to.number, batch.finalizedBlock),
    );
    statements.pruneBlocks.run(batch.to.number - options.reorgWindow);
    return applied;
  });

  const rollbackTo = db.transaction((number: number, hash: string | null): number => {
    const registryChanged = (statements.removedRegistryEvents.get(number, ...REGISTRY_EVENTS) as { n: number }).n > 0;
    // Content rows go with their anchors (ON DELETE CASCADE).
    statements.rollbackAnchors.run(number);
    statements.rollbackRevocations.run(number);
    const removed = statements.rollbackRaw.run(number).changes;
    statements.rollbackBlocks.run(number);
    if (registryChanged) replayRegistry();
    const cursor = readCursor();
    statements.moveCursor.run(
      number,
      hash,
      cursor?.headBlock ?? null,
      Math.min(number, cursor?.finalizedBlock ?? number),
    );
    return removed;
  });

  return {
    cursor: readCursor,
    openCursor(chainId, contract, fromBlock) {
      const existing = readCursor();
      const wanted = contract.toLowerCase();
      if (existing === undefined) {
        statements.insertCursor.run(chainId, wanted, fromBlock, fromBlock - 1, fromBlock - 1);
        const created = readCursor();
        if (created === undefined) throw new Error("cursor row missing after insert");
        return created;
      }
      if (existing.chainId !== chainId || existing.contract !== wanted) throw chainMismatch(existing, chainId, wanted);
      return existing;
    },
    storedBlocks: (atOrBelow) => statements.storedBlocks.all(atOrBelow) as { number: number; hash: string }[],
    applyRange: (batch) => applyRange.immediate(batch),
    rollbackTo: (number, hash) => rollbackTo.immediate(number, hash),
    setHead(head, finalizedBlock) {
      // A caught-up indexer calls this every poll: an unchanged cursor is not rewritten, so readers'
      // memos (which follow PRAGMA data_version) are not dropped for nothing.
      const cursor = readCursor();
      if (cursor === undefined || headUnchanged(cursor, head, finalizedBlock)) return;
      statements.setHead.run(head, finalizedBlock);
    },
  };
}
