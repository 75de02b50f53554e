import { expect } from "chai";
import { createIndexer, ReorgTooDeepError, storeChecksum } from "../../indexer";
import type { Indexer, IndexerConfig, MirrorStore } from "../../indexer";
import { describeEngines } from "../helpers/engines";
import {
  blockNumber,
  deployTraceAnchor,
  mine,
  mined,
  request,
  revertTo,
  role,
  rootOf,
  setUpBrand,
  snapshot,
} from "./helpers/chain";
import type { Deployment } from "./helpers/chain";
import { cleanupTempDbs, query, queryOne, tempStore } from "./helpers/db";
import { memoryLogger } from "./helpers/log";
import { startHardhatNode } from "./helpers/node";
import type { HardhatNode } from "./helpers/node";

describe("indexer: reorgs", function () {
  let node: HardhatNode;

  before(async function () {
    node = await startHardhatNode();
  });

  after(async function () {
    await node?.stop();
    await cleanupTempDbs();
  });

  describeEngines("on", (engine) => {
    interface Fixture {
      readonly d: Deployment;
      readonly brandId: bigint;
      readonly db: MirrorStore;
      readonly config: IndexerConfig;
      indexer(db?: MirrorStore): Indexer;
      /** The checksum of a database indexed from scratch from the chain as it is now. */
      fresh(): Promise<string>;
      roots(): Promise<string[]>;
    }

    async function fixture(config: IndexerConfig = {}): Promise<Fixture> {
      const d = await deployTraceAnchor(node);
      const brandId = await setUpBrand(d);
      const db = await tempStore(engine, "reorg");
      const full: IndexerConfig = { fromBlock: d.deployBlock, pollIntervalMs: 20, ...config };
      const indexer = (target: MirrorStore = db): Indexer =>
        createIndexer({
          store: target,
          provider: node.provider,
          contract: d.address,
          log: memoryLogger(),
          config: full,
        });
      return {
        d,
        brandId,
        db,
        config: full,
        indexer,
        async fresh() {
          const other = await tempStore(engine, "reorg-fresh");
          await indexer(other).syncOnce();
          const sum = await storeChecksum(other);
          await other.close();
          return sum;
        },
        roots: async () =>
          (await query<{ root: string }>(db, "SELECT root FROM anchors ORDER BY block_number, log_index")).map(
            (row) => row.root,
          ),
      };
    }

    const anchorOf = (
      db: MirrorStore,
      root: string,
    ): Promise<{ revoked_at_block: number | null; revoke_reason: string | null } | undefined> =>
      queryOne(db, "SELECT revoked_at_block, revoke_reason FROM anchors WHERE root = ?", [root]);

    it("removes an anchor that a longer branch does not have", async function () {
      const f = await fixture();
      const indexer = f.indexer();
      await mined(f.d.as(f.d.submitter).anchor(f.brandId, request("keep")));
      await indexer.syncOnce();
      const snap = await snapshot(node);
      await mined(f.d.as(f.d.submitter).anchor(f.brandId, request("gone")));
      await indexer.syncOnce();
      expect(await f.roots()).to.deep.equal([rootOf("keep"), rootOf("gone")]);

      await revertTo(node, snap);
      await mine(node, 3);
      await indexer.syncOnce();

      expect(await f.roots()).to.deep.equal([rootOf("keep")]);
      expect(await queryOne(f.db, "SELECT count(*) AS n FROM events_raw WHERE event = 'Anchored'")).to.deep.equal({
        n: 1,
      });
      expect(indexer.status()).to.deep.include({ reorgs: 1, indexedBlock: await blockNumber(node) });
      expect(indexer.status().lastReorg).to.deep.include({ depth: 1, removedEvents: 1 });
      expect(await storeChecksum(f.db)).to.equal(await f.fresh());
    });

    it("makes a batch active again when the branch with its revocation goes", async function () {
      const f = await fixture();
      const indexer = f.indexer();
      await mined(f.d.as(f.d.submitter).anchor(f.brandId, request("batch")));
      await indexer.syncOnce();
      const snap = await snapshot(node);
      await mined(f.d.as(f.d.brandAdmin).revoke(f.brandId, rootOf("batch"), "counterfeit label"));
      await indexer.syncOnce();
      expect((await anchorOf(f.db, rootOf("batch")))?.revoke_reason).to.equal("counterfeit label");

      await revertTo(node, snap);
      await mine(node, 2);
      await indexer.syncOnce();

      expect(await anchorOf(f.db, rootOf("batch"))).to.deep.equal({ revoked_at_block: null, revoke_reason: null });
      expect(await storeChecksum(f.db)).to.equal(await f.fresh());
    });

    it("gives back a released prefix, a removed submitter and a cleared pending admin", async function () {
      const f = await fixture();
      const indexer = f.indexer();
      await indexer.syncOnce();
      const before = await storeChecksum(f.db);
      const snap = await snapshot(node);
      await mined(f.d.as(f.d.registrar).releasePrefix("4006381"));
      await mined(f.d.as(f.d.brandAdmin).removeSubmitter(f.brandId, f.d.submitter.address));
      await mined(f.d.as(f.d.brandAdmin).transferBrandAdmin(f.brandId, f.d.other.address));
      await indexer.syncOnce();
      expect(await queryOne(f.db, "SELECT count(*) AS n FROM prefixes")).to.deep.equal({ n: 0 });
      expect(await queryOne(f.db, "SELECT count(*) AS n FROM submitters")).to.deep.equal({ n: 0 });

      await revertTo(node, snap);
      await mine(node, 4);
      await indexer.syncOnce();

      expect(await query(f.db, "SELECT prefix, brand_id FROM prefixes")).to.deep.equal([
        { prefix: "4006381", brand_id: 1 },
      ]);
      expect(await query(f.db, "SELECT account, role FROM submitters")).to.deep.equal([
        { account: f.d.submitter.address.toLowerCase(), role: "factory" },
      ]);
      expect(await queryOne(f.db, "SELECT pending_admin FROM brands")).to.deep.equal({ pending_admin: null });
      expect(await storeChecksum(f.db)).to.equal(await f.fresh());
      expect(before).to.not.equal(await storeChecksum(f.db)); // the cursor moved on
    });

    it("repairs a reorg that happened while the indexer was stopped", async function () {
      const f = await fixture();
      const first = f.indexer();
      const snap = await snapshot(node);
      await mined(f.d.as(f.d.submitter).anchor(f.brandId, request("old-branch")));
      const running = first.start();
      const target = await blockNumber(node);
      while ((first.status().indexedBlock ?? -1) < target) await new Promise((resolve) => setTimeout(resolve, 20));
      await first.stop();
      await running;
      expect(await f.roots()).to.deep.equal([rootOf("old-branch")]);

      await revertTo(node, snap);
      await mine(node, 1);
      await mined(f.d.as(f.d.submitter).anchor(f.brandId, request("new-branch")));
      const second = f.indexer();
      await second.syncOnce();

      expect(await f.roots()).to.deep.equal([rootOf("new-branch")]);
      expect(second.status().reorgs).to.equal(1);
      expect(await storeChecksum(f.db)).to.equal(await f.fresh());
    });

    it("follows several reorgs in a row", async function () {
      const f = await fixture();
      const indexer = f.indexer();
      await indexer.syncOnce();
      for (let i = 0; i < 4; i++) {
        const snap = await snapshot(node);
        await mined(f.d.as(f.d.submitter).anchorMany(f.brandId, [request(`gone-${i}-a`), request(`gone-${i}-b`)]));
        if (i % 2 === 1) await mined(f.d.as(f.d.brandAdmin).revoke(f.brandId, rootOf(`kept-${i - 1}`), "wrong"));
        await indexer.syncOnce();
        await revertTo(node, snap);
        await mine(node, i + 1);
        await mined(f.d.as(f.d.submitter).anchor(f.brandId, request(`kept-${i}`)));
        await indexer.syncOnce();
        expect(await storeChecksum(f.db), `after reorg ${i + 1}`).to.equal(await f.fresh());
      }
      expect(await f.roots()).to.deep.equal([0, 1, 2, 3].map((i) => rootOf(`kept-${i}`)));
      expect(
        await queryOne(f.db, "SELECT count(*) AS n FROM anchors WHERE revoked_at_block IS NOT NULL"),
      ).to.deep.equal({
        n: 0,
      });
      expect(indexer.status().reorgs).to.equal(4);
    });

    it("rolls back to a new chain shorter than the old one", async function () {
      const f = await fixture();
      const indexer = f.indexer();
      await mined(f.d.as(f.d.submitter).anchor(f.brandId, request("stays")));
      await indexer.syncOnce();
      const snap = await snapshot(node);
      await mined(f.d.as(f.d.submitter).anchor(f.brandId, request("long-branch")));
      await mine(node, 5);
      await indexer.syncOnce();
      const longHead = await blockNumber(node);

      await revertTo(node, snap);
      await mine(node, 2);
      const shortHead = await blockNumber(node);
      expect(shortHead).to.be.lessThan(longHead);
      await indexer.syncOnce();

      expect(await f.roots()).to.deep.equal([rootOf("stays")]);
      expect(indexer.status()).to.deep.include({ indexedBlock: shortHead, reorgs: 1 });
      expect(await storeChecksum(f.db)).to.equal(await f.fresh());
    });

    it("rolls back to a new chain of the same length", async function () {
      const f = await fixture();
      const indexer = f.indexer();
      await indexer.syncOnce();
      const snap = await snapshot(node);
      await mined(f.d.as(f.d.submitter).anchor(f.brandId, request("one")));
      await indexer.syncOnce();
      await revertTo(node, snap);
      await mined(f.d.as(f.d.submitter).anchor(f.brandId, request("other")));
      await indexer.syncOnce();

      expect(await f.roots()).to.deep.equal([rootOf("other")]);
      expect(await storeChecksum(f.db)).to.equal(await f.fresh());
    });

    it("stops with ReorgTooDeepError when the reorg is deeper than the window", async function () {
      const f = await fixture({ reorgWindow: 3 });
      const indexer = f.indexer();
      await indexer.syncOnce();
      const snap = await snapshot(node);
      await mined(f.d.as(f.d.submitter).anchor(f.brandId, request("deep")));
      await mine(node, 6);
      await indexer.syncOnce();
      await revertTo(node, snap);
      await mine(node, 9);

      const error = await indexer.syncOnce().then(
        () => expect.fail("should reject"),
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(ReorgTooDeepError);
      expect(indexer.status().state).to.equal("failed");
      expect(indexer.status().fatal).to.deep.include({ name: "ReorgTooDeepError", code: "REORG_TOO_DEEP" });
      await indexer.syncOnce().then(
        () => expect.fail("should stay failed"),
        (e: unknown) => expect(e).to.equal(error),
      );
      await indexer.start();
      expect(indexer.status().state).to.equal("failed");
      // Nothing was rolled back or written past the failure.
      expect(await f.roots()).to.deep.equal([rootOf("deep")]);
    });

    it("does not count a role change as a reorg, and keeps finality at head minus confirmations", async function () {
      const f = await fixture({ confirmations: 2 });
      const indexer = f.indexer();
      await mined(f.d.as(f.d.brandAdmin).setSubmitter(f.brandId, f.d.submitter.address, role("logistics")));
      const result = await indexer.syncOnce();
      expect(indexer.status()).to.deep.include({
        reorgs: 0,
        confirmations: 2,
        finalizedBlock: result.head - 2,
        indexedBlock: result.head,
      });
      expect(await queryOne(f.db, "SELECT finalized_block FROM cursor")).to.deep.equal({
        finalized_block: result.head - 2,
      });
      expect(await queryOne(f.db, "SELECT role FROM submitters")).to.deep.equal({ role: "logistics" });
    });
  });
});
