/**
 * The proof API as a Fastify plugin over injected dependencies, and `buildApp` which wraps it in a
 * server instance with the options it relies on. Nothing here reads the environment or opens files:
 * `server.ts` (and the CLI's `serve`) do, and tests pass a temp SQLite.
 *
 *   buildApp({ db, scansDb?, linksDb?, config, log?, indexerStatus?, acceptUpload?, renderHtml? }): Promise<FastifyInstance>
 */
import Fastify, { LogController, type FastifyPluginAsync, type FastifyReply, type FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import compress from "@fastify/compress";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { Database } from "better-sqlite3";
import type { MirrorStore, PgStore } from "../mirror/store";
import type { Logger } from "pino";

import type { ApiConfig } from "./config";
import type { ItemDoc } from "./documents";
import { currentLinkSets } from "./brand-links";
import { NO_BRAND_LINKS, type BrandLinkSource } from "./link-source";
import { createMirror } from "./mirror";
import { epcisRoutes, type EpcisDeps } from "./epcis";
import docs from "./plugins/docs";
import errors from "./plugins/errors";
import metrics from "./plugins/metrics";
import security from "./plugins/security";
import { createScansRepository } from "./repositories/scans";
import { createLinkSetRepository } from "./repositories/link-sets";
import digitalLinkRoutes from "./routes/digital-link";
import healthRoutes from "./routes/health";
import type { IndexerHealth, RouteOptions } from "./routes/options";
import batchRoutes from "./routes/v1/batches";
import brandRoutes from "./routes/v1/brands";
import linkRoutes from "./routes/v1/links";
import proofRoutes from "./routes/v1/proofs";
import uploadRoutes from "./routes/v1/upload";
import type { AcceptUpload } from "./upload";
import { scanAssets, scanPageRenderer } from "./scan-page/plugin";
import { renderUnknownPage } from "./scan-page/render";

export interface AppDeps {
  /** The indexer's mirror: a read-only SQLite handle, or a store over either engine (mirror/store.ts). */
  readonly db: Database | MirrorStore;
  /**
   * Where scan counts are kept: a separate writable SQLite file, or the mirror's PostgreSQL store
   * (schema trace_state); scans are off without it or with `config.scans` false.
   */
  readonly scansDb?: Database | PgStore;
  /** Where brands' signed link sets are kept, the same way; /v1/links answers 503 without it. */
  readonly linksDb?: Database | PgStore;
  /** Where the resolver gets brands' link sets; default: the link-set store over `linksDb`, none without it. */
  readonly links?: BrandLinkSource;
  readonly config: ApiConfig;
  /** A pino logger; none when absent. Request logs carry method, route and status, never addresses. */
  readonly log?: Logger;
  /** The in-process indexer's status, for /readyz and /metrics. */
  readonly indexerStatus?: () => IndexerHealth;
  /** Writes an uploaded content file into the mirror; uploads answer 503 without it. */
  readonly acceptUpload?: AcceptUpload;
  /** The HTML page for browsers; default the scan page of api/scan-page, `null` serves JSON to browsers too. */
  readonly renderHtml?: ((doc: ItemDoc) => string | Promise<string>) | null;
  /** Process metrics in /metrics (default true). */
  readonly processMetrics?: boolean;
  /** The EPCIS 2.0 capture and query interface under /epcis (api/epcis); absent without it. */
  readonly epcis?: EpcisDeps;
}

/** Largest request body outside the streamed content upload. */
const BODY_LIMIT = 64 * 1024;

/** Compressed for clients that accept it: pages, scripts and JSON (not NDJSON content files, streamed as stored). */
const COMPRESSIBLE = /^(text\/html|text\/javascript|application\/json|application\/[a-z.-]+\+json)(;|$)/;

export const traceAnchorApp: FastifyPluginAsync<AppDeps> = async (app, deps) => {
  const { config } = deps;
  const mirror = createMirror(deps.db, { treeCacheBytes: config.treeCacheBytes });
  app.addHook("onClose", () => Promise.resolve(mirror.close()));
  const scans =
    config.scans && deps.scansDb !== undefined
      ? createScansRepository(deps.scansDb, {
          onWriteError: (message) => app.log.error({ err: message }, "scan counts not written yet; retrying"),
        })
      : undefined;
  if (scans !== undefined) app.addHook("onClose", async () => scans.close());
  const linkSets = deps.linksDb === undefined ? undefined : createLinkSetRepository(deps.linksDb);
  const options: RouteOptions = {
    mirror,
    config,
    scans,
    renderHtml:
      deps.renderHtml === null
        ? undefined
        : (deps.renderHtml ??
          scanPageRenderer({
            rpcUrls: config.browserRpcUrls,
            scanThreshold: config.scanThreshold,
            contract: async () => (await mirror.cursor.get())?.contract,
          })),
    ...(deps.renderHtml === undefined ? { renderUnknownHtml: renderUnknownPage } : {}),
    acceptUpload: deps.acceptUpload,
    indexerStatus: deps.indexerStatus,
    links: deps.links ?? (linkSets === undefined ? NO_BRAND_LINKS : currentLinkSets(linkSets, mirror)),
  };

  await app.register(errors);
  // Uploads reach the content check exactly as sent: no request decompression.
  await app.register(compress, { encodings: ["br", "gzip"], customTypes: COMPRESSIBLE, globalDecompression: false });
  await app.register(security, {
    rateLimit: config.rateLimit,
    connectSources: [...new Set(config.browserRpcUrls.map((url) => new URL(url).origin))],
  });
  await app.register(metrics, {
    mirror,
    indexerStatus: deps.indexerStatus,
    processMetrics: deps.processMetrics ?? true,
  });
  await app.register(docs, { publicUrl: config.publicUrl });

  await app.register(healthRoutes, options);
  await app.register(digitalLinkRoutes, options);
  await app.register(proofRoutes, options);
  await app.register(brandRoutes, options);
  await app.register(batchRoutes, options);
  await app.register(uploadRoutes, options);
  await app.register(linkRoutes, { mirror, linkSets });
  if (deps.epcis !== undefined) await app.register(epcisRoutes, { ...deps.epcis, prefix: "/epcis" });
  if (options.renderHtml !== undefined) await app.register(scanAssets);
};

/** Request logs without personal data: no client address, no query string, no headers. */
const safeSerializers = {
  req: (req: { method?: string; url?: string; routeOptions?: { url?: string } }) => ({
    method: req.method,
    url: typeof req.url === "string" ? req.url.split("?")[0] : undefined,
    route: req.routeOptions?.url,
  }),
};

/** How often the request summary is logged (info) when per-request logs are off. */
const SUMMARY_MS = 60_000;

export async function buildApp(deps: AppDeps) {
  const app = Fastify({
    ...(deps.log === undefined
      ? { logger: false }
      : {
          loggerInstance: deps.log.child(
            {},
            {
              serializers: safeSerializers,
              redact: { paths: ["req.remoteAddress", "req.ip", "ip", "*.ip", "req.headers"], remove: true },
            },
          ),
        }),
    // Per-request logs cost more than a cached item lookup: at debug level only, see QuietRequestLogs.
    logController: new QuietRequestLogs(),
    bodyLimit: BODY_LIMIT,
    trustProxy: deps.config.trustProxy,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 100 },
    frameworkErrors: (error, _request, reply: FastifyReply) => {
      void reply
        .code(400)
        .header("cache-control", "no-store")
        .type("application/json; charset=utf-8")
        .send({ error: "BAD_URL", message: `malformed request URL (${error.code})`, field: "path" });
    },
  }).withTypeProvider<TypeBoxTypeProvider>();
  if (deps.log !== undefined) await app.register(fp(requestSummary), { log: deps.log });
  await app.register(fp(traceAnchorApp), deps);
  return app;
}

