/**
 * Content files: NDJSON, line 1 `{"v":1,"kind":…,"root":…,"leafCount":…}`, then one canonical record
 * per line in leaf (input) order; named `<root>.ndjson`.
 *
 *   contentHeaderLine(header: ContentHeader): string
 *   contentFileName(root: string): string
 *   openContentFile(source): Promise<ContentReader>      header first, then records as they stream
 *   checkContent(source, expected): Promise<ContentCheck> rebuilds the root from the records
 *   checkContentStream(chunks, expected, { maxLineLength?, onRecord? }): Promise<ContentStreamCheck>
 *                                                         the same over a stream, with the tree; the one
 *                                                         checker (the indexer's ingester and uploads use it)
 *
 * The check never trusts a line's bytes: each line is parsed, validated as a v1 record of the
 * expected kind, re-canonicalised and hashed, so a file that differs in any way that matters fails.
 */
import { StringDecoder } from "node:string_decoder";
import { ValidationError } from "./errors";
import { isHex32, type Hex32 } from "./hex";
import { buildTree, type MerkleTree } from "./merkle";
import {
  canonicalJson,
  isPlainObject,
  parseRecord,
  recordHashInto,
  type RecordKind,
  type TraceAnchorRecord,
} from "./record";
import { numberedLines, openStream, sourceName } from "./readers/source";
import type { ReaderSource } from "./readers/types";

export interface ContentHeader {
  readonly v: 1;
  readonly kind: RecordKind;
  readonly root: Hex32;
  readonly leafCount: number;
}

export interface ContentRecord {
  /** 1-based line in the content file (the first record is line 2). */
  readonly line: number;
  readonly record: TraceAnchorRecord;
}

export interface ContentReader {
  readonly header: ContentHeader;
  readonly records: AsyncIterable<ContentRecord>;
}

export type ContentCheck =
  | { readonly ok: true; readonly root: Hex32; readonly leafCount: number; readonly kind: RecordKind }
  | {
      readonly ok: false;
      readonly code: "HEADER" | "HEADER_MISMATCH" | "LEAF_COUNT" | "ROOT" | "BAD_LINE";
      readonly reason: string;
      readonly line?: number;
    };

export interface ExpectedContent {
  readonly root: string;
  readonly kind: RecordKind;
  readonly leafCount: number;
}

/** The header in the field order Protocol v1 gives. */
export function contentHeaderLine(header: ContentHeader): string {
  return JSON.stringify({ v: 1, kind: header.kind, root: header.root.toLowerCase(), leafCount: header.leafCount });
}

export function contentFileName(root: string): string {
  return `${root.toLowerCase()}.ndjson`;
}

export function parseContentHeader(text: string, file?: string): ContentHeader {
  const fail = (reason: string): ValidationError =>
    new ValidationError(reason, { file, line: 1, code: "CONTENT_HEADER" });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw fail("header is not JSON");
  }
  if (!isPlainObject(value)) throw fail("header must be a JSON object");
  if (value.v !== 1) throw fail(`unsupported content version ${JSON.stringify(value.v)}`);
  if (value.kind !== "identity" && value.kind !== "trace") throw fail("header kind must be identity or trace");
  if (!isHex32(value.root)) throw fail("header root must be 0x + 64 hex characters");
  if (typeof value.leafCount !== "number" || !Number.isSafeInteger(value.leafCount) || value.leafCount < 1) {
    throw fail("header leafCount must be a positive integer");
  }
  return { v: 1, kind: value.kind, root: value.root.toLowerCase() as Hex32, leafCount: value.leafCount };
}

export async function openContentFile(source: ReaderSource | string): Promise<ContentReader> {
  const src: ReaderSource = typeof source === "string" ? { input: source } : source;
  const file = sourceName(src);
  const lines = numberedLines(openStream(src));
  const first = await lines.next();
  if (first.done === true)
    throw new ValidationError("content file is empty", { file, line: 1, code: "CONTENT_HEADER" });
  const header = parseContentHeader(first.value.text, file);
  async function* records(): AsyncGenerator<ContentRecord> {
    for await (const { line, text } of { [Symbol.asyncIterator]: () => lines }) {
      if (text === "") continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        throw new ValidationError("record line is not JSON", { file, line, code: "CONTENT_LINE" }, { cause: err });
      }
      try {
        yield { line, record: parseRecord(value, header.kind) };
      } catch (err) {
        if (err instanceof ValidationError) throw err.withLocation({ file, line });
        throw err;
      }
    }
  }
  return { header, records: records() };
}

/** Longest content line checkContentStream accepts by default, in characters. */
export const DEFAULT_MAX_LINE_LENGTH = 16 * 1024 * 1024;

export interface CheckContentOptions {
  /** Longest line, in characters; a longer one fails the check (BAD_LINE). Default 16 Mi. */
  readonly maxLineLength?: number;
  /**
   * Called synchronously for every record, in leaf order, with its canonical text, the validated
   * record and the checker's hash buffer, which holds the record hashes of leaves 0…leaf (32 bytes
   * each, from offset 0; read it, do not write it; a later call may pass a larger copy). The
   * ingester stages rows from here. An exception aborts the check and rejects it.
   */
  readonly onRecord?: (leaf: number, canonical: string, record: TraceAnchorRecord, hashes: Uint8Array) => void;
}

export type ContentStreamCheck =
  | {
      readonly ok: true;
      readonly root: Hex32;
      readonly leafCount: number;
      readonly kind: RecordKind;
      readonly tree: MerkleTree;
    }
  | Extract<ContentCheck, { ok: false }>;

