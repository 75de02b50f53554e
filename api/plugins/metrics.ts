/**
 * Prometheus metrics on GET /metrics: request counts and latency histograms by route template, and
 * the indexer's head, indexed block and lag (read when scraped). One registry per app instance.
 */
import fp from "fastify-plugin";
import type { FastifyPluginAsync } from "fastify";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Mirror } from "../mirror";
import type { IndexerHealth } from "../routes/options";

export interface MetricsOptions {
  readonly mirror: Mirror;
  readonly indexerStatus: (() => IndexerHealth) | undefined;
  /** Process metrics (CPU, memory, event loop); off in tests that build many apps. */
  readonly processMetrics: boolean;
}

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify's async plugin contract: registration is done when the promise settles, and async turns a throw here into a registration error
const metricsPlugin: FastifyPluginAsync<MetricsOptions> = async (app, { mirror, indexerStatus, processMetrics }) => {
  const registry = new Registry();
  if (processMetrics) collectDefaultMetrics({ register: registry });
  const labelNames = ["method", "route", "status"] as const;
  const requests = new Counter({
    name: "trace_http_requests_total",
    help: "HTTP requests by route template and status",
    labelNames,
    registers: [registry],
  });
  const latency = new Histogram({
    name: "trace_http_request_duration_seconds",
    help: "HTTP request latency by route template",
    labelNames,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const heights = async () => {
    const cursor = await mirror.cursor.get();
    const status = indexerStatus?.();
    const indexed = status?.indexedBlock ?? cursor?.blockNumber ?? null;
    const head = status?.head ?? cursor?.headBlock ?? indexed;
    return { indexed, head, finalized: cursor?.finalizedBlock ?? null };
  };
  // Read when scraped; a gauge stays unset while its height is unknown.
  const gauges: [name: string, help: string, value: (h: Awaited<ReturnType<typeof heights>>) => number | null][] = [
    ["trace_indexer_head_block", "latest chain head the indexer saw", (h) => h.head],
    ["trace_indexer_indexed_block", "last block whose events are all in the mirror", (h) => h.indexed],
    ["trace_indexer_finalized_block", "rows at or below this block are final", (h) => h.finalized],
    [
      "trace_indexer_lag_blocks",
      "head minus indexed block",
      (h) => (h.indexed === null || h.head === null ? null : Math.max(0, h.head - h.indexed)),
    ],
  ];
  // A replica reading a streaming standby (TRACE_DB_READ_URL): how far behind the primary it is.
  for (const [name, help, pick] of [
    ["trace_db_standby_lag_seconds", "seconds the standby this replica reads is behind the primary", "seconds"],
    ["trace_db_standby_lag_bytes", "bytes of WAL the standby this replica reads has not replayed", "bytes"],
  ] as const) {
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const lag = await mirror.standbyLag().catch(() => null);
        const v = lag?.[pick] ?? null;
        if (v !== null) this.set(v);
      },
    });
  }
  for (const [name, help, value] of gauges) {
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const v = value(await heights());
        if (v !== null) this.set(v);
      },
    });
  }

  // One labelled child per (method, route, status), looked up by nested maps: no label object or
  // label-hash string per request.
  interface Series {
    readonly count: { inc(): void };
    readonly latency: { observe(value: number): void };
  }
  const series = new Map<string, Map<string, Map<number, Series>>>();
  const seriesOf = (method: string, route: string, status: number): Series => {
    let byRoute = series.get(method);
    if (byRoute === undefined) series.set(method, (byRoute = new Map<string, Map<number, Series>>()));
    let byStatus = byRoute.get(route);
    if (byStatus === undefined) byRoute.set(route, (byStatus = new Map<number, Series>()));
    let s = byStatus.get(status);
    if (s === undefined) {
      const labels = { method, route, status: String(status) };
      s = { count: requests.labels(labels), latency: latency.labels(labels) };
      byStatus.set(status, s);
    }
    return s;
  };

  app.addHook("onResponse", (request, reply, done) => {
    const s = seriesOf(request.method, request.routeOptions.url ?? "unmatched", reply.statusCode);
    s.count.inc();
    s.latency.observe(reply.elapsedTime / 1000);
    done();
  });

  app.get(
    "/metrics",
    {
      schema: { summary: "Prometheus metrics", tags: ["Operations"], response: { 200: { type: "string" } } },
      config: { rateLimit: false },
    },
    async (_request, reply) => {
      const text = await registry.metrics();
      return reply.header("cache-control", "no-store").type(registry.contentType).send(text);
    },
  );
};

export default fp(metricsPlugin, { name: "trace-metrics" });
