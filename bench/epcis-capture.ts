/**
 * EPCIS capture throughput and the time from 202 to anchored proof, through `traceanchor serve` as
 * deployed (compiled CLI, plain node, a child process), on SQLite and on PostgreSQL:
 *
 * 1. a local anvil node (test/indexer/helpers/node.ts), the contract deployed by `traceanchor deploy`,
 *    brand 1 registered and the service's account named its `epcis-capture` submitter, a capture
 *    token from `traceanchor capture token create`;
 * 2. the EPCIS store filled to `fill` events (default 1,000,000) by direct bulk insert: events with
 *    distinct EPCs, a mix of bizSteps, dispositions, read points and locations, each with its own
 *    eventID (a urn:uuid), as events read from mirror batches (capture_id NULL: nothing for the
 *    worker to anchor; they carry no proof), so the query benchmark can reuse the store;
 * 3. `serve` started over that store (TRACE_CAPTURE_BATCH_SECONDS and _EVENTS at their defaults,
 *    60 s and 10,000), and the measured window: `clients` (8) concurrent clients each POSTing
 *    100-event EPCISDocuments to /epcis/capture, real HTTP, after a warm-up; events/s over the window
 *    and p50/p99 per document (request sent to 202 received). The worker anchors during the window,
 *    as it would in production;
 * 4. the anchor latency: `anchorSamples` documents posted `anchorGapSeconds` apart once the window's
 *    events are anchored, each timed from its 202 until GET /epcis/capture/{id} shows the anchor, and
 *    until /v1/proofs serves its first event's proof (the indexer ingested the batch).
 *
 *   benchCapture(engine, options?): Promise<CaptureFigures>
 *   node --max-old-space-size=4096 -r ts-node/register/transpile-only bench/epcis-capture.ts
 *       [BENCH_ENGINES=sqlite,postgres BENCH_FILL=1000000 BENCH_DOCS=1500 BENCH_ANCHOR_SAMPLES=6
 *        BENCH_SERVE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" (to profile serve)
 *        BENCH_SERVE_ENV="TRACE_CAPTURE_PREPARE_THREADS=0" (more environment for serve)]
 *   writes its section of docs/benchmarks.md (bench/report.ts) when run alone.
 *
 * PostgreSQL: TRACE_TEST_PG_URL (else test/helpers/postgres.ts starts a cluster); the database is
 * made by createTestDatabase and dropped after, unless `keep` is set.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Wallet } from "ethers";
import { buildIsFresh } from "../bin/build-fresh";
import { openDatabase } from "../mirror/db";
import { eventColumns, eventIndexRows } from "../mirror/epcis/event-rows";
import { sqliteEpcisStore } from "../mirror/epcis/store";
import { openStore } from "../mirror/store";
import type { EpcisEvent } from "../core/record";
import { createTestDatabase, dropTestDatabase } from "../test/helpers/postgres";
import { freePort, startAnvilNode } from "../test/indexer/helpers/node";
import { writeBenchSection } from "./report";

const ROOT = path.resolve(__dirname, "..");
const CLI = path.join(ROOT, "bin", "traceanchor.js");
const CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";
/** Hardhat's and anvil's well-known development keys (public; local chains only): operator, brand admin, service. */
const KEYS = {
  operator: "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  admin: "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  service: "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
} as const;
const BIZ_STEPS = ["receiving", "shipping", "storing", "picking", "packing", "inspecting", "commissioning", "loading"];
const DISPOSITIONS = ["in_progress", "in_transit", "active", "sellable_accessible", "container_closed"];
const PER_DOCUMENT = 100;

export type Engine = "sqlite" | "postgres";

export interface CaptureOptions {
  /** Events stored by bulk insert before `serve` starts (default 1,000,000). */
  readonly fill?: number;
  /** Documents in the measured window (default 1,500: 150,000 events). */
  readonly documents?: number;
  /** Documents posted before the window (default 100). */
  readonly warmup?: number;
  readonly clients?: number;
  readonly anchorSamples?: number;
  readonly anchorGapSeconds?: number;
  /** Keep the store (temp dir / database) for another benchmark; its location is in the figures. */
  readonly keep?: boolean;
  /** Node options for the `serve` process, e.g. ["--cpu-prof", "--cpu-prof-dir=/tmp/prof"] (default none). */
  readonly serveNodeArgs?: readonly string[];
  /** More environment for `serve` (e.g. { TRACE_CAPTURE_PREPARE_THREADS: "0" }); default none. */
  readonly serveEnv?: Readonly<Record<string, string>>;
  readonly log?: (line: string) => void;
}

