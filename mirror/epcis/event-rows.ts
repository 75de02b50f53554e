/**
 * What the EPCIS query index keeps of an event: the columns of its epcis_events row and the
 * identifiers it names, by role (epcis_event_epcs). Pure; the capture endpoint writes these rows for
 * captured events and the query indexer for events of CLI trace batches, so both agree.
 *
 *   eventColumns(event): EventColumns              event_type, event_time, action, biz_step, …
 *   eventIndexRows(event): EventIndexRow[]         [{ epc, role }], one per identifier and role, no repeats
 *   normalEpc(value): string                       the form identifiers are indexed (and matched) in
 *   normalCbv(vocabulary, value): string           "shipping" for every spelling of a CBV term
 *
 * Identifiers are indexed as their constrained canonical GS1 Digital Link (core/canonical-dl.ts,
 * the form the CBV 2.0 event hash uses): an EPC URN, an EPC class or pattern URN and any GS1
 * Digital Link of the same key all become `https://id.gs1.org/01/…`, so a query in any of those forms
 * matches. (A Digital Link cannot become a pure-identity URN: a GTIN does not say how long its company
 * prefix is.) Identifiers that are not GS1 keys (`urn:uuid:…`, a private URI) are kept as written.
 *
 * Business steps and dispositions are kept bare when they are CBV terms, whether written bare, as a
 * CBV 1.x URN (`urn:epcglobal:cbv:bizstep:shipping`) or as a web URI
 * (`https://ref.gs1.org/cbv/BizStep-shipping`); any other value is kept as written.
 */
import { canonicalDigitalLink } from "../../core/canonical-dl";
import { CBV_VOCABULARIES } from "../../core/cbv";
import { isPlainObject, type EpcisEvent } from "../../core/record";

export type EpcRole =
  "epc" | "parent" | "child" | "input" | "output" | "epcClass" | "childClass" | "inputClass" | "outputClass";

export interface EventIndexRow {
  readonly epc: string;
  readonly role: EpcRole;
}

export interface EventColumns {
  readonly eventType: string;
  /** Unix milliseconds. */
  readonly eventTime: number;
  readonly action: string | null;
  readonly bizStep: string | null;
  readonly disposition: string | null;
  readonly readPoint: string | null;
  readonly bizLocation: string | null;
}

/** The list fields naming instances, and their roles. */
const EPC_LISTS: readonly (readonly [string, EpcRole])[] = [
  ["epcList", "epc"],
  ["childEPCs", "child"],
  ["inputEPCList", "input"],
  ["outputEPCList", "output"],
];

/** The quantity lists naming classes, and their roles. */
const CLASS_LISTS: readonly (readonly [string, EpcRole])[] = [
  ["quantityList", "epcClass"],
  ["childQuantityList", "childClass"],
  ["inputQuantityList", "inputClass"],
  ["outputQuantityList", "outputClass"],
];

export function normalEpc(value: string): string {
  const trimmed = value.trim();
  return canonicalDigitalLink(trimmed) ?? trimmed;
}

const WEB_PREFIXES = ["https://ref.gs1.org/cbv/", "http://ref.gs1.org/cbv/"];

export function normalCbv(vocabulary: "bizStep" | "disposition", value: string): string {
  const v = CBV_VOCABULARIES[vocabulary];
  const suffix = v.uriPrefix.slice("https://ref.gs1.org/cbv/".length); // "BizStep-" / "Disp-"
  let term: string | undefined;
  if (v.urnPrefix !== undefined && value.startsWith(v.urnPrefix)) term = value.slice(v.urnPrefix.length);
  for (const prefix of WEB_PREFIXES) {
    if (value.startsWith(`${prefix}${suffix}`)) term = value.slice(prefix.length + suffix.length);
  }
  if (term === undefined) term = value;
  return v.terms.has(term) ? term : value;
}

export function eventIndexRows(event: EpcisEvent): EventIndexRow[] {
  const seen = new Set<string>();
  const rows: EventIndexRow[] = [];
  const add = (value: unknown, role: EpcRole): void => {
    if (typeof value !== "string" || value.trim() === "") return;
    const epc = normalEpc(value);
    const key = `${role}\u0000${epc}`;
    if (seen.has(key)) return;
    seen.add(key);
    rows.push({ epc, role });
  };
  for (const [field, role] of EPC_LISTS) {
    const list = event[field];
    if (Array.isArray(list)) for (const value of list) add(value, role);
  }
  add(event.parentID, "parent");
  for (const [field, role] of CLASS_LISTS) {
    const list = event[field];
    if (!Array.isArray(list)) continue;
    for (const element of list) if (isPlainObject(element)) add(element.epcClass, role);
  }
  return rows;
}

function text(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

function locationId(value: unknown): string | null {
  return isPlainObject(value) ? text(value.id) : null;
}

export function eventColumns(event: EpcisEvent): EventColumns {
  const time = typeof event.eventTime === "string" ? Date.parse(event.eventTime) : Number.NaN;
  const bizStep = text(event.bizStep);
  const disposition = text(event.disposition);
  return {
    eventType: event.type,
    // The validator admits only xsd:dateTimeStamp times, which Date.parse reads; 0 is never reached.
    eventTime: Number.isFinite(time) ? time : 0,
    action: text(event.action),
    bizStep: bizStep === null ? null : normalCbv("bizStep", bizStep),
    disposition: disposition === null ? null : normalCbv("disposition", disposition),
    readPoint: locationId(event.readPoint),
    bizLocation: locationId(event.bizLocation),
  };
}
