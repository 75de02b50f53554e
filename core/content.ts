/**
 * Content files: NDJSON, line 1 `{"v":1,"kind":…,"root":…,"leafCount":…}`, then one canonical record
 * per line in leaf (input) order; named `<root>.ndjson`.
 *
 *   contentHeaderLine(header: ContentHeader): string
 *   contentFileName(root: string): string
 *   openContentFile(source): Promise<ContentReader>      header first, then records as they stream
 *   checkContent(source, expected): Promise<ContentCheck> rebuilds the root from the records
 *
 * `checkContent` never trusts a line's bytes: each line is parsed, validated as a v1 record of the
 * header's kind, re-canonicalised and hashed, so a file that differs in any way that matters fails.
 */
import { ValidationError } from "./errors";
import { isHex32, type Hex32 } from "./hex";
import { buildTree } from "./merkle";
import { canonicalRecord, isPlainObject, parseRecord, recordHashInto, type RecordKind, type TraceAnchorRecord } from "./record";
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
  const fail = (reason: string): ValidationError => new ValidationError(reason, { file, line: 1, code: "CONTENT_HEADER" });
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
  if (first.done === true) throw new ValidationError("content file is empty", { file, line: 1, code: "CONTENT_HEADER" });
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

export async function checkContent(source: ReaderSource | string, expected: ExpectedContent): Promise<ContentCheck> {
  let reader: ContentReader;
  try {
    reader = await openContentFile(source);
  } catch (err) {
    if (err instanceof ValidationError) return { ok: false, code: "HEADER", reason: err.message, line: 1 };
    throw err;
  }
  const { header } = reader;
  const mismatch: string[] = [];
  if (header.kind !== expected.kind) mismatch.push(`kind ${header.kind} ≠ expected ${expected.kind}`);
  if (header.root !== expected.root.toLowerCase()) mismatch.push(`root ${header.root} ≠ expected ${expected.root.toLowerCase()}`);
  if (header.leafCount !== expected.leafCount) mismatch.push(`leafCount ${header.leafCount} ≠ expected ${expected.leafCount}`);
  if (mismatch.length > 0) return { ok: false, code: "HEADER_MISMATCH", reason: `header ${mismatch.join(", ")}`, line: 1 };

  // Sized from the trusted expectation, so a lying file cannot make us allocate more.
  const hashes = new Uint8Array(expected.leafCount * 32);
  let count = 0;
  try {
    for await (const { line, record } of reader.records) {
      if (count === expected.leafCount) {
        return { ok: false, code: "LEAF_COUNT", reason: `more than ${expected.leafCount} records (line ${line})`, line };
      }
      recordHashInto(canonicalRecord(record), hashes, count * 32);
      count++;
    }
  } catch (err) {
    if (err instanceof ValidationError) return { ok: false, code: "BAD_LINE", reason: err.message, line: err.line };
    throw err;
  }
  if (count !== expected.leafCount) {
    return { ok: false, code: "LEAF_COUNT", reason: `file has ${count} records, expected ${expected.leafCount}` };
  }
  const root = buildTree(hashes).root;
  if (root !== expected.root.toLowerCase()) {
    return { ok: false, code: "ROOT", reason: `records hash to root ${root}, expected ${expected.root.toLowerCase()}` };
  }
  return { ok: true, root, leafCount: count, kind: header.kind };
}
