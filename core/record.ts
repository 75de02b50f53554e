/**
 * Protocol v1 records, their canonical form and their hash.
 *
 *   identityRecord(input: IdentityInput, salt: string): IdentityRecord   validates + normalises GTIN to 14 digits
 *   traceRecord(event: EpcisEvent, salt: string): TraceRecord             event kept unchanged
 *   canonicalRecord(record: TraceAnchorRecord): string                    RFC 8785 (JCS) text
 *   recordHash(record | canonicalText): Hex32                             keccak256(UTF-8(canonical))
 *   recordHashInto(canonicalText, out, offset): void                      same, into a packed buffer
 *   parseRecord(value: unknown, kind?): TraceAnchorRecord                 validates a decoded JSON record
 *
 * A string passed to `recordHash` is hashed as is: it must already be canonical. Callers that read
 * untrusted text (content files) parse it and call `canonicalRecord` first.
 */
import canonicalize from "canonicalize";
import { ValidationError } from "./errors";
import { checkLot, checkSerial, isGtin14, toGtin14 } from "./gs1";
import { bytesToHex, type Hex32 } from "./hex";
import { keccak256Utf8Into } from "./keccak";
import { SALT_PATTERN } from "./salt";

export const PROTOCOL_VERSION = 1;

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export type RecordKind = "identity" | "trace";
/** On-chain batch kind numbers. */
export const KIND_CODE: Readonly<Record<RecordKind, 1 | 2>> = { identity: 1, trace: 2 };
/** The record kind of an on-chain batch kind number (1 = identity, 2 = trace); undefined for any other. */
export function kindOfCode(code: number): RecordKind | undefined {
  return code === 1 ? "identity" : code === 2 ? "trace" : undefined;
}

export interface IdentityItem {
  readonly gtin: string;
  readonly serial: string;
  readonly lot?: string;
}

export interface IdentityRecord {
  readonly v: 1;
  readonly kind: "identity";
  readonly salt: string;
  readonly item: IdentityItem;
  readonly attributes?: JsonObject;
}

/** An EPCIS 2.0 event as found in `epcisBody.eventList`; only `type` is structurally required here. */
export interface EpcisEvent extends JsonObject {
  type: string;
}

export interface TraceRecord {
  readonly v: 1;
  readonly kind: "trace";
  readonly salt: string;
  readonly event: EpcisEvent;
}

export type TraceAnchorRecord = IdentityRecord | TraceRecord;

export interface IdentityInput {
  readonly gtin: string;
  readonly serial: string;
  readonly lot?: string;
  readonly attributes?: JsonObject;
}

export function identityRecord(input: IdentityInput, salt: string): IdentityRecord {
  checkSalt(salt);
  const gtin = toGtin14(input.gtin, "gtin");
  const serial = checkSerial(input.serial, "serial");
  // Keys in JCS order (attributes < item < kind < salt < v; gtin < lot < serial), so that
  // canonicalRecord's fast path applies to what we build.
  const item: IdentityItem =
    input.lot === undefined ? { gtin, serial } : { gtin, lot: checkLot(input.lot, "lot"), serial };
  if (input.attributes !== undefined && !isPlainObject(input.attributes)) {
    throw new ValidationError("attributes must be a JSON object", { field: "attributes", code: "RECORD_SHAPE" });
  }
  // An empty attributes object is dropped so that "no attributes" has exactly one encoding.
  if (input.attributes === undefined || Object.keys(input.attributes).length === 0) {
    return { item, kind: "identity", salt, v: 1 };
  }
  const given = input.attributes;
  // fromEntries defines own properties, so a "__proto__" key stays data, as JSON.parse keeps it.
  const attributes = Object.fromEntries(
    Object.keys(given)
      .sort()
      .map((key) => [key, given[key]]),
  ) as JsonObject;
  return { attributes, item, kind: "identity", salt, v: 1 };
}

export function traceRecord(event: EpcisEvent, salt: string): TraceRecord {
  checkSalt(salt);
  if (!isPlainObject(event) || typeof event.type !== "string") {
    throw new ValidationError("event must be an object with a string type", {
      field: "event.type",
      code: "RECORD_SHAPE",
    });
  }
  return { v: 1, kind: "trace", salt, event };
}

export function canonicalRecord(record: TraceAnchorRecord): string {
  return canonicalJson(record);
}

