/**
 * Two `traceanchor serve` replicas on one PostgreSQL database, as operations.md runs them behind a
 * load balancer: one leads (holds the indexer's writer lock, indexes and ingests), the other stands
 * by and serves reads. The leader is killed with SIGKILL; a new batch is anchored while it is gone;
 * the survivor must take the lock within 10 s, index the batch, ingest its content and serve its
 * items with proofs that verify, and the mirror must hold every row once (equal, table for table,
 * to a mirror a single indexer built from the same chain and content).
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { ethers } from "hardhat";
import pg from "pg";
import { JsonRpcProvider } from "ethers";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { createContentSource } from "../../indexer/content-source";
import { createIndexer } from "../../indexer/indexer";
import { createIngester } from "../../indexer/ingest";
import { storeTableChecksums } from "../../mirror/checksum";
import { openStore } from "../../mirror/store";
import { TraceAnchor__factory } from "../../typechain-types";
import { ENGINES, openTestStore } from "../helpers/engines";
import { createTestSystem, type TestSystem } from "../helpers/system";
import { startRpcServer, type RpcServer } from "./rpc";

const ROOT = path.resolve(__dirname, "..", "..");
const GTIN = "09506000134352";
const TAKEOVER_MS = 10_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

interface Replica {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logs: string[];
  /** The API's URL, once it listens. */
  url(): string | undefined;
}

interface Readiness {
  status: string;
  role?: string;
  indexer: string | null;
  indexedBlock: number | null;
}

interface Proved {
  recordHash: string;
  proof: string[];
  root: string;
  anchor: { brandId: string };
}

/** `traceanchor serve` in a child process of its own, as an operator starts it. */
function startReplica(name: string, env: Record<string, string>): Replica {
  const logs: string[] = [];
  let url: string | undefined;
  const child = spawn(process.execPath, [path.join(ROOT, "bin", "traceanchor.js"), "serve"], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...env,
      TRACE_PORT: "0",
      TRACE_SCANS: "off",
      TRACE_LOG_LEVEL: "info",
      TRACE_INDEX_POLL_MS: "200",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let buffered = "";
  const hear = (chunk: Buffer): void => {
    buffered += chunk.toString();
    for (let i = buffered.indexOf("\n"); i >= 0; i = buffered.indexOf("\n")) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      logs.push(line);
      url ??= /API listening on (http:\/\/\S+)/.exec(line)?.[1];
    }
  };
  child.stdout?.on("data", hear);
  child.stderr?.on("data", hear);
  return { name, child, logs, url: () => url };
}

async function readiness(replica: Replica): Promise<Readiness | undefined> {
  const url = replica.url();
  if (url === undefined || replica.child.exitCode !== null) return undefined;
  return (await (await fetch(`${url}/readyz`)).json()) as Readiness;
}

/** The item's document from `replica`, when it serves one (200). */
async function itemOf(replica: Replica, serial: string): Promise<{ verdict: string; identity: Proved } | undefined> {
  const response = await fetch(`${replica.url()}/01/${GTIN}/21/${serial}`, { headers: { accept: "application/json" } });
  if (response.status !== 200) return undefined;
  return (await response.json()) as { verdict: string; identity: Proved };
}

const describePg = ENGINES.includes("postgres") ? describe : describe.skip;