export interface CaptureFigures {
  readonly engine: Engine;
  /** Events in the store when the window started, and when it ended. */
  readonly storedBefore: number;
  readonly storedAfter: number;
  readonly fillSeconds: number;
  readonly windowDocuments: number;
  readonly windowSeconds: number;
  readonly eventsPerSecond: number;
  readonly documentP50Ms: number;
  readonly documentP99Ms: number;
  readonly refused: number;
  /** 202 → the job shows its anchor; 202 → /v1/proofs serves the proof. */
  readonly anchorSamples: number;
  readonly anchorP50Ms: number;
  readonly anchorP99Ms: number;
  readonly proofP50Ms: number;
  readonly proofP99Ms: number;
  /** 1-minute load average at the start and end of the window. */
  readonly loadBefore: number;
  readonly loadAfter: number;
  /** The mirror (TRACE_DB) and the EPCIS store (a SQLite file, or the same database), when kept. */
  readonly mirror: string;
  readonly epcisDb: string;
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** The compiled CLI must be what is measured: build dist/ when it is missing or older than the sources. */
function ensureBuild(): void {
  if (buildIsFresh(path.join(ROOT, "dist", "scripts", "cli.js"))) return;
  process.stderr.write("dist/ is older than the sources: npm run build…\n");
  execFileSync("npm", ["run", "--silent", "build"], { stdio: ["ignore", "ignore", "inherit"], cwd: ROOT });
}

/** A child's environment: none of our TRACE_* variables, so the defaults hold. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("TRACE_")) env[key] = value;
  return { ...env, ...extra };
}

function cli(argv: string[], env: Record<string, string>, key: string): Record<string, unknown> {
  const out = execFileSync(process.execPath, [CLI, "--json", ...argv], {
    cwd: ROOT,
    env: childEnv({ ...env, TRACE_PRIVATE_KEY: key }),
    encoding: "utf8",
  });
  return JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as Record<string, unknown>;
}

/** Event number `n`: a distinct EPC, and values cycling so that every query filter has several. */
export function benchEvent(n: number, withId: boolean): EpcisEvent {
  const time = new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString();
  return {
    type: "ObjectEvent",
    ...(withId ? { eventID: `urn:uuid:${randomUUID()}` } : {}),
    eventTime: time,
    eventTimeZoneOffset: "+00:00",
    epcList: [`urn:epc:id:sgtin:9506000.013435.${n}`],
    action: "OBSERVE",
    bizStep: BIZ_STEPS[n % BIZ_STEPS.length]!,
    disposition: DISPOSITIONS[n % DISPOSITIONS.length]!,
    readPoint: { id: `urn:epc:id:sgln:9506000.00001.${n % 97}` },
    bizLocation: { id: `urn:epc:id:sgln:9506000.00002.${n % 13}` },
  };
}

function documentText(from: number, count: number): string {
  const events = [];
  for (let i = 0; i < count; i++) events.push(benchEvent(from + i, false));
  return JSON.stringify({
    "@context": [CONTEXT],
    type: "EPCISDocument",
    schemaVersion: "2.0",
    creationDate: "2026-11-01T00:00:00Z",
    epcisBody: { eventList: events },
  });
}

interface FillRow {
  readonly values: unknown[];
  readonly epcs: readonly { epc: string; role: string }[];
}

function fillRow(n: number, now: number): FillRow {
  const event = benchEvent(n, true);
  const json = JSON.stringify(event);
  const c = eventColumns(event);
  return {
    values: [
      event.eventID,
      createHash("sha256").update(json).digest(),
      randomBytes(32),
      randomBytes(16).toString("hex"),
      json,
      c.eventType,
      c.eventTime,
      now,
      c.action,
      c.bizStep,
      c.disposition,
      c.readPoint,
      c.bizLocation,
    ],
    epcs: eventIndexRows(event),
  };
}

const FILL_COLUMNS =
  "event_id, content_hash, record_hash, salt, event, event_type, event_time, record_time, action, biz_step, disposition, read_point, biz_location";
const FILL_CHUNK = 10_000;

export function fillSqlite(file: string, events: number, log: (line: string) => void): void {
  const store = sqliteEpcisStore(openDatabase(file));
  const db = store.db;
  db.pragma("synchronous = OFF");
  db.pragma("cache_size = -262144");
  const insert = db.prepare(
    `INSERT INTO epcis_events (brand_id, ${FILL_COLUMNS}) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertEpc = db.prepare("INSERT INTO epcis_event_epcs (epc, role, seq) VALUES (?, ?, ?)");
  const chunk = db.transaction((from: number, to: number) => {
    const now = Date.now();
    for (let n = from; n < to; n++) {
      const row = fillRow(n, now);
      const seq = Number(insert.run(...row.values).lastInsertRowid);
      for (const { epc, role } of row.epcs) insertEpc.run(epc, role, seq);
    }
  });
  for (let from = 0; from < events; from += FILL_CHUNK) {
    chunk(from, Math.min(events, from + FILL_CHUNK));
    if (from % 200_000 === 0) log(`  filled ${from.toLocaleString("en-US")}`);
  }
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
}

async function fillPostgres(url: string, events: number, log: (line: string) => void): Promise<void> {
  const store = await openStore({ db: url, application: "bench-capture-fill" });
  if (store.engine !== "postgres") throw new Error("not a PostgreSQL store");
  try {
    for (let from = 0; from < events; from += FILL_CHUNK) {
      const now = Date.now();
      const rows: FillRow[] = [];
      for (let n = from; n < Math.min(events, from + FILL_CHUNK); n++) rows.push(fillRow(n, now));
      const col = (i: number) => rows.map((r) => r.values[i]);
      const client = await store.pool.connect();
      try {
        await client.query("BEGIN");
        const inserted = await client.query<{ seq: number }>(
          `INSERT INTO trace_state.epcis_events (brand_id, ${FILL_COLUMNS}) SELECT 1, a, b, c, d, e, f, g, h, i, j, k, l, m FROM unnest($1::text[], $2::bytea[], $3::bytea[], ` +
            "$4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[]) " +
            "WITH ORDINALITY AS u(a, b, c, d, e, f, g, h, i, j, k, l, m, n) ORDER BY n RETURNING seq",
          rows[0]!.values.map((_, i) => col(i)),
        );
        const seqs = inserted.rows.map((r) => Number(r.seq)).sort((a, b) => a - b);
        const epc: string[] = [];
        const role: string[] = [];
        const seq: number[] = [];
        rows.forEach((r, i) => {
          for (const e of r.epcs) {
            epc.push(e.epc);
            role.push(e.role);
            seq.push(seqs[i]!);
          }
        });
        await client.query(
          "INSERT INTO trace_state.epcis_event_epcs (epc, role, seq) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])",
          [epc, role, seq],
        );
        await client.query("COMMIT");
      } finally {
        client.release();
      }
      if (from % 200_000 === 0) log(`  filled ${from.toLocaleString("en-US")}`);
    }
    await store.pool.query("ANALYZE trace_state.epcis_events");
    await store.pool.query("ANALYZE trace_state.epcis_event_epcs");
  } finally {
    await store.close();
  }
}

async function countEvents(engine: Engine, epcisDb: string): Promise<number> {
  if (engine === "sqlite") {
    const db = openDatabase(epcisDb, { readonly: true });
    try {
      return (db.prepare("SELECT max(seq) AS n FROM epcis_events").get() as { n: number }).n;
    } finally {
      db.close();
    }
  }
  const store = await openStore({ db: epcisDb, readonly: true, application: "bench-capture-count" });
  try {
    if (store.engine !== "postgres") throw new Error("not a PostgreSQL store");
    const { rows } = await store.pool.query<{ n: number }>(
      "SELECT count(*)::bigint AS n FROM trace_state.epcis_events",
    );
    return Number(rows[0]?.n ?? 0);
  } finally {
    await store.close();
  }
}

/** The record hash of a capture job's first event, read from the store (the job does not show it). */
async function firstRecordHash(engine: Engine, epcisDb: string, captureId: string): Promise<string | undefined> {
  const sql = "SELECT record_hash FROM epcis_events WHERE capture_id = ? ORDER BY seq LIMIT 1";
  if (engine === "sqlite") {
    const db = openDatabase(epcisDb, { readonly: true });
    try {
      const row = db.prepare(sql).get(captureId) as { record_hash: Buffer } | undefined;
      return row === undefined ? undefined : `0x${row.record_hash.toString("hex")}`;
    } finally {
      db.close();
    }
  }
  const store = await openStore({ db: epcisDb, readonly: true, application: "bench-capture-hash" });
  try {
    if (store.engine !== "postgres") throw new Error("not a PostgreSQL store");
    const { rows } = await store.pool.query<{ record_hash: Buffer }>(
      sql.replace("epcis_events", "trace_state.epcis_events").replace("?", "$1"),
      [captureId],
    );
    return rows[0] === undefined ? undefined : `0x${rows[0].record_hash.toString("hex")}`;
  } finally {
    await store.close();
  }
}

interface Served {
  readonly child: ChildProcess;
  readonly url: string;
  stderr(): string;
}

async function startServe(env: Record<string, string>, nodeArgs: readonly string[] = []): Promise<Served> {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, CLI, "serve"], {
    cwd: ROOT,
    env: childEnv({ ...env, TRACE_PORT: String(port), TRACE_PRIVATE_KEY: KEYS.service }),
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  child.stderr?.on("data", (chunk: Buffer) => (err = (err + chunk.toString()).slice(-8000)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${err}`);
    const ok = await fetch(`${url}/epcis/capture`, { method: "OPTIONS" }).then(
      (r) => r.status === 204,
      () => false,
    );
    if (ok) return { child, url, stderr: () => err };
    await sleep(200);
  }
  child.kill("SIGKILL");
  throw new Error(`serve did not open /epcis/capture: ${err}`);
}

function stopServe(served: Served): Promise<void> {
  return new Promise((resolve) => {
    if (served.child.exitCode !== null) return resolve();
    const timer = setTimeout(() => served.child.kill("SIGKILL"), 20_000);
    served.child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    served.child.kill("SIGTERM");
  });
}

async function post(
  url: string,
  token: string,
  body: string,
): Promise<{ status: number; ms: number; location: string }> {
  const started = performance.now();
  const response = await fetch(`${url}/epcis/capture`, {
    method: "POST",
    body,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/ld+json" },
  });
  await response.arrayBuffer();
  return { status: response.status, ms: performance.now() - started, location: response.headers.get("location") ?? "" };
}

/** `clients` loops taking the next body until none is left; each document's latency. */
async function drive(
  url: string,
  token: string,
  bodies: readonly string[],
  clients: number,
): Promise<{ ms: number[]; refused: number; seconds: number }> {
  let next = 0;
  const ms: number[] = [];
  let refused = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        const r = await post(url, token, body);
        if (r.status === 202) ms.push(r.ms);
        else refused++;
      }
    }),
  );
  return { ms, refused, seconds: (performance.now() - started) / 1000 };
}

