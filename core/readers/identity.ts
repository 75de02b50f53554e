/**
 * Identity batch readers: CSV and NDJSON → validated `IdentityInput`s, streamed.
 *
 *   readIdentityCsv(source): AsyncGenerator<ReadEntry<IdentityInput>>
 *     header row must name `gtin` and `serial`; `lot` is optional; every other column becomes a string
 *     attribute (empty cells omitted). Quoted fields (RFC 4180) allowed.
 *   readIdentityNdjson(source): AsyncGenerator<ReadEntry<IdentityInput>>
 *     one `{"gtin","serial","lot"?,"attributes"?}` object per line; blank lines skipped.
 *
 * Rows are RFC 4180 (see ./csv.ts); a row's line is the line it starts on.
 * Checks per record: GTIN length and check digit (normalised to GTIN-14), serial and lot in GS1
 * character set 82 and ≤ 20 characters. Duplicates across records are the batch builder's job.
 * A CSV that cannot be tokenised (e.g. an unterminated quote) throws: nothing after it can be trusted.
 */
import { ValidationError } from "../errors";
import { checkLot, checkSerial, toGtin14 } from "../gs1";
import { isPlainObject, type IdentityInput, type JsonObject } from "../record";
import { csvRows } from "./csv";
import { numberedLines, openStream, sourceName, parseJsonLine } from "./source";
import type { ReadEntry, ReaderSource } from "./types";

const ITEM_COLUMNS = ["gtin", "serial", "lot"];

export async function* readIdentityCsv(source: ReaderSource): AsyncGenerator<ReadEntry<IdentityInput>> {
  const file = sourceName(source);
  let header: string[] | undefined;
  let gtinAt = -1;
  let serialAt = -1;
  let lotAt = -1;
  const attributeColumns: Array<[string, number]> = [];
  try {
    for await (const { line, fields, raw } of csvRows(numberedLines(openStream(source)))) {
      if (header === undefined) {
        header = fields.map((h) => h.trim());
        const lower = header.map((h) => h.toLowerCase());
        const seen = new Set<string>();
        for (const h of lower) {
          if (seen.has(h))
            throw new ValidationError(`duplicate column ${JSON.stringify(h)}`, { line, field: h, code: "CSV_HEADER" });
          seen.add(h);
        }
        gtinAt = lower.indexOf("gtin");
        serialAt = lower.indexOf("serial");
        lotAt = lower.indexOf("lot");
        if (gtinAt < 0 || serialAt < 0) {
          throw new ValidationError("header row must have gtin and serial columns", { line, code: "CSV_HEADER" });
        }
        header.forEach((name, i) => {
          if (!ITEM_COLUMNS.includes(lower[i] as string)) attributeColumns.push([name, i]);
        });
        continue;
      }
      if (fields.length !== header.length) {
        const error = new ValidationError(`row has ${fields.length} columns, header has ${header.length}`, {
          file,
          line,
          code: "CSV_COLUMNS",
        });
        yield { ok: false, error, raw, line };
        continue;
      }
      try {
        const lot = lotAt >= 0 && fields[lotAt] !== "" ? fields[lotAt] : undefined;
        let attributes: JsonObject | undefined;
        for (const [name, i] of attributeColumns) {
          const value = fields[i] as string;
          if (value === "") continue;
          (attributes ??= {})[name] = value;
        }
        yield {
          ok: true,
          value: identityInput(fields[gtinAt] as string, fields[serialAt], lot, attributes),
          raw,
          line,
        };
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        yield { ok: false, error: err.withLocation({ file, line }), raw, line };
      }
    }
  } catch (err) {
    // Header and tokenising errors end the read: later rows cannot be trusted.
    if (err instanceof ValidationError && err.file === undefined) throw err.withLocation({ file });
    throw err;
  }
  if (header === undefined) throw new ValidationError("CSV has no header row", { file, line: 1, code: "CSV_HEADER" });
}

export async function* readIdentityNdjson(source: ReaderSource): AsyncGenerator<ReadEntry<IdentityInput>> {
  const file = sourceName(source);
  for await (const { line, text } of numberedLines(openStream(source))) {
    if (text.trim() === "") continue;
    try {
      const value = parseJsonLine(text);
      if (!isPlainObject(value)) throw new ValidationError("line must be a JSON object", { code: "RECORD_SHAPE" });
      for (const key of Object.keys(value)) {
        if (!["gtin", "serial", "lot", "attributes"].includes(key)) {
          throw new ValidationError(`unexpected field ${JSON.stringify(key)}`, { field: key, code: "RECORD_SHAPE" });
        }
      }
      if (value.attributes !== undefined && !isPlainObject(value.attributes)) {
        throw new ValidationError("attributes must be an object", { field: "attributes", code: "RECORD_SHAPE" });
      }
      if (typeof value.gtin !== "string")
        throw new ValidationError("gtin must be a string", { field: "gtin", code: "GTIN_FORMAT" });
      const attributes = value.attributes as JsonObject | undefined;
      yield { ok: true, value: identityInput(value.gtin, value.serial, value.lot, attributes), raw: text, line };
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      yield { ok: false, error: err.withLocation({ file, line }), raw: text, line };
    }
  }
}

function identityInput(gtin: string, serial: unknown, lot: unknown, attributes: JsonObject | undefined): IdentityInput {
  const item = {
    gtin: toGtin14(gtin, "gtin"),
    serial: checkSerial(serial, "serial"),
    ...(lot === undefined ? {} : { lot: checkLot(lot, "lot") }),
  };
  return attributes === undefined || Object.keys(attributes).length === 0 ? item : { ...item, attributes };
}
