import { expect } from "chai";
import fc from "fast-check";
import { Readable } from "node:stream";
import {
  eventHashId,
  readEpcisDocument,
  readEventNdjson,
  readIdentityCsv,
  readIdentityNdjson,
  ValidationError,
} from "../../core";
import { parseCsvRecord } from "../../core/readers/csv";
import { collect, fixture } from "./helpers";

const EVENT = {
  type: "ObjectEvent",
  eventTime: "2024-03-01T08:00:00Z",
  eventTimeZoneOffset: "+00:00",
  action: "OBSERVE",
  epcList: ["urn:epc:id:sgtin:9506000.013435.SER1"],
  "example:shift": "night",
};
const DOC = {
  "@context": [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    { example: "https://ns.example.com/epcis/" },
  ],
  type: "EPCISDocument",
  schemaVersion: "2.0",
  creationDate: "2024-03-01T12:00:00Z",
};

describe("core/readers", function () {
  describe("parseCsvRecord", function () {
    it("handles quotes, doubled quotes, empty fields and open quotes", function () {
      expect(parseCsvRecord("a,,c")).to.deep.equal(["a", "", "c"]);
      expect(parseCsvRecord(`"a,b","say ""hi""",`)).to.deep.equal(["a,b", 'say "hi"', ""]);
      expect(parseCsvRecord(`x,"open`)).to.equal(undefined);
      expect(() => parseCsvRecord(`"a"b,c`)).to.throw(ValidationError);
      expect(() => parseCsvRecord(`a"b,c`)).to.throw(ValidationError);
    });

    it("reads back what an RFC 4180 writer produces (fast-check)", function () {
      const quote = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
      fc.assert(
        fc.property(
          fc.array(fc.string({ unit: fc.constantFrom("a", ",", '"', "\n", " ", "é") }), { minLength: 1, maxLength: 6 }),
          (cells) => {
            expect(parseCsvRecord(cells.map(quote).join(","))).to.deep.equal(cells);
          },
        ),
      );
    });
  });

  describe("readIdentityCsv", function () {
    it("reads items, lots and attributes, omitting empty cells", async function () {
      const entries = await collect(readIdentityCsv({ input: fixture("identity.csv") }));
      expect(entries.map((e) => e.ok)).to.deep.equal([true, true, true]);
      const values = entries.map((e) => (e.ok ? e.value : undefined));
      expect(values[0]).to.deep.equal({
        gtin: "09506000134352",
        serial: "SER1",
        lot: "LOT1",
        attributes: { color: "red" },
      });
      expect(values[1]).to.deep.equal({
        gtin: "04006381333931",
        serial: "SER2",
        attributes: { color: "blue", note: "quoted, with comma" },
      });
      expect(values[2]).to.deep.equal({
        gtin: "09506000134352",
        serial: "SER3",
        lot: "LOT1",
        attributes: { note: 'multi\nline "note"' },
      });
      expect(entries.map((e) => e.line)).to.deep.equal([2, 3, 4]);
    });

    it("reports each bad row with its line and field", async function () {
      const entries = await collect(readIdentityCsv({ input: fixture("identity-bad.csv") }));
      const problems = entries.flatMap((e) => (e.ok ? [] : [[e.line, e.error.field, e.error.code]]));
      expect(problems).to.deep.equal([
        [3, "gtin", "GTIN_CHECK_DIGIT"],
        [4, "serial", "GS1_AI82_CHARSET"],
        [6, undefined, "CSV_COLUMNS"],
      ]);
      const bad = entries.find((e) => !e.ok);
      expect(bad !== undefined && !bad.ok && bad.error.message).to.match(
        /identity-bad\.csv, line 3: gtin: .*check digit/,
      );
    });

    it("refuses a header without gtin or serial, and an unterminated quote", async function () {
      const noSerial = Readable.from(["gtin,lot\n09506000134352,L\n"]);
      await expectRejected(collect(readIdentityCsv({ input: noSerial, file: "x.csv" })), /x\.csv, line 1: header row/);
      const open = Readable.from(['gtin,serial\n09506000134352,"S1\n']);
      await expectRejected(collect(readIdentityCsv({ input: open, file: "y.csv" })), /y\.csv, line 2: unterminated/);
    });
  });

  describe("readIdentityNdjson", function () {
    it("reads objects per line and skips blank lines", async function () {
      const entries = await collect(readIdentityNdjson({ input: fixture("identity.ndjson") }));
      expect(entries.map((e) => [e.ok, e.line])).to.deep.equal([
        [true, 1],
        [true, 3],
      ]);
    });

    it("names line and field for bad JSON, bad GTINs and unknown fields", async function () {
      const input = Readable.from([
        '{"gtin":"09506000134352","serial":"1"}\n{oops\n{"gtin":"1","serial":"2"}\n{"gtin":"09506000134352","serial":"3","x":1}\n',
      ]);
      const entries = await collect(readIdentityNdjson({ input, file: "i.ndjson" }));
      expect(entries.map((e) => (e.ok ? "ok" : `${e.line}:${e.error.field ?? ""}:${e.error.code}`))).to.deep.equal([
        "ok",
        "2::NDJSON_SYNTAX",
        "3:gtin:GTIN_LENGTH",
        "4:x:RECORD_SHAPE",
      ]);
    });
  });

  describe("trace readers", function () {
    it("reads every event of an EPCIS document with its index", async function () {
      const entries = await collect(readEpcisDocument({ input: fixture("epcis-document.jsonld") }));
      expect(entries.map((e) => [e.ok, e.eventIndex])).to.deep.equal([
        [true, 0],
        [true, 1],
      ]);
    });

    it("gives every event without an eventID its CBV 2.0 hash id, and changes nothing else", async function () {
      const own = { ...EVENT, eventID: "urn:uuid:374d95fc-9457-4a51-bd6a-0bba133845a8" };
      const doc = { ...DOC, epcisBody: { eventList: [EVENT, own] } };
      const entries = await collect(readEpcisDocument({ input: Readable.from([JSON.stringify(doc)]), file: "d.json" }));
      const values = entries.map((e) => (e.ok ? e.value : undefined));
      expect(values).to.deep.equal([{ ...EVENT, eventID: eventHashId(EVENT, { context: DOC["@context"] }) }, own]);
      expect(values[0]?.eventID).to.match(/^ni:\/\/\/sha-256;[0-9a-f]{64}\?ver=CBV2\.0$/);
      const lines = await collect(
        readEventNdjson({
          input: Readable.from([`${JSON.stringify(EVENT)}\n${JSON.stringify(own)}\n`]),
          file: "e.ndjson",
        }),
      );
      expect(lines.map((e) => (e.ok ? e.value.eventID : undefined))).to.deep.equal([eventHashId(EVENT), own.eventID]);
    });

    it("reads a sensor-only event, and names file, event and field of an invalid one", async function () {
      const sensorOnly = {
        ...EVENT,
        epcList: [],
        readPoint: { id: "urn:epc:id:sgln:9506000.00001.0" },
        sensorElementList: [{ sensorReport: [{ type: "Temperature", value: 4.5, uom: "CEL" }] }],
      };
      const doc = { ...DOC, epcisBody: { eventList: [sensorOnly, { ...EVENT, bizStep: "transforming" }] } };
      const [ok, bad] = await collect(
        readEpcisDocument({ input: Readable.from([JSON.stringify(doc)]), file: "s.json" }),
      );
      expect(ok?.ok).to.equal(true);
      expect(bad !== undefined && !bad.ok && bad.error).to.include({
        file: "s.json",
        eventIndex: 1,
        field: "bizStep",
        code: "EPCIS_INVALID",
      });
      expect(bad !== undefined && !bad.ok && bad.error.message).to.match(
        /^s\.json, event 1: bizStep: "transforming" is not a CBV business step/,
      );
    });

    it("refuses a document without @context", async function () {
      await expectRejected(collect(readEpcisDocument({ input: fixture("epcis-no-context.json") })), /@context/);
    });

    it("names the event and field of a bad offset", async function () {
      const [entry] = await collect(readEpcisDocument({ input: fixture("epcis-bad-offset.json") }));
      expect(entry !== undefined && !entry.ok && entry.error.message).to.match(/event 0: eventTimeZoneOffset: /);
    });

    it("validates NDJSON events line by line", async function () {
      const entries = await collect(readEventNdjson({ input: fixture("events-bad.ndjson") }));
      expect(entries.map((e) => (e.ok ? "ok" : `${e.line}:${e.error.field ?? ""}`))).to.deep.equal([
        "ok",
        "2:eventTime",
        "3:quantityList[0].quantity",
        "4:type",
      ]);
    });
  });
});

async function expectRejected(promise: Promise<unknown>, message: RegExp): Promise<void> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(ValidationError);
    expect((err as Error).message).to.match(message);
    return;
  }
  expect.fail("expected a ValidationError");
}
