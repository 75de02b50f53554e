import { expect } from "chai";
import { hexlify, keccak256, randomBytes, toUtf8Bytes } from "ethers";
import type { ParamType } from "ethers";
import { decodeLog, EVENT_ABI, roleLabel } from "../../mirror/decode";
import { TraceAnchor__factory } from "../../typechain-types";
import { role } from "../indexer/helpers/chain";

describe("mirror/decode", function () {
  describe("decodeLog", function () {
    const iface = TraceAnchor__factory.createInterface();
    const sample = (param: ParamType, i: number): unknown => {
      if (param.type === "address") return hexlify(randomBytes(20));
      if (param.type === "bool") return i % 2 === 0;
      if (param.type === "string") return ["", "Acme ✓ 株式会社", "x".repeat(100), "4006381"][i % 4];
      if (param.type.startsWith("uint"))
        return (1n << BigInt(Number.parseInt(param.type.slice(4) || "256", 10))) - 1n - BigInt(i);
      if (param.type.startsWith("bytes")) return hexlify(randomBytes(Number.parseInt(param.type.slice(5), 10)));
      throw new Error(`no sample for ${param.type}`);
    };

    it("agrees with ethers' decodeEventLog on every event of the ABI", function () {
      let checked = 0;
      iface.forEachEvent((fragment) => {
        for (let i = 0; i < 4; i++) {
          const values = fragment.inputs.map((input) => sample(input, i));
          const { topics, data } = iface.encodeEventLog(fragment, values);
          const ours = decodeLog(topics, data);
          const theirs = iface.decodeEventLog(fragment, data, topics);
          const expected = Object.fromEntries(
            fragment.inputs.map((input, j) => {
              const value: unknown = theirs[j];
              return [
                input.name,
                typeof value === "bigint"
                  ? value.toString()
                  : typeof value === "string" && /^0x[0-9a-fA-F]{40}$/.test(value)
                    ? value.toLowerCase()
                    : value,
              ];
            }),
          );
          expect(ours.name).to.equal(fragment.name);
          expect(JSON.parse(ours.argsJson)).to.deep.equal(expected);
          checked++;
        }
      });
      expect(checked).to.be.greaterThan(40);
    });

    it("holds the contract's event ABI exactly: every event, topic, input name, type and indexed flag", function () {
      const theirs: unknown[] = [];
      iface.forEachEvent((fragment) =>
        theirs.push({
          name: fragment.name,
          topic: fragment.topicHash,
          inputs: fragment.inputs.map((input) => ({ name: input.name, type: input.type, indexed: input.indexed })),
        }),
      );
      const byName = (a: { name: string }, b: { name: string }): number => a.name.localeCompare(b.name);
      expect([...EVENT_ABI].sort(byName)).to.deep.equal((theirs as { name: string }[]).sort(byName));
    });

    it("names a topic the ABI does not know 'unknown'", function () {
      expect(decodeLog([hexlify(randomBytes(32))], "0x")).to.deep.equal({
        name: "unknown",
        event: null,
        argsJson: "{}",
      });
    });
  });

  describe("roleLabel", function () {
    it("decodes a short text label", function () {
      expect(roleLabel(role("factory"))).to.equal("factory");
      expect(roleLabel(role("quality inspection"))).to.equal("quality inspection");
    });

    it("returns null for bytes that are not UTF-8, and for zeros", function () {
      expect(roleLabel(`0x${"ff".repeat(4)}${"00".repeat(28)}`)).to.equal(null);
      expect(roleLabel(`0x${"00".repeat(32)}`)).to.equal(null);
      expect(roleLabel(`0x6100${"62".repeat(1)}${"00".repeat(29)}`)).to.equal(null);
    });

    it("returns null for a hashed role", function () {
      expect(roleLabel(keccak256(toUtf8Bytes("FACTORY_ROLE")))).to.equal(null);
    });
  });
});
