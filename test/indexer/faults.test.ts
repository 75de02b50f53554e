import { expect } from "chai";
import { createHttpProvider, createIndexer, storeChecksum, storeTableChecksums } from "../../indexer";
import type { ProviderLike } from "../../indexer/rpc";
import { deployTraceAnchor } from "./helpers/chain";
import type { Deployment } from "./helpers/chain";
import { describeEngines } from "../helpers/engines";
import { cleanupTempDbs, queryOne, tempStore } from "./helpers/db";
import { startFaultyProxy } from "./helpers/faulty-proxy";
import { memoryLogger } from "./helpers/log";
import { localProvider, startHardhatNode } from "./helpers/node";
import type { HardhatNode } from "./helpers/node";
import { anchorWorkload } from "./helpers/workload";

/** Both transports the indexer is run with: ethers' (the tests', a caller's own) and its own (the entry points'). */
const transports: { readonly name: string; connect(url: string): ProviderLike & { destroy(): void } }[] = [
  { name: "ethers' JsonRpcProvider", connect: (url) => localProvider(url) },
  { name: "the indexer's HTTP transport", connect: (url) => createHttpProvider(url, { timeoutMs: 2000 }) },
];

describe("indexer: RPC faults", function () {
  this.timeout(600_000);
  let node: HardhatNode;
  let d: Deployment;

  before(async function () {
    node = await startHardhatNode();
    d = await deployTraceAnchor(node);
    await anchorWorkload(node, d, 20, 50, 10);
  });

  after(async function () {
    await node?.stop();
    await cleanupTempDbs();
  });

  describeEngines("on", (engine) => {
    for (const transport of transports) {
      describe(`through ${transport.name}`, function () {
        it("ends with the same database through a proxy that fails, delays, drops and truncates", async function () {
          const config = {
            fromBlock: d.deployBlock,
            maxRange: 8,
            retryBaseMs: 10,
            retryMaxMs: 200,
            rpcTimeoutMs: 2000,
          };
          const direct = await tempStore(engine, "faults");
          await createIndexer({
            store: direct,
            provider: node.provider,
            contract: d.address,
            log: memoryLogger(),
            config,
          }).syncOnce();

          const proxy = await startFaultyProxy(
            node.url,
            { error500: 0.1, error429: 0.05, delay: 0.1, drop: 0.05, truncate: 0.1 },
            42,
          );
          const provider = transport.connect(proxy.url);
          const log = memoryLogger();
          try {
            const db = await tempStore(engine, "faults");
            const indexer = createIndexer({ store: db, provider, contract: d.address, log, config });
            await indexer.syncOnce();
            expect(await storeTableChecksums(db)).to.deep.equal(await storeTableChecksums(direct));
            expect(await storeChecksum(db)).to.equal(await storeChecksum(direct));
            expect(indexer.status()).to.deep.include({ state: "idle", fatal: null });
            for (const fault of ["error500", "error429", "delay", "drop", "truncate"] as const) {
              expect(proxy.counts[fault], `${fault} injected`).to.be.greaterThan(0);
            }
            expect(log.lines.filter((line) => line.level === "warn").length).to.be.greaterThan(0);
            console.log(`      faults injected: ${JSON.stringify(proxy.counts)}`);
          } finally {
            provider.destroy();
            await proxy.close();
          }
        });

        it("waits out an RPC that is down, recording nothing, then catches up", async function () {
          const proxy = await startFaultyProxy(
            node.url,
            { error500: 1, error429: 0, delay: 0, drop: 0, truncate: 0 },
            7,
          );
          const provider = transport.connect(proxy.url);
          const db = await tempStore(engine, "faults");
          const indexer = createIndexer({
            store: db,
            provider,
            contract: d.address,
            log: memoryLogger(),
            config: { fromBlock: d.deployBlock, retryBaseMs: 10, retryMaxMs: 50 },
          });
          try {
            const sync = indexer.syncOnce();
            await new Promise((resolve) => setTimeout(resolve, 500));
            expect(indexer.status().consecutiveFailures).to.be.greaterThan(3);
            expect(indexer.status().fatal).to.equal(null);
            expect(indexer.status().lastError?.name).to.equal("RetryableRpcError");
            expect(await queryOne(db, "SELECT count(*) AS n FROM events_raw")).to.deep.equal({ n: 0 });
            expect(await queryOne(db, "SELECT count(*) AS n FROM cursor")).to.deep.equal({ n: 0 });

            proxy.setRates({ error500: 0, error429: 0, delay: 0, drop: 0, truncate: 0 });
            const result = await sync;
            expect(result.indexed).to.be.greaterThan(1000);
            expect(indexer.status()).to.deep.include({
              consecutiveFailures: 0,
              lastError: null,
              indexedBlock: result.head,
            });
          } finally {
            provider.destroy();
            await proxy.close();
          }
        });
      });
    }
  });
});
