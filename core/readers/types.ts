/**
 * What every batch reader yields: one entry per input record, valid or not, so the batch builder
 * decides whether an invalid one aborts the batch or goes to the reject file.
 */
import type { ValidationError } from "../errors";

export interface ReadLocation {
  /** 1-based line in the input file (CSV: the line the row ends on). */
  readonly line?: number;
  /** 0-based index in an EPCIS document's eventList. */
  readonly eventIndex?: number;
}

export type ReadEntry<T> =
  | (ReadLocation & { readonly ok: true; readonly value: T; readonly raw: string })
  | (ReadLocation & { readonly ok: false; readonly error: ValidationError; readonly raw: string });

export type BatchFormat = "csv" | "ndjson" | "epcis";

export interface ReaderSource {
  /** A path, or a stream plus the name to use in error messages. */
  readonly input: string | NodeJS.ReadableStream;
  readonly file?: string;
}
