/**
 * EPCIS 2.0 item-key extraction (pure; the readers do the I/O; validation is core/epcis-validate.ts,
 * kept apart so that the browser bundle, which needs item keys, does not carry the schema).
 *
 *   extractItemKeys(event: EpcisEvent): ItemKey[]      every item an event names, as GTIN keys
 *   epcisDocument(events, creationDate): object       an EPCIS 2.0 document around the events
 */
import { parseDigitalLink } from "./digital-link";
import { ValidationError } from "./errors";
import { parseEpcUrn } from "./epc";
import { isPlainObject, type EpcisEvent } from "./record";

const EPC_LISTS = ["epcList", "childEPCs", "inputEPCList", "outputEPCList"] as const;
const QUANTITY_LISTS = ["quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"] as const;

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
  return {
    "@context": [EPCIS_CONTEXT],
    type: "EPCISDocument",
    schemaVersion: "2.0",
    creationDate,
    epcisBody: { eventList: events },
  };
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
