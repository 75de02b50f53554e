import { spawn } from "node:child_process";
import path from "node:path";
import { expect } from "chai";
import pg from "pg";
import { createIndexer, openDatabase, openStore, storeChecksum, storeTableChecksums } from "../../indexer";
import type { Engine } from "../../mirror/store";
import { describeEngines, ENGINES, testMirrorLocation } from "../helpers/engines";
import { blockNumber, deployTraceAnchor } from "./helpers/chain";
import type { Deployment } from "./helpers/chain";
import { cleanupTempDbs, tempDbPath, tempStore } from "./helpers/db";
import { memoryLogger } from "./helpers/log";
import { startHardhatNode } from "./helpers/node";
import type { HardhatNode } from "./helpers/node";
import { anchorWorkload } from "./helpers/workload";

const ROOT = path.resolve(__dirname, "..", "..");
const KILLS = 20;
const MAX_RANGE = 5;

/** Reads a mirror's cursor block from outside the indexer: -1 while there is none yet. */
interface CursorWatch {
  block(): Promise<number>;
  close(): Promise<void>;
}

function watchCursor(engine: Engine, location: string): CursorWatch {
  if (engine === "sqlite") {
    return {
      block() {
        try {
          const db = openDatabase(location, { readonly: true });
          try {
            const row = db.prepare("SELECT block_number FROM cursor").get() as { block_number: number } | undefined;
            return Promise.resolve(row?.block_number ?? -1);
          } finally {
            db.close();
          }
        } catch {
          return Promise.resolve(-1); // not created yet
        }
      },
      close: () => Promise.resolve(),
    };
  }
  const pool = new pg.Pool({ connectionString: location, max: 1 });
  pool.on("error", () => undefined);
  return {
    async block() {
      try {
        const { rows } = await pool.query<{ block_number: string }>("SELECT block_number FROM cursor");
        return rows[0] === undefined ? -1 : Number(rows[0].block_number);
      } catch {
        return -1; // no schema yet
      }
    },
    close: () => pool.end(),
  };
}

describe("indexer: crash safety", function () {
  this.timeout(900_000);
  let node: HardhatNode;
  let d: Deployment;
  let events: number;
  let head: number;
  const references = new Map<Engine, string>();

  before(async function () {
    node = await startHardhatNode();
    d = await deployTraceAnchor(node);
    events = await anchorWorkload(node, d, 30, 100, 40);
    head = await blockNumber(node);
  });

  after(async function () {
    await node?.stop();
    await cleanupTempDbs();
  });

  function spawnIndexer(location: string) {
    return spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "indexer", "run.ts")], {
      cwd: ROOT,
      env: {
        ...process.env,
        TRACE_RPC_URL: node.url,
        TRACE_CONTRACT: d.address,
        TRACE_DB: location,
        TRACE_INDEX_FROM_BLOCK: String(d.deployBlock),
        TRACE_INDEX_MAX_RANGE: String(MAX_RANGE),
        TRACE_INDEX_POLL_MS: "50",
        TRACE_LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
  }

  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  describeEngines("on", (engine) => {
    let reference: string;
    let referenceTables: Record<string, string>;

    before(async function () {
      const store = await tempStore(engine, "crash-reference");
      await createIndexer({
        store,
        provider: node.provider,
        contract: d.address,
        log: memoryLogger(),
        config: { fromBlock: d.deployBlock, maxRange: MAX_RANGE },
      }).syncOnce();
      reference = await storeChecksum(store);
      referenceTables = await storeTableChecksums(store);
      references.set(engine, reference);
    });

    it(`ends equal to an uninterrupted run after ${KILLS} SIGKILLs during a backfill`, async function () {
      expect(events).to.be.greaterThan(3000);
      const location = engine === "sqlite" ? tempDbPath() : await testMirrorLocation(engine, "crash");
      const cursor = watchCursor(engine, location);
      const killedAt: number[] = [];
      try {
        for (let i = 0; i < KILLS; i++) {
          const child = spawnIndexer(location);
          let stderr = "";
          child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
          const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
          // Wait until this process is writing, then kill it at a random moment.
          const start = await cursor.block();
          const deadline = Date.now() + 30_000;
          while ((await cursor.block()) === start && child.exitCode === null && Date.now() < deadline) await sleep(10);
          // Within 50 ms: the indexer reads ahead and starts faster now; with 100 ms one CI run reached
          // the head at the 18th kill (about 62 blocks a kill), and the kills after it tested nothing.
          await sleep(Math.floor(Math.random() * 50));
          expect(child.exitCode, `indexer exited on its own: ${stderr}`).to.equal(null);
          child.kill("SIGKILL");
          await exited;
          killedAt.push(await cursor.block());
        }
        expect(
          killedAt.every((at) => at < head),
          `killed at ${killedAt.join(",")}, head ${head}`,
        ).to.equal(true);

        const last = spawnIndexer(location);
        const exited = new Promise<number | null>((resolve) => last.once("exit", (code) => resolve(code)));
        while ((await cursor.block()) < head) await sleep(50);
        last.kill("SIGTERM");
        expect(await exited).to.equal(0);
      } finally {
        await cursor.close();
      }

      const store = await openStore({ db: location, readonly: true });
      try {
        expect(await storeTableChecksums(store)).to.deep.equal(referenceTables);
        expect(await storeChecksum(store)).to.equal(reference);
      } finally {
        await store.close();
      }
      console.log(`      killed at blocks ${killedAt.join(", ")} (head ${head}, ${events} events)`);
    });

    // Declared only when the SQLite suite runs too (TRACE_TEST_ENGINES may name one engine).
    if (engine !== "sqlite" && ENGINES.includes("sqlite"))
      it("ends with the same digest as the SQLite mirror of the same chain", function () {
        const sqlite = references.get("sqlite");
        expect(sqlite, "the SQLite suite's reference digest").to.be.a("string");
        expect(reference).to.equal(sqlite);
      });
  });
});
