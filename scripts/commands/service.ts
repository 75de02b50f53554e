/**
 * `traceanchor index` and `traceanchor serve`: the long-running processes. `index` follows the chain
 * into SQLite and ingests batch contents; `serve` does the same in-process and serves the API over
 * it (`--no-index` serves an existing database). SIGINT/SIGTERM stop everything cleanly.
 */
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { JsonRpcProvider } from "ethers";
import pino, { type Logger } from "pino";
import { openStore, type MirrorStore } from "../../mirror/store";
import { createMirrorReader } from "../../mirror/read";
import { createIndexer, type Indexer } from "../../indexer/indexer";
import { createHttpProvider, type HttpProvider } from "../../indexer/http";
import { createIngester } from "../../indexer/ingest";
import { createContentSource } from "../../indexer/content-source";
import { indexerTuning, parseIndexerEnv } from "../../indexer/config";
import { apiConfig, parseApiEnv } from "../../api/config";
import { parseLinksEnv } from "../../api/links-config";
import type { RunningServer } from "../../api/server";
import { confirmationsFor, type Config } from "../lib/config";
import { ChainError } from "../lib/chain-error";
import { deployedContract, readDeployment } from "../lib/deployments";
import type { Output } from "../lib/output";
import type { CaptureService } from "./capture";
import { openEpcisStore, type EpcisStore } from "../../mirror/epcis/store";
import { createEpcisQueryStore } from "../../mirror/epcis/query";
import { startQueryIndexer, type QueryIndexerLoop } from "../../mirror/epcis/query-indexer";

export interface ServiceOptions {
  index: boolean;
  serve: boolean;
  /** Resolves when the service should stop (tests); default: SIGINT or SIGTERM. */
  until?: Promise<unknown>;
  /** Called once everything listens, with the API URL when serving. */
  onReady?: (info: { url?: string }) => void;
}

const MAX_CONTENT_BYTES = 4 * 2 ** 30;

/** The chain id from the indexer's own transport; an unreachable node fails naming TRACE_RPC_URL's value. */
async function chainIdOfRpc(rpc: HttpProvider, rpcUrl: string): Promise<bigint> {
  try {
    return BigInt(String(await rpc.request({ method: "eth_chainId" })));
  } catch (error) {
    throw new ChainError(`cannot reach the RPC at ${rpcUrl} (is the node running?)`, { cause: error });
  }
}

function signals(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
}

/**
 * Ingests due contents until stopped; sleeps while there is nothing to do. On PostgreSQL only the
 * replica whose indexer holds the writer lock ingests (`leads`), so replicas never fetch and check
 * the same content twice; a new leader picks up the pending anchors where the old one stopped.
 */
async function ingestLoop(
  store: MirrorStore,
  config: Config,
  log: Logger,
  stopped: () => boolean,
  leads: () => boolean,
  afterIngest?: () => void,
): Promise<void> {
  const source = createContentSource({ contentDir: config.contentDir, maxBytes: MAX_CONTENT_BYTES, timeoutMs: 30_000 });
  const ingester = createIngester({ store, source, log, config: { retryDelayMs: 5_000 } });
  while (!stopped()) {
    if (!leads()) {
      await sleep(500);
      continue;
    }
    try {
      const result = await ingester.ingestPending();
      if (result.ingested > 0) afterIngest?.();
      if (result.ingested + result.mismatched > 0) continue;
    } catch (error) {
      log.error({ err: error }, "content ingestion failed; retrying");
    }
    await sleep(500);
  }
}

