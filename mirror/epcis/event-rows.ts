/**
 * What the EPCIS query index keeps of one event (epcis_events' indexed columns and its
 * epcis_event_epcs rows), pure, shared by capture and the query indexer of CLI trace batches, and
 * the normal forms the query parameters are compared in.
 *
 *   eventIndexRows(event): EventIndexRows
 *   normalEpc(value): string                        one form for an EPC in URN or Digital Link form
 *   normalVocabularyValue("bizStep" | "disposition", value): string   the bare CBV term, or as given
 *
 * EPCs: every identifier that carries a GS1 key (EPC pure-identity, class and pattern URNs, GS1
 * Digital Links on any domain) is kept as its constrained canonical Digital Link
 * (core/canonical-dl.ts, `https://id.gs1.org/01/09506000134352/21/SER1`): the one form both the
 * URN and every Digital Link of an EPC turn into without knowing the company prefix length, which
 * a Digital Link does not carry. Anything else (a private URI) is kept as given.
 * Read points and business locations are normalised the same way.
 */
import { canonicalDigitalLink } from "../../core/canonical-dl";
import { CBV_VOCABULARIES } from "../../core/cbv";

export type EpcRole =
  "epc" | "parent" | "child" | "input" | "output" | "epcClass" | "childClass" | "inputClass" | "outputClass";

export interface EventEpc {
  readonly epc: string;
  readonly role: EpcRole;
}

export interface EventIndexRows {
  readonly eventType: string;
  /** Unix milliseconds; NaN never: an unparsable time is 0. */
  readonly eventTime: number;
  readonly action: string | null;
  readonly bizStep: string | null;
  readonly disposition: string | null;
  readonly readPoint: string | null;
  readonly bizLocation: string | null;
  /** Each (epc, role) once. */
  readonly epcs: EventEpc[];
}

const EPC_LISTS: readonly (readonly [string, EpcRole])[] = [
  ["epcList", "epc"],
  ["childEPCs", "child"],
  ["inputEPCList", "input"],
  ["outputEPCList", "output"],
];

const QUANTITY_LISTS: readonly (readonly [string, EpcRole])[] = [
  ["quantityList", "epcClass"],
  ["childQuantityList", "childClass"],
  ["inputQuantityList", "inputClass"],
  ["outputQuantityList", "outputClass"],
];

export function eventIndexRows(event: Record<string, unknown>): EventIndexRows {
  const epcs: EventEpc[] = [];
  const seen = new Set<string>();
  const add = (value: unknown, role: EpcRole): void => {
    if (typeof value !== "string" || value === "") return;
    const epc = normalEpc(value);
    const key = `${role} ${epc}`;
    if (seen.has(key)) return;
    seen.add(key);
    epcs.push({ epc, role });
  };
  for (const [field, role] of EPC_LISTS) {
    const list = event[field];
    if (Array.isArray(list)) for (const id of list) add(id, role);
  }
  add(event.parentID, "parent");
  for (const [field, role] of QUANTITY_LISTS) {
    const list = event[field];
    if (!Array.isArray(list)) continue;
    for (const entry of list) if (isObject(entry)) add(entry.epcClass, role);
  }
  const time = typeof event.eventTime === "string" ? Date.parse(event.eventTime) : NaN;
  return {
    eventType: typeof event.type === "string" ? event.type : "",
    eventTime: Number.isFinite(time) ? time : 0,
    action: typeof event.action === "string" ? event.action : null,
    bizStep: typeof event.bizStep === "string" ? normalVocabularyValue("bizStep", event.bizStep) : null,
    disposition: typeof event.disposition === "string" ? normalVocabularyValue("disposition", event.disposition) : null,
    readPoint: locationId(event.readPoint),
    bizLocation: locationId(event.bizLocation),
    epcs,
  };
}

/** The canonical Digital Link of an identifier that carries a GS1 key; any other value as given. */
export function normalEpc(value: string): string {
  return canonicalDigitalLink(value) ?? value;
}

/** Other spellings of CBV terms' URIs than core/cbv.ts's (GS1's older web vocabulary prefix). */
const OTHER_URI_PREFIXES: Readonly<Record<"bizStep" | "disposition", readonly string[]>> = {
  bizStep: ["https://gs1.org/voc/BizStep-", "https://ns.gs1.org/cbv/BizStep-"],
  disposition: ["https://gs1.org/voc/Disp-", "https://ns.gs1.org/cbv/Disp-"],
};

/**
 * The bare CBV term of a business step or disposition given bare, as a CBV 1.x URN
 * (`urn:epcglobal:cbv:bizstep:shipping`) or as its web URI (`https://ref.gs1.org/cbv/BizStep-shipping`);
 * a value that is not a CBV term is kept as given.
 */
export function normalVocabularyValue(name: "bizStep" | "disposition", value: string): string {
  const vocabulary = CBV_VOCABULARIES[name];
  if (vocabulary.terms.has(value)) return value;
  const prefixes = [vocabulary.uriPrefix, ...(vocabulary.urnPrefix === undefined ? [] : [vocabulary.urnPrefix])];
  for (const prefix of [...prefixes, ...OTHER_URI_PREFIXES[name]]) {
    if (!value.startsWith(prefix)) continue;
    const term = value.slice(prefix.length);
    if (vocabulary.terms.has(term)) return term;
  }
  return value;
}

function locationId(value: unknown): string | null {
  if (!isObject(value) || typeof value.id !== "string") return null;
  return normalEpc(value.id);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
