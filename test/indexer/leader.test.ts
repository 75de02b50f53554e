/**
 * One writer on a shared PostgreSQL mirror: of two indexers on one database one leads (holds the
 * advisory lock and writes), the other stands by; when the leader stops, loses its connection or is
 * killed with SIGKILL, the standby takes over from the cursor, and the mirror ends equal to one
 * indexed by a single indexer (nothing missed, nothing applied twice).
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { expect } from "chai";
import pg from "pg";
import { createIndexer, INDEXER_LOCK_KEY, openStore, storeChecksum } from "../../indexer";
import type { Indexer, IndexerConfig, MirrorStore } from "../../indexer";
import type { SendProvider } from "../../indexer/rpc";
import { testMirrorLocation } from "../helpers/engines";
import { blockNumber, deployTraceAnchor } from "./helpers/chain";
import type { Deployment } from "./helpers/chain";
import { cleanupTempDbs, closeLater, tempStore } from "./helpers/db";
import { memoryLogger } from "./helpers/log";
import { startHardhatNode } from "./helpers/node";
import type { HardhatNode } from "./helpers/node";
import { anchorWorkload } from "./helpers/workload";

const ROOT = path.resolve(__dirname, "..", "..");

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
  return Date.now() - started;
}

/** The backends holding the indexer lock in `url`'s database. */
async function lockHolders(url: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const key = BigInt(INDEXER_LOCK_KEY);
    const { rows } = await client.query<{ pid: number }>(
      "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) " +
        "AND classid = $1 AND objid = $2 AND objsubid = 1",
      [String(BigInt.asUintN(64, key) >> 32n), String(BigInt.asUintN(32, key))],
    );
    return rows.map((row) => row.pid);
  } finally {
    await client.end();
  }
}

async function terminate(url: string, pid: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("SELECT pg_terminate_backend($1)", [pid]);
  } finally {
    await client.end();
  }
}

