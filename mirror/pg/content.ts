/**
 * The mirror's content writes on PostgreSQL: mirror/write/content.ts's ContentStore, whose
 * storeContent checks the content and drives the staging here.
 *
 *   createPgContentStore(pool): ContentStore
 *
 * One client is held from the first staged row to the COMMIT, and everything happens in ONE
 * transaction on it:
 * 1. stage: BEGIN, a TEMP table (ON COMMIT DROP) and one binary `COPY … FROM STDIN` into it, fed
 *    as core's checker accepts records (with backpressure: the next chunk of content is read only
 *    once the socket took the rows of the last one). No lock on any mirror table is held meanwhile,
 *    so a reorg may remove the anchor while its content streams.
 * 2. commit: the anchor is re-read FOR UPDATE; then records, item_keys (sorted, so that their
 *    B-tree inserts are sequential) and tree_nodes are filled from the staged rows with
 *    INSERT … SELECT, content_status = 'ok', COMMIT. identity_counts follows by migration 004's
 *    statement triggers, one grouped statement per insert.
 * A kill, a terminated backend or a failed check anywhere before the COMMIT rolls it all back: no
 * rows, the temp table gone, the anchor still 'pending'. A failed or abandoned staging closes its
 * connection rather than cleaning it up, so no half-finished COPY goes back into the pool.
 */
import { once } from "node:events";
import { finished } from "node:stream/promises";
import { from as copyFrom } from "pg-copy-streams";
import type { MerkleTree } from "../../core/merkle";
import type { RecordKind } from "../../core/record";
import type { ContentAnchor, ContentStaging, ContentStore, StagedItem } from "../write/content";
import type { Pool, PoolClient } from "./db";

const ANCHOR_COLUMNS =
  'brand_id AS "brandId", root, batch_id AS "batchId", kind, leaf_count AS "leafCount", content_uri AS "contentUri", content_status AS status, content_attempts AS attempts';

/** Memory a commit's sorts may use (item keys of a million records sort in about 150 MB). */
const COMMIT_WORK_MEM = "256MB";

export function createPgContentStore(pool: Pool): ContentStore {
  return {
    engine: "postgres",
    async anchor(key) {
      const result = await pool.query<ContentAnchor>(
        `SELECT ${ANCHOR_COLUMNS} FROM anchors WHERE brand_id = $1 AND root = $2`,
        [key.brandId, key.root.toLowerCase()],
      );
      return result.rows[0];
    },
    async due(now, limit) {
      const result = await pool.query<ContentAnchor>(
        `SELECT ${ANCHOR_COLUMNS} FROM anchors WHERE content_status = 'pending' AND (content_retry_at IS NULL OR content_retry_at <= $1) ` +
          "ORDER BY block_number, log_index LIMIT $2",
        [now, limit],
      );
      return result.rows;
    },
    async markMismatch(anchor, reason) {
      await pool.query(
        "UPDATE anchors SET content_status = 'mismatch', content_error = $1, content_attempts = content_attempts + 1, content_retry_at = NULL " +
          "WHERE brand_id = $2 AND root = $3 AND kind = $4 AND leaf_count = $5 AND content_status <> 'ok'",
        [reason, anchor.brandId, anchor.root, anchor.kind, anchor.leafCount],
      );
    },
    async markPending(anchor, reason, retryAt) {
      await pool.query(
        "UPDATE anchors SET content_status = 'pending', content_error = $1, content_attempts = content_attempts + 1, content_retry_at = $2 " +
          "WHERE brand_id = $3 AND root = $4 AND content_status <> 'ok'",
        [reason, retryAt, anchor.brandId, anchor.root],
      );
    },
    stage: (kind) => stagePg(pool, kind),
  };
}

// ---- stage: checked rows → one COPY into a TEMP table -------------------------------------------

/**
 * One row per record (leaf, hash, canonical text; for identity records also gtin, serial, lot) and,
 * for trace records, one row per item key (hash and record NULL; serial and lot '' when absent).
 */
const STAGE_TABLE =
  "CREATE TEMP TABLE ingest_stage (leaf_index bigint NOT NULL, record_hash bytea, record text, " +
  'gtin text COLLATE "C", serial text COLLATE "C", lot text COLLATE "C") ON COMMIT DROP';
const STAGE_COPY = "COPY ingest_stage (leaf_index, record_hash, record, gtin, serial, lot) FROM STDIN (FORMAT binary)";
const STAGE_FIELDS = 6;

