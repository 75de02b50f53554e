/**
 * EPCIS 2.0 validation: GS1's EPCIS JSON Schema (core/schemas/EPCIS-JSON-Schema.json, 2023),
 * compiled once with ajv, with the amendments in EPCIS_AMENDMENTS, then the rules a schema cannot
 * express (EPCIS_RULES). Pure: the batch readers and the capture endpoint share it.
 * docs/epcis.md lists every amendment and rule and why.
 *
 *   validateEpcisDocument(doc: unknown): EpcisValidation            an EPCISDocument: envelope and every event
 *   validateEpcisEnvelope(doc: unknown): EpcisValidation            the document around its eventList only
 *   validateEpcisEvent(event: unknown, options?): EpcisValidation   one event as found in an eventList
 *   documentEvents(doc: unknown): unknown[]                         the eventList of a valid envelope, or throws
 *   validateEvent(event: unknown): EpcisEvent                       the event if valid, or throws
 *     (both throw the first problem as a ValidationError naming the field, for the batch readers)
 *   EPCIS_AMENDMENTS, EPCIS_RULES                                   id and summary of each change
 *   EVENT_TYPES                                                     the five EPCIS 2.0 event types
 *
 * A problem names the field as a path (`quantityList[0].quantity`: relative to the event for an
 * event's problems, to the document otherwise), the event's index in the eventList when there is
 * one, and `pointer`, the RFC 6901 JSON pointer into the validated value.
 */
import type { default as AjvClass, ErrorObject, ValidateFunction } from "ajv";
import type { default as AddFormats } from "ajv-formats";
import { CBV_VOCABULARIES, MEASUREMENT_TYPE_NAME, vocabularyOf, type VocabularyName } from "./cbv";
import { ValidationError } from "./errors";
import { isPlainObject, type EpcisEvent } from "./record";
import type gs1SchemaJson from "./schemas/EPCIS-JSON-Schema.json";

export interface EpcisProblem {
  /** 0-based index in epcisBody.eventList, for a problem in an event of a document. */
  readonly eventIndex?: number;
  /** Path of the field, e.g. "quantityList[0].quantity"; "" for the value itself. */
  readonly field: string;
  /** RFC 6901 pointer into the validated value, e.g. "/epcisBody/eventList/0/quantityList/0/quantity". */
  readonly pointer: string;
  readonly message: string;
  /** "schema" (GS1's schema as amended), or the id of a TraceAnchor rule in EPCIS_RULES. */
  readonly rule: string;
}

export interface EpcisValidation {
  readonly ok: boolean;
  readonly errors: readonly EpcisProblem[];
}

export interface EventValidationOptions {
  /** A standalone event (not inside a document) must carry its own @context (GS1's schema, root). */
  readonly requireContext?: boolean;
}

export interface Change {
  readonly id: string;
  readonly summary: string;
}

/** Changes to GS1's 2023 schema, applied when it is compiled (the file itself is GS1's, unchanged). */
export const EPCIS_AMENDMENTS: readonly Change[] = [
  {
    id: "A1",
    summary: "persistentDisposition is also accepted in AggregationEvent, AssociationEvent and TransactionEvent",
  },
  { id: "A2", summary: "a sensorReport need not have a type" },
  {
    id: "A3",
    summary:
      "a bare measurement type may be any GS1 Web Vocabulary style name (UpperCamelCase), not only the 2023 list",
  },
  {
    id: "A4",
    summary: "a CBV standard value may also be written as its CBV 1.x URN (urn:epcglobal:cbv:bizstep:shipping)",
  },
  {
    id: "A5",
    summary:
      "date-time is xsd:dateTimeStamp as RFC 3339 writes it: T, a mandatory Z or ±hh:mm offset, real calendar dates",
  },
];

/** Rules GS1's schema cannot express (or leaves open) that TraceAnchor adds. */
export const EPCIS_RULES: readonly Change[] = [
  {
    id: "TA1",
    summary:
      "an event names what it is about: an EPC, a quantity element or a parentID, or (ObjectEvent) sensor readings at a readPoint",
  },
  { id: "TA2", summary: "a quantity is not negative" },
  { id: "TA3", summary: "fields nested inside a user extension or ILMD value are namespaced too" },
];

