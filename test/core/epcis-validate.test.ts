import Ajv from "ajv";
import addFormats from "ajv-formats";
import { expect } from "chai";
import fc from "fast-check";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import {
  CBV_VOCABULARIES,
  EPCIS_AMENDMENTS,
  EPCIS_RULES,
  epcisDocument,
  validateEpcisDocument,
  validateEpcisEnvelope,
  validateEpcisEvent,
  type EpcisProblem,
} from "../../core";
import gs1Schema from "../../core/schemas/EPCIS-JSON-Schema.json";
import { SHARED_EPCIS } from "./helpers";

const base = {
  type: "ObjectEvent",
  eventTime: "2024-03-01T08:00:00Z",
  eventTimeZoneOffset: "+00:00",
  action: "ADD",
  epcList: ["urn:epc:id:sgtin:9506000.013435.SER1"],
};
const readPoint = { id: "urn:epc:id:sgln:9506000.00001.0" };
const aggregation = {
  type: "AggregationEvent",
  eventTime: "2024-03-01T08:00:00Z",
  eventTimeZoneOffset: "+00:00",
  action: "ADD",
  parentID: "urn:epc:id:sscc:9506000.0000000001",
  childEPCs: ["urn:epc:id:sgtin:9506000.013435.SER1"],
};

/** GS1's schema exactly as published, to show what each amendment changes. */
const gs1Event = (() => {
  const ajv = new Ajv({ strict: true, strictRequired: false });
  addFormats(ajv, ["uri", "date-time"]);
  ajv.addSchema(gs1Schema);
  return ajv.compile({ $ref: `${gs1Schema.$id}#/definitions/EPCIS-Document-Event` });
})();

function problems(event: unknown): Array<[string, string]> {
  return validateEpcisEvent(event).errors.map((p) => [p.field, p.rule]);
}

function only(event: unknown): EpcisProblem {
  const { errors } = validateEpcisEvent(event);
  expect(errors, JSON.stringify(errors)).to.have.length(1);
  return errors[0] as EpcisProblem;
}