async function stagePg(pool: Pool, kind: RecordKind): Promise<ContentStaging> {
  const client = await pool.connect();
  let failure: Error | undefined;
  const onError = (error: Error): void => {
    failure ??= error;
  };
  // A checked-out client that loses its connection emits 'error': without a listener that would end the process.
  client.on("error", onError);
  let released = false;
  const release = (error?: Error): void => {
    if (released) return;
    released = true;
    client.release(error);
    client.off("error", onError);
  };
  try {
    await client.query("BEGIN");
    await client.query(STAGE_TABLE);
  } catch (error) {
    release(error as Error);
    throw error;
  }
  const copy = client.query(copyFrom(STAGE_COPY));
  copy.on("error", onError);
  const rows = new BinaryRows((chunk) => copy.write(chunk));

  const record = (leaf: number, hashes: Uint8Array, canonical: string, item: StagedItem | undefined): void => {
    rows.begin(STAGE_FIELDS);
    rows.int8(leaf);
    rows.bytes(hashes, leaf * 32, 32);
    rows.text(canonical);
    if (item === undefined) {
      rows.null();
      rows.null();
      rows.null();
    } else {
      rows.text(item[0]);
      rows.text(item[1]);
      if (item[2] === null) rows.null();
      else rows.text(item[2]);
    }
    rows.spillIfFull();
  };

  const key = (leaf: number, _hashes: Uint8Array, gtin: string, serial: string, lot: string): void => {
    rows.begin(STAGE_FIELDS);
    rows.int8(leaf);
    rows.null();
    rows.null();
    rows.text(gtin);
    rows.text(serial);
    rows.text(lot);
    rows.spillIfFull();
  };

  const ready = (): Promise<void> | undefined => {
    if (failure !== undefined) return Promise.reject(failure);
    if (copy.destroyed) return Promise.reject(new Error("the staging COPY ended early"));
    if (!copy.writableNeedDrain) return undefined;
    return once(copy, "drain").then(() => undefined);
  };

  const commit = async (anchor: ContentAnchor, tree: MerkleTree): Promise<"ingested" | "already" | "gone"> => {
    if (failure !== undefined) throw failure;
    rows.end();
    copy.end();
    await finished(copy);
    const result = await commitStaged(client, anchor, kind, tree);
    release();
    return result;
  };

  const dispose = (): Promise<void> => {
    if (!released) {
      // Mid-COPY or mid-transaction: closing the connection rolls everything back on the server.
      release(failure ?? new Error("content staging abandoned"));
    }
    return Promise.resolve();
  };

  return { record, key, ready, commit, dispose };
}

// ---- commit: the staged rows → the mirror, in the same transaction ------------------------------

async function commitStaged(
  client: PoolClient,
  anchor: ContentAnchor,
  kind: RecordKind,
  tree: MerkleTree,
): Promise<"ingested" | "already" | "gone"> {
  // Re-read, and lock against a concurrent reorg or commit of the same anchor until COMMIT.
  const found = await client.query<ContentAnchor>(
    `SELECT ${ANCHOR_COLUMNS} FROM anchors WHERE brand_id = $1 AND root = $2 FOR UPDATE`,
    [anchor.brandId, anchor.root],
  );
  const current = found.rows[0];
  const verdict =
    current === undefined || current.kind !== anchor.kind || current.leafCount !== anchor.leafCount
      ? "gone"
      : current.status === "ok"
        ? "already"
        : undefined;
  if (verdict !== undefined || current === undefined) {
    await client.query("ROLLBACK");
    return verdict ?? "gone";
  }
  const batch = [current.batchId];
  await client.query(`SET LOCAL work_mem = '${COMMIT_WORK_MEM}'`);
  // Defensive: 'pending' anchors have no rows, as every write below happens together.
  for (const table of ["records", "item_keys", "tree_nodes"])
    await client.query(`DELETE FROM ${table} WHERE batch_id = $1`, batch);
  // The temp table holds the records in leaf order already: no sort needed.
  await client.query(
    "INSERT INTO records (batch_id, leaf_index, record_hash, record) " +
      "SELECT $1::bigint, leaf_index, record_hash, record FROM ingest_stage WHERE record IS NOT NULL",
    batch,
  );
  for (const keys of kind === "identity" ? IDENTITY_KEYS : TRACE_KEYS)
    await client.query(
      "INSERT INTO item_keys (gtin, serial, lot, kind, batch_id, leaf_index) " +
        `SELECT gtin, serial, lot, $2::integer, $1::bigint, leaf_index FROM (${keys.select}) k` +
        (keys.ignoreDuplicates ? " ON CONFLICT DO NOTHING" : ""),
      [...batch, anchor.kind],
    );
  const serialized = tree.serialize();
  await client.query("INSERT INTO tree_nodes (batch_id, nodes) VALUES ($1, $2)", [
    ...batch,
    Buffer.from(serialized.buffer, serialized.byteOffset, serialized.byteLength),
  ]);
  await client.query(
    "UPDATE anchors SET content_status = 'ok', content_error = NULL, content_attempts = content_attempts + 1, content_retry_at = NULL " +
      "WHERE batch_id = $1",
    batch,
  );
  await client.query("COMMIT");
  return "ingested";
}

