import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import { expect } from "chai";
import fc from "fast-check";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { canonicalDigitalLink } from "../../core/canonical-dl";
import { contextNamespaces, eventHashId, eventPreHash, withEventId } from "../../core/event-hash";
import { isPlainObject, type EpcisEvent, type JsonObject } from "../../core/record";
import * as reference from "./event-hash-reference";
import { FIXTURES, SHARED_EPCIS as SHARED_EPCIS_DIR, SHARED_SAMPLES } from "./helpers";

const CONTEXT = [
  "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
  { example: "https://ns.example.com/epcis/" },
];
const event: EpcisEvent = {
  type: "ObjectEvent",
  eventTime: "2024-03-01T09:00:00.000+01:00",
  eventTimeZoneOffset: "+01:00",
  epcList: ["urn:epc:id:sgtin:9506000.013435.SER2", "urn:epc:id:sgtin:9506000.013435.SER1"],
  action: "OBSERVE",
  bizStep: "shipping",
  disposition: "in_transit",
  readPoint: { id: "urn:epc:id:sgln:9506000.00001.0" },
  bizTransactionList: [{ type: "po", bizTransaction: "urn:epcglobal:cbv:bt:9506000000005:PO1" }],
  "example:shift": "night",
};
const hash = (e: JsonObject, context: unknown = CONTEXT): string => eventHashId(e, { context });
const pre = (e: JsonObject, context: unknown = CONTEXT): string => eventPreHash(e, { context });

/** Fails naming the first character where `actual` leaves `expected`, with the text around it. */
function expectSameText(actual: string, expected: string, what: string): void {
  if (actual === expected) return;
  let at = 0;
  while (at < actual.length && at < expected.length && actual[at] === expected[at]) at++;
  const around = (s: string): string => JSON.stringify(s.slice(Math.max(0, at - 40), at + 40));
  expect.fail(
    `${what}: first difference at character ${at} (expected ${JSON.stringify(expected[at] ?? "<end>")}, got ${JSON.stringify(actual[at] ?? "<end>")})\n` +
      `      expected …${around(expected)}…\n      actual   …${around(actual)}…`,
  );
}