async function jobAnchored(url: string, token: string, location: string): Promise<boolean> {
  const r = await fetch(`${url}${location}`, { headers: { authorization: `Bearer ${token}` } });
  const job = (await r.json()) as { anchor?: unknown };
  return job.anchor !== null && job.anchor !== undefined;
}

/** Waits until a posted document's job shows its anchor (at most `timeoutMs`). */
async function untilAnchored(url: string, token: string, location: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await jobAnchored(url, token, location))) {
    if (Date.now() > until) throw new Error(`${location} not anchored after ${timeoutMs} ms`);
    await sleep(250);
  }
}

async function anchorLatency(
  engine: Engine,
  served: Served,
  token: string,
  epcisDb: string,
  samples: number,
  gapSeconds: number,
  firstEvent: number,
): Promise<{ anchor: number[]; proof: number[] }> {
  const anchor: number[] = [];
  const proof: number[] = [];
  const one = async (i: number): Promise<void> => {
    await sleep(i * gapSeconds * 1000);
    const r = await post(served.url, token, documentText(firstEvent + i * PER_DOCUMENT, PER_DOCUMENT));
    if (r.status !== 202) throw new Error(`sample ${i}: ${r.status}`);
    const accepted = performance.now();
    await untilAnchored(served.url, token, r.location, 300_000);
    anchor.push(performance.now() - accepted);
    const hash = await firstRecordHash(engine, epcisDb, r.location.split("/").at(-1) ?? "");
    for (;;) {
      const served200 = (await fetch(`${served.url}/v1/proofs/${hash}`)).status === 200;
      if (served200) break;
      if (performance.now() - accepted > 400_000) throw new Error(`no proof for ${hash}`);
      await sleep(250);
    }
    proof.push(performance.now() - accepted);
  };
  await Promise.all(Array.from({ length: samples }, (_, i) => one(i)));
  return { anchor, proof };
}

