/**
 * The mirror's row types: what the read repositories return and the write side stores, in one
 * place for every engine. Column names are snake_case in SQL and camelCase here.
 */
import type { EventLevel } from "../core/verdict";

/** An anchor's content: `pending` until checked content is stored (`ok`) or it proved wrong (`mismatch`). */
export type ContentStatus = "pending" | "ok" | "mismatch";

export interface AnchorRow {
  readonly brandId: number;
  readonly root: string;
  /** 1 identity, 2 trace. */
  readonly kind: number;
  readonly leafCount: number;
  readonly contentUri: string;
  readonly submitter: string;
  readonly blockNumber: number;
  readonly txHash: string;
  readonly logIndex: number;
  readonly blockTime: number;
  readonly revokedAtBlock: number | null;
  readonly revokedBy: string | null;
  readonly revokeReason: string | null;
  readonly revokeTx: string | null;
  readonly revokedTime: number | null;
  readonly contentStatus: ContentStatus;
  readonly contentError: string | null;
}

export interface AnchorPosition {
  readonly blockNumber: number;
  readonly logIndex: number;
}

export interface BrandRow {
  readonly brandId: number;
  readonly name: string;
  readonly admin: string;
  readonly pendingAdmin: string | null;
  readonly registeredBlock: number;
  readonly registeredTx: string;
  readonly registeredTime: number;
}

export interface PrefixRow {
  readonly prefix: string;
  readonly brandId: number;
  readonly assignedBlock: number;
  readonly assignedTx: string;
  readonly assignedTime: number;
}

export interface SubmitterRow {
  readonly account: string;
  readonly role: string | null;
  readonly roleRaw: string;
  readonly setBlock: number;
  readonly setTx: string;
  readonly setTime: number;
}

export interface CursorRow {
  readonly chainId: number;
  readonly contract: string;
  readonly blockNumber: number;
  readonly headBlock: number | null;
  readonly finalizedBlock: number;
  /** Timestamp (unix seconds) of the last indexed block, when its header is still stored. */
  readonly blockTime: number | null;
}

export interface RecordRow {
  readonly leafIndex: number;
  /** 32 bytes. */
  readonly recordHash: Buffer;
  /** The record's JSON text, as found in the content file. */
  readonly record: string;
}

export interface AnchoredRecordRow extends RecordRow {
  readonly anchor: AnchorRow;
}

export interface TraceEventRow extends AnchoredRecordRow {
  /** What the event names: this serial, this lot, or the whole GTIN. */
  readonly level: EventLevel;
  /** The submitter's current role label in the anchoring brand, null when removed or not text. */
  readonly submitterRole: string | null;
}

/** A trace event naming a lot of the GTIN, with that lot. */
export interface LotEventRow extends TraceEventRow {
  readonly lot: string;
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
  /**
   * The lot-level events (`items.level(gtin, lot)`, the same rows) of lots of the identities, read
   * in the same statement where that saves a round trip (PostgreSQL); a lot not in the map was not
   * read. Absent on SQLite, where reading a lot costs no round trip.
   */
  readonly lotEvents?: ReadonlyMap<string, TraceEventRow[]>;
}

/** Serialised identity records of one brand in one batch, for a GTIN and one lot ("" for items without a lot). */
export interface IdentityCountRow {
  readonly anchor: AnchorRow;
  readonly lot: string;
  readonly items: number;
  /** The smallest leaf index of such a record in the batch: the one a lot or product document shows. */
  readonly firstLeaf: number;
}

/** A block header as the indexer read it (structurally the indexer's BlockHeader). */
export interface BlockHeaderRow {
  readonly number: number;
  readonly hash: string;
  readonly parentHash: string;
  /** Seconds since the epoch, from the block. */
  readonly timestamp: number;
}

/** A contract log as the indexer read it (indexer/rpc.ts calls it ChainLog). */
export interface ChainLogRow {
  readonly blockNumber: number;
  readonly blockHash: string;
  readonly txHash: string;
  readonly txIndex: number;
  readonly logIndex: number;
  readonly address: string;
  readonly topics: readonly string[];
  readonly data: string;
}
