/**
 * The chain store on both engines, without a node: ranges of a made-up chain applied, re-applied,
 * rolled back and forked must leave the same rows on SQLite and PostgreSQL (one digest), and a
 * rollback must undo the fold exactly. Prints how long one 10,000-log range takes to apply.
 */
import { expect } from "chai";
import { storeChecksum } from "../../mirror/checksum";
import type { MirrorStore } from "../../mirror/store";
import { createChainStore, type ChainStore, type RangeBatch } from "../../mirror/write/chain";
import { describeEngines, ENGINES, openTestStore } from "../helpers/engines";
import { ranges, SYNTHETIC_CONTRACT, syntheticChain } from "./helpers/synthetic";

const CHAIN_ID = 31337;

async function applyAll(store: ChainStore, batches: readonly RangeBatch[]): Promise<number> {
  let applied = 0;
  for (const batch of batches) applied += await store.applyRange(batch);
  return applied;
}

describeEngines("chain store", (engine) => {
  const opened: MirrorStore[] = [];
  const open = async (name: string): Promise<{ mirror: MirrorStore; chain: ChainStore }> => {
    const mirror = await openTestStore(engine, name);
    opened.push(mirror);
    const chain = createChainStore(mirror, { reorgWindow: 128 });
    await chain.openCursor(CHAIN_ID, SYNTHETIC_CONTRACT, 1);
    return { mirror, chain };
  };

  after(async function () {
    for (const mirror of opened.splice(0)) await mirror.close();
  });

  const base = syntheticChain({ blocks: 200, seed: 1 });
  const fork = syntheticChain({ blocks: 200, seed: 1, fork: { at: 121, seed: 2 } });

  it("creates the cursor once and refuses another contract or chain", async function () {
    const { chain } = await open("cursor");
    expect(await chain.cursor()).to.deep.equal({
      chainId: CHAIN_ID,
      contract: SYNTHETIC_CONTRACT,
      fromBlock: 1,
      blockNumber: 0,
      blockHash: null,
      headBlock: null,
      finalizedBlock: 0,
    });
    expect(
      (await chain.openCursor(CHAIN_ID, SYNTHETIC_CONTRACT.toUpperCase().replace("0X", "0x"), 1)).blockNumber,
    ).to.equal(0);
    for (const [chainId, contract] of [
      [CHAIN_ID, "0x0000000000000000000000000000000000000001"],
      [1, SYNTHETIC_CONTRACT],
    ] as const) {
      const error = await chain.openCursor(chainId, contract, 1).then(
        () => expect.fail("should reject"),
        (e: unknown) => e as Error & { code?: string },
      );
      expect(error.name).to.equal("ChainMismatchError");
      expect(error.code).to.equal("CHAIN_MISMATCH");
    }
  });

  it("gives the same rows whatever the range size, and re-applying a range changes nothing", async function () {
    const whole = await open("whole");
    const applied = await applyAll(whole.chain, ranges(base, 1000));
    expect(applied).to.be.greaterThan(500);
    const digest = await storeChecksum(whole.mirror);

    const pieces = await open("pieces");
    expect(await applyAll(pieces.chain, ranges(base, 7))).to.equal(applied);
    expect(await storeChecksum(pieces.mirror)).to.equal(digest);

    // Small ranges go in as one INSERT, large ones by COPY: both skip what is there.
    expect(await applyAll(pieces.chain, ranges(base, 50))).to.equal(0);
    expect(await applyAll(pieces.chain, ranges(base, 1000))).to.equal(0);
    expect(await storeChecksum(pieces.mirror)).to.equal(digest);
  });

  it("undoes a rollback exactly: rolling back and re-applying gives the same rows", async function () {
    const { mirror, chain } = await open("replay");
    await applyAll(chain, ranges(base, 25));
    const digest = await storeChecksum(mirror);
    const removed = await chain.rollbackTo(120, base.headers[119]!.hash);
    expect(removed).to.equal(base.logs.filter((log) => log.blockNumber > 120).length);
    expect(await chain.cursor()).to.include({ blockNumber: 120, blockHash: base.headers[119]!.hash });
    expect((await chain.storedBlocks(1000))[0]).to.deep.equal({ number: 120, hash: base.headers[119]!.hash });
    await applyAll(chain, ranges(base, 25, 121));
    expect(await storeChecksum(mirror)).to.equal(digest);
  });

  it("follows a fork: rolled back to the ancestor and extended, it equals a mirror of the fork alone", async function () {
    const reorged = await open("reorged");
    await applyAll(reorged.chain, ranges(base, 30));
    await reorged.chain.rollbackTo(120, base.headers[119]!.hash);
    await applyAll(reorged.chain, ranges(fork, 30, 121));

    const straight = await open("straight");
    await applyAll(straight.chain, ranges(fork, 30, 1, 120));
    await applyAll(straight.chain, ranges(fork, 30, 121));
    expect(await storeChecksum(reorged.mirror)).to.equal(await storeChecksum(straight.mirror));
  });

  it("rolls back to before the first block", async function () {
    const { mirror, chain } = await open("to-start");
    await applyAll(chain, ranges(base, 100));
    await chain.rollbackTo(0, null);
    await chain.setHead(0, 0);
    const fresh = await open("to-start-fresh");
    await fresh.chain.setHead(0, 0);
    expect(await storeChecksum(mirror)).to.equal(await storeChecksum(fresh.mirror));
  });

  it("keeps the cursor and rows unchanged when a range fails half-way", async function () {
    const { mirror, chain } = await open("atomic");
    await applyAll(chain, ranges(base, 50, 1, 100));
    const before = await storeChecksum(mirror);
    const [next] = ranges(base, 50, 101, 150);
    const broken = { ...next!, headers: new Map([...next!.headers].filter(([n]) => n !== 140)) };
    await chain.applyRange(broken).then(
      () => expect.fail("should reject"),
      (e: Error) => expect(e.message).to.match(/no header for block 140/),
    );
    expect(await storeChecksum(mirror)).to.equal(before);
    expect(await chain.cursor()).to.include({ blockNumber: 100 });
  });

  it("applies a 10,000-log range in one write", async function () {
    this.timeout(300_000);
    const big = syntheticChain({ blocks: 244, seed: 7, anchorsPerTx: 41, registryRate: 0.02 });
    const [batch] = ranges(big, 244);
    expect(batch!.logs.length).to.be.within(10_000, 10_300);
    const times: number[] = [];
    for (let run = 0; run < 3; run++) {
      const { chain } = await open(`big-${run}`);
      const started = performance.now();
      await chain.applyRange(batch!);
      times.push(performance.now() - started);
    }
    const best = Math.min(...times);
    console.log(
      `      [${engine}] applyRange of ${batch!.logs.length} logs: ${times.map((t) => t.toFixed(0)).join(", ")} ms (best ${best.toFixed(0)} ms)`,
    );
  });
});

