import { expect } from "chai";
import { keccak256, toUtf8Bytes } from "ethers";
import { createIndexer, storeChecksum } from "../../indexer";
import type { Indexer, IndexerConfig, MirrorStore } from "../../indexer";
import type { SendProvider } from "../../indexer/rpc";
import { deployTraceAnchor, mined, request, role, rootOf } from "./helpers/chain";
import type { Deployment } from "./helpers/chain";
import { describeEngines } from "../helpers/engines";
import { cleanupTempDbs, query, tempStore } from "./helpers/db";
import { memoryLogger } from "./helpers/log";
import { startHardhatNode } from "./helpers/node";
import type { HardhatNode } from "./helpers/node";

/** A fixed future time, so a block time taken from the clock would stand out. */
const T0 = 2_000_000_000;

describe("indexer: mirroring events", function () {
  let node: HardhatNode;
  let d: Deployment;
  let a: string;
  let b: string;
  let registerBlock: number;

  before(async function () {
    node = await startHardhatNode();
    d = await deployTraceAnchor(node);
    const registrar = d.as(d.registrar);
    await node.rpc("evm_setNextBlockTimestamp", [T0]);
    registerBlock = await mined(registrar.registerBrand("Acme", d.brandAdmin.address, ["4006381", "4006382"]));
    await mined(registrar.assignPrefix(1, "4006383"));
    await mined(registrar.releasePrefix("4006382"));
    await mined(registrar.registerBrand("Beta", d.other.address, []));
    await mined(registrar.assignPrefix(2, "4006382"));
    const acme = d.as(d.brandAdmin);
    await mined(acme.setSubmitter(1, d.submitter.address, role("factory")));
    await mined(acme.setSubmitter(1, d.other.address, role("logistics")));
    await mined(acme.setSubmitter(1, d.other.address, role("quality inspection")));
    await mined(acme.setSubmitter(1, d.registrar.address, keccak256(toUtf8Bytes("HASHED"))));
    await mined(acme.removeSubmitter(1, d.other.address));
    await mined(acme.transferBrandAdmin(1, d.other.address));
    await mined(d.as(d.other).acceptBrandAdmin(1));
    await mined(d.as(d.other).transferBrandAdmin(1, d.brandAdmin.address));
    a = rootOf("a");
    b = rootOf("b");
    await mined(d.as(d.submitter).anchor(1, request("a", 100n, 1)));
    await mined(d.as(d.submitter).anchorMany(1, [request("b", 7n, 2), request("c", 3n, 1)]));
    await mined(d.as(d.other).revoke(1, b, "recall 2024-17"));
  });

  after(async function () {
    await node?.stop();
    await cleanupTempDbs();
  });

  describeEngines("on", (engine) => {
    function indexerFor(db: MirrorStore, config: IndexerConfig = {}, provider: SendProvider = node.provider): Indexer {
      return createIndexer({
        store: db,
        provider,
        contract: d.address,
        log: memoryLogger(),
        config: { fromBlock: d.deployBlock, pollIntervalMs: 20, ...config },
      });
    }

    async function indexed(config: IndexerConfig = {}): Promise<MirrorStore> {
      const db = await tempStore(engine, "mirror");
      await indexerFor(db, config).syncOnce();
      return db;
    }

    it("mirrors brands with their current and pending admin", async function () {
      const db = await indexed();
      const brands = await query(
        db,
        "SELECT brand_id, admin, pending_admin, name, registered_block, registered_time FROM brands ORDER BY brand_id",
      );
      expect(brands).to.deep.equal([
        {
          brand_id: 1,
          admin: d.other.address.toLowerCase(),
          pending_admin: d.brandAdmin.address.toLowerCase(),
          name: "Acme",
          registered_block: registerBlock,
          registered_time: T0,
        },
        {
          brand_id: 2,
          admin: d.other.address.toLowerCase(),
          pending_admin: null,
          name: "Beta",
          registered_block: registerBlock + 3,
          registered_time: T0 + 3,
        },
      ]);
    });

    it("mirrors prefixes: assigned, released, reassigned to another brand", async function () {
      const db = await indexed();
      expect(await query(db, "SELECT prefix, brand_id FROM prefixes ORDER BY prefix")).to.deep.equal([
        { prefix: "4006381", brand_id: 1 },
        { prefix: "4006382", brand_id: 2 },
        { prefix: "4006383", brand_id: 1 },
      ]);
    });

    it("mirrors submitters with decoded role labels, raw roles, changes and removals", async function () {
      const db = await indexed();
      expect(
        await query(db, "SELECT account, role, role_raw FROM submitters WHERE brand_id = 1 ORDER BY set_block"),
      ).to.deep.equal([
        { account: d.submitter.address.toLowerCase(), role: "factory", role_raw: role("factory").toLowerCase() },
        { account: d.registrar.address.toLowerCase(), role: null, role_raw: keccak256(toUtf8Bytes("HASHED")) },
      ]);
    });

    it("mirrors anchors and revocations with block times from the blocks", async function () {
      const db = await indexed();
      const rows = await query<{
        root: string;
        block_number: number;
        block_hash: string;
        block_time: number;
        revoked_at_block: number | null;
        revoke_reason: string | null;
      }>(
        db,
        "SELECT root, kind, leaf_count, content_uri, submitter, block_number, block_hash, block_time, revoked_at_block, revoke_reason, revoked_time, content_status FROM anchors ORDER BY block_number, log_index",
      );
      expect(rows.map((row) => row.root)).to.deep.equal([a, b, rootOf("c")]);
      for (const row of rows) {
        const block = await node.provider.getBlock(row.block_number);
        expect(row.block_hash).to.equal(block?.hash);
        expect(row.block_time).to.equal(block?.timestamp);
        expect(row.block_time).to.be.greaterThan(T0);
      }
      expect(rows[1]).to.include({
        kind: 2,
        leaf_count: 7,
        content_uri: "file:b.ndjson",
        submitter: d.submitter.address.toLowerCase(),
        revoke_reason: "recall 2024-17",
        content_status: "pending",
      });
      expect(rows[1]?.revoked_at_block).to.equal(rows[2]!.block_number + 1);
      expect(rows[0]?.revoked_at_block).to.equal(null);
      expect(rows[2]?.revoked_at_block).to.equal(null);
    });

    it("keeps every log raw, in chain order, with its event name and arguments", async function () {
      const db = await indexed();
      const events = await query<{ event: string; args: string }>(
        db,
        "SELECT event, args FROM events_raw ORDER BY block_number, tx_index, log_index",
      );
      expect(events.map((e) => e.event)).to.include.members([
        "RoleGranted",
        "BrandRegistered",
        "PrefixReleased",
        "Anchored",
        "Revoked",
      ]);
      expect(events.filter((e) => e.event === "Anchored")).to.have.length(3);
      const revoked = events.find((e) => e.event === "Revoked");
      expect(JSON.parse(revoked?.args ?? "{}")).to.deep.equal({
        brandId: "1",
        root: b,
        admin: d.other.address.toLowerCase(),
        reason: "recall 2024-17",
      });
    });

    it("is idempotent: a second sync writes nothing", async function () {
      const db = await tempStore(engine, "mirror");
      const indexer = indexerFor(db);
      const first = await indexer.syncOnce();
      const before = await storeChecksum(db);
      const second = await indexer.syncOnce();
      expect(first.indexed).to.be.greaterThan(10);
      expect(second.indexed).to.equal(0);
      expect(await storeChecksum(db)).to.equal(before);
      expect(indexer.status()).to.include({
        indexedBlock: first.head,
        finalizedBlock: first.head,
        confirmations: 0,
        state: "idle",
      });
    });

    it("gives the same database whatever the range size", async function () {
      const whole = await storeChecksum(await indexed({ maxRange: 10_000 }));
      expect(await storeChecksum(await indexed({ maxRange: 1 }))).to.equal(whole);
      expect(await storeChecksum(await indexed({ maxRange: 4 }))).to.equal(whole);
    });

    it("shrinks the range to the one a provider suggests, and still gets everything", async function () {
      const sizes: number[] = [];
      const refusing: SendProvider = {
        send(method, params) {
          if (method === "eth_getLogs") {
            const [{ fromBlock, toBlock }] = params as [{ fromBlock: string; toBlock: string }];
            const from = Number.parseInt(fromBlock, 16);
            sizes.push(Number.parseInt(toBlock, 16) - from + 1);
            if (Number.parseInt(toBlock, 16) - from + 1 > 3) {
              return Promise.reject(
                new Error(
                  `query returned more than 10000 results. Try with this block range [${fromBlock}, 0x${(from + 2).toString(16)}].`,
                ),
              );
            }
          }
          return node.provider.send(method, params);
        },
      };
      const db = await tempStore(engine, "mirror");
      const indexer = indexerFor(db, { maxRange: 1000 }, refusing);
      await indexer.syncOnce();
      expect(sizes[0]).to.be.greaterThan(3);
      expect(sizes[1]).to.equal(3);
      expect(await storeChecksum(db)).to.equal(await storeChecksum(await indexed()));
    });

    it("halves the range when a provider refuses without a suggestion", async function () {
      let refusals = 0;
      const refusing: SendProvider = {
        send(method, params) {
          if (method === "eth_getLogs") {
            const [{ fromBlock, toBlock }] = params as [{ fromBlock: string; toBlock: string }];
            if (Number.parseInt(toBlock, 16) - Number.parseInt(fromBlock, 16) + 1 > 5) {
              refusals++;
              return Promise.reject(Object.assign(new Error("block range too large"), { code: -32005 }));
            }
          }
          return node.provider.send(method, params);
        },
      };
      const db = await tempStore(engine, "mirror");
      await indexerFor(db, { maxRange: 64 }, refusing).syncOnce();
      expect(refusals).to.be.greaterThan(0);
      expect(await storeChecksum(db)).to.equal(await storeChecksum(await indexed()));
    });

    it("reports a head that stops moving as stalled", async function () {
      const db = await tempStore(engine, "mirror");
      const log = memoryLogger();
      const indexer = createIndexer({
        store: db,
        provider: node.provider,
        contract: d.address,
        log,
        config: { fromBlock: d.deployBlock, pollIntervalMs: 20, stallPolls: 3 },
      });
      const running = indexer.start();
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(indexer.status()).to.include({ stalled: true, state: "running" });
      expect(log.lines.some((line) => line.level === "warn" && /not moved/.test(line.msg ?? ""))).to.equal(true);
      await indexer.stop();
      await running;
      expect(indexer.status().state).to.equal("stopped");
    });

    it("refuses a database built for another contract", async function () {
      const db = await indexed();
      const other = createIndexer({
        store: db,
        provider: node.provider,
        contract: d.submitter.address,
        log: memoryLogger(),
        config: { fromBlock: d.deployBlock },
      });
      await other.syncOnce().then(
        () => expect.fail("should reject"),
        (error: Error) => expect(error.name).to.equal("ChainMismatchError"),
      );
      expect(other.status()).to.deep.include({ state: "failed" });
      expect(other.status().fatal?.name).to.equal("ChainMismatchError");
    });
  });
});
