/**
 * The demo data of `npm start`: four brands with GS1 company prefixes, submitters with roles, identity
 * batches of serialised items and EPCIS 2.0 trace batches for the four trace nodes (factory, origin
 * logistics, quality inspection with sensor readings, order logistics), one recalled lot and one
 * revoked batch. Pure: the same `now` gives the same files.
 */
import { gs1CheckDigit } from "../../core/gs1";
import { epcisDocument } from "../../core/epcis";

export interface DemoProduct {
  readonly gtin: string;
  readonly name: string;
  readonly lots: readonly string[];
  readonly itemsPerLot: number;
  readonly shelfLifeDays: number;
}

export interface DemoBrand {
  readonly name: string;
  readonly prefix: string;
  /** Hardhat development account indexes. */
  readonly admin: number;
  readonly factory: number;
  readonly qualityLab: number;
  readonly products: readonly DemoProduct[];
  /** Time zone of the brand's plant, for event times. */
  readonly offset: string;
  readonly plant: string;
}

export const OPERATOR = 0;
/** Shared by every brand: one account may submit for several brands. */
export const LOGISTICS = 13;
export const RETAIL = 14;

function gtin(prefix: string, itemReference: string): string {
  const body = `0${prefix}${itemReference}`;
  if (body.length !== 13) throw new Error(`GTIN body ${body} is not 13 digits`);
  return `${body}${gs1CheckDigit(body)}`;
}

export const BRANDS: readonly DemoBrand[] = [
  {
    name: "Sunrise Infant Nutrition",
    prefix: "9506000",
    admin: 1,
    factory: 5,
    qualityLab: 9,
    offset: "+08:00",
    plant: "urn:epc:id:sgln:9506000.00001.0",
    products: [
      {
        gtin: gtin("9506000", "13435"),
        name: "Infant formula stage 1, 800 g",
        lots: ["IF2611A", "IF2611B"],
        itemsPerLot: 600,
        shelfLifeDays: 540,
      },
      {
        gtin: gtin("9506000", "13436"),
        name: "Follow-on formula stage 2, 800 g",
        lots: ["FF2611A"],
        itemsPerLot: 600,
        shelfLifeDays: 540,
      },
    ],
  },
  {
    name: "Nordic Catch Seafood",
    prefix: "7038010",
    admin: 2,
    factory: 6,
    qualityLab: 10,
    offset: "+01:00",
    plant: "urn:epc:id:sgln:7038010.00001.0",
    products: [
      {
        gtin: gtin("7038010", "00125"),
        name: "Fresh Atlantic salmon fillet, 500 g",
        lots: ["SAL-4471", "SAL-4472"],
        itemsPerLot: 500,
        shelfLifeDays: 9,
      },
    ],
  },
  {
    name: "VitaCore Supplements",
    prefix: "4012345",
    admin: 3,
    factory: 7,
    qualityLab: 11,
    offset: "+01:00",
    plant: "urn:epc:id:sgln:4012345.00001.0",
    products: [
      {
        gtin: gtin("4012345", "22001"),
        name: "Vitamin D3 1000 IU, 90 capsules",
        lots: ["VD-0925"],
        itemsPerLot: 800,
        shelfLifeDays: 730,
      },
      {
        gtin: gtin("4012345", "22002"),
        name: "Omega-3 fish oil, 120 softgels",
        lots: ["OM-0925"],
        itemsPerLot: 700,
        shelfLifeDays: 730,
      },
    ],
  },
  {
    name: "Lumière Skin Care",
    prefix: "3012345",
    admin: 4,
    factory: 8,
    qualityLab: 12,
    offset: "+01:00",
    plant: "urn:epc:id:sgln:3012345.00001.0",
    products: [
      {
        gtin: gtin("3012345", "50010"),
        name: "Hydrating face cream, 50 ml",
        lots: ["LC-101", "LC-102"],
        itemsPerLot: 500,
        shelfLifeDays: 900,
      },
    ],
  },
];

/** The lot that is recalled, and the identity batch that is revoked. */
export const RECALLED = { brand: 0, product: 0, lot: "IF2611B" } as const;
export const REVOKED = {
  brand: 3,
  product: 0,
  lot: "LC-102",
  reason: "Labels misprinted in lot LC-102; the items were re-registered",
} as const;

export interface DemoBatch {
  readonly brandIndex: number;
  readonly kind: "identity" | "trace";
  readonly file: string;
  readonly text: string;
  /** Development account that submits it. */
  readonly submitter: number;
  readonly revoke?: string;
}

