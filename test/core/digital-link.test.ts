import { expect } from "chai";
import fc from "fast-check";
import { DigitalLinkError, formatDigitalLink, isDigitalLink, parseDigitalLink } from "../../core";

const AI82 = `!"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz`;
const ai82Value = fc.string({ unit: fc.constantFrom(...AI82), minLength: 1, maxLength: 20 });

describe("core/digital-link", function () {
  it("parses a numeric link on any https base", function () {
    expect(parseDigitalLink("https://id.example.com/01/09506000134352/10/LOT1/21/SER1")).to.deep.equal({
      base: "https://id.example.com",
      gtin: "09506000134352",
      lot: "LOT1",
      serial: "SER1",
    });
  });

  it("keeps a base path and ignores the query string", function () {
    expect(parseDigitalLink("https://example.org/brand/dl/01/9506000134352/21/12%2F3?linkType=all")).to.deep.equal({
      base: "https://example.org/brand/dl",
      gtin: "09506000134352",
      serial: "12/3",
    });
  });

  it("accepts alphabetic AIs and a GTIN-13 on input, and always formats numeric GTIN-14", function () {
    const parsed = parseDigitalLink("https://id.example.com/gtin/4006381333931/lot/A/ser/B");
    expect(parsed).to.deep.include({ gtin: "04006381333931", lot: "A", serial: "B" });
    expect(formatDigitalLink(parsed, parsed.base)).to.equal("https://id.example.com/01/04006381333931/10/A/21/B");
    expect(parseDigitalLink("https://id.example.com/01/04006381333931/serial/B").serial).to.equal("B");
  });

  it("percent-encodes reserved characters", function () {
    const uri = formatDigitalLink(
      { gtin: "09506000134352", serial: `a/b?c#"%`.replace("#", "&") },
      "https://x.example/",
    );
    expect(uri).to.equal("https://x.example/01/09506000134352/21/a%2Fb%3Fc%26%22%25");
    expect(parseDigitalLink(uri).serial).to.equal(`a/b?c&"%`);
  });

  it("round-trips serials that look like dot segments", function () {
    for (const serial of [".", "..", "a.b"]) {
      expect(parseDigitalLink(formatDigitalLink({ gtin: "09506000134352", serial })).serial).to.equal(serial);
    }
  });

  it("round-trips every key made of character set 82 (fast-check)", function () {
    fc.assert(
      fc.property(
        fc.option(ai82Value, { nil: undefined }),
        fc.option(ai82Value, { nil: undefined }),
        fc.option(ai82Value, { nil: undefined }),
        (lot, serial, cpv) => {
          const key = {
            gtin: "09506000134352",
            ...(lot === undefined ? {} : { lot }),
            ...(serial === undefined ? {} : { serial }),
            ...(cpv === undefined ? {} : { cpv }),
          };
          const uri = formatDigitalLink(key, "https://id.example.com");
          expect(parseDigitalLink(uri)).to.deep.equal({ base: "https://id.example.com", ...key });
        },
      ),
    );
  });

  it("refuses bad links with DigitalLinkError", function () {
    const bad = [
      "https://id.example.com/01/09506000134353", // check digit
      "https://id.example.com/10/LOT1", // no GTIN
      "https://id.example.com/01/09506000134352/21/S/10/L", // qualifier order
      "https://id.example.com/01/09506000134352/99/X", // unknown AI
      "https://id.example.com/01/09506000134352/21/" + "x".repeat(21), // too long
      "https://id.example.com/01/09506000134352/21/%C3%BC", // outside set 82
      "https://id.example.com/01/09506000134352/21", // AI without value
      "ftp://id.example.com/01/09506000134352",
      "not a uri",
    ];
    for (const uri of bad) {
      expect(() => parseDigitalLink(uri), uri).to.throw(DigitalLinkError);
      expect(isDigitalLink(uri)).to.equal(false);
    }
  });
});
