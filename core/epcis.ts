/**
 * EPCIS 2.0 event checks and item-key extraction (pure; the readers do the I/O).
 *
 *   EVENT_TYPES                                       the five EPCIS 2.0 event types
 *   validateEpcisDocument(doc: unknown): EpcisEvent[]  checks @context, type, epcisBody.eventList;
 *                                                     does NOT check the events (see validateEvent)
 *   validateEvent(event: unknown): EpcisEvent          throws ValidationError naming the field
 *   extractItemKeys(event: EpcisEvent): ItemKey[]      every item an event names, as GTIN keys
 *   epcisDocument(events, creationDate): object       an EPCIS 2.0 document around the events
 *
 * Only what TraceAnchor relies on is checked; the event is otherwise anchored unchanged.
 */
import { parseDigitalLink } from "./digital-link";
import { ValidationError } from "./errors";
import { parseEpcUrn } from "./epc";
import { isPlainObject, type EpcisEvent } from "./record";

export const EVENT_TYPES: readonly string[] = [
  "ObjectEvent",
  "AggregationEvent",
  "TransactionEvent",
  "TransformationEvent",
  "AssociationEvent",
];
const ACTIONS: readonly string[] = ["ADD", "OBSERVE", "DELETE"];
const NEEDS_ACTION: readonly string[] = ["ObjectEvent", "AggregationEvent", "TransactionEvent", "AssociationEvent"];

const EPC_LISTS = ["epcList", "childEPCs", "inputEPCList", "outputEPCList"] as const;
const QUANTITY_LISTS = ["quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"] as const;
const IDENTIFIER_FIELDS: readonly string[] = [...EPC_LISTS, ...QUANTITY_LISTS, "parentID"];

/** ISO 8601 / RFC 3339 date-time with a mandatory offset (Z or ±hh:mm). */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const OFFSET = /^[+-](\d{2}):(\d{2})$/;

export type ItemKey =
  | { readonly type: "serial"; readonly gtin: string; readonly serial: string; readonly source: string }
  | { readonly type: "lot"; readonly gtin: string; readonly lot: string; readonly source: string }
  | { readonly type: "class"; readonly gtin: string; readonly source: string }
  /** SSCC, SGLN, GRAI, … : identifiers that name no trade item. */
  | { readonly type: "other"; readonly id: string; readonly source: string };

/** The EPCIS 2.0 JSON-LD context every document names. */
export const EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

/** An EPCIS 2.0 document (the JSON `validateEpcisDocument` reads) around `events`. */
export function epcisDocument(events: readonly object[], creationDate: string): object {
  return { "@context": [EPCIS_CONTEXT], type: "EPCISDocument", schemaVersion: "2.0", creationDate, epcisBody: { eventList: events } };
}

export function validateEpcisDocument(doc: unknown): EpcisEvent[] {
  if (!isPlainObject(doc)) throw invalid("EPCIS document must be a JSON object", "");
  const context = doc["@context"];
  if (context === undefined || context === null || (Array.isArray(context) && context.length === 0)) {
    throw invalid("EPCIS document has no @context", "@context");
  }
  if (doc.type !== "EPCISDocument") throw invalid(`type must be "EPCISDocument", got ${JSON.stringify(doc.type)}`, "type");
  const body = doc.epcisBody;
  if (!isPlainObject(body)) throw invalid("EPCIS document has no epcisBody object", "epcisBody");
  if (!Array.isArray(body.eventList)) throw invalid("epcisBody.eventList must be an array", "epcisBody.eventList");
  return body.eventList as EpcisEvent[];
}

export function validateEvent(event: unknown): EpcisEvent {
  if (!isPlainObject(event)) throw invalid("event must be a JSON object", "");
  const type = event.type;
  if (typeof type !== "string" || !EVENT_TYPES.includes(type)) {
    throw invalid(`type must be one of ${EVENT_TYPES.join(", ")}, got ${JSON.stringify(type)}`, "type");
  }
  checkDateTime(event.eventTime, "eventTime");
  const offset = event.eventTimeZoneOffset;
  if (typeof offset !== "string" || !isValidOffset(offset)) {
    throw invalid(`eventTimeZoneOffset must be ±hh:mm, got ${JSON.stringify(offset)}`, "eventTimeZoneOffset");
  }
  if (NEEDS_ACTION.includes(type)) {
    if (typeof event.action !== "string" || !ACTIONS.includes(event.action)) {
      throw invalid(`action must be one of ${ACTIONS.join(", ")}, got ${JSON.stringify(event.action)}`, "action");
    }
  }
  let identifiers = 0;
  for (const field of EPC_LISTS) {
    const list = event[field];
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.some((x) => typeof x !== "string" || x.length === 0)) {
      throw invalid(`${field} must be an array of identifier strings`, field);
    }
    identifiers += list.length;
  }
  for (const field of QUANTITY_LISTS) {
    const list = event[field];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw invalid(`${field} must be an array`, field);
    list.forEach((entry, i) => checkQuantity(entry, `${field}[${i}]`));
    identifiers += list.length;
  }
  if (event.parentID !== undefined) {
    if (typeof event.parentID !== "string" || event.parentID.length === 0) throw invalid("parentID must be a string", "parentID");
    identifiers++;
  }
  if (identifiers === 0) {
    throw invalid(`event names no identifiers (needs one of ${IDENTIFIER_FIELDS.join(", ")})`, "epcList");
  }
  return event as EpcisEvent;
}

