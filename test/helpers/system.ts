/**
 * The whole pipeline for end-to-end tests: a chain served over HTTP, the CLI to deploy and submit,
 * the real indexer and content ingester into a temp SQLite, and the real API over it.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { JsonRpcProvider } from "ethers";
import { ethers } from "hardhat";
import { openDatabase, runMigrations, type Db } from "../../mirror/db";
import { sqliteStore } from "../../mirror/store";
import { createIndexer } from "../../indexer/indexer";
import { createIngester } from "../../indexer/ingest";
import { createContentSource } from "../../indexer/content-source";
import { cli, type CliResult } from "../scripts/cli-harness";
import { DEV_KEYS } from "../scripts/rpc";

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

export interface TestSystem {
  dir: string;
  env: Record<string, string>;
  contract: string;
  dbPath: string;
  /** Runs a CLI command as the given development account (0 operator, 1 brand admin, 2 submitter). */
  as(account: number, argv: string[], extraEnv?: Record<string, string>): Promise<CliResult>;
  /** Indexes the chain up to its head and ingests every due content file. */
  index(): Promise<void>;
}

/** Deploys TraceAnchor, registers brand 1 (prefix 9506000, admin account 1) with account 2 as its factory. */
export async function createTestSystem(rpcUrl: string): Promise<TestSystem> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trace-system-"));
  const env = {
    TRACE_RPC_URL: rpcUrl,
    TRACE_DEPLOYMENTS_DIR: path.join(dir, "deployments"),
    TRACE_CONTENT_DIR: path.join(dir, "content"),
    TRACE_DB: path.join(dir, "trace.db"),
  };
  const as = (account: number, argv: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> =>
    cli([...argv, "--json"], { ...env, ...extraEnv, TRACE_PRIVATE_KEY: DEV_KEYS[account] }, dir);
  const deployed = await as(0, ["deploy"]);
  if (deployed.code !== 0) throw new Error(`deploy failed: ${deployed.stderr}`);
  const signers = await ethers.getSigners();
  await as(0, [
    "brand",
    "register",
    "--name",
    "Sunrise Infant Nutrition",
    "--admin",
    signers[1]!.address,
    "--prefix",
    "9506000",
  ]);
  await as(1, ["brand", "submitter", "--brand", "1", "--account", signers[2]!.address, "--role", "factory"]);
  const contract = deployed.json.contract as string;
  const fromBlock = deployed.json.blockNumber as number;
  const db: Db = openDatabase(env.TRACE_DB);
  runMigrations(db);
  const provider = new JsonRpcProvider(rpcUrl, undefined, { cacheTimeout: -1 });
  const indexer = createIndexer({
    store: sqliteStore(db),
    provider,
    contract,
    log: silent,
    config: { fromBlock, confirmations: 0 },
  });
  const ingester = createIngester({
    store: sqliteStore(db),
    source: createContentSource({ contentDir: env.TRACE_CONTENT_DIR, maxBytes: 2 ** 30, timeoutMs: 10_000 }),
    log: silent,
  });
  return {
    dir,
    env,
    contract,
    dbPath: env.TRACE_DB,
    as,
    index: async () => {
      // One call catches up to the head it saw; a call that applies nothing means we are there.
      while ((await indexer.syncOnce()).indexed > 0);
      for (;;) {
        const result = await ingester.ingestPending();
        if (result.ingested + result.mismatched === 0) break;
      }
    },
  };
}