/** `traceanchor deploy`, brand 1 registered, and the service's account named its epcis-capture submitter. */
function deployChain(env: Record<string, string>): void {
  cli(["deploy"], env, KEYS.operator);
  const admin = new Wallet(KEYS.admin).address;
  cli(["brand", "register", "--name", "Bench Brand", "--admin", admin, "--prefix", "9506000"], env, KEYS.operator);
  const service = new Wallet(KEYS.service).address;
  cli(["brand", "submitter", "--brand", "1", "--account", service, "--role", "epcis-capture"], env, KEYS.admin);
}

export async function benchCapture(engine: Engine, options: CaptureOptions = {}): Promise<CaptureFigures> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const fill = options.fill ?? 1_000_000;
  const documents = options.documents ?? 1500;
  const warmup = options.warmup ?? 100;
  const clients = options.clients ?? 8;
  const samples = options.anchorSamples ?? 6;
  const gap = options.anchorGapSeconds ?? 12;
  ensureBuild();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-capture-${engine}-`));
  const mirror = engine === "sqlite" ? path.join(dir, "trace.db") : await createTestDatabase("bench_capture");
  const epcisDb = engine === "sqlite" ? path.join(dir, "epcis.db") : mirror;
  const node = await startAnvilNode();
  let served: Served | undefined;
  try {
    const env = {
      TRACE_RPC_URL: node.url,
      TRACE_DEPLOYMENTS_DIR: path.join(dir, "deployments"),
      TRACE_CONTENT_DIR: path.join(dir, "content"),
      TRACE_DB: mirror,
      TRACE_EPCIS_DB: path.join(dir, "epcis.db"),
      TRACE_SCANS: "off",
      TRACE_RATE_LIMIT: "0",
      TRACE_LOG_LEVEL: "warn",
    };
    log(`${engine}: deploying on anvil…`);
    deployChain(env);
    const token = cli(["capture", "token", "create", "--brand", "1", "--label", "bench"], env, KEYS.operator)
      .token as string;
    log(`${engine}: filling the EPCIS store to ${fill.toLocaleString("en-US")} events…`);
    const fillStarted = performance.now();
    if (engine === "sqlite") fillSqlite(epcisDb, fill, log);
    else await fillPostgres(epcisDb, fill, log);
    const fillSeconds = (performance.now() - fillStarted) / 1000;
    log(`${engine}: filled in ${fillSeconds.toFixed(0)} s; starting serve…`);
    served = await startServe({ ...env, ...options.serveEnv }, options.serveNodeArgs);
    // The brand's consent is read from the mirror serve indexes: 403 until its indexer has caught up.
    let next = fill;
    for (let i = 0; ; i++) {
      const r = await post(served.url, token, documentText(next, 1));
      if (r.status === 202) break;
      if (i > 300) throw new Error(`capture not accepted: ${r.status} ${served.stderr()}`);
      await sleep(200);
    }
    next += 1;
    const body = (): string => {
      const text = documentText(next, PER_DOCUMENT);
      next += PER_DOCUMENT;
      return text;
    };
    log(`${engine}: warm-up, ${warmup} documents…`);
    await drive(served.url, token, Array.from({ length: warmup }, body), clients);
    const bodies = Array.from({ length: documents }, body);
    const storedBefore = await countEvents(engine, epcisDb);
    const loadBefore = os.loadavg()[0]!;
    log(
      `${engine}: window, ${documents} documents of ${PER_DOCUMENT} events, ${clients} clients, ${storedBefore.toLocaleString("en-US")} stored…`,
    );
    const window = await drive(served.url, token, bodies, clients);
    const loadAfter = os.loadavg()[0]!;
    const storedAfter = await countEvents(engine, epcisDb);
    const eventsPerSecond = (window.ms.length * PER_DOCUMENT) / window.seconds;
    log(
      `${engine}: ${Math.round(eventsPerSecond)} events/s, p50 ${quantile(window.ms, 0.5).toFixed(0)} ms, p99 ${quantile(window.ms, 0.99).toFixed(0)} ms, load ${loadBefore.toFixed(2)} → ${loadAfter.toFixed(2)}`,
    );
    // The window's last events wait up to TRACE_CAPTURE_BATCH_SECONDS; the samples start after them.
    log(`${engine}: waiting for the window's events to be anchored…`);
    const last = await post(served.url, token, documentText(next, 1));
    next += 1;
    await untilAnchored(served.url, token, last.location, 600_000);
    log(`${engine}: anchor latency, ${samples} documents ${gap} s apart…`);
    const latency = await anchorLatency(engine, served, token, epcisDb, samples, gap, next);
    log(
      `${engine}: 202 → anchored p50 ${(quantile(latency.anchor, 0.5) / 1000).toFixed(1)} s p99 ${(quantile(latency.anchor, 0.99) / 1000).toFixed(1)} s; → proof p50 ${(quantile(latency.proof, 0.5) / 1000).toFixed(1)} s p99 ${(quantile(latency.proof, 0.99) / 1000).toFixed(1)} s`,
    );
    return {
      engine,
      storedBefore,
      storedAfter,
      fillSeconds,
      windowDocuments: documents,
      windowSeconds: window.seconds,
      eventsPerSecond,
      documentP50Ms: quantile(window.ms, 0.5),
      documentP99Ms: quantile(window.ms, 0.99),
      refused: window.refused,
      anchorSamples: latency.anchor.length,
      anchorP50Ms: quantile(latency.anchor, 0.5),
      anchorP99Ms: quantile(latency.anchor, 0.99),
      proofP50Ms: quantile(latency.proof, 0.5),
      proofP99Ms: quantile(latency.proof, 0.99),
      loadBefore,
      loadAfter,
      mirror,
      epcisDb,
    };
  } finally {
    if (served !== undefined) await stopServe(served);
    await node.stop();
    if (options.keep !== true) {
      fs.rmSync(dir, { recursive: true, force: true });
      if (engine === "postgres") await dropTestDatabase(mirror);
    }
  }
}

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");
const sec = (ms: number): string => (ms / 1000).toFixed(1);