describe("core/epcis-validate", function () {
  describe("GS1's schema", function () {
    it("accepts a minimal event of each type", function () {
      const events = [
        base,
        aggregation,
        {
          ...base,
          type: "TransactionEvent",
          bizTransactionList: [{ type: "po", bizTransaction: "urn:epcglobal:cbv:bt:9506000000005:PO1" }],
        },
        { ...aggregation, type: "AssociationEvent" },
        {
          type: "TransformationEvent",
          eventTime: base.eventTime,
          eventTimeZoneOffset: "+00:00",
          inputEPCList: base.epcList,
          outputEPCList: base.epcList,
        },
        {
          type: "https://ns.example.com/epcis/InspectionEvent",
          eventTime: base.eventTime,
          eventTimeZoneOffset: "+00:00",
        },
      ];
      for (const event of events) expect(validateEpcisEvent(event), event.type).to.deep.equal({ ok: true, errors: [] });
    });

    const refused: Array<[string, Record<string, unknown>, string, RegExp]> = [
      [
        "an unknown event type",
        { type: "SensorEvent" },
        "type",
        /type must be one of ObjectEvent.*or a URI.*got "SensorEvent"/,
      ],
      ["a missing eventTime", { eventTime: undefined }, "eventTime", /eventTime is required/],
      ["a date without a time", { eventTime: "2024-03-01" }, "eventTime", /ISO 8601 date-time with an offset/],
      ["a bad action", { action: "CREATE" }, "action", /action must be one of OBSERVE, ADD, DELETE, got "CREATE"/],
      ["an offset without a colon", { eventTimeZoneOffset: "+0100" }, "eventTimeZoneOffset", /±hh:mm/],
      ["an offset beyond 14:00", { eventTimeZoneOffset: "+14:30" }, "eventTimeZoneOffset", /±hh:mm/],
      [
        "a quantity as text",
        { quantityList: [{ epcClass: "urn:epc:idpat:sgtin:9506000.013435.*", quantity: "3" }] },
        "quantityList[0].quantity",
        /quantity must be a number, got "3"/,
      ],
      [
        "an unknown field in a quantity element",
        { quantityList: [{ epcClass: "urn:epc:idpat:sgtin:9506000.013435.*", quantity: 3, weight: 2 }] },
        "quantityList[0].weight",
        /unknown field "weight" in a quantity element: allowed fields are epcClass, quantity, uom/,
      ],
      [
        "a unit that is not UN/ECE Rec 20",
        { quantityList: [{ epcClass: "urn:epc:idpat:sgtin:9506000.013435.*", quantity: 3, uom: "kg" }] },
        "quantityList[0].uom",
        /UN\/ECE Recommendation 20/,
      ],
      [
        "certificationInfo that is not a URI",
        { certificationInfo: "certified by us" },
        "certificationInfo",
        /certificationInfo must be a URI or a list of URIs/,
      ],
      ["certificationInfo that is a number", { certificationInfo: 5 }, "certificationInfo", /got 5/],
      [
        "a list of certificationInfo with a non-URI",
        { certificationInfo: ["https://cert.example.com/1", "nope"] },
        "certificationInfo",
        /certificationInfo must be a URI or a list of URIs/,
      ],
      [
        "a bare bizStep that is not a CBV term",
        { bizStep: "transforming" },
        "bizStep",
        /"transforming" is not a CBV business step .*must be a URI/,
      ],
      [
        "a bare disposition that is not a CBV term",
        { disposition: "in_transport" },
        "disposition",
        /"in_transport" is not a CBV disposition/,
      ],
      [
        "a CBV web URI written for a bare value",
        { bizStep: "https://ns.gs1.org/cbv/BizStep-shipping" },
        "bizStep",
        /written as its bare term/,
      ],
      [
        "a bare business transaction type",
        { bizTransactionList: [{ type: "purchase", bizTransaction: "urn:x:1" }] },
        "bizTransactionList[0].type",
        /not a CBV business transaction type/,
      ],
      [
        "an unknown field in a business transaction",
        { bizTransactionList: [{ bizTransaction: "urn:x:1", note: "x" }] },
        "bizTransactionList[0].note",
        /unknown field "note" in a business transaction/,
      ],
      [
        "a source without its type",
        { sourceList: [{ source: "urn:epc:id:pgln:9506000.00000" }] },
        "sourceList[0].type",
        /type is required in a source/,
      ],
      [
        "an ILMD field without a namespace",
        { ilmd: { materialType: "soil" } },
        "ilmd.materialType",
        /ILMD field "materialType" has no namespace/,
      ],
      [
        "ILMD on an OBSERVE event",
        { action: "OBSERVE", ilmd: { "example:lot": "1" } },
        "ilmd",
        /only allowed when action is ADD, not OBSERVE/,
      ],
      [
        "an extension field without a namespace",
        { note: "hello" },
        "note",
        /unknown field "note".*URI or CURIE \(e.g. example:note\)/,
      ],
      [
        "a repeated EPC",
        { epcList: ["urn:epc:id:sgtin:9506000.013435.SER1", "urn:epc:id:sgtin:9506000.013435.SER1"] },
        "epcList",
        /epcList must not repeat a value/,
      ],
      ["an EPC that is not a URI", { epcList: ["SER1"] }, "epcList[0]", /must be a URI/],
      ["a readPoint without an id", { readPoint: {} }, "readPoint.id", /id is required in readPoint/],
      [
        "an empty persistentDisposition",
        { persistentDisposition: {} },
        "persistentDisposition",
        /non-empty set or unset/,
      ],
      [
        "a bare persistent disposition that is not a CBV term",
        { persistentDisposition: { set: ["quarantined"] } },
        "persistentDisposition.set[0]",
        /not a CBV disposition/,
      ],
      [
        "a lower-case measurement type",
        { sensorElementList: [{ sensorReport: [{ type: "temperature", value: 4 }] }] },
        "sensorElementList[0].sensorReport[0].type",
        /not a GS1 measurement type/,
      ],
      [
        "a GS1 measurement type written as a URI",
        { sensorElementList: [{ sensorReport: [{ type: "https://gs1.org/voc/Temperature" }] }] },
        "sensorElementList[0].sensorReport[0].type",
        /written as its bare term/,
      ],
      [
        "a sensorElement without reports",
        { sensorElementList: [{ sensorMetadata: { time: "2024-03-01T08:00:00Z" } }] },
        "sensorElementList[0].sensorReport",
        /sensorReport is required/,
      ],
    ];
    for (const [what, change, field, message] of refused) {
      it(`refuses ${what}, naming ${field}`, function () {
        const event: Record<string, unknown> = { ...base, ...change };
        for (const key of Object.keys(event)) if (event[key] === undefined) delete event[key];
        const p = only(event);
        expect(p.field).to.equal(field);
        expect(p.message).to.match(message);
        expect(p.rule).to.equal("schema");
        expect(gs1Event(event), "GS1's own schema refuses it too").to.equal(false);
      });
    }

    it("names every missing field of an event", function () {
      const { eventTime: _t, eventTimeZoneOffset: _o, action: _a, ...rest } = base;
      expect(problems(rest)).to.deep.equal([
        ["eventTime", "schema"],
        ["eventTimeZoneOffset", "schema"],
        ["action", "schema"],
      ]);
    });

    it("says an event with no identifier lists names no identifiers", function () {
      const { epcList: _e, ...object } = base;
      expect(only(object)).to.include({ field: "epcList", rule: "schema" });
      expect(only(object).message).to.match(/names no identifiers/);
      const { childEPCs: _c, ...noChildren } = aggregation;
      expect(only(noChildren)).to.include({ field: "childEPCs", rule: "schema" });
      const transformation = {
        type: "TransformationEvent",
        eventTime: base.eventTime,
        eventTimeZoneOffset: "+00:00",
        transformationID: "urn:x:1",
      };
      expect(only(transformation).message).to.match(/names no inputs or outputs/);
      const { transformationID: _id, ...anonymous } = transformation;
      expect(only({ ...anonymous, inputEPCList: base.epcList }).message).to.match(/names no inputs or outputs/);
    });

    it("accepts user extensions, comments, error declarations and CURIE values", function () {
      const event = {
        ...base,
        "example:temperatureLog": { "example:max": 7, "example:readings": [{ "example:at": "2024-03-01T07:00:00Z" }] },
        "rdfs:comment": "a comment",
        readPoint: { ...readPoint, "example:dock": "4" },
        errorDeclaration: { declarationTime: "2024-03-02T08:00:00Z", reason: "incorrect_data", "example:by": "QA" },
        sensorElementList: [
          { sensorReport: [{ type: "gs1:Temperature", value: 4, uom: "CEL", component: "cbv:Comp-x" }] },
        ],
      };
      expect(validateEpcisEvent(event).errors).to.deep.equal([]);
    });
  });

  describe("amendments (each refused by GS1's 2023 schema, accepted here)", function () {
    const accepted: Array<[string, string, Record<string, unknown>]> = [
      [
        "A1",
        "persistentDisposition in an AggregationEvent",
        { ...aggregation, persistentDisposition: { set: ["completeness_verified"] } },
      ],
      [
        "A1",
        "persistentDisposition in an AssociationEvent",
        { ...aggregation, type: "AssociationEvent", persistentDisposition: { unset: ["completeness_inferred"] } },
      ],
      [
        "A2",
        "a sensorReport without a type",
        { ...base, sensorElementList: [{ sensorReport: [{ exception: "ALARM_CONDITION", booleanValue: true }] }] },
      ],
      [
        "A3",
        "a measurement type newer than the 2023 list",
        { ...base, sensorElementList: [{ sensorReport: [{ type: "SoundPressureLevel", value: 61, uom: "2N" }] }] },
      ],
      ["A4", "a bizStep as its CBV 1.x URN", { ...base, bizStep: "urn:epcglobal:cbv:bizstep:shipping" }],
      ["A4", "a disposition as its CBV 1.x URN", { ...base, disposition: "urn:epcglobal:cbv:disp:recalled" }],
      [
        "A4",
        "a source type as its CBV 1.x URN",
        {
          ...base,
          sourceList: [{ type: "urn:epcglobal:cbv:sdt:owning_party", source: "urn:epc:id:pgln:9506000.00000" }],
        },
      ],
    ];
    for (const [id, what, event] of accepted) {
      it(`${id}: accepts ${what}`, function () {
        expect(gs1Event(event), "GS1's 2023 schema").to.equal(false);
        expect(validateEpcisEvent(event).errors).to.deep.equal([]);
      });
    }

    it("A4: still refuses a URN that names no CBV term", function () {
      expect(only({ ...base, bizStep: "urn:epcglobal:cbv:bizstep:transforming" })).to.include({ field: "bizStep" });
    });

    it("A5: date-times are xsd:dateTimeStamp: upper-case T, an offset, real dates and times", function () {
      const good = [
        "2024-03-01T08:00:00Z",
        "2024-03-01T08:00:00.123456789-06:00",
        "2024-02-29T23:59:59+14:00",
        "2000-02-29T00:00:00Z",
      ];
      const bad = [
        "2024-03-01 08:00:00Z",
        "2024-03-01t08:00:00z",
        "2024-03-01T08:00:00+0100",
        "2024-03-01T08:00Z",
        "2023-02-29T08:00:00Z",
        "1900-02-29T08:00:00Z",
        "2024-03-01T24:00:00Z",
        "2024-03-01T08:00:60Z",
        "2024-03-01T08:00:00+15:00",
        "2024-03-01T08:00:00",
      ];
      for (const eventTime of good)
        expect(validateEpcisEvent({ ...base, eventTime }).errors, eventTime).to.deep.equal([]);
      for (const eventTime of bad) expect(only({ ...base, eventTime }), eventTime).to.include({ field: "eventTime" });
      expect(
        gs1Event({ ...base, eventTime: "2024-03-01 08:00:00Z" }),
        "ajv-formats' RFC 3339 date-time is looser",
      ).to.equal(true);
    });
  });

  describe("TraceAnchor rules", function () {
    it("TA1: refuses an event whose only identifier list is empty", function () {
      expect(only({ ...base, epcList: [] })).to.include({ field: "epcList", rule: "TA1" });
      const { parentID: _p, ...orphan } = aggregation;
      expect(only({ ...orphan, childEPCs: [], action: "DELETE" })).to.include({ field: "childEPCs", rule: "TA1" });
      const { childEPCs: _c, ...parentOnly } = aggregation;
      expect(validateEpcisEvent({ ...parentOnly, action: "DELETE" }).ok, "DELETE naming the parent").to.equal(true);
    });

    it("TA1: a sensor-only ObjectEvent needs its readPoint", function () {
      const sensors = { sensorElementList: [{ sensorReport: [{ type: "Temperature", value: 4, uom: "CEL" }] }] };
      expect(validateEpcisEvent({ ...base, epcList: [], readPoint, ...sensors }).ok).to.equal(true);
      expect(only({ ...base, epcList: [], ...sensors })).to.include({ field: "readPoint", rule: "TA1" });
    });

    it("TA2: refuses a negative quantity", function () {
      const event = {
        ...base,
        quantityList: [{ epcClass: "urn:epc:class:lgtin:9506000.013435.L1", quantity: -2, uom: "KGM" }],
      };
      expect(only(event)).to.include({ field: "quantityList[0].quantity", rule: "TA2" });
      expect(only(event).message).to.equal("quantity must be a non-negative number, got -2");
    });

    it("TA3: refuses a field without a namespace inside an extension or ILMD value", function () {
      expect(only({ ...base, "example:log": { max: 7 } })).to.include({ field: "example:log.max", rule: "TA3" });
      expect(only({ ...base, ilmd: { "example:origin": [{ country: "KR" }] } })).to.include({
        field: "ilmd.example:origin[0].country",
        rule: "TA3",
      });
      const fine = {
        ...base,
        ilmd: { "example:origin": { "@id": "urn:x", id: "urn:y", type: "example:Place", "example:country": "KR" } },
      };
      expect(validateEpcisEvent(fine).errors, "JSON-LD keywords and the context's aliases").to.deep.equal([]);
    });
  });

  describe("documents", function () {
    const doc = epcisDocument(
      [base, { ...base, bizStep: "transforming" }, { ...base, quantityList: [{ epcClass: "urn:x:y", quantity: -1 }] }],
      "2024-03-01T09:00:00Z",
    );

    it("names the event index, the field and the JSON pointer of each problem", function () {
      expect(
        validateEpcisDocument(doc).errors.map(({ eventIndex, field, pointer, rule }) => ({
          eventIndex,
          field,
          pointer,
          rule,
        })),
      ).to.deep.equal([
        { eventIndex: 1, field: "bizStep", pointer: "/epcisBody/eventList/1/bizStep", rule: "schema" },
        {
          eventIndex: 2,
          field: "quantityList[0].quantity",
          pointer: "/epcisBody/eventList/2/quantityList/0/quantity",
          rule: "TA2",
        },
      ]);
    });

    it("checks the envelope: @context, type, schemaVersion, creationDate, epcisBody, extension names", function () {
      const good = epcisDocument([], "2024-03-01T09:00:00Z") as Record<string, unknown>;
      const cases: Array<[Record<string, unknown>, string, RegExp]> = [
        [{ ...good, "@context": undefined }, "@context", /EPCIS document has no @context/],
        [{ ...good, type: "EPCISQueryDocument" }, "type", /type must be "EPCISDocument"/],
        [{ ...good, schemaVersion: undefined }, "schemaVersion", /schemaVersion is required/],
        [{ ...good, schemaVersion: "two" }, "schemaVersion", /version number/],
        [{ ...good, creationDate: "yesterday" }, "creationDate", /ISO 8601/],
        [{ ...good, epcisBody: {} }, "epcisBody.eventList", /eventList is required in epcisBody/],
        [{ ...good, note: "x" }, "note", /unknown field "note" in an EPCIS document/],
      ];
      expect(validateEpcisEnvelope(good).ok).to.equal(true);
      for (const [d, field, message] of cases) {
        for (const key of Object.keys(d)) if (d[key] === undefined) delete d[key];
        const { errors } = validateEpcisEnvelope(d);
        expect(
          errors.map((e) => e.field),
          field,
        ).to.deep.equal([field]);
        expect(errors[0]?.message).to.match(message);
      }
      expect(validateEpcisEnvelope([]).errors).to.deep.equal([
        { field: "", pointer: "", message: "EPCIS document must be a JSON object", rule: "schema" },
      ]);
    });

    it("requires @context on a standalone event when asked", function () {
      expect(validateEpcisEvent(base, { requireContext: true }).errors.map((e) => e.field)).to.deep.equal(["@context"]);
      expect(
        validateEpcisEvent(
          { ...base, "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"] },
          { requireContext: true },
        ).ok,
      ).to.equal(true);
    });

    it("never throws, whatever it is given (fast-check)", function () {
      const json = fc.jsonValue({ maxDepth: 4 });
      const eventish = fc.record(
        {
          type: fc.constantFrom(
            "ObjectEvent",
            "AggregationEvent",
            "TransactionEvent",
            "TransformationEvent",
            "AssociationEvent",
            "x:y",
            "Foo",
          ),
          eventTime: fc.oneof(fc.constant("2024-03-01T08:00:00Z"), json),
          eventTimeZoneOffset: fc.oneof(fc.constant("+01:00"), json),
          action: fc.oneof(fc.constantFrom("ADD", "OBSERVE", "DELETE"), json),
          epcList: fc.oneof(fc.array(fc.oneof(fc.constant("urn:epc:id:sgtin:9506000.013435.S"), json)), json),
          quantityList: fc.array(fc.dictionary(fc.constantFrom("epcClass", "quantity", "uom", "x"), json)),
          ilmd: json,
          bizStep: json,
          sensorElementList: json,
        },
        { requiredKeys: ["type"] },
      );
      fc.assert(
        fc.property(fc.oneof(json, eventish), (event) => {
          const { ok, errors } = validateEpcisEvent(event);
          expect(ok).to.equal(errors.length === 0);
          for (const e of errors) {
            expect(e.field).to.be.a("string");
            expect(e.message).to.be.a("string").and.not.equal("");
          }
          validateEpcisDocument({ "@context": [], type: "EPCISDocument", epcisBody: { eventList: [event] } });
        }),
        { numRuns: 300 },
      );
    });
  });

  describe("CBV vocabularies", function () {
    it("are GS1's schema term lists", function () {
      expect(CBV_VOCABULARIES.bizStep.terms.size).to.equal(41);
      expect(CBV_VOCABULARIES.disposition.terms.has("in_transit")).to.equal(true);
      expect(CBV_VOCABULARIES.measurementType.terms.has("Radioactivity")).to.equal(true);
      for (const v of Object.values(CBV_VOCABULARIES))
        for (const e of v.examples) expect(v.terms.has(e), e).to.equal(true);
    });
  });

  describe("docs/epcis.md", function () {
    it("lists every amendment and rule", function () {
      const doc = readFileSync(path.resolve(__dirname, "../../docs/epcis.md"), "utf8");
      for (const { id, summary } of [...EPCIS_AMENDMENTS, ...EPCIS_RULES]) {
        expect(doc, id).to.match(new RegExp(`^### ${id}\\. `, "m"));
        expect(summary).to.not.equal("");
      }
    });
  });

  describe("shared EPCIS samples (valid/, more-valid/, invalid/, more-invalid/)", function () {
    before(function () {
      if (!existsSync(SHARED_EPCIS)) {
        // CI always has shared/ beside the clone: there a missing folder is a failure, not a skip.
        if (process.env.CI) throw new Error(`${SHARED_EPCIS} not found`);
        console.log(`    (skipped: ${SHARED_EPCIS} not found)`);
        this.skip();
      }
    });
    const list = (folder: string): string[] =>
      existsSync(path.join(SHARED_EPCIS, folder))
        ? readdirSync(path.join(SHARED_EPCIS, folder)).filter((f) => f.endsWith(".json"))
        : [];
    const read = (folder: string, file: string): unknown =>
      JSON.parse(readFileSync(path.join(SHARED_EPCIS, folder, file), "utf8"));

    for (const folder of ["valid", "more-valid"]) {
      for (const file of list(folder)) {
        it(`accepts ${folder}/${file}`, function () {
          expect(validateEpcisDocument(read(folder, file)).errors).to.deep.equal([]);
        });
      }
    }

    // Each invalid sample: [eventIndex, field, message] of every problem.
    const expected: Record<string, Array<[number | undefined, string, RegExp]>> = {
      "EPCISDocument_without_context.json": [[undefined, "@context", /no @context/]],
      "ObjectEvent_with_invalid_action.json": [
        [0, "action", /action must be one of OBSERVE, ADD, DELETE, got "CREATE"/],
      ],
      "ObjectEvent_with_invalid_eventTime_format.json": [[0, "eventTime", /ISO 8601 .*got "22-07-2026"/]],
      "ObjectEvent_with_quantity_as_text.json": [[0, "quantityList[0].quantity", /must be a number, got "twenty"/]],
      "ObjectEvent_without_action_and_eventTime.json": [
        [0, "eventTime", /required/],
        [0, "eventTimeZoneOffset", /required/],
        [0, "action", /required/],
      ],
      "ObjectEvent_without_identifier_list.json": [[0, "epcList", /names no identifiers/]],
      "Combination_of_non_standard_bizStep_and_disposition.json": [
        [0, "bizStep", /"transforming" is not a CBV business step/],
        [1, "disposition", /"in_transport" is not a CBV disposition/],
      ],
      "ObjectEvent_with_ilmd_field_without_namespace.json": [[0, "ilmd.materialType", /no namespace/]],
      "ObjectEvent_with_non_standard_bizStep.json": [[0, "bizStep", /"transforming" is not a CBV business step/]],
      "ObjectEvent_with_non_standard_bizStep_in_second_event.json": [
        [1, "bizStep", /"transforming" is not a CBV business step/],
      ],
      "ObjectEvent_with_non_standard_disposition.json": [[0, "disposition", /"in_transport" is not a CBV disposition/]],
    };
    for (const folder of ["invalid", "more-invalid"]) {
      for (const file of list(folder)) {
        it(`refuses ${folder}/${file}, naming the event and the field`, function () {
          const want = expected[file];
          expect(want, `no expectation written for ${file}`).to.not.equal(undefined);
          const { ok, errors } = validateEpcisDocument(read(folder, file));
          expect(ok).to.equal(false);
          expect(errors.map((e) => [e.eventIndex, e.field])).to.deep.equal((want ?? []).map(([i, f]) => [i, f]));
          errors.forEach((e, i) => expect(e.message).to.match((want ?? [])[i]?.[2] ?? /^$/));
        });
      }
    }

    it("has all 30 samples", function () {
      expect([...list("valid"), ...list("more-valid")]).to.have.length(19);
      expect([...list("invalid"), ...list("more-invalid")]).to.have.length(11);
    });
  });
});