function serial(lot: string, n: number): string {
  return `${lot.replace(/[^A-Z0-9]/g, "")}${String(n).padStart(5, "0")}`;
}

export function itemOf(
  brand: number,
  product: number,
  lot: string,
  n: number,
): { gtin: string; lot: string; serial: string } {
  const p = BRANDS[brand]!.products[product]!;
  return { gtin: p.gtin, lot, serial: serial(lot, n) };
}

function offsetMinutes(offset: string): number {
  const sign = offset.startsWith("-") ? -1 : 1;
  return sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
}

/** An EPCIS eventTime: the local wall time in `offset`, with that offset, `days` and `hours` after `base`. */
function isoAt(base: number, days: number, hours: number, offset: string): string {
  const utc = base + (days * 24 + hours) * 3_600_000;
  const local = new Date(utc + offsetMinutes(offset) * 60_000).toISOString().slice(0, 19);
  return `${local}${offset === "+00:00" ? "Z" : offset}`;
}

function lgtin(prefix: string, gtin14: string, lot: string): string {
  const itemRef = `${gtin14[0]}${gtin14.slice(1 + prefix.length, 13)}`;
  return `urn:epc:class:lgtin:${prefix}.${itemRef}.${encodeURIComponent(lot)}`;
}

export function sgtin(prefix: string, gtin14: string, serialNumber: string): string {
  const itemRef = `${gtin14[0]}${gtin14.slice(1 + prefix.length, 13)}`;
  return `urn:epc:id:sgtin:${prefix}.${itemRef}.${encodeURIComponent(serialNumber)}`;
}

/** An EPCIS document file's text, indented as a brand's system would write it. */
const epcisFile = (events: object[], created: string): string =>
  `${JSON.stringify(epcisDocument(events, created), null, 2)}\n`;

