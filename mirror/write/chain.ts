/**
 * The mirror's chain writes (the indexer's side; content has mirror/write/content.ts). Everything here is synchronous and runs inside one SQLite transaction per
 * call: a range of logs with its cursor move, or a rollback to a common ancestor with its cursor
 * move. Derived tables are a fold of `events_raw` in (block, tx index, log index) order; see
 * docs/indexer.md for why a rollback can undo them exactly.
 */
import { decodeLog, REGISTRY_EVENTS, roleLabel } from "../decode";
import type { TraceEvent } from "../decode";
import type { Db } from "../db";
import { ChainMismatchError } from "../errors";
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

export interface Store {
  cursor(): Cursor | undefined;
  /** The cursor, created for this chain and contract if the database is new. */
  openCursor(chainId: number, contract: string, fromBlock: number): Cursor;
  /** Stored headers at or below `number`, newest first. */
  storedBlocks(atOrBelow: number): { number: number; hash: string }[];
  /** Writes a range's events and derived rows and moves the cursor, in one transaction. */
  applyRange(batch: RangeBatch): number;
  /** Removes everything above block `number` and moves the cursor there, in one transaction. */
  rollbackTo(number: number, hash: string | null): number;
  /** Records the head seen when nothing new was indexed. */
  setHead(head: number, finalizedBlock: number): void;
}

interface CursorRowDb {
  chain_id: number;
  contract: string;
  from_block: number;
  block_number: number;
  block_hash: string | null;
  head_block: number | null;
  finalized_block: number;
}

interface LogMeta {
  readonly blockNumber: number;
  readonly txHash: string;
  readonly logIndex: number;
  readonly blockTime: number;
}

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

export function createStore(db: Db, options: { readonly reorgWindow: number }): Store {
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

  function applyEvent(event: TraceEvent, meta: LogMeta, blockHash: string, txIndex: number): void {
    const { blockNumber, txHash, logIndex, blockTime } = meta;
    switch (event.name) {
      case "BrandRegistered": {
        const { brandId, admin, name } = event.args;
        statements.insertBrand.run(brandId, admin, name, blockNumber, txHash, logIndex, blockTime, blockNumber);
        return;
      }
      case "BrandAdminTransferStarted": {
        const { brandId, pendingAdmin } = event.args;
        statements.setPendingAdmin.run(pendingAdmin === ZERO_ADDRESS ? null : pendingAdmin, blockNumber, brandId);
        return;
      }
      case "BrandAdminTransferred": {
        const { brandId, newAdmin } = event.args;
        statements.setAdmin.run(newAdmin, blockNumber, brandId);
        return;
      }
      case "PrefixAssigned": {
        const { brandId, prefix } = event.args;
        statements.insertPrefix.run(prefix, brandId, blockNumber, txHash, logIndex, blockTime);
        return;
      }
      case "PrefixReleased":
        statements.deletePrefix.run(event.args.prefix);
        return;
      case "SubmitterRoleSet": {
        const { brandId, account, role } = event.args;
        statements.upsertSubmitter.run(
          brandId,
          account,
          roleLabel(role),
          role.toLowerCase(),
          blockNumber,
          txHash,
          logIndex,
          blockTime,
        );
        return;
      }
      case "SubmitterRemoved":
        statements.deleteSubmitter.run(event.args.brandId, event.args.account);
        return;
      case "Anchored": {
        const { brandId, root, submitter, kind, leafCount, contentURI } = event.args;
        statements.insertAnchor.run(
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
        );
        return;
      }
      case "Revoked": {
        const { brandId, root, admin, reason } = event.args;
        statements.revokeAnchor.run(blockNumber, admin, reason, txHash, logIndex, blockTime, brandId, root);
        return;
      }
    }
  }

  /** Rebuilds brands, prefixes and submitters by replaying their events from events_raw. */
  function replayRegistry(): void {
    db.exec("DELETE FROM brands; DELETE FROM prefixes; DELETE FROM submitters;");
    const rows = statements.registryEvents.all(...REGISTRY_EVENTS) as {
      block_number: number;
      tx_hash: string;
      log_index: number;
      topics: string;
      data: string;
      block_time: number;
    }[];
    for (const row of rows) {
      const decoded = decodeLog(JSON.parse(row.topics) as string[], row.data);
      if (decoded.event === null) continue;
      applyEvent(
        decoded.event,
        { blockNumber: row.block_number, txHash: row.tx_hash, logIndex: row.log_index, blockTime: row.block_time },
        "",
        0,
      );
    }
  }

  const readCursor = (): Cursor | undefined => {
    const row = statements.cursor.get() as CursorRowDb | undefined;
    return row === undefined
      ? undefined
      : {
          chainId: row.chain_id,
          contract: row.contract,
          fromBlock: row.from_block,
          blockNumber: row.block_number,
          blockHash: row.block_hash,
          headBlock: row.head_block,
          finalizedBlock: row.finalized_block,
        };
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
      applyEvent(
        decoded.event,
        { blockNumber: log.blockNumber, txHash: log.txHash, logIndex: log.logIndex, blockTime: header.timestamp },
        log.blockHash,
        log.txIndex,
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
      if (existing.chainId !== chainId || existing.contract !== wanted) {
        throw new ChainMismatchError(
          `database mirrors contract ${existing.contract} on chain ${existing.chainId}, not ${wanted} on chain ${chainId}; use another TRACE_DB`,
        );
      }
      return existing;
    },
    storedBlocks: (atOrBelow) => statements.storedBlocks.all(atOrBelow) as { number: number; hash: string }[],
    applyRange: (batch) => applyRange.immediate(batch),
    rollbackTo: (number, hash) => rollbackTo.immediate(number, hash),
    setHead(head, finalizedBlock) {
      statements.setHead.run(head, finalizedBlock);
    },
  };
}