describePg("serve: two replicas on one PostgreSQL database, the leader killed with SIGKILL", function () {
  this.timeout(300_000);
  let rpc: RpcServer;
  let system: TestSystem;
  let watch: pg.Pool;
  const replicas: Replica[] = [];

  before(async function () {
    rpc = await startRpcServer();
    system = await createTestSystem(rpc.url, "postgres");
    watch = new pg.Pool({ connectionString: system.dbPath, max: 1 });
  });
  after(async function () {
    for (const replica of replicas) if (replica.child.exitCode === null) replica.child.kill("SIGKILL");
    await watch?.end();
    await system?.close();
    await rpc?.close();
  });

  const count = async (sql: string, ...params: unknown[]): Promise<number> =>
    Number((await watch.query<{ n: string }>(sql, params)).rows[0]?.n);

  const submit = async (file: string, csv: string): Promise<string> => {
    fs.writeFileSync(path.join(system.dir, file), csv);
    const result = await system.as(2, ["batch", "submit", "--brand", "1", "--kind", "identity", "--input", file]);
    expect(result.code, result.stderr).to.equal(0);
    return result.json.root as string;
  };

  it("the survivor takes the writer lock within 10 s and serves a batch anchored after the kill, once", async function () {
    const firstRoot = await submit("first.csv", `gtin,serial\n${GTIN},F1\n${GTIN},F2\n`);
    replicas.push(startReplica("a", system.env), startReplica("b", system.env));
    const dump = (): string => replicas.map((r) => r.logs.map((line) => `${r.name} ${line}`).join("\n")).join("\n");

    // One leads, the other stands by; both serve the first batch from the shared mirror.
    const roles = await until(
      "one replica to lead and the other to stand by",
      async () => {
        const docs = await Promise.all(replicas.map(readiness));
        const found = docs.map((doc) => doc?.role);
        return found.includes("leader") && found.includes("standby") ? found : undefined;
      },
      120_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${dump()}`);
    });
    const leader = replicas[roles.indexOf("leader")]!;
    const survivor = replicas[roles.indexOf("standby")]!;
    for (const replica of replicas) await until(`${replica.name} to serve F1`, () => itemOf(replica, "F1"), 30_000);
    const before = {
      anchors: await count("SELECT count(*) AS n FROM anchors"),
      records: await count("SELECT count(*) AS n FROM records"),
    };
    expect(before).to.deep.equal({ anchors: 1, records: 2 });
    expect(
      await count("SELECT count(*) AS n FROM records r JOIN anchors a USING (batch_id) WHERE a.root = $1", firstRoot),
    ).to.equal(2);

    const exited = new Promise((resolve) => leader.child.once("exit", resolve));
    const killed = Date.now();
    leader.child.kill("SIGKILL");
    await exited;
    // Anchored while no replica leads: only the survivor can index and ingest it.
    const newRoot = await submit("second.csv", `gtin,serial\n${GTIN},N1\n${GTIN},N2\n${GTIN},N3\n`);

    await until(
      "the survivor to lead",
      async () => ((await readiness(survivor))?.role === "leader" ? true : undefined),
      TAKEOVER_MS,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${dump()}`);
    });
    const takeoverMs = Date.now() - killed;
    const doc = await until("the survivor to serve N2", () => itemOf(survivor, "N2"), TAKEOVER_MS);
    const servedMs = Date.now() - killed;
    expect(takeoverMs).to.be.at.most(TAKEOVER_MS);

    expect(doc.verdict).to.equal("genuine");
    expect(doc.identity.root).to.equal(newRoot);
    const { root, recordHash, proof } = doc.identity;
    expect(StandardMerkleTree.verify(root, ["bytes32"], [recordHash], proof)).to.equal(true);
    const registry = TraceAnchor__factory.connect(system.contract, ethers.provider);
    const leaf = await registry.leafOf(doc.identity.recordHash);
    expect(await registry.verify(doc.identity.anchor.brandId, doc.identity.root, doc.identity.proof, leaf)).to.equal(
      true,
    );

    // Every row once: the old leader's rows are not applied again, the new batch's are there once.
    expect({
      anchors: await count("SELECT count(*) AS n FROM anchors"),
      records: await count("SELECT count(*) AS n FROM records"),
      newRecords: await count(
        "SELECT count(*) AS n FROM records r JOIN anchors a USING (batch_id) WHERE a.root = $1",
        newRoot,
      ),
      distinctHashes: await count("SELECT count(DISTINCT record_hash) AS n FROM records"),
    }).to.deep.equal({ anchors: 2, records: 5, newRecords: 3, distinctHashes: 5 });
    await sleep(1000); // a second ingest or index pass, were there one, would show now
    expect(await count("SELECT count(*) AS n FROM records")).to.equal(5);
    expect(await tablesOf(system.dbPath)).to.deep.equal(await referenceTables(system));

    const done = new Promise<number | null>((resolve) => survivor.child.once("exit", (code) => resolve(code)));
    survivor.child.kill("SIGTERM");
    expect(await done).to.equal(0);
    console.log(
      `      leader ${leader.name} killed; ${survivor.name} led ${takeoverMs} ms later and served the new batch after ${servedMs} ms`,
    );
  });
});

/** Every mirror table's checksum in the database at `url`. */
async function tablesOf(url: string): Promise<Record<string, string>> {
  const store = await openStore({ db: url, readonly: true });
  try {
    return await storeTableChecksums(store);
  } finally {
    await store.close();
  }
}

/** The same chain and content indexed and ingested by one in-process indexer into a new database. */
async function referenceTables(system: TestSystem): Promise<Record<string, string>> {
  const store = await openTestStore("postgres", "failover_reference");
  const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  try {
    const indexer = createIndexer({
      store,
      provider: new JsonRpcProvider(system.env.TRACE_RPC_URL, undefined, { cacheTimeout: -1 }),
      contract: system.contract,
      log: silent,
      config: { fromBlock: system.fromBlock, confirmations: 0 },
    });
    while ((await indexer.syncOnce()).indexed > 0);
    const ingester = createIngester({
      store,
      source: createContentSource({ contentDir: system.env.TRACE_CONTENT_DIR!, maxBytes: 2 ** 30, timeoutMs: 10_000 }),
      log: silent,
    });
    while ((await ingester.ingestPending()).ingested > 0);
    return await storeTableChecksums(store);
  } finally {
    await store.close();
  }
}
