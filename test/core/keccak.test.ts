import { expect } from "chai";
import { keccak256 as ethersKeccak, toUtf8Bytes } from "ethers";
import fc from "fast-check";
import { keccak256, keccak256Hex, keccak256Utf8Into, keccakBackendName } from "../../core";
import { createNobleKeccak } from "../../core/keccak-noble";

describe("core/keccak", function () {
  it("uses the WebAssembly backend on Node", function () {
    expect(keccakBackendName()).to.equal("hash-wasm");
  });

  it("matches ethers on known inputs", function () {
    expect(keccak256Hex(new Uint8Array(0))).to.equal(ethersKeccak(new Uint8Array(0)));
    expect(keccak256Hex("abc")).to.equal(ethersKeccak(toUtf8Bytes("abc")));
  });

  it("matches ethers and noble on arbitrary bytes, including inputs past the 16 KiB buffer", function () {
    const noble = createNobleKeccak();
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ minLength: 16_380, maxLength: 40_000 })),
        (data) => {
          const ours = keccak256(data);
          const theirs = new Uint8Array(32);
          noble.hashInto(data, theirs, 0);
          expect(Buffer.from(ours).toString("hex")).to.equal(Buffer.from(theirs).toString("hex"));
          expect(`0x${Buffer.from(ours).toString("hex")}`).to.equal(ethersKeccak(data));
        },
      ),
      { numRuns: 80 },
    );
  });

  it("hashes strings as UTF-8, including long and non-ASCII text", function () {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: "binary" }), fc.string({ unit: "grapheme", minLength: 6000, maxLength: 9000 })),
        (text) => {
          const out = new Uint8Array(32);
          keccak256Utf8Into(text, out, 0);
          expect(`0x${Buffer.from(out).toString("hex")}`).to.equal(ethersKeccak(toUtf8Bytes(text)));
        },
      ),
      { numRuns: 60 },
    );
  });
});
