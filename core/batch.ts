/**
 * Building a batch: input file → records → content file `<root>.ndjson` + Merkle root.
 *
 *   buildBatch(options: BuildBatchOptions): Promise<BuildBatchResult>
 *   inferFormat(path: string): BatchFormat
 *
 * All or nothing by default: the first invalid record throws its ValidationError and no file is left
 * behind (records stream to a temp file in outDir, renamed only when complete). With `skipInvalid`
 * set to a path, invalid records go there as NDJSON `{line|eventIndex, field, code, reason, raw}`
 * and the rest is built. Identity batches also refuse a repeated (gtin, serial).
 *
 * Memory: record hashes are kept packed (32 bytes each) plus one (gtin, serial) set for duplicate
 * detection; records themselves are written out as they are read.
 */
import { once } from "node:events";
import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { contentFileName, contentHeaderLine } from "./content";
import { TraceError, ValidationError } from "./errors";
import type { Hex32 } from "./hex";
import { buildTree, type MerkleTree } from "./merkle";
import { readIdentityCsv, readIdentityNdjson } from "./readers/identity";
import { readEpcisDocument, readEventNdjson } from "./readers/trace";
import type { BatchFormat, ReadEntry } from "./readers/types";
import {
  canonicalRecord,
  identityRecord,
  recordHashInto,
  traceRecord,
  type EpcisEvent,
  type IdentityInput,
  type RecordKind,
} from "./record";
import { createSaltSource } from "./salt";

export interface BatchProgress {
  readonly phase: "read" | "tree" | "write" | "done";
  readonly records: number;
  readonly rejected: number;
}

export interface BuildBatchOptions {
  readonly kind: RecordKind;
  /** Path of the input file. */
  readonly input: string;
  /** Inferred from the extension when absent: .csv → csv, .ndjson/.jsonl → ndjson, .json/.jsonld → epcis. */
  readonly format?: BatchFormat;
  readonly outDir: string;
  /** Path of an NDJSON reject file; when set, invalid records are skipped instead of failing the batch. */
  readonly skipInvalid?: string;
  /** 32 secret bytes; salt i = HMAC-SHA256(seed, uint64be(i))[0..16) for the i-th accepted record. */
  readonly saltSeed?: Uint8Array;
  readonly onProgress?: (progress: BatchProgress) => void;
}

export interface BuildBatchResult {
  readonly root: Hex32;
  readonly leafCount: number;
  readonly kind: RecordKind;
  /** Path of the content file `<outDir>/<root>.ndjson`. */
  readonly content: string;
  /** Number of records skipped (always 0 without `skipInvalid`). */
  readonly rejected: number;
  /** Path of the reject file, when `skipInvalid` was given. */
  readonly rejects?: string;
  readonly tree: MerkleTree;
}

export interface RejectEntry {
  readonly line?: number;
  readonly eventIndex?: number;
  readonly field?: string;
  readonly code: string;
  readonly reason: string;
  readonly raw: string;
}

const PROGRESS_EVERY = 10_000;
const WRITE_CHUNK = 2_000;

export function inferFormat(file: string): BatchFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === ".csv") return "csv";
  if (ext === ".ndjson" || ext === ".jsonl") return "ndjson";
  if (ext === ".json" || ext === ".jsonld") return "epcis";
  throw new ValidationError(`cannot infer the format of ${file}; pass format csv, ndjson or epcis`, {
    file,
    field: "format",
    code: "BATCH_FORMAT",
  });
}

