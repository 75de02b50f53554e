import { expect } from "chai";
import { IndexerConfigError } from "../../indexer";
import { indexerTuning, parseIndexerEnv } from "../../indexer/config";
import { backoffDelay, createRangeSizer, parseRangeRefusal } from "../../indexer/range";
import { cleanupTempDbs } from "./helpers/db";

describe("indexer units", function () {
  after(cleanupTempDbs);

  describe("parseRangeRefusal", function () {
    it("takes the range an infura-style message suggests", function () {
      const message = "query returned more than 10000 results. Try with this block range [0x10, 0x2f].";
      expect(parseRangeRefusal(message, 16, 1000)).to.deep.equal({ suggestedTo: 47 });
    });

    it("takes an alchemy-style suggestion relative to the refused start", function () {
      const message = "Log response size exceeded. this block range should work: [0x64, 0x6d]";
      expect(parseRangeRefusal(message, 200, 5000)).to.deep.equal({ suggestedTo: 209 });
    });

    it("reads a stated maximum span", function () {
      expect(parseRangeRefusal("eth_getLogs is limited to a 1,000 block range", 0, 5000)).to.deep.equal({ suggestedTo: 999 });
      expect(parseRangeRefusal("Max range: 500", 100, 5000)).to.deep.equal({ suggestedTo: 599 });
    });

    it("knows a refusal with no suggestion", function () {
      expect(parseRangeRefusal("block range too large", 0, 100)).to.deep.equal({ suggestedTo: undefined });
      expect(parseRangeRefusal("Request limit exceeded", 0, 100)).to.deep.equal({ suggestedTo: undefined });
      expect(parseRangeRefusal("query returned more than 10000 results", 0, 100)).to.deep.equal({ suggestedTo: undefined });
    });

    it("never suggests the refused range itself", function () {
      expect(parseRangeRefusal("Try with this block range [0x0, 0x64]", 0, 50)).to.deep.equal({ suggestedTo: 49 });
    });

    it("ignores other errors", function () {
      expect(parseRangeRefusal("connect ECONNREFUSED 127.0.0.1:8545", 0, 100)).to.equal(null);
      expect(parseRangeRefusal("Internal Server Error", 0, 100)).to.equal(null);
    });
  });

  describe("createRangeSizer", function () {
    it("shrinks to a suggestion, halves without one, never below 1", function () {
      const sizer = createRangeSizer(1000);
      expect(sizer.end(10, 5000)).to.equal(1009);
      sizer.refused(10, 1009, 109);
      expect(sizer.size).to.equal(100);
      sizer.refused(10, 109, undefined);
      expect(sizer.size).to.equal(50);
      for (let i = 0; i < 20; i++) sizer.refused(10, 10 + sizer.size - 1, undefined);
      expect(sizer.size).to.equal(1);
    });

    it("grows back after successes, up to the maximum", function () {
      const sizer = createRangeSizer(1000, 2);
      sizer.refused(0, 999, 99);
      for (let i = 0; i < 20; i++) sizer.succeeded();
      expect(sizer.size).to.equal(1000);
    });

    it("clips a range at the head", function () {
      expect(createRangeSizer(1000).end(95, 100)).to.equal(100);
    });
  });

  describe("backoffDelay", function () {
    it("grows exponentially with jitter, up to the cap", function () {
      expect(backoffDelay(0, 100, 10_000, () => 0)).to.equal(50);
      expect(backoffDelay(0, 100, 10_000, () => 1)).to.equal(100);
      expect(backoffDelay(3, 100, 10_000, () => 1)).to.equal(800);
      expect(backoffDelay(40, 100, 10_000, () => 1)).to.equal(10_000);
    });
  });

  describe("parseIndexerEnv", function () {
    it("parses and freezes", function () {
      const env = parseIndexerEnv({ TRACE_CONFIRMATIONS: "3", TRACE_INDEX_MAX_RANGE: "50", TRACE_DB: "x.db" });
      expect(env.confirmations).to.equal(3);
      expect(env.maxRange).to.equal(50);
      expect(env.dbPath).to.equal("x.db");
      expect(Object.isFrozen(env)).to.equal(true);
    });

    it("gives the indexer config only the variables set", function () {
      expect(indexerTuning(parseIndexerEnv({ TRACE_CONFIRMATIONS: "3", TRACE_INDEX_MAX_RANGE: "50", TRACE_DB: "x.db" }))).to.deep.equal({ confirmations: 3, maxRange: 50 });
      expect(indexerTuning(parseIndexerEnv({ TRACE_INDEX_FROM_BLOCK: "7", TRACE_INDEX_POLL_MS: "10", TRACE_INDEX_REORG_WINDOW: "4" }))).to.deep.equal({
        fromBlock: 7,
        pollIntervalMs: 10,
        reorgWindow: 4,
      });
    });

    it("fails fast naming the variable", function () {
      expect(() => parseIndexerEnv({ TRACE_INDEX_MAX_RANGE: "0" })).to.throw(IndexerConfigError, /TRACE_INDEX_MAX_RANGE/);
      expect(() => parseIndexerEnv({ TRACE_CONTRACT: "0x12" })).to.throw(IndexerConfigError, /TRACE_CONTRACT/);
    });
  });
});
