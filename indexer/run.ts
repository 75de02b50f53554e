/**
 * Entry point: builds the real clients from the environment and runs the indexer until SIGINT or
 * SIGTERM (exit 0) or a fatal error (exit 1). The CLI's `traceanchor index` runs the same indexer
 * through scripts/commands/service.ts, with the CLI's configuration.
 *
 *   node -r ts-node/register/transpile-only indexer/run.ts
 */
import fs from "node:fs";
import path from "node:path";
import { openStore } from "../mirror/store";
import { indexerTuning, parseIndexerEnv } from "./config";
import type { IndexerEnv, LogLevel } from "./config";
import { IndexerConfigError } from "./errors";
import { createHttpProvider } from "./http";
import { createIndexer } from "./indexer";
import type { Indexer, Logger } from "./indexer";

const LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/** JSON lines on stderr, pino-shaped. */
export function createJsonLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const min = LEVELS.indexOf(level);
  const at =
    (name: LogLevel) =>
    (obj: object, msg?: string): void => {
      if (LEVELS.indexOf(name) < min) return;
      write(`${JSON.stringify({ level: name, time: new Date().toISOString(), msg, ...obj })}\n`);
    };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** deployments/<chainId>.json, written by `traceanchor deploy`, if present. */
function readDeployment(chainId: number): { contract?: string; blockNumber?: number } {
  const file = path.resolve("deployments", `${chainId}.json`);
  if (!fs.existsSync(file)) return {};
  return JSON.parse(fs.readFileSync(file, "utf8")) as { contract?: string; blockNumber?: number };
}

export interface RunIndexerOptions {
  readonly env?: IndexerEnv;
  readonly log?: Logger;
  /** Stop when this signal aborts (the CLI wires SIGINT/SIGTERM to it). */
  readonly signal?: AbortSignal;
}

/** Runs the indexer until `signal` aborts; rejects with the fatal error if indexing stops on one. */
export async function runIndexer(options: RunIndexerOptions = {}): Promise<void> {
  const env = options.env ?? parseIndexerEnv();
  const log = options.log ?? createJsonLogger(env.logLevel);
  // Opened first: a bad TRACE_DB fails here, naming the variable, before anything else starts.
  const store = await openStore({ db: env.dbPath, application: "traceanchor-indexer" });
  const provider = createHttpProvider(env.rpcUrl, { timeoutMs: 30_000 });
  let indexer: Indexer | undefined;
  const onAbort = (): void => void indexer?.stop();
  try {
    // The deployment file is only needed for what the environment leaves out.
    const deployment =
      env.contract !== undefined && env.fromBlock !== undefined
        ? {}
        : readDeployment(Number.parseInt(String(await provider.request({ method: "eth_chainId" })), 16));
    const contract = env.contract ?? deployment.contract;
    if (contract === undefined)
      throw new IndexerConfigError("no TRACE_CONTRACT and no deployments/<chainId>.json with a contract");
    indexer = createIndexer({
      store,
      provider,
      contract,
      log,
      config: { ...indexerTuning(env), fromBlock: env.fromBlock ?? deployment.blockNumber ?? 0 },
    });
    if (options.signal?.aborted === true) return;
    options.signal?.addEventListener("abort", onAbort);
    log.info({ contract, db: store.location, engine: store.engine }, "indexer starting");
    await indexer.start();
    const fatal = indexer.status().fatal;
    if (fatal !== null) throw new Error(`${fatal.name}: ${fatal.message}`);
    log.info(indexer.status(), "indexer stopped");
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    provider.destroy();
    await store.close();
  }
}

if (require.main === module) {
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  process.once("SIGTERM", () => controller.abort());
  runIndexer({ signal: controller.signal }).then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${JSON.stringify({ level: "error", msg: "indexer failed", err: String(error) })}\n`);
      process.exit(1);
    },
  );
}