const SCHEMA_ID = "urn:traceanchor:gs1-epcis-json-schema-2023-amended";
const ENVELOPE = "traceanchor-envelope";
/** The five EPCIS 2.0 event types (an extension event type is a URI). */
export const EVENT_TYPES: readonly string[] = [
  "ObjectEvent",
  "AggregationEvent",
  "TransactionEvent",
  "TransformationEvent",
  "AssociationEvent",
];
const EPC_LISTS = ["epcList", "childEPCs", "inputEPCList", "outputEPCList"] as const;
const QUANTITY_LISTS = ["quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"] as const;
const VALUE_KEYWORDS = new Set(["type", "enum", "format", "pattern", "const", "not"]);
const NO_NAMESPACE_OK = new Set(["id", "type"]);

type Segment = string | number;
type Schema = Record<string, unknown>;

interface Compiled {
  readonly envelope: ValidateFunction;
  readonly event: ValidateFunction;
  readonly uri: ValidateFunction;
  /** Every field name GS1's schema defines anywhere (terms of the EPCIS JSON-LD context). */
  readonly knownFields: ReadonlySet<string>;
}

/** The schema, compiled once: `fast` stops at the first error; `detailed` (compiled on the first invalid input) reports all. */
let fast: Compiled | undefined;
let detailed: Compiled | undefined;

export function validateEpcisDocument(doc: unknown): EpcisValidation {
  const envelope = validateEpcisEnvelope(doc);
  const body = isPlainObject(doc) ? doc.epcisBody : undefined;
  const events = isPlainObject(body) && Array.isArray(body.eventList) ? body.eventList : [];
  const errors = [...envelope.errors];
  events.forEach((event: unknown, eventIndex) => {
    for (const p of validateEpcisEvent(event).errors) {
      errors.push({ ...p, eventIndex, pointer: `/epcisBody/eventList/${eventIndex}${p.pointer}` });
    }
  });
  return { ok: errors.length === 0, errors };
}

export function validateEpcisEnvelope(doc: unknown): EpcisValidation {
  if (!isPlainObject(doc)) return result([problem([], "EPCIS document must be a JSON object")]);
  if (validators(false).envelope(doc)) return result([]);
  const { envelope } = validators(true);
  envelope(doc);
  return result(describe(envelope.errors ?? [], doc, false));
}

export function validateEpcisEvent(event: unknown, options: EventValidationOptions = {}): EpcisValidation {
  if (!isPlainObject(event)) return result([problem([], "event must be a JSON object")]);
  const v = validators(false);
  const found: EpcisProblem[] = [];
  if (options.requireContext === true && event["@context"] === undefined) {
    found.push(problem(["@context"], "a standalone event must carry its own @context"));
  }
  if (!v.event(event)) {
    const all = validators(true).event;
    all(event);
    return result([...found, ...describe(all.errors ?? [], event, true)]);
  }
  found.push(...extraRules(event, v));
  return result(found);
}

export function documentEvents(doc: unknown): unknown[] {
  const [first] = validateEpcisEnvelope(doc).errors;
  if (first !== undefined) throw problemError(first);
  const body = isPlainObject(doc) ? doc.epcisBody : undefined;
  return isPlainObject(body) && Array.isArray(body.eventList) ? body.eventList : [];
}

export function validateEvent(event: unknown): EpcisEvent {
  const [first] = validateEpcisEvent(event).errors;
  if (first !== undefined) throw problemError(first);
  return event as EpcisEvent;
}

/** The first problem of a validation as the readers' ValidationError (field "" → none). */
export function problemError(p: EpcisProblem): ValidationError {
  return new ValidationError(p.message, {
    field: p.field === "" ? undefined : p.field,
    eventIndex: p.eventIndex,
    code: "EPCIS_INVALID",
  });
}

function result(errors: EpcisProblem[]): EpcisValidation {
  return { ok: errors.length === 0, errors };
}

function problem(path: readonly Segment[], message: string, rule = "schema"): EpcisProblem {
  return { field: fieldPath(path), pointer: pointerOf(path), message, rule };
}

// ---------------------------------------------------------------------------------------------
// Compiling GS1's schema with the amendments