describe("core/event-hash", function () {
  describe("eventPreHash", function () {
    it("writes the fields in the canonical order, expanded and normalised", function () {
      expect(pre(event)).to.equal(
        "eventType=ObjectEvent" +
          "eventTime=2024-03-01T08:00:00.000ZeventTimeZoneOffset=+01:00" +
          "epcListepc=https://id.gs1.org/01/09506000134352/21/SER1epc=https://id.gs1.org/01/09506000134352/21/SER2" +
          "action=OBSERVEbizStep=https://ref.gs1.org/cbv/BizStep-shippingdisposition=https://ref.gs1.org/cbv/Disp-in_transit" +
          "readPointid=https://id.gs1.org/414/9506000000015" +
          "bizTransactionListtype=https://ref.gs1.org/cbv/BTT-pobizTransaction=urn:epcglobal:cbv:bt:9506000000005:PO1" +
          "{https://ns.example.com/epcis/}shift=night",
      );
    });

    it("leaves out eventID, recordTime, errorDeclaration, comments and @context", function () {
      const noisy = {
        ...event,
        eventID: "urn:uuid:374d95fc-9457-4a51-bd6a-0bba133845a8",
        recordTime: "2024-03-02T00:00:00Z",
        errorDeclaration: { declarationTime: "2024-03-03T00:00:00Z", reason: "incorrect_data" },
        "rdfs:comment": "checked twice",
        "@context": CONTEXT,
      };
      expect(pre(noisy)).to.equal(pre(event));
    });

    it("does not depend on key order, list order or the prefix names chosen", function () {
      const reordered: JsonObject = Object.fromEntries(Object.entries(event).reverse());
      reordered.epcList = [...(event.epcList as string[])].reverse();
      reordered.bizTransactionList = [{ bizTransaction: "urn:epcglobal:cbv:bt:9506000000005:PO1", type: "po" }];
      expect(pre(reordered)).to.equal(pre(event));
      const { "example:shift": shift, ...rest } = event;
      expect(pre({ ...rest, "ex2:shift": shift ?? null }, [{ ex2: "https://ns.example.com/epcis/" }])).to.equal(
        pre(event),
      );
    });

    it("writes a standard value the same in every spelling: bare, CBV 1.x URN, web URI", function () {
      for (const bizStep of [
        "urn:epcglobal:cbv:bizstep:shipping",
        "https://ref.gs1.org/cbv/BizStep-shipping",
        "cbv:BizStep-shipping",
      ]) {
        expect(hash({ ...event, bizStep }), bizStep).to.equal(hash(event));
      }
      const sensor = (type: string): JsonObject => ({
        ...event,
        sensorElementList: [{ sensorReport: [{ type, value: 4, uom: "CEL" }] }],
      });
      expect(pre(sensor("Temperature"))).to.contain("sensorReporttype=https://gs1.org/voc/Temperaturevalue=4uom=CEL");
      expect(hash(sensor("gs1:Temperature"))).to.equal(hash(sensor("Temperature")));
    });

    it("expands bare words only in vocabulary fields, not in user extensions", function () {
      expect(pre({ ...event, "example:shift": "shipping" })).to.contain(
        "{https://ns.example.com/epcis/}shift=shipping",
      );
      expect(pre({ ...event, bizStep: "transforming" })).to.contain("bizStep=transforming");
    });

    it("writes every identifier as a canonical Digital Link", function () {
      const dl = {
        ...event,
        epcList: [
          "https://brand.example/01/9506000134352/21/SER1?linkType=all",
          "https://id.gs1.org/01/09506000134352/10/L1/21/SER2",
        ],
      };
      expect(pre(dl)).to.contain(
        "epcListepc=https://id.gs1.org/01/09506000134352/21/SER1epc=https://id.gs1.org/01/09506000134352/21/SER2action",
      );
    });

    it("writes times in UTC with milliseconds, rounding the third decimal up when the fourth is 5-9", function () {
      const at = (eventTime: string): string =>
        pre({ ...event, eventTime })
          .slice("eventType=ObjectEvent".length)
          .split("eventTimeZoneOffset")[0] ?? "";
      expect(at("2024-03-01T09:00:00+01:00")).to.equal("eventTime=2024-03-01T08:00:00.000Z");
      expect(at("2024-03-01T02:00:00.1414-06:00")).to.equal("eventTime=2024-03-01T08:00:00.141Z");
      expect(at("2024-03-01T08:00:00.1415Z")).to.equal("eventTime=2024-03-01T08:00:00.142Z");
      // The reference rounds microseconds half to even (…1425 → .142); CBV 2.0's rule gives .143.
      expect(at("2024-03-01T08:00:00.1425Z")).to.equal("eventTime=2024-03-01T08:00:00.143Z");
      expect(at("2023-12-31T23:59:59.9996Z")).to.equal("eventTime=2024-01-01T00:00:00.000Z");
      expect(at("not a time")).to.equal("eventTime=not a time");
    });

    it("writes numbers without trailing zeros, as the reference's Python does", function () {
      const quantity = (q: number | string): string =>
        pre({ ...event, quantityList: [{ epcClass: "urn:epc:class:lgtin:9506000.013435.L1", quantity: q as number }] });
      expect(quantity(452.0)).to.contain("epcClass=https://id.gs1.org/01/09506000134352/10/L1quantity=452action=");
      expect(quantity(0.5)).to.contain("quantity=0.5");
      expect(quantity(0.00001)).to.contain("quantity=1e-05");
      expect(pre({ ...event, "example:count": "007.50" })).to.contain("count=7.5");
      expect(pre({ ...event, "example:flag": true })).to.contain("flag=true");
    });

    it("puts a standard field's user extensions after its own fields", function () {
      const e = { ...event, readPoint: { "example:dock": "4", id: "urn:epc:id:sgln:9506000.00001.0" } };
      expect(pre(e)).to.contain(
        "readPointid=https://id.gs1.org/414/9506000000015{https://ns.example.com/epcis/}dock=4bizTransactionList",
      );
    });
  });

  describe("eventHashId and withEventId", function () {
    it("is the ni URI of the SHA-256 of the pre-hash string", function () {
      expect(hash(event)).to.equal(`ni:///sha-256;${bytesToHex(sha256(utf8ToBytes(pre(event))))}?ver=CBV2.0`);
      expect(hash(event)).to.match(/^ni:\/\/\/sha-256;[0-9a-f]{64}\?ver=CBV2\.0$/);
    });

    it("gives an event without eventID its hash id, independent of any eventID, and keeps an event's own", function () {
      const withId = withEventId(event, { context: CONTEXT });
      expect(withId).to.deep.equal({ ...event, eventID: hash(event) });
      expect(hash(withId)).to.equal(hash(event));
      expect(withEventId({ ...event, eventID: "urn:uuid:1" }, { context: CONTEXT }).eventID).to.equal("urn:uuid:1");
      expect(withEventId({ ...event, eventID: "" }, { context: CONTEXT }).eventID).to.equal(hash(event));
      expect(event).to.not.have.property("eventID");
    });

    it("reads the prefixes a @context declares", function () {
      expect(
        contextNamespaces(["https://x", { a: "https://a/", "@vocab": "https://v/", b: { "@id": "https://b/" } }, null]),
      ).to.deep.equal({ a: "https://a/" });
      expect(contextNamespaces({ a: "https://a/" })).to.deep.equal({ a: "https://a/" });
    });

    it("never throws, whatever the event (fast-check)", function () {
      fc.assert(
        fc.property(
          fc.dictionary(
            fc.constantFrom(
              "type",
              "eventTime",
              "epcList",
              "bizStep",
              "readPoint",
              "sensorElementList",
              "quantityList",
              "ex:x",
              "ilmd",
            ),
            fc.jsonValue({ maxDepth: 3 }),
          ),
          (e) => {
            expect(eventHashId(e as JsonObject)).to.match(/^ni:\/\/\/sha-256;[0-9a-f]{64}\?ver=CBV2\.0$/);
          },
        ),
        { numRuns: 300 },
      );
    });
  });

  describe("against the implementation before it was made faster (test/core/event-hash-reference.ts)", function () {
    // Names and values chosen so that random events reach every branch: the canonical order, the
    // list corrections (…List, childEPCs, typed lists, a list of lists), extensions by prefix at
    // every level, comments, vocabulary words, times and numbers in many spellings, whitespace.
    const KEYS = [
      "type",
      "eventTime",
      "eventTimeZoneOffset",
      "recordTime",
      "eventID",
      "certificationInfo",
      "parentID",
      "epcList",
      "inputEPCList",
      "outputEPCList",
      "childEPCs",
      "quantityList",
      "childQuantityList",
      "inputQuantityList",
      "outputQuantityList",
      "epcClass",
      "quantity",
      "uom",
      "action",
      "transformationID",
      "bizStep",
      "disposition",
      "persistentDisposition",
      "set",
      "unset",
      "readPoint",
      "bizLocation",
      "id",
      "bizTransactionList",
      "bizTransaction",
      "sourceList",
      "source",
      "destinationList",
      "destination",
      "sensorElementList",
      "sensorMetadata",
      "sensorReport",
      "time",
      "startTime",
      "value",
      "component",
      "exception",
      "deviceID",
      "errorDeclaration",
      "reason",
      "declarationTime",
      "ilmd",
      "comment",
      "rdfs:comment",
      "ex:field",
      "ex:fooList",
      "ex:fooListList",
      "ex:time",
      "ex2:x",
      "other:y",
      "@context",
      "inputEPC",
      "inputQuantity",
      "constructor:z",
      "{https://ns.example.com/epcis/}raw",
      "xListList",
    ];
    const VALUES = [
      "",
      " ",
      "OBSERVE",
      "ADD",
      "shipping",
      "receiving",
      "in_transit",
      "urn:epcglobal:cbv:bizstep:shipping",
      "urn:epcglobal:cbv:disp:active urn:epcglobal:cbv:btt:po",
      "https://ref.gs1.org/cbv/BizStep-shipping",
      "cbv:BizStep-shipping",
      "ex:thing",
      "po",
      "owning_party",
      "Temperature",
      "ALARM_CONDITION",
      "latitude",
      "incorrect_data",
      "urn:epc:id:sgtin:9506000.013435.SER1",
      " urn:epc:id:sgtin:9506000.013435.SER2\n",
      "urn:epc:id:sgln:9506000.00001.0",
      "urn:epc:class:lgtin:4012345.012345.Lot987",
      "urn:epc:idpat:sgtin:4012345.012345.*",
      "https://brand.example/01/9506000134352/21/SER1?linkType=all",
      "https://id.gs1.org/01/09506000134352/10/L1/21/S",
      "http://example.de/gtin-8/01/97803111",
      "https://example.com/abcdefghij",
      "urn:uuid:6d3b0c1e-0000-4000-8000-000000000001",
      "2024-03-01T09:00:00.000+01:00",
      "2024-03-01T08:00:00.000Z",
      "2024-03-01T08:00:00.1415Z",
      "2024-02-30T08:00:00.000Z",
      "2024-03-01t08:00:00.000z",
      "2024-03-01 08:00",
      "2024-03-01T24:00:00.000Z",
      "0000-01-01T00:00:00.000Z",
      "2023-12-31T23:59:59.9996-0130",
      "+01:00",
      "-05:30",
      "452.0",
      "007.50",
      "1_000",
      "1e400",
      ".5",
      "-0",
      "NaN",
      "\u00a0padded\u3000",
      "\u0085",
      "a\ud83d\ude00b",
      "\ue000",
      "\ud800",
      "CEL",
      "KGM",
    ];
    const scalar = fc.oneof(
      fc.constantFrom(...VALUES),
      fc.string({ maxLength: 12 }),
      fc.string({ unit: "binary", maxLength: 6 }),
      fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0.5, 1e-5, 452, -0, 1e21, 123456789.123)),
      fc.boolean(),
      fc.constant(null),
    );
    const { value } = fc.letrec<{ value: unknown; object: Record<string, unknown> }>((tie) => ({
      value: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        scalar,
        fc.array(tie("value"), { maxLength: 4 }),
        tie("object"),
      ),
      object: fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 4 })), tie("value"), {
        maxKeys: 6,
      }),
    }));
    const contexts = fc.constantFrom<unknown>(
      undefined,
      CONTEXT,
      [{ ex: "https://ns.example.com/epcis/", ex2: "https://ns.example.com/epcis/" }],
      { other: "urn:other:" },
    );
    const randomEvent = fc.record(
      {
        type: fc.constantFrom("ObjectEvent", "AggregationEvent", "TransformationEvent", "quantity", 7),
        eventTime: fc.constantFrom(...VALUES),
        epcList: fc.array(fc.constantFrom(...VALUES), { maxLength: 4 }),
        extra: fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 8 }),
        "@context": contexts,
      },
      { requiredKeys: ["type"] },
    );

    it("writes the same pre-hash string and hash id for random events (fast-check)", function () {
      fc.assert(
        fc.property(
          randomEvent,
          contexts,
          fc.option(fc.constantFrom(["ex:field"], ["bizStep", "epcList"])),
          (e, context, ignore) => {
            const { extra, ...fields } = e as Record<string, unknown>;
            const input = { ...fields, ...(extra as Record<string, unknown>) } as JsonObject;
            const options = { context, ...(ignore === null ? {} : { ignoreFields: ignore }) };
            expectSameText(eventPreHash(input, options), reference.eventPreHash(input, options), "pre-hash");
            expect(eventHashId(input, options)).to.equal(reference.eventHashId(input, options));
          },
        ),
        { numRuns: 3000 },
      );
    });

    it("writes the same pre-hash string for hand-picked corner cases", function () {
      const cases: JsonObject[] = [
        // A vocabulary word one level deeper than any vocabulary field is not expanded.
        { ...event, sensorElementList: [{ sensorReport: [{ type: { x: "Temperature" }, value: 1 }] }] },
        { ...event, sensorElementList: [{ sensorReport: [{ type: "Temperature", exception: "ALARM_CONDITION" }] }] },
        // Lists of lists, a …ListList, childEPCs and quantities with and without children.
        { ...event, "ex:fooListList": [["b", "a"], ["a"]], xListList: [{ y: 1 }, { y: 0 }] },
        {
          ...event,
          childEPCs: ["urn:epc:id:sgtin:9506000.013435.C2", { id: "x" }, "urn:epc:id:sgtin:9506000.013435.C1"],
        },
        { ...event, quantityList: [{ epcClass: "urn:epc:class:lgtin:4012345.012345.L", quantity: 2 }], quantity: 3 },
        { ...event, inputEPCList: ["b", "a"], outputQuantityList: [{ epcClass: "c", quantity: 1.5, uom: "KGM" }] },
        // Typed lists keep the type first, and an unsorted element order where a typed element is.
        {
          ...event,
          sourceList: [
            { source: "urn:epc:id:sgln:9506000.00001.0", type: "owning_party" },
            { type: "location", source: "urn:epc:id:sgln:9506000.00002.0" },
          ],
          destination: "z",
          source: "a",
        },
        // Extensions of a standard field, and at event level when there is no eventTime or action.
        { type: "ObjectEvent", "ex:b": "2", "ex:a": "1", readPoint: { id: "r", "ex:dock": "4" } },
        // Prefixes that are names of Object.prototype members.
        { ...event, "constructor:z": "1", "__proto__:y": "2", "ex:toString": "constructor:v" },
        // Objects of different types with the same content, comments at depth, times with offsets.
        { ...event, ilmd: { "ex:list": [{ type: "ex:a" }, { type: "https://ns.example.com/epcis/a" }], comment: "c" } },
        { ...event, eventTime: "2024-03-01T08:00:00.000z", "ex:time": "2024-03-01T09:00:00+01:00" },
      ];
      for (const [i, e] of cases.entries()) {
        expectSameText(pre(e), reference.eventPreHash(e, { context: CONTEXT }), `case ${i}`);
        expect(hash(e), `case ${i}`).to.equal(reference.eventHashId(e, { context: CONTEXT }));
      }
    });

    it("writes the same pre-hash string for every event of the shared samples and the fixtures", function () {
      const dirs = [path.join(SHARED_SAMPLES, "event-hash"), SHARED_EPCIS_DIR, FIXTURES];
      let compared = 0;
      for (const dir of dirs.filter((d) => existsSync(d))) {
        for (const file of readdirSync(dir).filter((f) => /\.json(ld)?$/.test(f))) {
          let doc: unknown;
          try {
            doc = JSON.parse(readFileSync(path.join(dir, file), "utf8"));
          } catch {
            continue;
          }
          const body = isPlainObject(doc) && isPlainObject(doc.epcisBody) ? doc.epcisBody : {};
          const query = isPlainObject(body.queryResults) ? body.queryResults : undefined;
          const list = Array.isArray(body.eventList)
            ? body.eventList
            : isPlainObject(query?.resultsBody) && Array.isArray(query.resultsBody.eventList)
              ? query.resultsBody.eventList
              : [];
          for (const e of list.filter(isPlainObject)) {
            const options = { context: (doc as JsonObject)["@context"] };
            expectSameText(
              eventPreHash(e as JsonObject, options),
              reference.eventPreHash(e as JsonObject, options),
              file,
            );
            compared++;
          }
        }
      }
      expect(compared).to.be.greaterThan(19);
    });
  });

  describe("canonicalDigitalLink", function () {
    // From the reference implementation's normaliser tests, one per scheme and case.
    const cases: Array<[string, string | undefined]> = [
      ["urn:epc:id:sgtin:4012345.011111.98%22", "https://id.gs1.org/01/04012345111118/21/98%22"],
      [
        "urn:epc:id:sgtin:0614141.812345.6789%2F%26%25%22!%3F()",
        "https://id.gs1.org/01/80614141123458/21/6789%2F%26%25%22%21%3F%28%29",
      ],
      ["urn:epc:id:sscc:4012345.0000000011", "https://id.gs1.org/00/040123450000000115"],
      ["urn:epc:id:sgln:4012345.00005.122", "https://id.gs1.org/414/4012345000054/254/122"],
      ["urn:epc:id:sgln:4012345.00005.0", "https://id.gs1.org/414/4012345000054"],
      ["urn:epc:id:grai:4012345.00022.334455", "https://id.gs1.org/8003/04012345000221334455"],
      ["urn:epc:id:giai:4012345.ABC345", "https://id.gs1.org/8004/4012345ABC345"],
      ["urn:epc:id:gsrn:4012345.9876540000", "https://id.gs1.org/8018/401234598765400000"],
      ["urn:epc:id:gsrnp:4012345.0000098765", "https://id.gs1.org/8017/401234500000987658"],
      ["urn:epc:id:gdti:987659999999..9", "https://id.gs1.org/253/98765999999929"],
      [
        "urn:epc:id:cpi:0614141.11111111111111-A%23%2F.1234",
        "https://id.gs1.org/8010/061414111111111111111-A%23%2F/8011/1234",
      ],
      ["urn:epc:id:ginc:0614141.xyz47%2F11", "https://id.gs1.org/401/0614141xyz47%2F11"],
      ["urn:epc:id:gsin:4012345.999987654", "https://id.gs1.org/402/40123459999876541"],
      ["urn:epc:id:itip:4012345.011111.01.02.987", "https://id.gs1.org/8006/040123451111180102/21/987"],
      [
        "urn:epc:id:upui:1234567.098765.51qIgY)%3C%26Jp3*j7SDB",
        "https://id.gs1.org/01/01234567987651/235/51qIgY%29%3C%26Jp3%2Aj7SDB",
      ],
      ["urn:epc:id:pgln:999999999999.", "https://id.gs1.org/417/9999999999994"],
      ["urn:epc:class:lgtin:4012345.012345.Lot987", "https://id.gs1.org/01/04012345123456/10/Lot987"],
      ["urn:epc:idpat:sgtin:4012345.012345.*", "https://id.gs1.org/01/04012345123456"],
      ["urn:epc:idpat:cpi:4012345.AB12.*", "https://id.gs1.org/8010/4012345AB12"],
      ["urn:epc:idpat:itip:4012345.012345.01.02.*", "https://id.gs1.org/8006/040123451234560102"],
      ["http://example.de/gtin-8/01/97803111", "https://id.gs1.org/01/00000097803111"],
      ["https://example.com/gtin/09780345418913/21/765tz?abc=211121", "https://id.gs1.org/01/09780345418913/21/765tz"],
      ["https://id.gs1.org/01/9780345418913/22/344/10/1223/21/765tz", "https://id.gs1.org/01/09780345418913/21/765tz"],
      [
        "https://fashion-corp.com/8006/040123451234560102/10/Lot-123/21/ser987",
        "https://id.gs1.org/8006/040123451234560102/21/ser987",
      ],
      ["https://example.co.uk/party/4226350800008", "https://id.gs1.org/417/4226350800008"],
      ["https://id.gs1.org/8010/0628165987/8011/9876", "https://id.gs1.org/8010/0628165987/8011/9876"],
      ["http://id.gs1.org/99/9780345418913", undefined],
      ["https://id.gs1.org/8006/04012345123456/22/ABCD/10/XYZ", undefined],
      ["http://example.de/abc/9780345418913", undefined],
      ["geo:47.506694,11.104301", undefined],
      ["Hello World!", undefined],
    ];
    for (const [input, output] of cases) {
      it(`${input} → ${output ?? "none"}`, function () {
        expect(canonicalDigitalLink(input)).to.equal(output);
      });
    }
  });

  describe("the reference implementation's examples (samples/event-hash)", function () {
    const dir = path.join(SHARED_SAMPLES, "event-hash");
    before(function () {
      // The 19 vectors are what the issue asks to reproduce: missing, they fail the suite, never skip it.
      if (!existsSync(dir)) throw new Error(`${dir} not found: the CBV 2.0 event-hash vectors must be there`);
    });
    const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".jsonld")) : [];
    const lines = (file: string): string[] =>
      existsSync(file)
        ? readFileSync(file, "utf8")
            .split("\n")
            .filter((l) => l !== "")
        : [];
    const idOf = (text: string): string => `ni:///sha-256;${bytesToHex(sha256(utf8ToBytes(text)))}?ver=CBV2.0`;
    let vectors = 0;
    let preHashes = 0;

    for (const file of files) {
      const name = file.slice(0, -".jsonld".length);
      describe(name, function () {
        const doc = JSON.parse(readFileSync(path.join(dir, file), "utf8")) as JsonObject;
        const body = doc.epcisBody as JsonObject;
        const query = isPlainObject(body.queryResults) ? body.queryResults : undefined;
        const events = (
          Array.isArray(body.eventList)
            ? body.eventList
            : isPlainObject(query?.resultsBody)
              ? query.resultsBody.eventList
              : [body.event]
        ) as JsonObject[];
        // The reference's own convention for fields a repository adds: a "<prefix>:ignoreFields"
        // list, the prefix being the one bound to https://repository-x.example.com/.
        const prefix = Object.entries(contextNamespaces(doc["@context"])).find(
          ([, iri]) => iri === "https://repository-x.example.com/",
        )?.[0];
        const ignore =
          prefix === undefined ? undefined : (doc[`${prefix}:ignoreFields`] ?? query?.[`${prefix}:ignoreFields`]);
        const options = {
          context: doc["@context"],
          ignoreFields: Array.isArray(ignore) ? (ignore as string[]) : undefined,
        };
        const hashes = lines(path.join(dir, `${name}.hashes`));
        const expectedPre = lines(path.join(dir, `${name}.prehashes`));

        it(`has one hash per event (${events.length})`, function () {
          expect(hashes).to.have.length(events.length);
        });

        events.forEach((e, i) => {
          const want = expectedPre[i];
          if (want !== undefined && idOf(want) === hashes[i]) {
            it(`event ${i}: pre-hash string`, function () {
              expectSameText(eventPreHash(e, options), want, `${name} event ${i}`);
              preHashes++;
            });
          } else if (want !== undefined) {
            it(`event ${i}: the sample's pre-hash line is stale (its own hash is not the expected one); the hash decides`, function () {
              expect(idOf(want)).to.not.equal(hashes[i]);
            });
          }
          it(`event ${i}: hash id`, function () {
            expect(eventHashId(e, options)).to.equal(hashes[i]);
            vectors++;
          });
        });
      });
    }

    after(function () {
      if (files.length > 0)
        console.log(
          `    ${vectors} hash ids and ${preHashes} pre-hash strings reproduced from ${files.length} documents`,
        );
    });

    it("has the 19 documents", function () {
      expect(files).to.have.length(19);
    });
  });
});
