/**
 * `npm run bench:epcis`: EPCIS query latency over 1,000,000 events, on SQLite and PostgreSQL in one
 * run. `npm run bench:epcis` then runs bench/epcis-capture.ts (capture throughput through serve
 * with 1M events stored, and 202 to anchored proof), which writes its own section.
 *
 * 1. Fills the query index directly in bulk (no chain, no capture), through the query store's own
 *    insert (mirror/epcis/query.ts: prepared INSERTs in transactions on SQLite, unnest INSERTs on
 *    PostgreSQL), BENCH_EPCIS_EVENTS events (default 1,000,000): ObjectEvents naming their own serial
 *    and a case serial shared by 10 events, 8 business steps in skewed proportions plus a rare one
 *    (0.1 %), record times one second apart. PostgreSQL is then ANALYZEd, as autovacuum would.
 * 2. Builds the real app (buildApp with `epcis.query`) over a mirror with a cursor, so every page
 *    also runs the batched lookup of its anchored copies (none here: every `ta:proof` is null; the
 *    proofs themselves come from the tree cache measured by bench:api).
 * 3. Sends, one at a time in-process (app.inject, no network), BENCH_EPCIS_QUERIES (default 2,000)
 *    requests of each kind, parameters at random: `MATCH_epc` (an item serial in URN form: 1 event;
 *    a case serial: 10 events), `EQ_bizStep` (first page of 30 of a step among 8 common ones and the
 *    rare one), and `EQ_bizStep` second page (its nextPageToken). Reports p50 and p99 in ms.
 *
 * Prints a table, rewrites its section of docs/benchmarks.md and ends with one JSON line.
 * Target: p99 ≤ 50 ms for MATCH_epc and EQ_bizStep on both engines.
 *
 *   node --max-old-space-size=4096 -r ts-node/register/transpile-only bench/epcis.ts
 */
import { prng } from "../test/indexer/helpers/synthetic";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client } from "pg";
import { buildApp } from "../api/app";
import { apiConfig } from "../api/config";
import { sgtinUrn } from "../core/epc";
import { eventColumns, eventIndexRows } from "../mirror/epcis/event-rows";
import { createEpcisQueryStore, type NewEvent } from "../mirror/epcis/query";
import { openEpcisStore, type EpcisStore } from "../mirror/epcis/store";
import { openStore, type Engine, type MirrorStore } from "../mirror/store";
import { createSeeder } from "../mirror/write/seed";
import { createTestDatabase } from "../test/helpers/postgres";
import { writeBenchSection } from "./report";

const EVENTS = Number(process.env.BENCH_EPCIS_EVENTS ?? 1_000_000);
const QUERIES = Number(process.env.BENCH_EPCIS_QUERIES ?? 2_000);
const CHUNK = 10_000;
const GTIN = "09506000134352";
const CP = 7;
const STEPS = ["shipping", "receiving", "storing", "picking", "packing", "loading", "inspecting", "commissioning"];
/** Cumulative weights of STEPS (shipping is most common). */
const WEIGHTS = [0.3, 0.5, 0.65, 0.75, 0.83, 0.9, 0.95, 1];
const RARE_STEP = "destroying";
const T0 = Date.parse("2025-01-01T00:00:00.000Z");

const stepOf = (i: number, random: () => number): string => {
  if (i % 1000 === 999) return RARE_STEP;
  const r = random();
  return STEPS[WEIGHTS.findIndex((w) => r < w)] ?? "shipping";
};

function eventRow(i: number, random: () => number): NewEvent {
  const step = stepOf(i, random);
  const eventTime = new Date(T0 + i * 1000).toISOString();
  const eventId = `urn:uuid:00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`;
  const event = {
    eventID: eventId,
    type: "ObjectEvent",
    action: "OBSERVE",
    bizStep: step,
    disposition: step === "shipping" ? "in_transit" : "active",
    epcList: [sgtinUrn(GTIN, `S${i}`, CP), sgtinUrn(GTIN, `C${Math.floor(i / 10)}`, CP)],
    eventTime,
    eventTimeZoneOffset: "+00:00",
    readPoint: { id: `urn:epc:id:sgln:9506000.${String(i % 100).padStart(5, "0")}.0` },
  };
  const text = JSON.stringify(event);
  const hash = createHash("sha256").update(text).digest();
  return {
    eventId,
    correction: false,
    brandId: 1,
    captureId: null,
    contentHash: hash,
    recordHash: createHash("sha256").update(hash).update("record").digest(),
    salt: hash.toString("hex", 0, 16),
    event: text,
    ...eventColumns(event),
    recordTime: T0 + i * 1000,
    epcs: eventIndexRows(event),
  };
}

async function fill(store: EpcisStore): Promise<number> {
  const query = createEpcisQueryStore(store);
  const random = prng(42);
  const started = performance.now();
  for (let from = 0; from < EVENTS; from += CHUNK) {
    const rows: NewEvent[] = [];
    for (let i = from; i < Math.min(EVENTS, from + CHUNK); i++) rows.push(eventRow(i, random));
    await query.insertEvents(rows);
    if (from % 100_000 === 0) process.stderr.write(`  ${store.engine}: ${from} events\n`);
  }
  if (store.engine === "postgres")
    await store.pool.query("ANALYZE trace_state.epcis_events, trace_state.epcis_event_epcs");
  return (performance.now() - started) / 1000;
}