describe("indexer: one writer on PostgreSQL", function () {
  this.timeout(300_000);
  let node: HardhatNode;
  let d: Deployment;
  let head: number;
  let reference: string;
  let referenceEvents: number;

  /** The node, slowed down so that a backfill lasts long enough to be interrupted. */
  const slow = (): SendProvider => ({
    async send(method, params) {
      if (method === "eth_getLogs") await sleep(15);
      return (await node.provider.send(method, params)) as unknown;
    },
  });

  const config = (): IndexerConfig => ({
    fromBlock: d.deployBlock,
    maxRange: 2,
    pollIntervalMs: 50,
    standbyPollMs: 100,
  });

  before(async function () {
    node = await startHardhatNode();
    d = await deployTraceAnchor(node);
    await anchorWorkload(node, d, 20, 50, 10);
    head = await blockNumber(node);
    const store = await tempStore("postgres", "leader-reference");
    referenceEvents = (
      await createIndexer({
        store,
        provider: node.provider,
        contract: d.address,
        log: memoryLogger(),
        config: { fromBlock: d.deployBlock },
      }).syncOnce()
    ).indexed;
    reference = await storeChecksum(store);
  });

  after(async function () {
    await node?.stop();
    await cleanupTempDbs();
  });

  interface Pair {
    readonly url: string;
    readonly stores: readonly [MirrorStore, MirrorStore];
    readonly indexers: readonly [Indexer, Indexer];
    readonly runs: Promise<void>[];
  }

  /** Two indexers on one new database, each with its own pool; the first started leads. */
  async function pair(name: string): Promise<Pair> {
    const url = await testMirrorLocation("postgres", name);
    const stores = [
      closeLater(await openStore({ db: url, application: "leader-a" })),
      closeLater(await openStore({ db: url, application: "leader-b" })),
    ] as const;
    const indexers = stores.map((store) =>
      createIndexer({ store, provider: slow(), contract: d.address, log: memoryLogger(), config: config() }),
    ) as [Indexer, Indexer];
    const runs = [indexers[0].start()];
    await until("the first indexer to lead", () => indexers[0].status().role === "leader");
    runs.push(indexers[1].start());
    await until("the second indexer to stand by", () => indexers[1].status().state === "standby");
    return { url, stores, indexers, runs };
  }

  it("lets one indexer write while the other stands by, and hands over when the leader stops", async function () {
    const { url, stores, indexers, runs } = await pair("leader-stop");
    const [a, b] = indexers;
    await until("the leader to index some blocks", () => (a.status().indexedBlock ?? 0) > d.deployBlock + 40);
    expect(a.status()).to.include({ role: "leader", state: "running" });
    expect(b.status()).to.include({ role: "standby", state: "standby", eventsIndexed: 0 });
    expect(await lockHolders(url)).to.have.length(1);
    // The standby follows the cursor it does not write.
    await until("the standby to see the cursor move", () => (b.status().indexedBlock ?? 0) > d.deployBlock);

    const stopped = Date.now();
    await a.stop();
    await runs[0];
    const left = a.status().indexedBlock ?? 0;
    expect(left, "the leader stopped before the head").to.be.lessThan(head);
    await until("the standby to lead", () => b.status().role === "leader");
    const failoverMs = Date.now() - stopped;
    await until("the new leader to reach the head", () => (b.status().indexedBlock ?? 0) >= head, 60_000);
    await b.stop();
    await runs[1];

    expect(await storeChecksum(stores[0])).to.equal(reference);
    expect(a.status().eventsIndexed + b.status().eventsIndexed).to.equal(referenceEvents);
    expect(b.status().eventsIndexed).to.be.greaterThan(0);
    console.log(`      leader stopped at block ${left} of ${head}; standby led ${failoverMs} ms after the stop`);
  });

  it("stops writing when its lock session is killed, and the standby takes over from the cursor", async function () {
    const { url, stores, indexers, runs } = await pair("leader-terminate");
    const [a, b] = indexers;
    await until("the leader to index some blocks", () => (a.status().indexedBlock ?? 0) > d.deployBlock + 40);
    const [holder] = await lockHolders(url);
    expect(holder).to.be.a("number");

    const killed = Date.now();
    await terminate(url, holder!);
    await until("the leader to notice", () => a.status().role === "standby");
    const appliedByA = a.status().eventsIndexed;
    await until("the standby to lead", () => b.status().role === "leader");
    const failoverMs = Date.now() - killed;
    await until("the new leader to reach the head", () => (b.status().indexedBlock ?? 0) >= head, 60_000);

    // The old leader wrote nothing after it lost the lock, and now stands by behind the new one.
    expect(a.status().eventsIndexed).to.equal(appliedByA);
    expect(a.status()).to.include({ role: "standby", state: "standby", fatal: null });
    expect(await lockHolders(url)).to.have.length(1);
    await Promise.all([a.stop(), b.stop()]);
    await Promise.all(runs);

    expect(await storeChecksum(stores[1])).to.equal(reference);
    expect(appliedByA + b.status().eventsIndexed).to.be.at.most(referenceEvents);
    console.log(`      lock session killed; standby led ${failoverMs} ms later`);
  });

  it("takes over from a leader process killed with SIGKILL", async function () {
    const url = await testMirrorLocation("postgres", "leader-sigkill");
    const children: ChildProcess[] = [];
    const logs: string[] = [];
    const spawnIndexer = (name: string): ChildProcess => {
      const child = spawn(
        process.execPath,
        ["-r", "ts-node/register/transpile-only", path.join(ROOT, "indexer", "run.ts")],
        {
          cwd: ROOT,
          env: {
            ...process.env,
            TRACE_RPC_URL: node.url,
            TRACE_CONTRACT: d.address,
            TRACE_DB: url,
            TRACE_INDEX_FROM_BLOCK: String(d.deployBlock),
            TRACE_INDEX_MAX_RANGE: "1",
            TRACE_INDEX_CONCURRENCY: "1",
            TRACE_INDEX_POLL_MS: "50",
            TRACE_LOG_LEVEL: "info",
          },
          stdio: ["ignore", "ignore", "pipe"],
        },
      );
      let buffered = "";
      child.stderr?.on("data", (chunk: Buffer) => {
        buffered += chunk.toString();
        for (let i = buffered.indexOf("\n"); i >= 0; i = buffered.indexOf("\n")) {
          logs.push(`${name} ${buffered.slice(0, i)}`);
          buffered = buffered.slice(i + 1);
        }
      });
      children.push(child);
      return child;
    };
    const leaderLines = (): string[] => logs.filter((line) => line.includes('"indexer is the leader"'));
    const watch = new pg.Pool({ connectionString: url, max: 1 });
    const cursor = async (): Promise<number> => {
      try {
        const { rows } = await watch.query<{ block_number: string }>("SELECT block_number FROM cursor");
        return rows[0] === undefined ? -1 : Number(rows[0].block_number);
      } catch {
        return -1;
      }
    };
    try {
      // Started together, so that the leader is still far from the head once the other stands by.
      const processes = { a: spawnIndexer("a"), b: spawnIndexer("b") };
      await until("one process to lead", () => leaderLines().length === 1, 60_000);
      const leader = leaderLines()[0]!.startsWith("a ") ? "a" : "b";
      const standby = leader === "a" ? "b" : "a";
      await until(
        "the other process to stand by",
        () => logs.some((line) => line.startsWith(`${standby} `) && line.includes("standing by")),
        60_000,
      );
      await until("the leader to index some blocks", async () => (await cursor()) > d.deployBlock + 10, 60_000);

      const killed = Date.now();
      const first = processes[leader];
      const second = processes[standby];
      const exited = new Promise((resolve) => first.once("exit", resolve));
      first.kill("SIGKILL");
      await exited;
      const at = await cursor();
      await until("the standby process to lead", () => leaderLines().length === 2, 10_000);
      const failoverMs = Date.now() - killed;
      expect(leaderLines()[1]?.startsWith(`${standby} `)).to.equal(true);
      expect(at, "killed before the head").to.be.lessThan(head);
      await until("the new leader to reach the head", async () => (await cursor()) >= head, 60_000);
      const done = new Promise<number | null>((resolve) => second.once("exit", (code) => resolve(code)));
      second.kill("SIGTERM");
      expect(await done).to.equal(0);

      const store = closeLater(await openStore({ db: url, readonly: true }));
      expect(await storeChecksum(store)).to.equal(reference);
      console.log(
        `      leader process killed at block ${at} of ${head}; the standby process led ${failoverMs} ms later`,
      );
    } finally {
      for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
      await watch.end();
    }
  });
});
