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

const metricsPlugin: FastifyPluginAsync<MetricsOptions> = async (app, { mirror, indexerStatus, processMetrics }) => {
  const registry = new Registry();
  if (processMetrics) collectDefaultMetrics({ register: registry });
  const labelNames = ["method", "route", "status"] as const;
  const requests = new Counter({ name: "trace_http_requests_total", help: "HTTP requests by route template and status", labelNames, registers: [registry] });
  const latency = new Histogram({
    name: "trace_http_request_duration_seconds",
    help: "HTTP request latency by route template",
    labelNames,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const heights = () => {
    const cursor = mirror.cursor.get();
    const status = indexerStatus?.();
    const indexed = status?.indexedBlock ?? cursor?.blockNumber ?? null;
    const head = status?.head ?? cursor?.headBlock ?? indexed;
    return { indexed, head, finalized: cursor?.finalizedBlock ?? null };
  };
  new Gauge({
    name: "trace_indexer_head_block",
    help: "latest chain head the indexer saw",
    registers: [registry],
    collect() {
      const { head } = heights();
      if (head !== null) this.set(head);
    },
  });
  new Gauge({
    name: "trace_indexer_indexed_block",
    help: "last block whose events are all in the mirror",
    registers: [registry],
    collect() {
      const { indexed } = heights();
      if (indexed !== null) this.set(indexed);
    },
  });
  new Gauge({
    name: "trace_indexer_finalized_block",
    help: "rows at or below this block are final",
    registers: [registry],
    collect() {
      const { finalized } = heights();
      if (finalized !== null) this.set(finalized);
    },
  });
  new Gauge({
    name: "trace_indexer_lag_blocks",
    help: "head minus indexed block",
    registers: [registry],
    collect() {
      const { indexed, head } = heights();
      if (indexed !== null && head !== null) this.set(Math.max(0, head - indexed));
    },
  });

  // One labelled child per (method, route, status), looked up by nested maps: no label object or
  // label-hash string per request.
  interface Series {
    readonly count: { inc(): void };
    readonly latency: { observe(value: number): void };
  }
  const series = new Map<string, Map<string, Map<number, Series>>>();
  const seriesOf = (method: string, route: string, status: number): Series => {
    let byRoute = series.get(method);
    if (byRoute === undefined) series.set(method, (byRoute = new Map()));
    let byStatus = byRoute.get(route);
    if (byStatus === undefined) byRoute.set(route, (byStatus = new Map()));
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
    { schema: { summary: "Prometheus metrics", tags: ["Operations"], response: { 200: { type: "string" } } }, config: { rateLimit: false } },
    async (_request, reply) => {
      const text = await registry.metrics();
      return reply.header("cache-control", "no-store").type(registry.contentType).send(text);
    },
  );
};

export default fp(metricsPlugin, { name: "trace-metrics" });