export async function buildBatch(options: BuildBatchOptions): Promise<BuildBatchResult> {
  const { kind, input, outDir, onProgress } = options;
  const format = options.format ?? inferFormat(input);
  if (kind === "identity" && format === "epcis") {
    throw new ValidationError("identity batches are CSV or NDJSON", { field: "format", code: "BATCH_FORMAT" });
  }
  if (kind === "trace" && format === "csv") {
    throw new ValidationError("trace batches are EPCIS documents or NDJSON events", {
      field: "format",
      code: "BATCH_FORMAT",
    });
  }
  await mkdir(outDir, { recursive: true });
  const tag = randomBytes(6).toString("hex");
  const bodyPath = path.join(outDir, `.batch-${tag}.body.tmp`);
  const contentTmp = path.join(outDir, `.batch-${tag}.ndjson.tmp`);
  const rejectsTmp = options.skipInvalid === undefined ? undefined : `${options.skipInvalid}.${tag}.tmp`;
  const temps = [bodyPath, contentTmp, ...(rejectsTmp === undefined ? [] : [rejectsTmp])];

  const body = createWriteStream(bodyPath);
  const rejectOut = rejectsTmp === undefined ? undefined : createWriteStream(rejectsTmp);
  try {
    const salt = createSaltSource(options.saltSeed);
    let hashes = new Uint8Array(32 * 65_536);
    let count = 0;
    let rejected = 0;
    let pending: string[] = [];
    let pendingRejects: string[] = [];
    const seen = kind === "identity" ? new Map<string, number>() : undefined;

    const reject = async (entry: ReadEntry<unknown> & { ok: false }): Promise<void> => {
      if (rejectOut === undefined) throw entry.error;
      rejected++;
      const e = entry.error;
      const row: RejectEntry = {
        ...(entry.line === undefined ? {} : { line: entry.line }),
        ...(entry.eventIndex === undefined ? {} : { eventIndex: entry.eventIndex }),
        ...(e.field === undefined ? {} : { field: e.field }),
        code: e.code,
        reason: e.reason,
        raw: entry.raw,
      };
      pendingRejects.push(JSON.stringify(row));
      if (pendingRejects.length >= WRITE_CHUNK) {
        await write(rejectOut, pendingRejects);
        pendingRejects = [];
      }
    };

    // Synchronous on purpose: an await per record costs more than hashing it. Returns whether to flush.
    const accept = (canonical: string): boolean => {
      if ((count + 1) * 32 > hashes.length) {
        const grown = new Uint8Array(hashes.length * 2);
        grown.set(hashes);
        hashes = grown;
      }
      recordHashInto(canonical, hashes, count * 32);
      count++;
      pending.push(canonical);
      if (onProgress !== undefined && count % PROGRESS_EVERY === 0)
        onProgress({ phase: "read", records: count, rejected });
      return pending.length >= WRITE_CHUNK;
    };
    const flush = async (): Promise<void> => {
      await write(body, pending);
      pending = [];
    };

    if (kind === "identity") {
      const entries = format === "csv" ? readIdentityCsv({ input }) : readIdentityNdjson({ input });
      for await (const entry of entries) {
        if (!entry.ok) {
          await reject(entry);
          continue;
        }
        const item: IdentityInput = entry.value;
        const key = `${item.gtin}\u0000${item.serial}`;
        const firstLine = seen?.get(key);
        if (firstLine !== undefined) {
          const error = new ValidationError(
            `duplicate (gtin, serial) ${item.gtin} / ${item.serial}, first at line ${firstLine}`,
            {
              file: input,
              line: entry.line,
              field: "serial",
              code: "DUPLICATE_ITEM",
            },
          );
          await reject({ ok: false, error, raw: entry.raw, line: entry.line });
          continue;
        }
        seen?.set(key, entry.line ?? 0);
        if (accept(canonicalRecord(identityRecord(item, salt(count))))) await flush();
      }
    } else {
      const entries = format === "epcis" ? readEpcisDocument({ input }) : readEventNdjson({ input });
      for await (const entry of entries) {
        if (!entry.ok) {
          await reject(entry);
          continue;
        }
        const event: EpcisEvent = entry.value;
        if (accept(canonicalRecord(traceRecord(event, salt(count))))) await flush();
      }
    }
    seen?.clear();
    if (pending.length > 0) await flush();
    await close(body);
    if (rejectOut !== undefined) {
      if (pendingRejects.length > 0) await write(rejectOut, pendingRejects);
      await close(rejectOut);
    }
    if (count === 0) {
      throw new ValidationError("batch has no valid records", { file: input, code: "EMPTY_BATCH" });
    }

    onProgress?.({ phase: "tree", records: count, rejected });
    const tree = buildTree(hashes.subarray(0, count * 32));

    onProgress?.({ phase: "write", records: count, rejected });
    const out = createWriteStream(contentTmp);
    out.write(`${contentHeaderLine({ v: 1, kind, root: tree.root, leafCount: count })}\n`);
    await pipeline(createReadStream(bodyPath), out);
    const content = path.join(outDir, contentFileName(tree.root));
    await rename(contentTmp, content);
    await rm(bodyPath, { force: true });
    if (rejectsTmp !== undefined && options.skipInvalid !== undefined) await rename(rejectsTmp, options.skipInvalid);

    onProgress?.({ phase: "done", records: count, rejected });
    return {
      root: tree.root,
      leafCount: count,
      kind,
      content,
      rejected,
      ...(options.skipInvalid === undefined ? {} : { rejects: options.skipInvalid }),
      tree,
    };
  } catch (err) {
    body.destroy();
    rejectOut?.destroy();
    await Promise.all(temps.map((t) => rm(t, { force: true })));
    if (err instanceof TraceError) throw err;
    throw new TraceError("BATCH_FAILED", `building the batch from ${input} failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

async function write(stream: WriteStream, lines: string[]): Promise<void> {
  if (!stream.write(`${lines.join("\n")}\n`)) await once(stream, "drain");
}

async function close(stream: WriteStream): Promise<void> {
  stream.end();
  await once(stream, "finish");
}