function validators(allErrors: boolean): Compiled {
  const cached = allErrors ? detailed : fast;
  if (cached !== undefined) return cached;
  // ajv, its formats and GS1's schema are loaded on the first validation, not with core: they cost
  // every process that imports core (`traceanchor index`, say) about a tenth of a second of start-up.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const Ajv = (require("ajv") as { default: typeof AjvClass }).default;
  const addFormats = (require("ajv-formats") as { default: typeof AddFormats }).default;
  /* eslint-enable @typescript-eslint/no-require-imports */
  // GS1's schema lists, in some anyOf branches, required properties that branch does not define.
  const ajv = new Ajv({ strict: true, strictRequired: false, allErrors, verbose: allErrors });
  addFormats(ajv, ["uri"]);
  ajv.addFormat("date-time", { type: "string", validate: isDateTimeStamp });
  const schema = amendedSchema();
  ajv.addSchema(schema);
  const made: Compiled = {
    envelope: ajv.compile({ $ref: `${SCHEMA_ID}#/definitions/${ENVELOPE}` }),
    event: ajv.compile({ $ref: `${SCHEMA_ID}#/definitions/EPCIS-Document-Event` }),
    uri: ajv.compile({ type: "string", format: "uri" }),
    knownFields: fieldNamesOf(schema),
  };
  if (allErrors) detailed = made;
  else fast = made;
  return made;
}

function amendedSchema(): Schema {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const gs1Schema = require("./schemas/EPCIS-JSON-Schema.json") as typeof gs1SchemaJson;
  const schema = structuredClone(gs1Schema) as Schema;
  schema.$id = SCHEMA_ID;
  const defs = node(schema, "definitions");

  // A1: GS1's XML schema (EPCglobal-epcis-2_0.xsd) and JSON-LD context allow persistentDisposition
  // in these events; the 2023 JSON schema does not (GS1 issue #440 is open).
  for (const type of ["AggregationEvent", "AssociationEvent", "TransactionEvent"]) {
    const body = element(node(defs, type), "allOf", 1);
    node(body, "properties").persistentDisposition = { $ref: "#/definitions/persistentDisposition" };
    const names = element(node(body, "propertyNames"), "anyOf", 1);
    list(names, "enum").push("persistentDisposition");
  }

  // A2: the XML schema and SHACL shapes of the same release make sensorReport's type optional.
  const report = node(defs, "sensorReport");
  report.required = list(report, "required").filter((r) => r !== "type");
  if (list(report, "required").length === 0) delete report.required;

  // A3: measurement types GS1 added to its Web Vocabulary after 2023.
  list(node(defs, "measurementType"), "anyOf").push({ type: "string", pattern: MEASUREMENT_TYPE_NAME.source });

  // A4: CBV 1.x URNs of standard values, e.g. from documents converted from EPCIS 1.2 XML.
  for (const name of ["bizStep", "disposition", "bizTransactionType", "sourceDestType", "errorReason"] as const) {
    const vocabulary = CBV_VOCABULARIES[name];
    const urn = vocabulary.urnPrefix ?? "";
    list(node(defs, vocabulary.definition), "anyOf").push({
      type: "string",
      enum: [...vocabulary.terms].map((t) => `${urn}${t}`),
    });
  }

  // The envelope: an EPCISDocument whose events are validated one by one (each gets its index).
  const envelope = structuredClone(node(defs, "epcisDocument"));
  node(node(node(envelope, "properties"), "epcisBody"), "properties").eventList = { type: "array" };
  defs[ENVELOPE] = envelope;
  return schema;
}

function node(parent: Schema, key: string): Schema {
  const value = parent[key];
  if (!isPlainObject(value)) throw new Error(`GS1's EPCIS schema changed shape: no object at ${key}`);
  return value;
}

function element(parent: Schema, key: string, index: number): Schema {
  const value = list(parent, key)[index];
  if (!isPlainObject(value)) throw new Error(`GS1's EPCIS schema changed shape: no object at ${key}[${index}]`);
  return value;
}

function list(parent: Schema, key: string): unknown[] {
  const value = parent[key];
  if (!Array.isArray(value)) throw new Error(`GS1's EPCIS schema changed shape: no array at ${key}`);
  return value;
}

function fieldNamesOf(schema: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(schema)) for (const s of schema) fieldNamesOf(s, into);
  else if (isPlainObject(schema)) {
    for (const [key, value] of Object.entries(schema)) {
      if (key === "properties" && isPlainObject(value)) for (const name of Object.keys(value)) into.add(name);
      if (key === "enum" && Array.isArray(value)) continue;
      fieldNamesOf(value, into);
    }
  }
  return into;
}