/**
 * RFC 8785 (JCS) text of a JSON value. When every object in it already has its keys in JCS order
 * (UTF-16 code units, ascending), JCS text is JSON.stringify's: JCS takes its string escaping and
 * number formatting from it. Content files are written canonical and records are built in that
 * order (identityRecord), so this is the usual case, and it is about twice as fast as the generic
 * serializer (docs/benchmarks.md); anything else goes through `canonicalize`. Tests check both
 * against `canonicalize` on arbitrary input.
 */
export function canonicalJson(value: unknown): string {
  const text = inJcsKeyOrder(value) ? JSON.stringify(value) : canonicalize(value);
  if (text === undefined) throw new ValidationError("record cannot be canonicalised", { code: "RECORD_SHAPE" });
  return text;
}

function inJcsKeyOrder(value: unknown): boolean {
  if (typeof value === "number") return Number.isFinite(value);
  if (typeof value !== "object" || value === null)
    return typeof value === "string" || typeof value === "boolean" || value === null;
  if (Array.isArray(value)) {
    for (const item of value) if (!inJcsKeyOrder(item)) return false;
    return true;
  }
  // toJSON (Dates) and other non-plain objects serialise in ways JCS does not describe.
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return false;
  const object = value as Record<string, unknown>;
  let previous: string | undefined;
  for (const key in object) {
    if (previous !== undefined && !(previous < key)) return false;
    if (!inJcsKeyOrder(object[key])) return false;
    previous = key;
  }
  return true;
}

export function recordHash(record: TraceAnchorRecord | string): Hex32 {
  const out = new Uint8Array(32);
  keccak256Utf8Into(typeof record === "string" ? record : canonicalRecord(record), out, 0);
  return bytesToHex(out);
}

export function recordHashInto(canonicalText: string, out: Uint8Array, offset: number): void {
  keccak256Utf8Into(canonicalText, out, offset);
}

/** Validates a decoded JSON value as a v1 record (of `kind`, when given). Extra keys are refused. */
export function parseRecord(value: unknown, kind?: RecordKind): TraceAnchorRecord {
  if (!isPlainObject(value)) throw shape("record must be a JSON object");
  if (value.v !== PROTOCOL_VERSION) throw shape(`unsupported record version ${JSON.stringify(value.v)}`, "v");
  if (value.kind !== "identity" && value.kind !== "trace") throw shape("kind must be identity or trace", "kind");
  if (kind !== undefined && value.kind !== kind) throw shape(`expected a ${kind} record, got ${value.kind}`, "kind");
  if (typeof value.salt !== "string" || !SALT_PATTERN.test(value.salt)) {
    throw shape("salt must be 32 lowercase hex characters", "salt");
  }
  if (value.kind === "trace") {
    onlyKeys(value, ["v", "kind", "salt", "event"]);
    const event = value.event;
    if (!isPlainObject(event) || typeof event.type !== "string")
      throw shape("event must be an object with a type", "event");
    return { v: 1, kind: "trace", salt: value.salt, event: event as EpcisEvent };
  }
  onlyKeys(value, ["v", "kind", "salt", "item", "attributes"]);
  const item = value.item;
  if (!isPlainObject(item)) throw shape("item must be an object", "item");
  onlyKeys(item, ["gtin", "serial", "lot"], "item.");
  if (typeof item.gtin !== "string" || !isGtin14(item.gtin)) {
    throw new ValidationError("item.gtin must be a GTIN-14 with a valid check digit", {
      field: "item.gtin",
      code: "GTIN_FORMAT",
    });
  }
  const serial = checkSerial(item.serial, "item.serial");
  const lot = item.lot === undefined ? undefined : checkLot(item.lot, "item.lot");
  const parsedItem: IdentityItem = lot === undefined ? { gtin: item.gtin, serial } : { gtin: item.gtin, serial, lot };
  if (value.attributes === undefined) return { v: 1, kind: "identity", salt: value.salt, item: parsedItem };
  if (!isPlainObject(value.attributes)) throw shape("attributes must be an object", "attributes");
  return { v: 1, kind: "identity", salt: value.salt, item: parsedItem, attributes: value.attributes as JsonObject };
}

export function isPlainObject(value: unknown): value is { [key: string]: unknown } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkSalt(salt: string): void {
  if (typeof salt !== "string" || !SALT_PATTERN.test(salt)) {
    throw new ValidationError("salt must be 32 lowercase hex characters", { field: "salt", code: "BAD_SALT" });
  }
}

function onlyKeys(value: { [key: string]: unknown }, allowed: readonly string[], prefix = ""): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw shape(`unexpected field ${JSON.stringify(key)}`, `${prefix}${key}`);
  }
}

function shape(reason: string, field?: string): ValidationError {
  return new ValidationError(reason, { field, code: "RECORD_SHAPE" });
}
