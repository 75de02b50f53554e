import { expect } from "chai";
import { keccak256 as ethersKeccak, toUtf8Bytes } from "ethers";
import fc from "fast-check";
import { keccak256, keccak256Hex, keccak256Utf8Into, keccakBackendName } from "../../core";
import { selfTest, selfTestNodes } from "../../core/keccak";
import { createNobleKeccak } from "../../core/keccak-noble";
import { createWasmKeccak } from "../../core/keccak-wasm";

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

  it("self-tests both backends against constants that ethers reproduces, and fails a wrong backend", function () {
    const nodes = selfTestNodes();
    const pair = new Uint8Array([...nodes.subarray(64, 96), ...nodes.subarray(3, 35)]);
    // The constants inside selfTest, recomputed here with ethers: a backend passes iff it agrees.
    expect(selfTest(createNobleKeccak())).to.equal(true);
    expect(selfTest(createWasmKeccak())).to.equal(true);
    expect(ethersKeccak(ethersKeccak(nodes.subarray(7, 39)))).to.equal(
      "0xaabf6063e309be3e2697288cf7a829053408e175927b3f86960d916db4b7cabe",
    );
    expect(ethersKeccak(pair)).to.equal("0xf3b298ef5d290980f7d708d874cf020115390147b6d457de67cf1c9382dbe4a8");
    expect(ethersKeccak(new Uint8Array(40_000).fill(7))).to.equal(
      "0x1d84a5367925bfcf4c61a54564ff2b231564adf1ea7cc44d5c9a287a49de2da8",
    );
    const noble = createNobleKeccak();
    const wrongOnLargeInputs = {
      ...noble,
      hashInto: (data: Uint8Array, out: Uint8Array, offset: number): void =>
        noble.hashInto(data.length > 16_384 ? data.subarray(0, 16_384) : data, out, offset),
    };
    expect(selfTest(wrongOnLargeInputs)).to.equal(false);
  });
});