export function captureSection(results: readonly CaptureFigures[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.engine === "sqlite" ? "SQLite" : "PostgreSQL"} | ${fmt(r.storedBefore)} | ${fmt(r.eventsPerSecond)} | ${fmt(r.documentP50Ms)} | ${fmt(r.documentP99Ms)} | ${sec(r.anchorP50Ms)} / ${sec(r.anchorP99Ms)} | ${sec(r.proofP50Ms)} / ${sec(r.proofP99Ms)} | ${r.anchorSamples} | ${r.loadBefore.toFixed(2)} → ${r.loadAfter.toFixed(2)} |`,
  );
  return [
    "## EPCIS capture (`bench/epcis-capture.ts`)",
    "",
    "`traceanchor serve` (compiled, plain node, its own process) over a store bulk-filled to the number of events shown, then 8 concurrent clients POSTing " +
      `EPCISDocuments of ${PER_DOCUMENT} events (distinct EPCs) to /epcis/capture over HTTP; the capture worker anchors on a local anvil node meanwhile, ` +
      "at the default batch settings (60 s or 10,000 events). Events/s over the window; latency per document from request to 202. " +
      "Anchor latency: documents posted 12 s apart, from their 202 until GET /epcis/capture/{id} shows the anchor, and until /v1/proofs serves the proof. " +
      "Target: ≥ 5,000 events/s on SQLite with ≥ 1,000,000 events stored.",
    "",
    "| Engine | Stored before | Events/s | p50 ms | p99 ms | 202 → anchored p50 / p99 s | 202 → proof p50 / p99 s | Samples | Load (1 min) |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
    "",
    ...results.map(
      (r) =>
        `${r.engine}: window of ${fmt(r.windowDocuments)} documents (${fmt(r.storedAfter - r.storedBefore)} events) in ${r.windowSeconds.toFixed(1)} s, ${r.refused} refused; store filled in ${r.fillSeconds.toFixed(0)} s` +
        (r.engine === "sqlite" ? `; target ${r.eventsPerSecond >= 5000 ? "met" : "not met"}.` : "."),
    ),
  ].join("\n");
}

async function main(): Promise<void> {
  const engines = (process.env.BENCH_ENGINES ?? "sqlite,postgres").split(",") as Engine[];
  const options: CaptureOptions = {
    fill: Number(process.env.BENCH_FILL ?? 1_000_000),
    documents: Number(process.env.BENCH_DOCS ?? 1500),
    anchorSamples: Number(process.env.BENCH_ANCHOR_SAMPLES ?? 6),
    serveNodeArgs: (process.env.BENCH_SERVE_NODE_ARGS ?? "").split(" ").filter((a) => a !== ""),
    serveEnv: Object.fromEntries(
      (process.env.BENCH_SERVE_ENV ?? "")
        .split(" ")
        .filter((a) => a.includes("="))
        .map((a) => [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]),
    ),
  };
  const results: CaptureFigures[] = [];
  for (const engine of engines) results.push(await benchCapture(engine, options));
  console.log(JSON.stringify(results, null, 2));
  writeBenchSection("epcis-capture", captureSection(results));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
