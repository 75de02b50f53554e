import { createHash } from "node:crypto";
import { expect } from "chai";
import { createIndexer, IndexerConfigError, INDEXER_LOCK_KEY, openDatabase, sqliteStore } from "../../indexer";
import { indexerTuning, parseIndexerEnv } from "../../indexer/config";
import { backoffDelay, createRangeSizer, parseRangeRefusal } from "../../indexer/range";
import { isTransientPgError } from "../../mirror/pg/chain";
import { cleanupTempDbs, closeLater, tempDbPath } from "./helpers/db";
import { memoryLogger } from "./helpers/log";

const noChain = { send: () => Promise.reject(new Error("no chain in unit tests")) };
const CONTRACT = "0x5fbdb2315678afecb367f032d93f642f64180aa3";

describe("indexer units", function () {
  after(cleanupTempDbs);

  describe("parseRangeRefusal", function () {
    it("takes the range an infura- or zksync-style message suggests, as a result limit", function () {
      const infura = "query returned more than 10000 results. Try with this block range [0x10, 0x2f].";
      expect(parseRangeRefusal(infura, 16, 1000)).to.deep.equal({ suggestedTo: 47, blockLimit: false });
      const zksync = "Query returned more than 10000 results. Try with this block range [0x1A2B, 0x1A3A].";
      expect(parseRangeRefusal(zksync, 100, 1000)).to.deep.equal({ suggestedTo: 115, blockLimit: false });
    });

    it("takes an alchemy-style suggestion relative to the refused start", function () {
      const message = "Log response size exceeded. this block range should work: [0x64, 0x6d]";
      expect(parseRangeRefusal(message, 200, 5000)).to.deep.equal({ suggestedTo: 209, blockLimit: false });
    });

    it("takes a decimal suggestion (llamarpc)", function () {
      expect(
        parseRangeRefusal("query exceeds max results 20000, retry with the range 6336-6343", 6336, 7000),
      ).to.deep.equal({
        suggestedTo: 6343,
        blockLimit: false,
      });
    });

    // [provider, message, blocks it allows]
    const stated: [string, string, number][] = [
      ["avalanche", "requested too many blocks from 0 to 5000, maximum is set to 2048", 2048],
      ["cloudflare", "Invalid eth_getLogs request. 'fromBlock'-'toBlock' range too large. Max range: 800", 800],
      ["thirdweb", "Maximum allowed number of requested blocks is 1000", 1000],
      ["quicknode", "eth_getLogs is limited to a 10,000 range", 10_000],
      ["1rpc, blast", "eth_getLogs is limited to a 1000 blocks range", 1000],
      ["blockpi", "eth_getLogs is limited to 1024 block range", 1024],
      [
        "alchemy (free tier)",
        "Under the Free tier plan, you can make eth_getLogs requests with up to a 10 block range.",
        10,
      ],
      [
        "alchemy",
        "You can make eth_getLogs requests with up to a 2K block range and no limit on the response size",
        2000,
      ],
      ["blast (paid)", "eth_getLogs range exceeds the range allowed for your plan (5000 > 500).", 500],
      ["coinbase", "please limit the query to at most 1,000 blocks", 1000],
      ["publicnode", "maximum block range: 50000", 50_000],
      ["hyperliquid", "query exceeds max block range 1000", 1000],
      ["swell", "block range greater than 10000 max", 10_000],
      ["somnia", "block range exceeds 1000", 1000],
      ["harmony", "query must be smaller than size 1024", 1024],
      ["moonriver", "block range is too wide (maximum 1024)", 1024],
      ["ankr (tac)", "maximum [from, to] blocks distance: 100", 100],
      ["drpc", "ranges over 10000 blocks are not supported on freetier", 10_000],
      ["merkle", "eth_getLogs range is too large, max is 10k blocks", 10_000],
    ];
    for (const [provider, message, blocks] of stated) {
      it(`reads ${provider}'s stated block limit as a ceiling`, function () {
        expect(parseRangeRefusal(message, 1000, 100_999)).to.deep.equal({
          suggestedTo: 1000 + blocks - 1,
          blockLimit: true,
        });
      });
    }

    it("knows the block limits that state no number (ankr, base, chainstack, optimism)", function () {
      expect(parseRangeRefusal("block range is too wide", 0, 9999)).to.deep.equal({
        suggestedTo: 2999,
        blockLimit: true,
      });
      expect(parseRangeRefusal("block range too large", 0, 4999)).to.deep.equal({
        suggestedTo: 1999,
        blockLimit: true,
      });
      expect(parseRangeRefusal("block range too large", 0, 100)).to.deep.equal({
        suggestedTo: undefined,
        blockLimit: true,
      });
      expect(parseRangeRefusal("Block range limit exceeded.", 0, 999)).to.deep.equal({
        suggestedTo: 99,
        blockLimit: true,
      });
      expect(parseRangeRefusal("Block range limit exceeded.", 0, 49_999)).to.deep.equal({
        suggestedTo: 9999,
        blockLimit: true,
      });
      expect(parseRangeRefusal("Block range is too large", 0, 100)).to.deep.equal({
        suggestedTo: undefined,
        blockLimit: true,
      });
    });

    it("knows the result and response-size limits, which say nothing of the block count", function () {
      for (const message of [
        "query returned more than 10000 results",
        "query exceeds max results 20000",
        "logs matched by query exceeds limit of 10000",
        "backend response too large",
        "response size should not greater than 10000000 bytes",
        "Log response size exceeded.",
        "no backend is currently healthy to serve traffic",
        "query timeout exceeded",
      ]) {
        expect(parseRangeRefusal(message, 0, 100), message).to.deep.equal({
          suggestedTo: undefined,
          blockLimit: false,
        });
      }
    });

    it("never suggests the refused range itself", function () {
      expect(parseRangeRefusal("Try with this block range [0x0, 0x64]", 0, 50)).to.deep.equal({
        suggestedTo: 49,
        blockLimit: false,
      });
      expect(parseRangeRefusal("Max range: 5000", 0, 50)).to.deep.equal({ suggestedTo: 49, blockLimit: true });
    });

    it("ignores other errors, rate limits included (those back off; a smaller range would not help)", function () {
      for (const message of [
        "connect ECONNREFUSED 127.0.0.1:8545",
        "Internal Server Error",
        "Request limit exceeded",
        "daily request count exceeded, request rate limited",
        "Too Many Requests",
        "You are rate limited to 25 requests per second",
      ]) {
        expect(parseRangeRefusal(message, 0, 100), message).to.equal(null);
      }
    });
  });

  describe("createRangeSizer", function () {
    const quick = (fromBlock: number, blocks: number) => ({
      fromBlock,
      toBlock: fromBlock + blocks - 1,
      logs: 0,
      ms: 1,
    });

    it("starts at 100 blocks or the maximum, and clips a range at the head", function () {
      expect(createRangeSizer({ maxRange: 2000 }).size).to.equal(100);
      expect(createRangeSizer({ maxRange: 8 }).size).to.equal(8);
      expect(createRangeSizer({ maxRange: 2000 }).end(95, 100)).to.equal(100);
      expect(createRangeSizer({ maxRange: 2000 }).end(10, 5000)).to.equal(109);
    });

    it("doubles while answers are quick and small, up to the maximum and never above", function () {
      const sizer = createRangeSizer({ maxRange: 1000, targetLogs: 100, targetMs: 100 });
      const sizes = [];
      for (let i = 0; i < 6; i++) {
        sizer.answered({ fromBlock: 0, toBlock: sizer.size - 1, logs: 50, ms: 50 });
        sizes.push(sizer.size);
      }
      expect(sizes).to.deep.equal([200, 400, 800, 1000, 1000, 1000]);
    });

    it("holds between half the targets and the targets", function () {
      const sizer = createRangeSizer({ maxRange: 1000, targetLogs: 100, targetMs: 100 });
      sizer.answered({ fromBlock: 0, toBlock: 99, logs: 51, ms: 1 });
      sizer.answered({ fromBlock: 0, toBlock: 99, logs: 0, ms: 51 });
      sizer.answered({ fromBlock: 0, toBlock: 99, logs: 100, ms: 100 });
      expect(sizer.size).to.equal(100);
    });

    it("does not grow on a range cut short (at the head), which says nothing of a larger one", function () {
      const sizer = createRangeSizer({ maxRange: 1000 });
      sizer.answered(quick(0, 99));
      expect(sizer.size).to.equal(100);
    });

    it("shrinks on a slow answer to the share of it that would have been quick enough", function () {
      const sizer = createRangeSizer({ maxRange: 2000, initialRange: 2000, targetMs: 1000 });
      sizer.answered({ fromBlock: 0, toBlock: 1999, logs: 10, ms: 18_000 });
      expect(sizer.size).to.equal(111);
    });

    it("shrinks on an oversized answer to the share that would have held targetLogs", function () {
      const sizer = createRangeSizer({ maxRange: 2000, initialRange: 2000, targetLogs: 1000 });
      sizer.answered({ fromBlock: 1, toBlock: 244, logs: 10_005, ms: 200 });
      expect(sizer.size).to.equal(24);
    });

    it("takes the stricter of the two when an answer is both slow and oversized", function () {
      const sizer = createRangeSizer({ maxRange: 2000, initialRange: 1000, targetLogs: 1000, targetMs: 1000 });
      sizer.answered({ fromBlock: 0, toBlock: 999, logs: 2000, ms: 4000 });
      expect(sizer.size).to.equal(250);
    });

    it("never goes below 1, however slow or full one block is", function () {
      const sizer = createRangeSizer({ maxRange: 2000 });
      sizer.answered({ fromBlock: 5, toBlock: 5, logs: 1_000_000, ms: 60_000 });
      expect(sizer.size).to.equal(1);
      sizer.refused(5, 5, { suggestedTo: undefined, blockLimit: true });
      expect(sizer.size).to.equal(1);
      expect(sizer.ceiling).to.equal(1);
    });

    it("does not let an old answer for a larger range undo a newer shrink", function () {
      const sizer = createRangeSizer({ maxRange: 2000, initialRange: 1000, targetLogs: 1000 });
      sizer.answered({ fromBlock: 0, toBlock: 999, logs: 10_000, ms: 1 });
      sizer.answered({ fromBlock: 1000, toBlock: 1999, logs: 2000, ms: 1 });
      expect(sizer.size).to.equal(100);
    });

    it("shrinks to a suggestion, halves without one, never below 1", function () {
      const sizer = createRangeSizer({ maxRange: 1000, initialRange: 1000 });
      expect(sizer.end(10, 5000)).to.equal(1009);
      sizer.refused(10, 1009, { suggestedTo: 109, blockLimit: false });
      expect(sizer.size).to.equal(100);
      sizer.refused(10, 109, { suggestedTo: undefined, blockLimit: false });
      expect(sizer.size).to.equal(50);
      for (let i = 0; i < 20; i++)
        sizer.refused(10, 10 + sizer.size - 1, { suggestedTo: undefined, blockLimit: false });
      expect(sizer.size).to.equal(1);
    });

    it("grows back to the maximum after a result limit, but never past a block limit again", function () {
      const results = createRangeSizer({ maxRange: 1000, initialRange: 1000 });
      results.refused(0, 999, { suggestedTo: 99, blockLimit: false });
      for (let i = 0; i < 10; i++) results.answered(quick(0, results.size));
      expect(results.size).to.equal(1000);

      const blocks = createRangeSizer({ maxRange: 1000, initialRange: 1000 });
      blocks.refused(0, 999, { suggestedTo: 299, blockLimit: true });
      for (let i = 0; i < 10; i++) blocks.answered(quick(0, blocks.size));
      expect(blocks.size).to.equal(300);
      expect(blocks.ceiling).to.equal(300);
    });

    it("shrinks below every refused range, for each provider's message", function () {
      const messages = [
        "query returned more than 10000 results. Try with this block range [0x10, 0x2f].",
        "Log response size exceeded. this block range should work: [0x64, 0x6d]",
        "requested too many blocks from 0 to 5000, maximum is set to 2048",
        "Max range: 800",
        "Maximum allowed number of requested blocks is 1000",
        "eth_getLogs is limited to a 10,000 range",
        "up to a 10 block range",
        "exceeds the range allowed for your plan (5000 > 500)",
        "please limit the query to at most 1000 blocks",
        "maximum block range: 3000",
        "block range is too wide",
        "block range too large",
        "Block range limit exceeded.",
        "Block range is too large",
        "logs matched by query exceeds limit of 10000",
        "backend response too large",
        "query exceeds max results",
      ];
      for (const message of messages) {
        const sizer = createRangeSizer({ maxRange: 5000, initialRange: 5000 });
        const refusal = parseRangeRefusal(message, 0, 4999);
        expect(refusal, message).to.not.equal(null);
        sizer.refused(0, 4999, refusal!);
        expect(sizer.size, message).to.be.within(1, 4999);
        expect(sizer.ceiling, message).to.be.within(1, 5000);
      }
    });

    it("rejects a maximum or target below 1", function () {
      expect(() => createRangeSizer({ maxRange: 0 })).to.throw(RangeError, /maxRange/);
      expect(() => createRangeSizer({ maxRange: 10, targetLogs: 0 })).to.throw(RangeError, /targetLogs/);
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

  describe("createIndexer", function () {
    it("refuses a read-only mirror and a bad standby poll", function () {
      const file = tempDbPath();
      openDatabase(file).close();
      const readonly = closeLater(sqliteStore(openDatabase(file, { readonly: true })));
      expect(() =>
        createIndexer({ store: readonly, provider: noChain, contract: CONTRACT, log: memoryLogger() }),
      ).to.throw(IndexerConfigError, /read-only/);
      const writable = closeLater(sqliteStore(openDatabase(tempDbPath())));
      expect(() =>
        createIndexer({
          store: writable,
          provider: noChain,
          contract: CONTRACT,
          log: memoryLogger(),
          config: { standbyPollMs: 0 },
        }),
      ).to.throw(IndexerConfigError, /standbyPollMs/);
    });

    it("leads at once on SQLite (one file, one writer)", function () {
      const store = closeLater(sqliteStore(openDatabase(tempDbPath())));
      const indexer = createIndexer({ store, provider: noChain, contract: CONTRACT, log: memoryLogger() });
      expect(indexer.status()).to.include({ role: "leader", state: "idle", indexedBlock: null });
    });
  });

  describe("the writer lock", function () {
    it("is keyed by the first 8 bytes of sha256('traceanchor-indexer'), as a signed bigint", function () {
      const digest = createHash("sha256").update("traceanchor-indexer").digest();
      expect(INDEXER_LOCK_KEY).to.equal(digest.readBigInt64BE(0).toString());
      expect(INDEXER_LOCK_KEY).to.equal("-5637909590028221161");
    });
  });

  describe("isTransientPgError", function () {
    it("retries lost connections, shutdowns, serialization failures and deadlocks, by code", function () {
      for (const code of ["08006", "08001", "57P01", "57P03", "53300", "40001", "40P01", "ECONNREFUSED", "ECONNRESET"])
        expect(isTransientPgError(Object.assign(new Error("x"), { code })), code).to.equal(true);
    });

    it("does not retry constraint violations, syntax errors or errors without a code", function () {
      for (const code of ["23505", "23503", "42601", "42P01", undefined])
        expect(isTransientPgError(Object.assign(new Error("connection terminated"), { code })), String(code)).to.equal(
          false,
        );
      expect(isTransientPgError(null)).to.equal(false);
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
      expect(
        indexerTuning(parseIndexerEnv({ TRACE_CONFIRMATIONS: "3", TRACE_INDEX_MAX_RANGE: "50", TRACE_DB: "x.db" })),
      ).to.deep.equal({ confirmations: 3, maxRange: 50 });
      expect(
        indexerTuning(
          parseIndexerEnv({ TRACE_INDEX_FROM_BLOCK: "7", TRACE_INDEX_POLL_MS: "10", TRACE_INDEX_REORG_WINDOW: "4" }),
        ),
      ).to.deep.equal({
        fromBlock: 7,
        pollIntervalMs: 10,
        reorgWindow: 4,
      });
      expect(
        indexerTuning(
          parseIndexerEnv({
            TRACE_INDEX_TARGET_LOGS: "500",
            TRACE_INDEX_TARGET_MS: "250",
            TRACE_INDEX_CONCURRENCY: "3",
          }),
        ),
      ).to.deep.equal({
        targetLogs: 500,
        targetMs: 250,
        concurrency: 3,
      });
    });

    it("fails fast naming the variable", function () {
      expect(() => parseIndexerEnv({ TRACE_INDEX_MAX_RANGE: "0" })).to.throw(
        IndexerConfigError,
        /TRACE_INDEX_MAX_RANGE/,
      );
      expect(() => parseIndexerEnv({ TRACE_INDEX_CONCURRENCY: "0" })).to.throw(
        IndexerConfigError,
        /TRACE_INDEX_CONCURRENCY/,
      );
      expect(() => parseIndexerEnv({ TRACE_CONTRACT: "0x12" })).to.throw(IndexerConfigError, /TRACE_CONTRACT/);
    });
  });
});
