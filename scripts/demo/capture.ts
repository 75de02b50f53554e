/**
 * The demo's EPCIS capture (`npm start`): the genuine demo item's last two steps, shipped from the
 * retailer's distribution centre and received at a store, as an EPCISDocument its systems would POST
 * to /epcis/capture; and a third event, written to a file for the curl example the demo prints.
 * Event times are the start's own, so every start captures new events (a capture of events already
 * stored would be skipped, and nothing new would be anchored).
 */
import { epcisDocument } from "../../core/epcis";
import { BRANDS, itemOf, sgtin } from "./dataset";

/** The brand (index into BRANDS) whose demo item the captured events name. */
export const CAPTURE_BRAND = 0;

const DC = "urn:epc:id:sgln:5012345.00009.0";
const STORE = "urn:epc:id:sgln:5012345.00021.0";

/** The genuine demo item's EPC (SGTIN URN), as the captured events name it. */
export function captureItemEpc(): string {
  const brand = BRANDS[CAPTURE_BRAND]!;
  const item = itemOf(CAPTURE_BRAND, 0, brand.products[0]!.lots[0]!, 1);
  return sgtin(brand.prefix, item.gtin, item.serial);
}

function minutesBefore(now: Date, minutes: number): string {
  return `${new Date(now.getTime() - minutes * 60_000).toISOString().slice(0, 19)}Z`;
}

/** Shipping from the DC and receiving at the store, an hour and ten minutes before `now`. */
export function demoCaptureDocument(now: Date): object {
  const epc = captureItemEpc();
  return epcisDocument(
    [
      {
        type: "ObjectEvent",
        eventTime: minutesBefore(now, 60),
        eventTimeZoneOffset: "+00:00",
        epcList: [epc],
        action: "OBSERVE",
        bizStep: "shipping",
        disposition: "in_transit",
        readPoint: { id: DC },
      },
      {
        type: "ObjectEvent",
        eventTime: minutesBefore(now, 10),
        eventTimeZoneOffset: "+00:00",
        epcList: [epc],
        action: "OBSERVE",
        bizStep: "receiving",
        disposition: "sellable_not_accessible",
        readPoint: { id: STORE },
        bizLocation: { id: STORE },
      },
    ],
    now.toISOString(),
  );
}

/** One event for the printed curl example: the item put on the store's shelf. */
export function demoCaptureExample(now: Date): object {
  return epcisDocument(
    [
      {
        type: "ObjectEvent",
        eventTime: minutesBefore(now, 0),
        eventTimeZoneOffset: "+00:00",
        epcList: [captureItemEpc()],
        action: "OBSERVE",
        bizStep: "stocking",
        disposition: "sellable_accessible",
        readPoint: { id: STORE },
        bizLocation: { id: STORE },
      },
    ],
    now.toISOString(),
  );
}
