/**
 * Named errors for the core library.
 *
 * - `TraceError`: base class, carries a stable machine-readable `code`.
 * - `ValidationError`: bad input data (a GTIN, a serial, a CSV row, an EPCIS event). Carries where the
 *   problem is (`file`, 1-based `line` or 0-based `eventIndex`) and which `field`, so a CLI can print
 *   `batch.csv:17: gtin: bad check digit` and a reject file can record it.
 * - `MerkleError`: misuse of the Merkle API (empty tree, index out of range, malformed hash).
 *
 * Errors raised by pure functions have no location; readers attach one with `withLocation`, which
 * keeps the original as `cause`.
 */

export class TraceError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export interface ValidationLocation {
  readonly file?: string;
  /** 1-based line number in the input file. */
  readonly line?: number;
  /** 0-based index of the event in an EPCIS document's eventList. */
  readonly eventIndex?: number;
}

export interface ValidationDetails extends ValidationLocation {
  readonly field?: string;
  readonly code?: string;
}

export class ValidationError extends TraceError {
  readonly file?: string;
  readonly line?: number;
  readonly eventIndex?: number;
  readonly field?: string;
  /** The problem alone, without location; `message` adds file, line and field. */
  readonly reason: string;

  constructor(reason: string, details: ValidationDetails = {}, options?: ErrorOptions) {
    super(details.code ?? "VALIDATION", formatMessage(reason, details), options);
    this.reason = reason;
    if (details.file !== undefined) this.file = details.file;
    if (details.line !== undefined) this.line = details.line;
    if (details.eventIndex !== undefined) this.eventIndex = details.eventIndex;
    if (details.field !== undefined) this.field = details.field;
  }

  /** A copy of this error placed at `location`; a field given here is used only if this one has none. */
  withLocation(location: ValidationLocation & { readonly field?: string }): ValidationError {
    const field = this.field ?? location.field;
    return new ValidationError(
      this.reason,
      {
        code: this.code,
        file: location.file ?? this.file,
        line: location.line ?? this.line,
        eventIndex: location.eventIndex ?? this.eventIndex,
        field: field === undefined ? undefined : prefixField(location.field, this.field),
      },
      { cause: this },
    );
  }
}

/** A GTIN that is malformed or whose check digit is wrong. */
export class GtinError extends ValidationError {}

/** A GS1 Digital Link URI that cannot be parsed. */
export class DigitalLinkError extends ValidationError {}

/** An EPC URN that cannot be parsed. */
export class EpcUrnError extends ValidationError {}

export class MerkleError extends TraceError {}

function prefixField(outer: string | undefined, inner: string | undefined): string | undefined {
  if (outer === undefined) return inner;
  if (inner === undefined || inner === outer || inner.startsWith(`${outer}.`)) return inner ?? outer;
  return `${outer}.${inner}`;
}

function formatMessage(reason: string, d: ValidationDetails): string {
  const where: string[] = [];
  if (d.file !== undefined) where.push(d.file);
  if (d.line !== undefined) where.push(`line ${d.line}`);
  if (d.eventIndex !== undefined) where.push(`event ${d.eventIndex}`);
  const head = where.length > 0 ? `${where.join(", ")}: ` : "";
  const field = d.field !== undefined ? `${d.field}: ` : "";
  return `${head}${field}${reason}`;
}
