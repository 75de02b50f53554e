import { expect } from "chai";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { extractItemKeys, validateEpcisDocument, validateEvent, ValidationError, type EpcisEvent } from "../../core";
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
      ["quantity as text", { quantityList: [{ epcClass: "urn:epc:idpat:sgtin:9506000.013435.*", quantity: "3" }] }, "quantityList[0].quantity"],
    ];
    for (const [what, change, field] of refused) {
      it(`refuses ${what} naming ${field}`, function () {
        expect(() => validateEvent({ ...base, ...change }))
          .to.throw(ValidationError)
          .with.property("field", field);
      });
    }

    it("accepts a TransformationEvent without action, and fractional seconds", function () {
      const { action: _action, ...rest } = base;
      expect(() => validateEvent({ ...rest, type: "TransformationEvent", eventTime: "2024-03-01T08:00:00.123456-06:00" })).to.not.throw();
    });

    it("refuses a document without @context or with the wrong type", function () {
      expect(() => validateEpcisDocument({ type: "EPCISDocument", epcisBody: { eventList: [] } })).to.throw(/@context/);
      expect(() => validateEpcisDocument({ "@context": "x", type: "EPCISQueryDocument", epcisBody: { eventList: [] } })).to.throw(/type/);
      expect(() => validateEpcisDocument({ "@context": "x", type: "EPCISDocument", epcisBody: {} })).to.throw(/eventList/);
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
      expect(() => extractItemKeys(event)).to.throw(ValidationError).with.property("field", "epcList[0]");
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
      const dir = path.join(SHARED_EPCIS, "valid");
      for (const file of readdirSync(dir).filter((f) => f.endsWith(".json"))) {
        const doc: unknown = JSON.parse(readFileSync(path.join(dir, file), "utf8"));
        for (const event of validateEpcisDocument(doc)) {
          expect(() => extractItemKeys(validateEvent(event)), file).to.not.throw();
        }
      }
    });
  });
});
