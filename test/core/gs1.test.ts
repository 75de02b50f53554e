import { expect } from "chai";
import fc from "fast-check";
import {
  checkSerial,
  gs1CheckDigit,
  GtinError,
  gtinMatchesPrefix,
  isAi82,
  isValidGtin,
  toGtin14,
  ValidationError,
} from "../../core";

describe("core/gs1", function () {
  describe("check digits", function () {
    it("accepts real GTINs of every length", function () {
      expect(toGtin14("09506000134352")).to.equal("09506000134352"); // GS1 example GTIN-14
      expect(toGtin14("4006381333931")).to.equal("04006381333931"); // GTIN-13 (EAN-13)
      expect(toGtin14("036000291452")).to.equal("00036000291452"); // GTIN-12 (UPC-A)
      expect(toGtin14("96385074")).to.equal("00000096385074"); // GTIN-8 (EAN-8)
      expect(gs1CheckDigit("0950600013435")).to.equal(2);
      expect(gs1CheckDigit("400638133393")).to.equal(1);
    });

    it("refuses a wrong check digit with a typed error", function () {
      expect(() => toGtin14("4006381333932"))
        .to.throw(GtinError)
        .with.property("code", "GTIN_CHECK_DIGIT");
      expect(() => toGtin14("09506000134350"))
        .to.throw(GtinError)
        .with.property("field", "gtin");
    });

    it("refuses wrong lengths and non-digits", function () {
      expect(() => toGtin14("123456789"))
        .to.throw(GtinError)
        .with.property("code", "GTIN_LENGTH");
      expect(() => toGtin14("0950600013435X"))
        .to.throw(GtinError)
        .with.property("code", "GTIN_FORMAT");
      expect(() => toGtin14("")).to.throw(GtinError);
    });

    it("detects every single-digit error", function () {
      fc.assert(
        fc.property(
          fc.stringMatching(/^[0-9]{13}$/),
          fc.nat(13),
          fc.integer({ min: 1, max: 9 }),
          (body, pos, delta) => {
            const gtin = `${body}${gs1CheckDigit(body)}`;
            expect(isValidGtin(gtin)).to.equal(true);
            const d = (gtin.charCodeAt(pos) - 48 + delta) % 10;
            const altered = `${gtin.slice(0, pos)}${d}${gtin.slice(pos + 1)}`;
            expect(isValidGtin(altered)).to.equal(false);
          },
        ),
      );
    });
  });

  describe("gtinMatchesPrefix", function () {
    it("compares after the indicator digit", function () {
      expect(gtinMatchesPrefix("09506000134352", "9506000")).to.equal(true);
      expect(gtinMatchesPrefix("19506000134359", "9506000")).to.equal(true);
      expect(gtinMatchesPrefix("09506000134352", "0950600")).to.equal(false);
      expect(gtinMatchesPrefix("04006381333931", "400638")).to.equal(true);
      expect(gtinMatchesPrefix("04006381333931", "400639")).to.equal(false);
      expect(gtinMatchesPrefix("04006381333931", "400638133393")).to.equal(true);
    });

    it("refuses prefixes outside 6..12 digits and non-GTIN-14 input", function () {
      expect(() => gtinMatchesPrefix("09506000134352", "95060")).to.throw(ValidationError);
      expect(() => gtinMatchesPrefix("09506000134352", "9506000134352")).to.throw(ValidationError);
      expect(() => gtinMatchesPrefix("4006381333931", "400638")).to.throw(GtinError);
    });
  });

  describe("character set 82", function () {
    it("accepts every allowed character and nothing else", function () {
      const allowed = `!"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz`;
      expect(allowed.length).to.equal(82);
      for (const c of allowed) expect(isAi82(c), c).to.equal(true);
      for (let code = 0; code < 256; code++) {
        const c = String.fromCharCode(code);
        if (!allowed.includes(c)) expect(isAi82(c), `char ${code}`).to.equal(false);
      }
    });

    it("limits serials to 20 characters", function () {
      expect(checkSerial("x".repeat(20))).to.have.length(20);
      expect(() => checkSerial("x".repeat(21)))
        .to.throw(ValidationError)
        .with.property("code", "GS1_AI82_LENGTH");
      expect(() => checkSerial("ü"))
        .to.throw(ValidationError)
        .with.property("code", "GS1_AI82_CHARSET");
    });
  });
});