/**
 * Every item key the event names: SGTIN / Digital Link with serial → serial keys; LGTIN / DL with
 * lot → lot keys; class patterns / DL with GTIN only → class keys; anything else → "other".
 * `source` is the JSON path the key came from, e.g. "childEPCs[2]".
 */
export function extractItemKeys(event: EpcisEvent): ItemKey[] {
  const keys: ItemKey[] = [];
  const add = (id: unknown, source: string): void => {
    if (typeof id === "string") keys.push(itemKeyOf(id, source));
  };
  for (const field of EPC_LISTS) {
    const list = event[field];
    if (Array.isArray(list)) list.forEach((id, i) => add(id, `${field}[${i}]`));
  }
  add(event.parentID, "parentID");
  for (const field of QUANTITY_LISTS) {
    const list = event[field];
    if (!Array.isArray(list)) continue;
    list.forEach((entry, i) => {
      if (isPlainObject(entry)) add(entry.epcClass, `${field}[${i}].epcClass`);
    });
  }
  return keys;
}

function itemKeyOf(id: string, source: string): ItemKey {
  try {
    if (id.startsWith("urn:epc:")) {
      const key = parseEpcUrn(id);
      switch (key.scheme) {
        case "sgtin":
          return { type: "serial", gtin: key.gtin, serial: key.serial, source };
        case "lgtin":
          return { type: "lot", gtin: key.gtin, lot: key.lot, source };
        case "sgtin-class":
          return { type: "class", gtin: key.gtin, source };
        default:
          return { type: "other", id, source };
      }
    }
    if (/^https?:\/\/[^/]+\/(?:.*\/)?(?:01|gtin)\//.test(id)) {
      const dl = parseDigitalLink(id);
      if (dl.serial !== undefined) return { type: "serial", gtin: dl.gtin, serial: dl.serial, source };
      if (dl.lot !== undefined) return { type: "lot", gtin: dl.gtin, lot: dl.lot, source };
      return { type: "class", gtin: dl.gtin, source };
    }
  } catch (err) {
    // EPC schemes this module does not model (GRAI, GIAI, …) are not items; keep them as "other".
    if (err instanceof ValidationError && !/^urn:epc:(id:sgtin|class:lgtin|idpat:sgtin):|^https?:/.test(id)) {
      return { type: "other", id, source };
    }
    if (err instanceof ValidationError) throw err.withLocation({ field: source });
    throw err;
  }
  return { type: "other", id, source };
}

function checkDateTime(value: unknown, field: string): void {
  if (typeof value !== "string") throw invalid(`${field} must be an ISO 8601 date-time string`, field);
  const m = DATE_TIME.exec(value);
  const bad = (): ValidationError =>
    invalid(`${field} must be an ISO 8601 date-time with offset (e.g. 2024-01-31T12:00:00Z), got ${JSON.stringify(value)}`, field);
  if (m === null) throw bad();
  const [, y, mo, d, h, mi, s, , off] = m.map((x) => x ?? "");
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) throw bad();
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) throw bad();
  if (off !== "Z" && off !== undefined && !isValidOffset(off)) throw bad();
}

function isValidOffset(offset: string): boolean {
  const m = OFFSET.exec(offset);
  return m !== null && Number(m[1]) <= 14 && Number(m[2]) <= 59;
}

function checkQuantity(entry: unknown, field: string): void {
  if (!isPlainObject(entry)) throw invalid("quantity element must be an object", field);
  if (typeof entry.epcClass !== "string" || entry.epcClass.length === 0) throw invalid("epcClass must be a string", `${field}.epcClass`);
  if (entry.quantity !== undefined && (typeof entry.quantity !== "number" || !Number.isFinite(entry.quantity) || entry.quantity < 0)) {
    throw invalid(`quantity must be a non-negative number, got ${JSON.stringify(entry.quantity)}`, `${field}.quantity`);
  }
  if (entry.uom !== undefined && typeof entry.uom !== "string") throw invalid("uom must be a string", `${field}.uom`);
}

function invalid(reason: string, field: string): ValidationError {
  return new ValidationError(reason, { field: field === "" ? undefined : field, code: "EPCIS_INVALID" });
}