interface Latency {
  readonly p50: number;
  readonly p99: number;
  readonly meanEvents: number;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const round = (ms: number): number => Math.round(ms * 100) / 100;

async function measure(app: Awaited<ReturnType<typeof buildApp>>, urls: () => Promise<string>): Promise<Latency> {
  const times: number[] = [];
  let events = 0;
  for (let i = 0; i < QUERIES + 50; i++) {
    const url = await urls();
    const started = performance.now();
    const res = await app.inject({ method: "GET", url });
    const ms = performance.now() - started;
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body.slice(0, 300)}`);
    // The first 50 warm caches and the JIT up.
    if (i < 50) continue;
    times.push(ms);
    events += res.json<{ epcisBody: { queryResults: { resultsBody: { eventList: unknown[] } } } }>().epcisBody
      .queryResults.resultsBody.eventList.length;
  }
  times.sort((a, b) => a - b);
  return { p50: round(percentile(times, 50)), p99: round(percentile(times, 99)), meanEvents: round(events / QUERIES) };
}

interface EngineResult {
  readonly engine: Engine;
  readonly fillSeconds: number;
  readonly matchEpc: Latency;
  readonly bizStep: Latency;
  readonly bizStepPage2: Latency;
}

async function benchEngine(engine: Engine, tmp: string): Promise<EngineResult> {
  const location = engine === "postgres" ? await createTestDatabase("bench_epcis") : path.join(tmp, "trace.db");
  const mirror: MirrorStore = await openStore({ db: location });
  const epcis = openEpcisStore(mirror, path.join(tmp, "epcis.db"));
  try {
    await createSeeder(mirror).cursor({
      chainId: 31337,
      contract: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
      fromBlock: 1,
      blockNumber: 100,
      blockHash: `0x${"11".repeat(32)}`,
      headBlock: 100,
      finalizedBlock: 90,
    });
    process.stderr.write(`filling ${EVENTS} events on ${engine}…\n`);
    const fillSeconds = await fill(epcis);
    const app = await buildApp({
      db: mirror,
      config: apiConfig({
        publicUrl: "http://bench.local",
        dbPath: location,
        contentDir: tmp,
        rateLimit: 0,
        scans: false,
      }),
      processMetrics: false,
      renderHtml: null,
      epcis: { query: { store: epcis, mirror } },
    });
    await app.ready();
    try {
      const random = prng(7);
      const pick = (n: number): number => Math.floor(random() * n);
      const matchEpc = await measure(app, () => {
        const serial = random() < 0.5 ? `S${pick(EVENTS)}` : `C${pick(Math.floor(EVENTS / 10))}`;
        return Promise.resolve(`/epcis/events?MATCH_epc=${encodeURIComponent(sgtinUrn(GTIN, serial, CP))}`);
      });
      const steps = [...STEPS, RARE_STEP];
      const stepUrl = (): string => `/epcis/events?EQ_bizStep=${steps[pick(steps.length)] ?? "shipping"}`;
      const bizStep = await measure(app, () => Promise.resolve(stepUrl()));
      const bizStepPage2 = await measure(app, async () => {
        const first = await app.inject({ method: "GET", url: stepUrl() });
        const link = /^<([^>]+)>/.exec(String(first.headers.link ?? ""))?.[1];
        if (link === undefined) throw new Error("no next page");
        return link;
      });
      return { engine, fillSeconds: round(fillSeconds), matchEpc, bizStep, bizStepPage2 };
    } finally {
      await app.close();
    }
  } finally {
    await epcis.close();
    await mirror.close();
    if (engine === "postgres" && process.env.BENCH_EPCIS_KEEP === "1") process.stderr.write(`kept ${location}\n`);
    else if (engine === "postgres") await dropDatabase(location);
  }
}

async function dropDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = target.pathname.slice(1);
  target.pathname = "/postgres";
  const client = new Client({ connectionString: target.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bench-epcis-"));
  try {
    const results: EngineResult[] = [];
    const engines = (process.env.BENCH_EPCIS_ENGINES ?? "sqlite,postgres").split(",") as Engine[];
    for (const engine of engines) {
      const pgTmp = path.join(tmp, engine);
      fs.mkdirSync(pgTmp);
      results.push(await benchEngine(engine, pgTmp));
    }
    const rows = results.flatMap(
      (r) =>
        [
          [r.engine, "MATCH_epc", r.matchEpc],
          [r.engine, "EQ_bizStep (page 1)", r.bizStep],
          [r.engine, "EQ_bizStep (page 2, nextPageToken)", r.bizStepPage2],
        ] as const,
    );
    const table = [
      "| engine | query | p50 ms | p99 ms | events per answer |",
      "|---|---|---:|---:|---:|",
      ...rows.map(([engine, name, l]) => `| ${engine} | ${name} | ${l.p50} | ${l.p99} | ${l.meanEvents} |`),
    ].join("\n");
    const worst = Math.max(...results.flatMap((r) => [r.matchEpc.p99, r.bizStep.p99, r.bizStepPage2.p99]));
    const body = [
      "## EPCIS query (`npm run bench:epcis`)",
      "",
      `${EVENTS.toLocaleString("en-US")} events in the query index (ObjectEvents, two EPCs each: an item serial and a case`,
      "serial shared by 10 events; 8 business steps in skewed proportions and a rare one at 0.1 %), filled directly in",
      `bulk (SQLite ${results[0]?.fillSeconds ?? "?"} s, PostgreSQL ${results[1]?.fillSeconds ?? "?"} s). ${QUERIES.toLocaleString("en-US")} requests of each kind, one at a time,`,
      "through the real app in-process (app.inject: parameters, one statement per page, the page's batched lookup of",
      "anchored copies, the EPCISQueryDocument); parameters at random. MATCH_epc is given in URN form (normalised to the",
      "stored Digital Link form); EQ_bizStep answers the first page of 30.",
      "",
      table,
      "",
      `Worst p99: **${worst} ms** (target ≤ 50 ms).`,
    ].join("\n");
    console.log(table);
    writeBenchSection("epcis", body);
    console.log(JSON.stringify({ events: EVENTS, results }));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