export async function checkContent(source: ReaderSource | string, expected: ExpectedContent): Promise<ContentCheck> {
  const src: ReaderSource = typeof source === "string" ? { input: source } : source;
  const check = await checkContentStream(openStream(src), expected);
  if (!check.ok) return check;
  return { ok: true, root: check.root, leafCount: check.leafCount, kind: check.kind };
}

/**
 * The content check, over a stream of chunks: the header must state the expected kind, root and
 * leaf count, and every further non-blank line must be a v1 record of that kind, whose canonical
 * text (re-serialised from the parsed value, never the line's bytes) is hashed; the rebuilt tree's
 * root must be the expected one. Memory: 32 bytes per record plus the tree, and one line. A
 * failure of the stream itself rejects (the caller decides whether that is "try again later").
 */
export async function checkContentStream(
  chunks: AsyncIterable<string | Uint8Array>,
  expected: ExpectedContent,
  options: CheckContentOptions = {},
): Promise<ContentStreamCheck> {
  const maxLineLength = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  const onRecord = options.onRecord;
  const kind = expected.kind;
  const anchoredRoot = expected.root.toLowerCase();
  const leafCount = expected.leafCount;
  type Failure = Extract<ContentCheck, { ok: false }>;
  const fail = (code: Failure["code"], reason: string, line?: number): Failure =>
    line === undefined ? { ok: false, code, reason } : { ok: false, code, reason, line };

  // Grown as records arrive, up to the trusted expectation: a lying header cannot make us allocate more.
  let hashes = new Uint8Array(32 * Math.max(1, Math.min(leafCount, 65_536)));
  let lineNo = 0;
  let header: ContentHeader | undefined;
  let count = 0;

  /** One line (without its terminator): a failure, or undefined. Synchronous on purpose. */
  const onLine = (raw: string): Failure | undefined => {
    lineNo++;
    let text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (lineNo === 1) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      try {
        header = parseContentHeader(text);
      } catch (err) {
        if (err instanceof ValidationError) return fail("HEADER", `line 1: ${err.reason}`, 1);
        throw err;
      }
      const wrong: string[] = [];
      if (header.kind !== kind) wrong.push(`kind: file says ${header.kind}, anchored ${kind}`);
      if (header.root !== anchoredRoot) wrong.push(`root: file says ${header.root}, anchored ${anchoredRoot}`);
      if (header.leafCount !== leafCount)
        wrong.push(`leafCount: header says ${header.leafCount}, anchored ${leafCount}`);
      return wrong.length > 0 ? fail("HEADER_MISMATCH", wrong.join("; "), 1) : undefined;
    }
    if (text === "") return undefined; // as the batch readers: blank lines carry no record
    count++;
    if (count > leafCount) return undefined; // only counted, for the reason
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return fail("BAD_LINE", `line ${lineNo}: not JSON`, lineNo);
    }
    const leaf = count - 1;
    let canonical: string;
    let record: TraceAnchorRecord;
    try {
      record = parseRecord(value, kind);
      // parseRecord refused any key a record does not have, so the parsed value is the record.
      canonical = canonicalJson(value);
    } catch (err) {
      if (err instanceof ValidationError) return fail("BAD_LINE", `line ${lineNo}: ${err.message}`, lineNo);
      throw err;
    }
    if ((leaf + 1) * 32 > hashes.length) {
      const grown = new Uint8Array(Math.min(hashes.length * 2, leafCount * 32));
      grown.set(hashes);
      hashes = grown;
    }
    recordHashInto(canonical, hashes, leaf * 32);
    onRecord?.(leaf, canonical, record, hashes);
    return undefined;
  };

  const decoder = new StringDecoder("utf8");
  const carry: string[] = [];
  let carryLength = 0;
  let failure: Failure | undefined;
  const tooLong = (): Failure =>
    fail("BAD_LINE", `line ${lineNo + 1}: longer than ${maxLineLength} characters`, lineNo + 1);
  /** Splits decoded text into lines; keeps an unfinished line in `carry` without re-copying it. */
  const onText = (piece: string): void => {
    let nl = piece.indexOf("\n");
    if (nl < 0) {
      carry.push(piece);
      carryLength += piece.length;
      if (carryLength > maxLineLength) failure = tooLong();
      return;
    }
    let text = piece;
    if (carry.length > 0) {
      carry.push(piece);
      text = carry.join("");
      nl += carryLength;
      carry.length = 0;
      carryLength = 0;
    }
    let start = 0;
    while (nl >= 0) {
      failure = onLine(text.slice(start, nl));
      if (failure !== undefined) return;
      start = nl + 1;
      nl = text.indexOf("\n", start);
    }
    if (start < text.length) {
      carry.push(text.slice(start));
      carryLength = text.length - start;
      if (carryLength > maxLineLength) failure = tooLong();
    }
  };

  for await (const chunk of chunks) {
    onText(
      typeof chunk === "string"
        ? chunk
        : decoder.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)),
    );
    if (failure !== undefined) return failure;
  }
  const rest = carry.join("") + decoder.end();
  if (rest !== "") failure = onLine(rest);
  if (failure !== undefined) return failure;
  if (header === undefined) return fail("HEADER", "line 1: content file is empty", 1);
  if (count !== leafCount) return fail("LEAF_COUNT", `leafCount: file has ${count}, anchored ${leafCount}`);
  const tree = buildTree(hashes.subarray(0, count * 32));
  if (tree.root !== anchoredRoot) return fail("ROOT", `root mismatch: rebuilt ${tree.root} ≠ anchored ${anchoredRoot}`);
  return { ok: true, root: tree.root, leafCount: count, kind, tree };
}