/**
 * Fastify's request logs one level down: "incoming request" and "request completed" at debug, so
 * the info level has no line per request (a summary instead, see `requestSummary`). A request that
 * errored is still logged at error, as are the error handler's 5xx.
 */
class QuietRequestLogs extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, "incoming request");
  }

  override requestCompleted(error: Error | null | undefined, _request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ res: reply, err: error, responseTime: reply.elapsedTime }, "request errored");
    else reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, "request completed");
  }
}

/** Every SUMMARY_MS at info, one line with the request count by status since the last one. */
// eslint-disable-next-line @typescript-eslint/require-await -- Fastify's async plugin contract: registration is done when the promise settles, and async turns a throw here into a registration error
const requestSummary: FastifyPluginAsync<{ log: Logger }> = async (app, { log }) => {
  if (!log.isLevelEnabled("info")) return;
  let byStatus = new Map<number, number>();
  let total = 0;
  app.addHook("onResponse", (_request, reply, done) => {
    byStatus.set(reply.statusCode, (byStatus.get(reply.statusCode) ?? 0) + 1);
    total++;
    done();
  });
  const timer = setInterval(() => {
    if (total === 0) return;
    app.log.info(
      { requests: total, byStatus: Object.fromEntries(byStatus), seconds: SUMMARY_MS / 1000 },
      "requests served",
    );
    byStatus = new Map();
    total = 0;
  }, SUMMARY_MS);
  timer.unref();
  app.addHook("onClose", (_instance, done) => {
    clearInterval(timer);
    done();
  });
};
