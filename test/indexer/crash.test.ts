import { spawn } from "node:child_process";
import path from "node:path";
import { expect } from "chai";
import { createIndexer, databaseChecksum, openDatabase, tableChecksums } from "../../indexer";
import { blockNumber, deployTraceAnchor } from "./helpers/chain";
import type { Deployment } from "./helpers/chain";
import { cleanupTempDbs, tempDb, tempDbPath } from "./helpers/db";
import { memoryLogger } from "./helpers/log";
import { startHardhatNode } from "./helpers/node";
import type { HardhatNode } from "./helpers/node";
import { anchorWorkload } from "./helpers/workload";

const ROOT = path.resolve(__dirname, "..", "..");
const KILLS = 20;
const MAX_RANGE = 5;

describe("indexer: crash safety", function () {
  this.timeout(600_000);
  let node: HardhatNode;
  let d: Deployment;
  let events: number;
  let head: number;
  let reference: string;
  let referenceTables: Record<string, string>;

  before(async function () {
    node = await startHardhatNode();
    d = await deployTraceAnchor(node);
    events = await anchorWorkload(node, d, 30, 100, 40);
    head = await blockNumber(node);
    const db = tempDb();
    await createIndexer({
      db,
      provider: node.provider,
      contract: d.address,
      log: memoryLogger(),
      config: { fromBlock: d.deployBlock, maxRange: MAX_RANGE },
    }).syncOnce();
    reference = databaseChecksum(db);
    referenceTables = tableChecksums(db);
    db.close();
  });

  after(async function () {
    await node?.stop();
    cleanupTempDbs();
  });

  function spawnIndexer(dbPath: string) {
    return spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "indexer", "run.ts")], {
      cwd: ROOT,
      env: {
        ...process.env,
        TRACE_RPC_URL: node.url,
        TRACE_CONTRACT: d.address,
        TRACE_DB: dbPath,
        TRACE_INDEX_FROM_BLOCK: String(d.deployBlock),
        TRACE_INDEX_MAX_RANGE: String(MAX_RANGE),
        TRACE_INDEX_POLL_MS: "50",
        TRACE_LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
  }

  function cursorOf(dbPath: string): number {
    try {
      const db = openDatabase(dbPath, { readonly: true });
      try {
        return (
          (db.prepare("SELECT block_number FROM cursor").get() as { block_number: number } | undefined)?.block_number ??
          -1
        );
      } finally {
        db.close();
      }
    } catch {
      return -1; // not created yet
    }
  }

  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  it(`ends equal to an uninterrupted run after ${KILLS} SIGKILLs during a backfill`, async function () {
    expect(events).to.be.greaterThan(3000);
    const dbPath = tempDbPath();
    const killedAt: number[] = [];
    for (let i = 0; i < KILLS; i++) {
      const child = spawnIndexer(dbPath);
      let stderr = "";
      child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      // Wait until this process is writing, then kill it at a random moment.
      const start = cursorOf(dbPath);
      const deadline = Date.now() + 30_000;
      while (cursorOf(dbPath) === start && child.exitCode === null && Date.now() < deadline) await sleep(10);
      // Within 100 ms: the indexer reads ahead now, and in 300 ms it would finish the backfill before the 20th kill.
      await sleep(Math.floor(Math.random() * 100));
      expect(child.exitCode, `indexer exited on its own: ${stderr}`).to.equal(null);
      child.kill("SIGKILL");
      await exited;
      killedAt.push(cursorOf(dbPath));
    }
    expect(
      killedAt.every((at) => at < head),
      `killed at ${killedAt.join(",")}, head ${head}`,
    ).to.equal(true);

    const last = spawnIndexer(dbPath);
    const exited = new Promise<number | null>((resolve) => last.once("exit", (code) => resolve(code)));
    while (cursorOf(dbPath) < head) await sleep(50);
    last.kill("SIGTERM");
    expect(await exited).to.equal(0);

    const db = openDatabase(dbPath, { readonly: true });
    expect(tableChecksums(db)).to.deep.equal(referenceTables);
    expect(databaseChecksum(db)).to.equal(reference);
    db.close();
    console.log(`      killed at blocks ${killedAt.join(", ")} (head ${head}, ${events} events)`);
  });
});
