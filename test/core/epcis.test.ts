import { expect } from "chai";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import {
  documentEvents,
  epcisDocument,
  extractItemKeys,
  validateEvent,
  ValidationError,
  type EpcisEvent,
} from "../../core";
import { fixture, SHARED_EPCIS } from "./helpers";

function events(file: string): EpcisEvent[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as EpcisEvent);
}

describe("core/epcis", function () {
  describe("validateEvent", function () {
    const base = {
      type: "ObjectEvent",
      eventTime: "2024-03-01T08:00:00Z",
      eventTimeZoneOffset: "+00:00",
      action: "ADD",
      epcList: ["urn:epc:id:sgtin:9506000.013435.SER1"],
    };
    const refused: Array<[string, Record<string, unknown>, string]> = [
      ["unknown type", { type: "Foo" }, "type"],
      ["missing eventTime", { eventTime: undefined }, "eventTime"],
      ["date without time", { eventTime: "2024-03-01" }, "eventTime"],
      ["time without offset", { eventTime: "2024-03-01T08:00:00" }, "eventTime"],
      ["impossible date", { eventTime: "2023-02-29T08:00:00Z" }, "eventTime"],
      ["offset without colon", { eventTimeZoneOffset: "+0100" }, "eventTimeZoneOffset"],
      ["bad action", { action: "CREATE" }, "action"],
      ["no identifiers", { epcList: [] }, "epcList"],
      [
        "quantity as text",
        { quantityList: [{ epcClass: "urn:epc:idpat:sgtin:9506000.013435.*", quantity: "3" }] },
        "quantityList[0].quantity",
      ],
    ];
    for (const [what, change, field] of refused) {
      it(`refuses ${what} naming ${field}`, function () {
        expect(() => validateEvent({ ...base, ...change }))
          .to.throw(ValidationError)
          .with.property("field", field);
      });
    }

    it("accepts a TransformationEvent without action, and fractional seconds", function () {
      const { action: _action, epcList, ...rest } = base;
      const event = {
        ...rest,
        type: "TransformationEvent",
        eventTime: "2024-03-01T08:00:00.123456-06:00",
        inputEPCList: epcList,
        outputEPCList: epcList,
      };
      expect(() => validateEvent(event)).to.not.throw();
    });

    it("accepts a sensor-only ObjectEvent: readings at a readPoint, no EPCs", function () {
      const sensor = { sensorElementList: [{ sensorReport: [{ type: "Temperature", value: 4.5, uom: "CEL" }] }] };
      expect(() =>
        validateEvent({ ...base, epcList: [], readPoint: { id: "urn:epc:id:sgln:9506000.00001.0" }, ...sensor }),
      ).to.not.throw();
      expect(() => validateEvent({ ...base, epcList: [], ...sensor }))
        .to.throw(ValidationError)
        .with.property("field", "readPoint");
    });

    it("refuses a document without @context, with the wrong type or without an eventList", function () {
      const doc = epcisDocument([], "2024-03-01T08:00:00Z") as Record<string, unknown>;
      expect(documentEvents(doc)).to.deep.equal([]);
      expect(() => documentEvents({ ...doc, "@context": undefined })).to.throw(/@context/);
      expect(() => documentEvents({ ...doc, type: "EPCISQueryDocument" })).to.throw(/type/);
      expect(() => documentEvents({ ...doc, epcisBody: {} })).to.throw(/eventList/);
      expect(() => documentEvents({ ...doc, creationDate: undefined }))
        .to.throw(ValidationError)
        .with.property("field", "creationDate");
    });
  });

  describe("extractItemKeys", function () {
    it("normalises URNs and Digital Links to GTIN keys", function () {
      const [object, aggregation, transformation] = events(fixture("events.ndjson"));
      expect(extractItemKeys(object as EpcisEvent)).to.deep.equal([
        { type: "serial", gtin: "09506000134352", serial: "SER1", source: "epcList[0]" },
        { type: "serial", gtin: "09506000134352", serial: "SER2", source: "epcList[1]" },
      ]);
      expect(extractItemKeys(aggregation as EpcisEvent)).to.deep.equal([
        { type: "serial", gtin: "09506000134352", serial: "SER1", source: "childEPCs[0]" },
        { type: "other", id: "urn:epc:id:sscc:0614141.1234567890", source: "parentID" },
        { type: "lot", gtin: "09506000134352", lot: "LOT1", source: "childQuantityList[0].epcClass" },
      ]);
      expect(extractItemKeys(transformation as EpcisEvent)).to.deep.equal([
        { type: "lot", gtin: "09506000134352", lot: "LOT9", source: "outputEPCList[0]" },
        { type: "class", gtin: "09506000134352", source: "inputQuantityList[0].epcClass" },
      ]);
    });

    it("refuses a malformed SGTIN naming where it was", function () {
      const event = { type: "ObjectEvent", epcList: ["urn:epc:id:sgtin:9506000.0134351.S"] } as EpcisEvent;
      expect(() => extractItemKeys(event))
        .to.throw(ValidationError)
        .with.property("field", "epcList[0]");
    });
  });

  describe("shared EPCIS samples", function () {
    const present = existsSync(SHARED_EPCIS);
    before(function () {
      if (!present) {
        console.log(`    (skipped: ${SHARED_EPCIS} not found)`);
        this.skip();
      }
    });

    it("extracts item keys from every valid sample without error", function () {
      let eventCount = 0;
      for (const folder of ["valid", "more-valid"]) {
        const dir = path.join(SHARED_EPCIS, folder);
        for (const file of readdirSync(dir).filter((f) => f.endsWith(".json"))) {
          const doc: unknown = JSON.parse(readFileSync(path.join(dir, file), "utf8"));
          for (const event of documentEvents(doc)) {
            expect(() => extractItemKeys(validateEvent(event)), `${folder}/${file}`).to.not.throw();
            eventCount++;
          }
        }
      }
      expect(eventCount).to.be.greaterThan(19);
    });
  });
});
