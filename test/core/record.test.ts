import canonicalize from "canonicalize";
import { expect } from "chai";
import { keccak256 as ethersKeccak, toUtf8Bytes } from "ethers";
import fc from "fast-check";
import {
  canonicalJson,
  canonicalRecord,
  createSaltSource,
  deterministicSalt,
  GtinError,
  identityRecord,
  parseRecord,
  randomSalt,
  recordHash,
  traceRecord,
  ValidationError,
  type EpcisEvent,
} from "../../core";

const SALT = "00112233445566778899aabbccddeeff";

describe("core/record", function () {
  describe("canonical JSON (RFC 8785)", function () {
    it("sorts keys by UTF-16 code units at every depth", function () {
      const record = identityRecord(
        {
          gtin: "09506000134352",
          serial: "S1",
          attributes: {
            "\u20ac": "euro",
            "\r": "cr",
            "\ufb33": "x",
            "1": "one",
            "\ud83d\ude00": "smile",
            "\u0080": "c",
            "\u00f6": "o",
          },
        },
        SALT,
      );
      expect(canonicalRecord(record)).to.equal(
        `{"attributes":{"\\r":"cr","1":"one","\u0080":"c","ö":"o","€":"euro","😀":"smile","\ufb33":"x"},` +
          `"item":{"gtin":"09506000134352","serial":"S1"},"kind":"identity","salt":"${SALT}","v":1}`,
      );
    });

    it("serialises numbers the ECMAScript way (1e21, 1e-7, -0, 4.50)", function () {
      const event: EpcisEvent = {
        type: "ObjectEvent",
        // eslint-disable-next-line no-loss-of-precision -- RFC 8785's own example literal: more digits than a double holds, serialised as 333333333.3333333
        numbers: [333333333.33333329, 1e30, 4.5, 2e-3, 1e-27, 1e21, 1e20, -0, 1e-7, 0.000001],
      };
      expect(canonicalRecord(traceRecord(event, SALT))).to.equal(
        `{"event":{"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27,1e+21,100000000000000000000,0,1e-7,0.000001],` +
          `"type":"ObjectEvent"},"kind":"trace","salt":"${SALT}","v":1}`,
      );
    });

    it("escapes strings minimally and keeps non-ASCII as UTF-8", function () {
      const event: EpcisEvent = { type: "ObjectEvent", s: '\u20ac$\u000f\nA\'B"\\\\"/', t: "Grüße 你好 \u2028" };
      expect(canonicalRecord(traceRecord(event, SALT))).to.equal(
        `{"event":{"s":"€$\\u000f\\nA'B\\"\\\\\\\\\\"/","t":"Grüße 你好 \u2028","type":"ObjectEvent"},"kind":"trace","salt":"${SALT}","v":1}`,
      );
    });

    it("the identity fast path equals the generic canonicalize output (fast-check)", function () {
      const ai82 = fc.string({ unit: fc.constantFrom(..."!\"%&'()*+,-./09:;<=>?AZ_az"), minLength: 1, maxLength: 20 });
      fc.assert(
        fc.property(
          ai82,
          fc.option(ai82, { nil: undefined }),
          fc.dictionary(fc.string({ unit: "binary" }), fc.string({ unit: "binary" }), { maxKeys: 6 }),
          (serial, lot, attributes) => {
            const record = identityRecord(
              { gtin: "09506000134352", serial, ...(lot === undefined ? {} : { lot }), attributes },
              SALT,
            );
            expect(canonicalRecord(record)).to.equal(canonicalize(record));
          },
        ),
        { numRuns: 300 },
      );
    });

    it("canonicalJson equals the generic canonicalize output on any JSON value, in any key order (fast-check)", function () {
      fc.assert(
        fc.property(fc.jsonValue(), (value) => {
          expect(canonicalJson(value)).to.equal(canonicalize(value));
          const text = canonicalJson(value);
          expect(canonicalJson(JSON.parse(text))).to.equal(text);
        }),
        { numRuns: 500 },
      );
    });

    it("is insensitive to input key order", function () {
      fc.assert(
        fc.property(fc.dictionary(fc.string(), fc.string(), { maxKeys: 8 }), (attrs) => {
          const reversed = Object.fromEntries(Object.entries(attrs).reverse());
          const a = identityRecord({ gtin: "09506000134352", serial: "1", attributes: attrs }, SALT);
          const b = identityRecord({ gtin: "09506000134352", serial: "1", attributes: reversed }, SALT);
          expect(canonicalRecord(a)).to.equal(canonicalRecord(b));
        }),
      );
    });
  });

  describe("recordHash", function () {
    it("is keccak256 of the UTF-8 canonical text (checked with ethers)", function () {
      const record = identityRecord(
        { gtin: "09506000134352", serial: "1", lot: "L1", attributes: { name: "Grüße 😀" } },
        SALT,
      );
      const text = canonicalRecord(record);
      expect(recordHash(record)).to.equal(ethersKeccak(toUtf8Bytes(text)));
      expect(recordHash(text)).to.equal(recordHash(record));
    });

    it("changes with the salt", function () {
      const a = identityRecord({ gtin: "09506000134352", serial: "1" }, SALT);
      const b = identityRecord({ gtin: "09506000134352", serial: "1" }, randomSalt());
      expect(recordHash(a)).to.not.equal(recordHash(b));
    });
  });

  describe("identityRecord", function () {
    it("normalises GTIN-13 to GTIN-14 and omits absent optional fields", function () {
      const r = identityRecord({ gtin: "4006381333931", serial: "A1" }, SALT);
      expect(r).to.deep.equal({ v: 1, kind: "identity", salt: SALT, item: { gtin: "04006381333931", serial: "A1" } });
      expect(canonicalRecord(r)).to.not.include("null");
    });

    it("drops an empty attributes object", function () {
      expect(identityRecord({ gtin: "09506000134352", serial: "1", attributes: {} }, SALT)).to.not.have.property(
        "attributes",
      );
    });

    it("refuses a bad check digit, a bad serial and a bad salt", function () {
      expect(() => identityRecord({ gtin: "09506000134353", serial: "1" }, SALT)).to.throw(GtinError);
      expect(() => identityRecord({ gtin: "09506000134352", serial: "a b" }, SALT))
        .to.throw(ValidationError)
        .with.property("field", "serial");
      expect(() => identityRecord({ gtin: "09506000134352", serial: "x".repeat(21) }, SALT)).to.throw(ValidationError);
      expect(() => identityRecord({ gtin: "09506000134352", serial: "1", lot: "" }, SALT)).to.throw(ValidationError);
      expect(() => identityRecord({ gtin: "09506000134352", serial: "1" }, SALT.toUpperCase()))
        .to.throw(ValidationError)
        .with.property("field", "salt");
    });
  });

  describe("parseRecord", function () {
    it("round-trips records and refuses extra or wrong fields", function () {
      const r = identityRecord({ gtin: "09506000134352", serial: "1", lot: "L", attributes: { color: "red" } }, SALT);
      expect(parseRecord(JSON.parse(canonicalRecord(r)))).to.deep.equal(r);
      const t = traceRecord({ type: "ObjectEvent", action: "ADD" }, SALT);
      expect(parseRecord(JSON.parse(canonicalRecord(t)), "trace")).to.deep.equal(t);
      expect(() => parseRecord({ ...r, extra: 1 }))
        .to.throw(ValidationError)
        .with.property("field", "extra");
      expect(() => parseRecord(r, "trace"))
        .to.throw(ValidationError)
        .with.property("field", "kind");
      expect(() => parseRecord({ ...r, item: { gtin: "9506000134352", serial: "1" } })).to.throw(ValidationError);
      expect(() => parseRecord({ ...r, v: 2 }))
        .to.throw(ValidationError)
        .with.property("field", "v");
    });
  });

  describe("salts", function () {
    it("random salts are 32 lowercase hex characters and distinct", function () {
      const salts = new Set(Array.from({ length: 10_000 }, () => randomSalt()));
      expect(salts.size).to.equal(10_000);
      for (const s of salts) expect(s).to.match(/^[0-9a-f]{32}$/);
    });

    it("deterministic salts are HMAC-SHA256(seed, uint64be(i))[0..16)", async function () {
      const { createHmac } = await import("node:crypto");
      const seed = Buffer.alloc(32, 7);
      const source = createSaltSource(seed);
      for (const i of [0, 1, 255, 256, 2 ** 40 + 3]) {
        const msg = Buffer.alloc(8);
        msg.writeBigUInt64BE(BigInt(i));
        const expected = createHmac("sha256", seed).update(msg).digest().subarray(0, 16).toString("hex");
        expect(deterministicSalt(seed, i)).to.equal(expected);
        expect(source(i)).to.equal(expected);
      }
    });

    it("refuses a seed that is not 32 bytes", function () {
      expect(() => createSaltSource(new Uint8Array(31))).to.throw(ValidationError);
    });
  });
});