/**
 * xsd:dateTimeStamp (EPCIS's time type) in the RFC 3339 form JSON Schema's date-time names: an
 * upper-case T, seconds, optional fraction, and a mandatory Z or ±hh:mm offset up to 14:00.
 */
const DATE_TIME_STAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-](\d{2}):(\d{2}))$/;

function isDateTimeStamp(value: string): boolean {
  const m = DATE_TIME_STAMP.exec(value);
  if (m === null) return false;
  const n = (i: number): number => Number(m[i] ?? 0);
  const [year, month, day] = [n(1), n(2), n(3)];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  if (days === undefined || day < 1 || day > days) return false;
  if (n(4) > 23 || n(5) > 59 || n(6) > 59) return false;
  return n(8) <= 59 && n(7) * 60 + n(8) <= 14 * 60;
}

// ---------------------------------------------------------------------------------------------
// ajv's errors as one message per problem, in the words of EPCIS

function describe(errors: readonly ErrorObject[], data: unknown, isEvent: boolean): EpcisProblem[] {
  const live = errors.filter((e) => e.keyword !== "if" && !insidePropertyNames(e, data));
  const consumed = new Set<ErrorObject>();
  const found: EpcisProblem[] = [];
  const anyOfs = live.filter((e) => e.keyword === "anyOf").sort((a, b) => a.schemaPath.length - b.schemaPath.length);
  for (const anyOf of anyOfs) {
    if (consumed.has(anyOf)) continue;
    const prefix = `${anyOf.schemaPath}/`;
    // A value's alternatives are $refs (their errors carry the definition's path); an object's are inline.
    const scalar = anyOf.instancePath !== "" && !isPlainObject(valueAt(data, segmentsOf(anyOf.instancePath, data)));
    const alternatives = live.filter(
      (e) =>
        e !== anyOf &&
        (e.instancePath === anyOf.instancePath || e.instancePath.startsWith(`${anyOf.instancePath}/`)) &&
        (scalar ||
          e.schemaPath.startsWith(prefix) ||
          (e.instancePath === anyOf.instancePath && VALUE_KEYWORDS.has(e.keyword))),
    );
    consumed.add(anyOf);
    for (const e of alternatives) consumed.add(e);
    const others = live.filter((e) => e !== anyOf && !alternatives.includes(e));
    const p = describeAnyOf(anyOf, alternatives, others, data, isEvent);
    if (p !== undefined) found.push(p);
  }
  for (const e of live) {
    if (consumed.has(e)) continue;
    found.push(describeOne(e, data, isEvent));
  }
  const seen = new Set<string>();
  return found.filter((p) => {
    const key = `${p.pointer}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Errors ajv raises while checking a property *name* carry the object's path but a string as data. */
function insidePropertyNames(e: ErrorObject, data: unknown): boolean {
  if (e.propertyName !== undefined) return true;
  return (
    e.keyword !== "propertyNames" &&
    typeof e.data === "string" &&
    isPlainObject(valueAt(data, segmentsOf(e.instancePath, data)))
  );
}

function describeAnyOf(
  anyOf: ErrorObject,
  alternatives: readonly ErrorObject[],
  others: readonly ErrorObject[],
  data: unknown,
  isEvent: boolean,
): EpcisProblem | undefined {
  const path = segmentsOf(anyOf.instancePath, data);
  const value = valueAt(data, path);
  const last = path[path.length - 1];
  if (path.length === 0 && isEvent && isPlainObject(data)) {
    // ObjectEvent's allOf[3]: ilmd only with action ADD. allOf[2] of every event: what it names.
    if (anyOf.schemaPath.startsWith("#/allOf/3/")) {
      if (data.ilmd === undefined || data.action === "ADD" || (data.action !== "OBSERVE" && data.action !== "DELETE"))
        return undefined;
      return problem(
        ["ilmd"],
        `ilmd (instance/lot master data) is only allowed when action is ADD, not ${String(data.action)}`,
      );
    }
    // When an identifier in a list is invalid, every alternative fails too; the error at that
    // identifier is the one to report.
    const lists: readonly string[] = [...EPC_LISTS, ...QUANTITY_LISTS];
    if (others.some((e) => lists.includes(segmentsOf(e.instancePath, data)[0] as string))) return undefined;
    const subject = missingSubject(data) ?? subjectMessage(data);
    return problem([subject.field], subject.message);
  }
  if (last === "persistentDisposition")
    return problem(path, "persistentDisposition must have a non-empty set or unset list");
  if (last === "certificationInfo")
    return problem(path, `certificationInfo must be a URI or a list of URIs, got ${preview(value)}`);
  if (last === "@context")
    return problem(path, `@context must be a URI, a JSON-LD context object, or a list of them, got ${preview(value)}`);
  const vocabulary = isEvent ? vocabularyOf(path) : undefined;
  if (vocabulary !== undefined) return problem(path, vocabularyMessage(vocabulary, value));
  const allowed = alternatives.flatMap((e) => {
    const values: unknown = e.keyword === "enum" ? (e.params as Record<string, unknown>).allowedValues : undefined;
    return Array.isArray(values) ? (values as unknown[]) : [];
  });
  const uri = alternatives.some(
    (e) => e.keyword === "format" && (e.params as Record<string, unknown>).format === "uri",
  );
  const options = [...(allowed.length > 0 ? [oneOf(allowed)] : []), ...(uri ? ["a URI"] : [])];
  if (options.length > 0) return problem(path, `must be ${options.join(" or ")}, got ${preview(value)}`);
  const first = alternatives[0];
  return first === undefined ? problem(path, anyOf.message ?? "is not valid") : describeOne(first, data, isEvent);
}

function describeOne(e: ErrorObject, data: unknown, isEvent: boolean): EpcisProblem {
  const path = segmentsOf(e.instancePath, data);
  const value = valueAt(data, path);
  const last = path[path.length - 1];
  const params = e.params as Record<string, unknown>;
  const name = typeof last === "string" ? `${last} ` : "";
  switch (e.keyword) {
    case "required": {
      const missing = String(params.missingProperty);
      if (path.length === 0 && missing === "@context")
        return problem(
          [missing],
          isEvent ? "a standalone event must carry its own @context" : "EPCIS document has no @context",
        );
      return problem([...path, missing], `${missing} is required${where(path, isEvent)}`);
    }
    case "type":
      if (path.length === 1 && last === "type" && isEvent) return problem(path, eventTypeMessage(value));
      return problem(path, `${name}must be ${article(String(params.type))}, got ${preview(value)}`);
    case "format":
      if (path.length === 1 && last === "type" && isEvent) return problem(path, eventTypeMessage(value));
      if (params.format === "date-time") {
        return problem(
          path,
          `${name}must be an ISO 8601 date-time with an offset (e.g. 2024-01-31T12:00:00Z or 2024-01-31T13:00:00+01:00), got ${preview(value)}`,
        );
      }
      return problem(
        path,
        `${name}must be a URI (scheme:…, e.g. urn:epc:id:sgtin:… or https://…), got ${preview(value)}`,
      );
    case "pattern":
      return problem(path, patternMessage(last, String(params.pattern), value));
    case "enum": {
      const allowed = Array.isArray(params.allowedValues) ? params.allowedValues : [];
      if (path.length === 1 && last === "type" && !isEvent)
        return problem(path, `type must be "EPCISDocument", got ${preview(value)}`);
      return problem(path, `${name}must be ${oneOf(allowed)}, got ${preview(value)}`);
    }
    case "additionalProperties": {
      const extra = String(params.additionalProperty);
      const allowed =
        isPlainObject(e.parentSchema) && isPlainObject(e.parentSchema.properties)
          ? Object.keys(e.parentSchema.properties)
          : [];
      return problem(
        [...path, extra],
        `unknown field "${extra}"${where(path, isEvent)}: allowed fields are ${allowed.join(", ")}`,
      );
    }
    case "propertyNames": {
      const key = String(params.propertyName);
      if (last === "ilmd") {
        return problem(
          [...path, key],
          `ILMD field "${key}" has no namespace: ILMD fields are user extensions, named by a URI or CURIE (e.g. example:${key})`,
        );
      }
      return problem(
        [...path, key],
        `unknown field "${key}"${where(path, isEvent)}: a field EPCIS does not define is a user extension and must be named by a URI or CURIE (e.g. example:${key})`,
      );
    }
    case "minItems":
      return problem(path, `${name}must have at least ${String(params.limit)} item${params.limit === 1 ? "" : "s"}`);
    case "uniqueItems":
      return problem(
        path,
        `${name}must not repeat a value (items ${String(params.j)} and ${String(params.i)} are equal)`,
      );
    case "not":
      return problem(path, `${name}is not allowed here`);
    default:
      return problem(path, e.message ?? `fails ${e.keyword}`);
  }
}

function subjectMessage(event: Record<string, unknown>): { field: string; message: string } {
  switch (event.type) {
    case "TransformationEvent":
      return {
        field: "inputEPCList",
        message:
          "event names no inputs or outputs (needs inputEPCList or inputQuantityList and outputEPCList or outputQuantityList, or a transformationID with at least one of them)",
      };
    case "AggregationEvent":
    case "AssociationEvent":
      return {
        field: "childEPCs",
        message: "event names no identifiers (needs childEPCs or childQuantityList, or action DELETE with a parentID)",
      };
    case "TransactionEvent":
      return {
        field: "epcList",
        message: "event names no identifiers (needs a non-empty epcList or quantityList, or a parentID)",
      };
    default:
      return {
        field: "epcList",
        message:
          "event names no identifiers (needs a non-empty epcList or quantityList, or sensorElementList readings at a readPoint)",
      };
  }
}

function eventTypeMessage(value: unknown): string {
  return `type must be one of ${EVENT_TYPES.join(", ")}, or a URI naming an extension event type, got ${preview(value)}`;
}

function vocabularyMessage(name: VocabularyName, value: unknown): string {
  const vocabulary = CBV_VOCABULARIES[name];
  const examples = vocabulary.examples.join(", ");
  const got = preview(value);
  if (typeof value !== "string") return `must be ${vocabulary.description} (e.g. ${examples}) or a URI, got ${got}`;
  const standardUri =
    /^(?:urn:epcglobal:cbv:|https?:\/\/ns\.gs1\.org\/cbv\/|https?:\/\/(?:www\.)?gs1\.org\/voc\/)/.test(value);
  if (standardUri) {
    return `${got} is not ${vocabulary.description}; a standard value is written as its bare term (e.g. ${examples})`;
  }
  return `${got} is not ${vocabulary.description} (e.g. ${examples}); a value that is not a standard term must be a URI`;
}

function patternMessage(last: Segment | undefined, pattern: string, value: unknown): string {
  if (last === "eventTimeZoneOffset")
    return `eventTimeZoneOffset must be ±hh:mm between -14:00 and +14:00 (e.g. +01:00), got ${preview(value)}`;
  if (last === "uom")
    return `uom must be a UN/ECE Recommendation 20 unit code (2 or 3 capital letters or digits, e.g. KGM), got ${preview(value)}`;
  if (last === "schemaVersion") return `schemaVersion must be a version number such as 2.0, got ${preview(value)}`;
  if (last === "hexBinaryValue") return `hexBinaryValue must be hexadecimal digits, got ${preview(value)}`;
  return `must match ${pattern}, got ${preview(value)}`;
}

function where(path: readonly Segment[], isEvent: boolean): string {
  const names = path.filter((p): p is string => typeof p === "string");
  const last = names[names.length - 1];
  if (last === undefined) return isEvent ? "" : " in an EPCIS document";
  const containers: Record<string, string> = {
    quantityList: "a quantity element",
    childQuantityList: "a quantity element",
    inputQuantityList: "a quantity element",
    outputQuantityList: "a quantity element",
    bizTransactionList: "a business transaction",
    sourceList: "a source",
    destinationList: "a destination",
    sensorReport: "a sensorReport",
    sensorMetadata: "sensorMetadata",
    sensorElementList: "a sensorElement",
  };
  return ` in ${containers[last] ?? last}`;
}

// ---------------------------------------------------------------------------------------------
// Rules the schema cannot express

function extraRules(event: Record<string, unknown>, v: Compiled): EpcisProblem[] {
  const found: EpcisProblem[] = [];
  if (typeof event.type === "string" && EVENT_TYPES.includes(event.type)) {
    const subject = subjectProblem(event);
    if (subject !== undefined) found.push(subject);
  }
  for (const listName of QUANTITY_LISTS) {
    const entries = event[listName];
    if (!Array.isArray(entries)) continue;
    entries.forEach((entry: unknown, i) => {
      if (isPlainObject(entry) && typeof entry.quantity === "number" && entry.quantity < 0) {
        found.push(
          problem(
            [listName, i, "quantity"],
            `quantity must be a non-negative number, got ${preview(entry.quantity)}`,
            "TA2",
          ),
        );
      }
    });
  }
  checkExtensionKeys(event, [], false, v, found);
  return found;
}

/** TA1. Empty lists count as absent: `"epcList": []` alone names nothing. */
function subjectProblem(event: Record<string, unknown>): EpcisProblem | undefined {
  const subject = missingSubject(event);
  return subject === undefined ? undefined : problem([subject.field], subject.message, "TA1");
}

function missingSubject(event: Record<string, unknown>): { field: string; message: string } | undefined {
  const nonEmpty = (key: string): boolean => Array.isArray(event[key]) && (event[key] as unknown[]).length > 0;
  if ([...EPC_LISTS, ...QUANTITY_LISTS].some(nonEmpty) || typeof event.parentID === "string") return undefined;
  if (event.type === "ObjectEvent" && nonEmpty("sensorElementList")) {
    if (isPlainObject(event.readPoint)) return undefined;
    return {
      field: "readPoint",
      message:
        "an ObjectEvent that names no EPCs or quantities reports sensor readings, and then needs the readPoint they were taken at",
    };
  }
  return subjectMessage(event);
}

/** TA3: inside a user extension's value (and ILMD's), every field name is a URI or CURIE too. */
function checkExtensionKeys(
  value: unknown,
  path: Segment[],
  inside: boolean,
  v: Compiled,
  found: EpcisProblem[],
): void {
  if (Array.isArray(value)) {
    value.forEach((item: unknown, i) => checkExtensionKeys(item, [...path, i], inside, v, found));
    return;
  }
  if (!isPlainObject(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if (key.startsWith("@")) continue;
    const namespaced = key.includes(":") && v.uri(key);
    if (inside && !namespaced && !NO_NAMESPACE_OK.has(key) && !v.knownFields.has(key)) {
      const owner = path.filter((p): p is string => typeof p === "string" && p.includes(":")).pop() ?? "ilmd";
      found.push(
        problem(
          [...path, key],
          `field "${key}" inside ${owner} has no namespace: fields inside a user extension must be named by a URI or CURIE (e.g. example:${key})`,
          "TA3",
        ),
      );
      continue;
    }
    const enters = inside || namespaced || (path.length === 0 && key === "ilmd");
    checkExtensionKeys(child, [...path, key], enters, v, found);
  }
}

// ---------------------------------------------------------------------------------------------
// Paths

/** ajv's instancePath as keys and indexes (an index only where the value there is an array). */
function segmentsOf(pointer: string, data: unknown): Segment[] {
  if (pointer === "") return [];
  const out: Segment[] = [];
  let at: unknown = data;
  for (const raw of pointer.slice(1).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(at) && /^\d+$/.test(key)) {
      out.push(Number(key));
      at = at[Number(key)];
    } else {
      out.push(key);
      at = isPlainObject(at) ? at[key] : undefined;
    }
  }
  return out;
}

function valueAt(data: unknown, path: readonly Segment[]): unknown {
  let at = data;
  for (const s of path) {
    if (typeof s === "number") at = Array.isArray(at) ? at[s] : undefined;
    else at = isPlainObject(at) ? at[s] : undefined;
  }
  return at;
}

function fieldPath(path: readonly Segment[]): string {
  let out = "";
  for (const s of path) {
    if (typeof s === "number") out += `[${s}]`;
    else if (/^[^.[\]"]+$/.test(s)) out += out === "" ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

function pointerOf(path: readonly Segment[]): string {
  return path.map((s) => `/${String(s).replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
}

function preview(value: unknown): string {
  if (value === undefined) return "nothing";
  // JSON.stringify gives undefined only for functions and symbols, which parsed JSON never holds.
  const text = JSON.stringify(value) ?? typeof value;
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

function oneOf(values: readonly unknown[]): string {
  const shown = values.slice(0, 8).map((v) => String(v));
  const more = values.length > shown.length ? `, … (${values.length} values)` : "";
  return shown.length === 1 ? `${shown[0]}` : `one of ${shown.join(", ")}${more}`;
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
