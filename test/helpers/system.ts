/**
 * The whole pipeline for end-to-end tests: a chain served over HTTP, the CLI to deploy and submit,
 * the real indexer and content ingester into a fresh mirror on either engine (a temp SQLite file or
 * a new PostgreSQL database), and the real API over it.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { JsonRpcProvider } from "ethers";
import { ethers } from "hardhat";
import { openStore, type Engine, type MirrorStore } from "../../mirror/store";
import { createIndexer, type Indexer } from "../../indexer/indexer";
import { createIngester, type Ingester } from "../../indexer/ingest";
import { createContentSource } from "../../indexer/content-source";
import { cli, type CliResult } from "../scripts/cli-harness";
import { DEV_KEYS } from "../scripts/rpc";
import { testMirrorLocation } from "./engines";

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

export interface TestSystem {
  readonly engine: Engine;
  dir: string;
  /** The CLI's environment; TRACE_DB is the mirror (a file path, or a postgres:// URL). */
  env: Record<string, string>;
  contract: string;
  /** The block the contract was deployed in. */
  fromBlock: number;
  /** The mirror's location: a SQLite file path or a postgres:// URL. */
  dbPath: string;
  /** Runs a CLI command as the given development account (0 operator, 1 brand admin, 2 submitter). */
  as(account: number, argv: string[], extraEnv?: Record<string, string>): Promise<CliResult>;
  /** The writable mirror the in-process indexer writes (opened, and migrated, on first use). */
  store(): Promise<MirrorStore>;
  /** A new read-only handle on the mirror, as the API opens it; the caller closes it. */
  readStore(): Promise<MirrorStore>;
  /** Indexes the chain up to its head and ingests every due content file. */
  index(): Promise<void>;
  /** Closes the writable mirror, if it was opened. */
  close(): Promise<void>;
}

/**
 * Deploys TraceAnchor, registers brand 1 (prefix 9506000, admin account 1) with account 2 as its
 * factory, on a new mirror on `engine`.
 */
export async function createTestSystem(rpcUrl: string, engine: Engine = "sqlite"): Promise<TestSystem> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trace-system-"));
  const db = engine === "sqlite" ? path.join(dir, "trace.db") : await testMirrorLocation(engine, "system");
  const env = {
    TRACE_RPC_URL: rpcUrl,
    TRACE_DEPLOYMENTS_DIR: path.join(dir, "deployments"),
    TRACE_CONTENT_DIR: path.join(dir, "content"),
    TRACE_DB: db,
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

  let opened: Promise<{ store: MirrorStore; indexer: Indexer; ingester: Ingester }> | undefined;
  const pipeline = () =>
    (opened ??= (async () => {
      const store = await openStore({ db, application: "test-system" });
      const provider = new JsonRpcProvider(rpcUrl, undefined, { cacheTimeout: -1 });
      const indexer = createIndexer({
        store,
        provider,
        contract,
        log: silent,
        config: { fromBlock, confirmations: 0 },
      });
      const ingester = createIngester({
        store,
        source: createContentSource({ contentDir: env.TRACE_CONTENT_DIR, maxBytes: 2 ** 30, timeoutMs: 10_000 }),
        log: silent,
      });
      return { store, indexer, ingester };
    })());
  return {
    engine,
    dir,
    env,
    contract,
    fromBlock,
    dbPath: db,
    as,
    store: async () => (await pipeline()).store,
    readStore: async () => {
      await pipeline(); // migrated before a read-only handle checks the schema
      return openStore({ db, readonly: true, application: "test-system-api" });
    },
    index: async () => {
      const { indexer, ingester } = await pipeline();
      // One call catches up to the head it saw; a call that applies nothing means we are there.
      while ((await indexer.syncOnce()).indexed > 0);
      for (;;) {
        const result = await ingester.ingestPending();
        if (result.ingested + result.mismatched === 0) break;
      }
    },
    close: async () => {
      if (opened === undefined) return;
      const { store } = await opened;
      opened = undefined;
      await store.close();
    },
  };
}

/** Indexes the chain to its head, then ingests every pending content file, until neither has work. */
export async function indexAndIngest(indexer: Indexer, ingester: Ingester): Promise<void> {
  while ((await indexer.syncOnce()).indexed > 0);
  for (;;) {
    const result = await ingester.ingestPending();
    if (result.ingested + result.mismatched === 0) break;
  }
}

/** Brand 1's admin (account 1) names `account` as its EPCIS capture submitter on chain. */
export async function nameCaptureSubmitter(system: Pick<TestSystem, "as">, account: string): Promise<CliResult> {
  return system.as(1, ["brand", "submitter", "--brand", "1", "--account", account, "--role", "epcis-capture"]);
}