describe("chain store: one digest on both engines", function () {
  this.timeout(300_000);
  const stores: MirrorStore[] = [];
  after(async function () {
    for (const store of stores.splice(0)) await store.close();
  });

  (ENGINES.length === 2 ? it : it.skip)(
    "leaves the same rows on SQLite and PostgreSQL after ranges, a reorg and re-applied ranges",
    async function () {
      const base = syntheticChain({ blocks: 300, seed: 11 });
      const fork = syntheticChain({ blocks: 320, seed: 11, fork: { at: 251, seed: 12 } });
      const digests: string[] = [];
      for (const engine of ENGINES) {
        const mirror = await openTestStore(engine, "cross");
        stores.push(mirror);
        const chain = createChainStore(mirror, { reorgWindow: 64 });
        await chain.openCursor(CHAIN_ID, SYNTHETIC_CONTRACT, 1);
        // The first 200 blocks in one range (by COPY), the rest in small ones (by INSERT).
        await applyAll(chain, ranges(base, 200, 1, 200));
        await applyAll(chain, ranges(base, 13, 201));
        await chain.rollbackTo(250, base.headers[249]!.hash);
        await applyAll(chain, ranges(fork, 17, 251));
        await applyAll(chain, ranges(fork, 40, 281));
        await chain.setHead(330, 325);
        digests.push(await storeChecksum(mirror));
      }
      expect(digests[1]).to.equal(digests[0]);
    },
  );
});