export function demoBatches(now: Date): DemoBatch[] {
  const base = now.getTime() - 30 * 24 * 3_600_000;
  const batches: DemoBatch[] = [];
  BRANDS.forEach((brand, b) => {
    // Identity: one CSV per lot, so one lot's batch can be revoked on its own.
    brand.products.forEach((product, p) => {
      product.lots.forEach((lot, l) => {
        const made = new Date(base + (l * 3 + p) * 24 * 3_600_000);
        const expiry = new Date(made.getTime() + product.shelfLifeDays * 24 * 3_600_000).toISOString().slice(0, 10);
        const rows = ["gtin,serial,lot,product,expiry"];
        for (let n = 1; n <= product.itemsPerLot; n++)
          rows.push(`${product.gtin},${serial(lot, n)},${lot},"${product.name}",${expiry}`);
        const revoked = b === REVOKED.brand && p === REVOKED.product && lot === REVOKED.lot;
        batches.push({
          brandIndex: b,
          kind: "identity",
          file: `identity-${brand.prefix}-${lot}.csv`,
          text: `${rows.join("\n")}\n`,
          submitter: brand.factory,
          ...(revoked ? { revoke: REVOKED.reason } : {}),
        });
      });
    });

    const lots = brand.products.flatMap((product, p) => product.lots.map((lot, l) => ({ product, p, lot, l })));
    const at = (
      l: number,
      p: number,
      day: number,
      hour: number,
      offset = brand.offset,
    ): { eventTime: string; eventTimeZoneOffset: string } => ({
      eventTime: isoAt(base, l * 3 + p + day, hour, offset),
      eventTimeZoneOffset: offset,
    });
    const qty = (lot: { product: DemoProduct; lot: string }) => [
      { epcClass: lgtin(brand.prefix, lot.product.gtin, lot.lot), quantity: lot.product.itemsPerLot, uom: "EA" },
    ];
    const cold = brand.prefix === "7038010";

    // Factory: commissioning and packing, per lot; the first items of each lot also individually.
    const factory = lots.flatMap((lot) => [
      {
        type: "ObjectEvent",
        ...at(lot.l, lot.p, 0, 2),
        action: "ADD",
        bizStep: "commissioning",
        disposition: "active",
        quantityList: qty(lot),
        readPoint: { id: brand.plant },
        bizLocation: { id: brand.plant },
        ilmd: {
          "cbvmda:lotNumber": lot.lot,
          "cbvmda:itemExpirationDate": new Date(base + (lot.l * 3 + lot.p + lot.product.shelfLifeDays) * 86_400_000)
            .toISOString()
            .slice(0, 10),
        },
      },
      {
        type: "AggregationEvent",
        ...at(lot.l, lot.p, 0, 5),
        action: "ADD",
        bizStep: "packing",
        disposition: "in_progress",
        parentID: `urn:epc:id:sscc:${brand.prefix}.${String(lot.l * 10 + lot.p + 1).padStart(17 - brand.prefix.length, "0")}`,
        childEPCs: Array.from({ length: 10 }, (_, i) => sgtin(brand.prefix, lot.product.gtin, serial(lot.lot, i + 1))),
        readPoint: { id: brand.plant },
      },
    ]);
    batches.push({
      brandIndex: b,
      kind: "trace",
      file: `trace-${brand.prefix}-factory.json`,
      text: epcisFile(factory, isoAt(base, 1, 0, "+00:00")),
      submitter: brand.factory,
    });

    // Quality inspection with sensor readings and a certificate.
    const quality = lots.map((lot) => ({
      type: "ObjectEvent",
      ...at(lot.l, lot.p, 1, 3),
      action: "OBSERVE",
      bizStep: "inspecting",
      disposition: "conformant",
      quantityList: qty(lot),
      readPoint: { id: brand.plant.replace(/\.0$/, ".1") },
      sensorElementList: [
        {
          sensorMetadata: { time: at(lot.l, lot.p, 1, 3).eventTime },
          sensorReport: cold
            ? [
                { type: "gs1:Temperature", value: 1.8, uom: "CEL" },
                { type: "gs1:RelativeHumidity", value: 85, uom: "P1" },
              ]
            : [
                { type: "gs1:Temperature", value: 21.5, uom: "CEL" },
                { type: "gs1:RelativeHumidity", value: 38, uom: "P1" },
              ],
        },
      ],
      certificationInfo: `https://certificates.example/${brand.prefix}/${encodeURIComponent(lot.lot)}/analysis.pdf`,
    }));
    batches.push({
      brandIndex: b,
      kind: "trace",
      file: `trace-${brand.prefix}-quality.json`,
      text: epcisFile(quality, isoAt(base, 2, 0, "+00:00")),
      submitter: brand.qualityLab,
    });

    // Origin logistics (shipping from the plant) and order logistics (receiving at the retailer's DC).
    const logistics = lots.flatMap((lot) => [
      {
        type: "ObjectEvent",
        ...at(lot.l, lot.p, 2, 1),
        action: "OBSERVE",
        bizStep: "shipping",
        disposition: "in_transit",
        quantityList: qty(lot),
        readPoint: { id: brand.plant.replace(/\.0$/, ".2") },
        ...(cold
          ? {
              sensorElementList: [
                {
                  sensorReport: [{ type: "gs1:Temperature", minValue: 0.9, maxValue: 2.7, meanValue: 1.6, uom: "CEL" }],
                },
              ],
            }
          : {}),
      },
      {
        type: "ObjectEvent",
        ...at(lot.l, lot.p, 4, 9, "+00:00"),
        action: "OBSERVE",
        bizStep: "receiving",
        disposition: "in_progress",
        quantityList: qty(lot),
        readPoint: { id: "urn:epc:id:sgln:5012345.00009.0" },
        bizLocation: { id: "urn:epc:id:sgln:5012345.00009.0" },
      },
    ]);
    batches.push({
      brandIndex: b,
      kind: "trace",
      file: `trace-${brand.prefix}-logistics.json`,
      text: epcisFile(logistics, isoAt(base, 5, 0, "+00:00")),
      submitter: LOGISTICS,
    });

    if (b === RECALLED.brand) {
      const lot = lots.find((x) => x.lot === RECALLED.lot)!;
      const recall = [
        {
          type: "ObjectEvent",
          ...at(lot.l, lot.p, 6, 4),
          action: "OBSERVE",
          bizStep: "holding",
          disposition: "recalled",
          quantityList: qty(lot),
          readPoint: { id: brand.plant },
          certificationInfo: `https://certificates.example/${brand.prefix}/${lot.lot}/recall-notice.pdf`,
        },
      ];
      batches.push({
        brandIndex: b,
        kind: "trace",
        file: `trace-${brand.prefix}-recall.json`,
        text: epcisFile(recall, isoAt(base, 7, 0, "+00:00")),
        submitter: brand.qualityLab,
      });
    }
  });
  return batches;
}
