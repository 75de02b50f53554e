import { expect } from "chai";
import fc from "fast-check";
import { EpcUrnError, formatEpcUrn, gs1CheckDigit, lgtinUrn, parseEpcUrn, sgtinPatternUrn, sgtinUrn } from "../../core";

const AI82 = `!"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz`;
const ai82Value = fc.string({ unit: fc.constantFrom(...AI82), minLength: 1, maxLength: 20 });

describe("core/epc", function () {
  it("parses SGTIN, LGTIN and class-level patterns to GTIN keys", function () {
    expect(parseEpcUrn("urn:epc:id:sgtin:9506000.013435.SER1")).to.deep.equal({
      scheme: "sgtin",
      gtin: "09506000134352",
      serial: "SER1",
      companyPrefix: "9506000",
    });
    expect(parseEpcUrn("urn:epc:class:lgtin:4012345.012345.998877")).to.deep.equal({
      scheme: "lgtin",
      gtin: "04012345123456",
      lot: "998877",
      companyPrefix: "4012345",
    });
    expect(parseEpcUrn("urn:epc:idpat:sgtin:4012345.012345.*")).to.deep.equal({
      scheme: "sgtin-class",
      gtin: "04012345123456",
      companyPrefix: "4012345",
    });
  });

  it("decodes URN escapes", function () {
    const key = parseEpcUrn("urn:epc:id:sgtin:0614141.112345.A%2FB%22C%25%26%3C%3E%3F");
    expect(key).to.deep.include({ serial: `A/B"C%&<>?` });
    expect(formatEpcUrn(key)).to.equal("urn:epc:id:sgtin:0614141.112345.A%2FB%22C%25%26%3C%3E%3F");
  });

  it("parses SSCC and SGLN to typed keys", function () {
    expect(parseEpcUrn("urn:epc:id:sscc:0614141.1234567890")).to.deep.equal({
      scheme: "sscc",
      sscc: "106141412345678908",
      companyPrefix: "0614141",
    });
    expect(parseEpcUrn("urn:epc:id:sgln:0614141.12345.0")).to.deep.equal({
      scheme: "sgln",
      gln: "0614141123452",
      companyPrefix: "0614141",
    });
    expect(parseEpcUrn("urn:epc:id:sgln:0614141.12345.400")).to.deep.include({ extension: "400" });
    for (const urn of [
      "urn:epc:id:sscc:0614141.1234567890",
      "urn:epc:id:sgln:0614141.12345.0",
      "urn:epc:id:sgln:0614141.12345.400",
    ]) {
      expect(formatEpcUrn(parseEpcUrn(urn))).to.equal(urn);
    }
  });

  it("builds URNs from a GTIN-14 and a company prefix length", function () {
    expect(sgtinUrn("09506000134352", "SER1", 7)).to.equal("urn:epc:id:sgtin:9506000.013435.SER1");
    expect(lgtinUrn("04012345123456", "L/1", 7)).to.equal("urn:epc:class:lgtin:4012345.012345.L%2F1");
    expect(sgtinPatternUrn("04012345123456", 7)).to.equal("urn:epc:idpat:sgtin:4012345.012345.*");
  });

  it("round-trips SGTIN and LGTIN for every prefix length and set-82 value (fast-check)", function () {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9]{13}$/),
        fc.integer({ min: 6, max: 12 }),
        ai82Value,
        (body, cpLength, value) => {
          const gtin = `${body}${gs1CheckDigit(body)}`;
          for (const urn of [
            sgtinUrn(gtin, value, cpLength),
            lgtinUrn(gtin, value, cpLength),
            sgtinPatternUrn(gtin, cpLength),
          ]) {
            const key = parseEpcUrn(urn);
            expect(key).to.deep.include({ gtin, companyPrefix: gtin.slice(1, 1 + cpLength) });
            expect(formatEpcUrn(key)).to.equal(urn);
          }
        },
      ),
    );
  });

  it("refuses malformed URNs with EpcUrnError", function () {
    for (const urn of [
      "urn:epc:id:sgtin:9506000.013435", // no serial
      "urn:epc:id:sgtin:9506000.0134351.S", // 14 digits
      "urn:epc:id:sgtin:95060.0134351.S", // prefix too short
      "urn:epc:id:sgtin:9506000.013435.a b", // space
      "urn:epc:id:sgtin:9506000.013435.%ZZ", // bad escape
      "urn:epc:idpat:sgtin:9506000.*.*", // not class level
      "urn:epc:id:grai:0614141.12345.400", // unsupported
      "https://id.gs1.org/01/09506000134352",
    ]) {
      expect(() => parseEpcUrn(urn), urn).to.throw(EpcUrnError);
    }
  });
});