export async function runService(
  config: Config,
  env: Readonly<Record<string, string | undefined>>,
  options: ServiceOptions,
  out: Output,
): Promise<void> {
  // A bad API variable fails here, before anything is opened or indexed.
  const apiEnv = options.serve ? parseApiEnv(env) : undefined;
  if (apiEnv !== undefined && apiEnv.browserRpcUrls.length === 0) {
    out.note(
      "warning: TRACE_BROWSER_RPC_URLS is not set: phones will check hashes and proofs only, not the chain (anchors, revocations, prefix owners); the scan page says so",
    );
  }
  const log = pino({ level: env.TRACE_LOG_LEVEL ?? "info" });
  // A bad TRACE_DB (a typo, an unreachable server, wrong credentials) fails here, naming the variable.
  const store = await openStore({ db: config.db, application: "traceanchor-serve" });

  let indexer: Indexer | undefined;
  let rpc: HttpProvider | undefined;
  let stopping = false;
  const tasks: Array<Promise<unknown>> = [];
  let epcisStore: EpcisStore | undefined;
  let queryIndexer: QueryIndexerLoop | undefined;
  let deliverer: { stop(): Promise<void> } | undefined;
  let queryReader: ReturnType<typeof createMirrorReader> | undefined;
  let server: RunningServer | undefined;
  let capture: CaptureService | undefined;
  // Stops what has started, in the reverse order: on a signal, and when start-up fails half way
  // (a port in use, say), so the process exits instead of indexing on with nothing serving.
  const shutdown = async (): Promise<void> => {
    stopping = true;
    await server?.close();
    await capture?.stop();
    await queryIndexer?.stop();
    await deliverer?.stop();
    await indexer?.stop();
    await Promise.all(tasks);
    rpc?.destroy();
    queryReader?.close();
    await epcisStore?.close();
    await store.close();
  };

  try {
    // --- EPCIS query (issue 14, docs/epcis.md "Query") -----------------------------------------
    // The EPCIS store (SQLite: TRACE_EPCIS_DB, default data/epcis.db; PostgreSQL: trace_state), the
    // query indexer of anchored CLI trace batches (with the chain indexer, on PostgreSQL only while
    // it leads), and the /epcis query routes' deps (when serving).
    epcisStore = openEpcisStore(store, config.epcisDb);
    queryReader = options.index ? createMirrorReader(store) : undefined;
    const allowPrivateWebhooks = env.TRACE_WEBHOOK_ALLOW_PRIVATE === "on";
    // --- end EPCIS query ------------------------------------------------------------------------
    if (options.index) {
      // The indexer reads logs through its own fetch-based transport: ethers' is slow on large answers,
      // and `traceanchor index` does not load ethers at all (a tenth of a second of start-up).
      rpc = createHttpProvider(config.rpcUrl, { timeoutMs: 30_000 });
      const chainId = await chainIdOfRpc(rpc, config.rpcUrl);
      const contract = config.contract || deployedContract(config, chainId);
      const deployment = readDeployment(config.deploymentsDir, chainId);
      // The indexer's own knobs; the log level is the API's (pino's) and is read above.
      // Read before the indexer starts, which writes the cursor of a new database.
      const reader = createMirrorReader(store);
      const cursor = await reader.cursor.get();
      reader.close();
      const tuning = parseIndexerEnv({ ...env, TRACE_LOG_LEVEL: undefined });
      const fromBlock =
        tuning.fromBlock ??
        (deployment?.contract.toLowerCase() === contract.toLowerCase() ? deployment.blockNumber : 0);
      // A local development chain mines only when a transaction arrives: an idle head there is normal, not a stall.
      const stall = chainId === 31337n ? { stallPolls: Number.MAX_SAFE_INTEGER } : {};
      indexer = createIndexer({
        store,
        provider: rpc,
        contract,
        log,
        config: {
          ...indexerTuning(tuning),
          confirmations: confirmationsFor(config, chainId),
          fromBlock,
          pollIntervalMs: tuning.pollIntervalMs ?? 1_000,
          ...stall,
        },
      });
      const running = indexer;
      tasks.push(running.start().catch((error: unknown) => log.error({ err: error }, "indexer stopped")));
      // EPCIS query: index anchored trace batches every second and right after content is ingested.
      if (queryReader !== undefined) {
        queryIndexer = startQueryIndexer({
          reader: queryReader,
          query: createEpcisQueryStore(epcisStore),
          log,
          intervalMs: 1_000,
          leads: () => running.status().role === "leader",
        });
        const { startDeliverer } = await import("../../api/epcis/query-subscriptions");
        deliverer = startDeliverer({
          store: epcisStore,
          mirror: store,
          allowPrivate: allowPrivateWebhooks,
          log,
          intervalMs: 1_000,
          leads: () => running.status().role === "leader",
        });
      }
      tasks.push(
        ingestLoop(
          store,
          config,
          log,
          () => stopping,
          () => running.status().role === "leader",
          () => queryIndexer?.poke(),
        ),
      );
      out.note(
        cursor
          ? `indexing ${contract} on chain ${chainId} into ${store.location}, resuming after block ${cursor.blockNumber}`
          : `indexing ${contract} on chain ${chainId} from block ${fromBlock} into ${store.location}`,
      );
    }

    if (apiEnv !== undefined) {
      // Loaded only to serve: Fastify and the API cost `traceanchor index` a quarter of a second to start.
      const [{ createIngestUpload }, { openScansDb, startServer }] = await Promise.all([
        import("../../api/upload"),
        import("../../api/server"),
      ]);
      // Links in documents follow the address actually served unless TRACE_PUBLIC_URL says otherwise.
      const { publicUrl, ...fromEnv } = apiEnv;
      const api = apiConfig({
        ...fromEnv,
        ...(env.TRACE_PUBLIC_URL ? { publicUrl } : {}),
        port: config.port,
        host: config.host,
        dbPath: config.db,
        contentDir: config.contentDir,
      });
      const links = parseLinksEnv(env);
      // SQLite: the API reads through its own read-only handle and keeps scans and link sets in files
      // of their own. PostgreSQL: everything lives in the one database (TRACE_DB_READ_URL: mirror reads
      // from a standby), so replicas hold no state of their own.
      const pg = store.engine === "postgres";
      const readonlyDb = await openStore({
        db: config.db,
        readonly: true,
        ...(config.dbReadUrl === undefined ? {} : { readUrl: config.dbReadUrl }),
        application: "traceanchor-api",
      });
      const stateStore = readonlyDb.engine === "postgres" ? readonlyDb : undefined;
      const scansFile = api.scans && !pg ? openScansDb(api.scansDbPath) : undefined;
      const linksFile = pg
        ? undefined
        : openScansDb(links.dbPath === ":memory:" ? links.dbPath : path.resolve(config.cwd, links.dbPath));
      const scansDb = api.scans ? (stateStore ?? scansFile) : undefined;
      const linksDb = stateStore ?? linksFile;
      const status = indexer;
      const closeApiStores = async (): Promise<void> => {
        await readonlyDb.close();
        scansFile?.close();
        linksFile?.close();
      };
      try {
        // --- EPCIS capture (issue 14; scripts/commands/capture.ts): routes' deps and the anchoring
        // worker, which on PostgreSQL runs only while this process's indexer holds the writer lock.
        const { startCaptureService } = await import("./capture");
        // ethers, loaded only to serve: capture signs and sends its anchoring transactions with it.
        const { FetchRequest, JsonRpcProvider: EthersProvider } = await import("ethers");
        const request = new FetchRequest(config.rpcUrl);
        request.timeout = 30_000;
        const provider: JsonRpcProvider = new EthersProvider(request, undefined, { cacheTimeout: -1 });
        capture = await startCaptureService({
          config,
          env,
          mirror: store,
          reader: readonlyDb,
          provider,
          log,
          out,
          leads: () => (status === undefined ? store.engine === "sqlite" : status.status().role === "leader"),
        });
        // --- end EPCIS capture
        server = await startServer({
          config: api,
          db: readonlyDb,
          ...(scansDb ? { scansDb } : {}),
          ...(linksDb ? { linksDb } : {}),
          log,
          handleSignals: false,
          acceptUpload: createIngestUpload({ store, contentDir: config.contentDir }),
          // EPCIS capture (its block above) and query (issue 14) routes under /epcis.
          epcis: {
            ...(capture === undefined ? {} : { capture: capture.deps }),
            query: {
              store: epcisStore,
              mirror: readonlyDb,
              treeCacheBytes: api.treeCacheBytes,
              allowPrivateWebhooks,
              ...(env.TRACE_PUBLIC_URL ? { publicUrl: api.publicUrl } : {}),
            },
          },
          ...(status
            ? {
                indexerStatus: () => {
                  const s = status.status();
                  return {
                    state: s.state,
                    role: s.role,
                    head: s.head,
                    indexedBlock: s.indexedBlock,
                    stalled: s.stalled,
                    fatal: s.fatal,
                  };
                },
              }
            : {}),
        });
      } catch (error) {
        await closeApiStores();
        throw error;
      }
      out.note(`API listening on ${server.url} (docs: ${server.url}/docs)`);
      const close = server.close.bind(server);
      server = {
        url: server.url,
        close: async () => {
          await close();
          await closeApiStores();
        },
      };
    }
  } catch (error) {
    await shutdown().catch((failure: unknown) => log.error({ err: failure }, "stopping after a failed start failed"));
    throw error;
  }
  options.onReady?.(server ? { url: server.url } : {});

  const reason = await (options.until ?? signals());
  out.note(`stopping (${String(reason)})…`);
  await shutdown();
}
