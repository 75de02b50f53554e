/**
 * RFC 4180 CSV rows over a line stream: quoted fields, doubled quotes, and line breaks inside quotes.
 *
 *   csvRows(lines): AsyncGenerator<{ line, fields, raw }>   `line` is where the row starts (1-based)
 *
 * Hand-written rather than csv-parse because csv-parse's per-record bookkeeping (needed for line
 * numbers) cost more than the rest of a million-row batch; rows without quotes take a split fast path.
 */
import { ValidationError } from "../errors";

export interface CsvRow {
  readonly line: number;
  readonly fields: string[];
  readonly raw: string;
}

/** Fields of `text`, or undefined when a quoted field is still open at the end (the row continues). */
export function parseCsvRecord(text: string): string[] | undefined {
  if (!text.includes('"')) return text.split(",");
  const fields: string[] = [];
  let i = 0;
  const n = text.length;
  for (;;) {
    if (text.charCodeAt(i) === 34 /* " */) {
      let value = "";
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q < 0) return undefined;
        value += text.slice(j, q);
        if (text.charCodeAt(q + 1) === 34) {
          value += '"';
          j = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      fields.push(value);
      if (i === n) return fields;
      if (text.charCodeAt(i) !== 44 /* , */)
        throw new ValidationError("unexpected character after a closing quote", { code: "CSV_SYNTAX" });
      i++;
    } else {
      const comma = text.indexOf(",", i);
      const end = comma < 0 ? n : comma;
      const value = text.slice(i, end);
      if (value.includes('"')) throw new ValidationError("quote inside an unquoted field", { code: "CSV_SYNTAX" });
      fields.push(value);
      if (comma < 0) return fields;
      i = comma + 1;
    }
  }
}

export async function* csvRows(lines: AsyncIterable<{ line: number; text: string }>): AsyncGenerator<CsvRow> {
  let start = 0;
  let buffer: string | undefined;
  for await (const { line, text } of lines) {
    if (buffer === undefined) {
      if (text === "") continue;
      start = line;
      buffer = text;
    } else {
      buffer += `\n${text}`;
    }
    let fields: string[] | undefined;
    try {
      fields = parseCsvRecord(buffer);
    } catch (err) {
      if (err instanceof ValidationError) throw err.withLocation({ line: start });
      throw err;
    }
    if (fields === undefined) continue;
    yield { line: start, fields, raw: buffer };
    buffer = undefined;
  }
  if (buffer !== undefined) throw new ValidationError("unterminated quoted field", { line: start, code: "CSV_SYNTAX" });
}
