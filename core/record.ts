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
  const item: IdentityItem = input.lot === undefined ? { gtin, serial } : { gtin, serial, lot: checkLot(input.lot, "lot") };
  if (input.attributes !== undefined && !isPlainObject(input.attributes)) {
    throw new ValidationError("attributes must be a JSON object", { field: "attributes", code: "RECORD_SHAPE" });
  }
  // An empty attributes object is dropped so that "no attributes" has exactly one encoding.
  if (input.attributes === undefined || Object.keys(input.attributes).length === 0) {
    return { v: 1, kind: "identity", salt, item };
  }
  return { v: 1, kind: "identity", salt, item, attributes: input.attributes };
}

export function traceRecord(event: EpcisEvent, salt: string): TraceRecord {
  checkSalt(salt);
  if (!isPlainObject(event) || typeof event.type !== "string") {
    throw new ValidationError("event must be an object with a string type", { field: "event.type", code: "RECORD_SHAPE" });
  }
  return { v: 1, kind: "trace", salt, event };
}

export function canonicalRecord(record: TraceAnchorRecord): string {
  if (record.kind === "identity") {
    const fast = canonicalIdentity(record);
    if (fast !== undefined) return fast;
  }
  const text = canonicalize(record);
  if (text === undefined) throw new ValidationError("record cannot be canonicalised", { code: "RECORD_SHAPE" });
  return text;
}

/**
 * JCS text of an identity record whose values are all strings, without the generic serializer's
 * per-node reduce: a million-record batch spends most of its time here. Keys are emitted in JCS
 * order (UTF-16 code units: attributes < item < kind < salt < v; gtin < lot < serial), strings via
 * JSON.stringify, whose escaping is exactly JCS's. Returns undefined when the fast path does not
 * apply; tests check it against `canonicalize` on arbitrary input.
 */
function canonicalIdentity(record: IdentityRecord): string | undefined {
  const { item, attributes } = record;
  const keyCount = 4 + ("attributes" in record ? 1 : 0);
  if (record.v !== 1 || Object.keys(record).length !== keyCount || typeof record.salt !== "string") return undefined;
  if (typeof item !== "object" || item === null || typeof item.gtin !== "string" || typeof item.serial !== "string") return undefined;
  if (item.lot !== undefined && typeof item.lot !== "string") return undefined;
  if (Object.keys(item).length !== (item.lot === undefined ? 2 : 3)) return undefined;
  let attrs = "";
  if (attributes !== undefined) {
    const keys = Object.keys(attributes).sort();
    const parts: string[] = [];
    for (const key of keys) {
      const value = attributes[key];
      if (typeof value !== "string") return undefined;
      parts.push(`${JSON.stringify(key)}:${JSON.stringify(value)}`);
    }
    attrs = `"attributes":{${parts.join(",")}},`;
  }
  const lot = item.lot === undefined ? "" : `"lot":${JSON.stringify(item.lot)},`;
  return (
    `{${attrs}"item":{"gtin":${JSON.stringify(item.gtin)},${lot}"serial":${JSON.stringify(item.serial)}},` +
    `"kind":"identity","salt":${JSON.stringify(record.salt)},"v":1}`
  );
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
    if (!isPlainObject(event) || typeof event.type !== "string") throw shape("event must be an object with a type", "event");
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