/**
 * The item keys to insert, each a sorted select over the staged rows (one statement per kind of
 * key, so that each sort is small enough to stay in memory). Identity: a serial key (with the lot,
 * if any); lots are counted in identity_counts. Trace: the decoded keys; an event may name one item
 * twice, stored once.
 */
const IDENTITY_KEYS = [
  {
    select:
      "SELECT gtin, serial, coalesce(lot, '') AS lot, leaf_index FROM ingest_stage WHERE record IS NOT NULL AND gtin IS NOT NULL " +
      "ORDER BY gtin, serial, coalesce(lot, ''), leaf_index",
    ignoreDuplicates: false,
  },
];
const TRACE_KEYS = [
  {
    select:
      "SELECT gtin, serial, lot, leaf_index FROM ingest_stage WHERE record IS NULL ORDER BY gtin, serial, lot, leaf_index",
    ignoreDuplicates: true,
  },
];

// ---- PostgreSQL's binary COPY format ------------------------------------------------------------

const COPY_SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");
/** Bytes handed to the COPY stream at a time. */
const CHUNK_BYTES = 256 * 1024;

/**
 * Rows in COPY's binary format (a header, then per row a field count and length-prefixed fields,
 * then a trailer), written into large buffers that go to `out` as they fill. Text is written as
 * its UTF-8 bytes: nothing to escape, unlike the text format.
 */
class BinaryRows {
  private buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private at = 0;

  constructor(private readonly out: (chunk: Buffer) => void) {
    COPY_SIGNATURE.copy(this.buffer, 0);
    this.at = COPY_SIGNATURE.length;
    this.at = this.buffer.writeInt32BE(0, this.at); // flags
    this.at = this.buffer.writeInt32BE(0, this.at); // header extension length
  }

  begin(fields: number): void {
    this.room(2);
    this.at = this.buffer.writeInt16BE(fields, this.at);
  }

  /** A bigint field from a safe, non-negative integer. */
  int8(value: number): void {
    this.room(12);
    this.at = this.buffer.writeInt32BE(8, this.at);
    this.at = this.buffer.writeUInt32BE(Math.floor(value / 2 ** 32), this.at);
    this.at = this.buffer.writeUInt32BE(value >>> 0, this.at);
  }

  bytes(source: Uint8Array, offset: number, length: number): void {
    this.room(4 + length);
    this.at = this.buffer.writeInt32BE(length, this.at);
    this.buffer.set(source.subarray(offset, offset + length), this.at);
    this.at += length;
  }

  text(value: string): void {
    // At most 3 UTF-8 bytes per UTF-16 unit.
    this.room(4 + 3 * value.length);
    const written = this.buffer.write(value, this.at + 4, "utf8");
    this.buffer.writeInt32BE(written, this.at);
    this.at += 4 + written;
  }

  null(): void {
    this.room(4);
    this.at = this.buffer.writeInt32BE(-1, this.at);
  }

  /** Hands the buffer over once it is nearly full (between rows only: a row may span chunks, but need not). */
  spillIfFull(): void {
    if (this.at >= CHUNK_BYTES - 1024) this.spill(CHUNK_BYTES);
  }

  end(): void {
    this.room(2);
    this.at = this.buffer.writeInt16BE(-1, this.at);
    this.spill(0);
  }

  private room(bytes: number): void {
    if (this.at + bytes > this.buffer.length) this.spill(Math.max(CHUNK_BYTES, bytes));
  }

  private spill(next: number): void {
    if (this.at > 0) this.out(this.buffer.subarray(0, this.at));
    this.buffer = Buffer.allocUnsafe(next);
    this.at = 0;
  }
}
