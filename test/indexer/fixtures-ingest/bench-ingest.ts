/**
 * Content-ingestion benchmark, for bench/indexer.ts and a small smoke test, on either engine:
 *
 *   benchIngest(records, { engine?, url?, keep? }) → { ingestRecords, ingestSeconds, peakRssMiB, bytesPerIdentityRecord, … }
 *
 * Builds an identity batch of `records` items (GTIN + serial + lot, 1,000 items per lot) with core's
 * buildBatch, anchors it in a fresh mirror (a SQLite file, or a new database on the test PostgreSQL
 * server, or `url`), and ingests it from the content directory: one whole storeContent call.
 * Building and ingesting each run in a child process of their own, so `peakRssMiB` is the peak RSS
 * of the ingesting process alone (Node + the ingester), not of the build. `bytesPerIdentityRecord`
 * is the growth of the mirror divided by the records: on SQLite the file (WAL checkpointed and
 * truncated), on PostgreSQL pg_total_relation_size over the mirror's tables (heap, TOAST and
 * indexes) — rows in records, item_keys (a serial key and a lot key per record), identity_counts
 * and tree_nodes.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { openStore, type Engine, type MirrorStore } from "../../../mirror/store";
import { createSeeder } from "../../../mirror/write/seed";
import { writeIdentityCsv } from "../../helpers/identity-csv";
import { createTestDatabase } from "../../helpers/postgres";

export interface IngestBenchResult {
  readonly engine: Engine;
  readonly ingestRecords: number;
  readonly ingestSeconds: number;
  readonly peakRssMiB: number;
  readonly bytesPerIdentityRecord: number;
  /** The two phases of ingestSeconds: stream + check + stage, then the one committing transaction. */
  readonly stageSeconds: number;
  readonly commitSeconds: number;
}

export interface IngestBenchOptions {
  /** Default sqlite. */
  readonly engine?: Engine;
  /** PostgreSQL: an empty database to use (default: a new one on the test server, dropped afterwards). */
  readonly url?: string;
  /** Keep the temp directory (database, content file) and the PostgreSQL database for inspection. */
  readonly keep?: boolean;
}

const REPO = path.resolve(__dirname, "../../..");
const ITEMS_PER_LOT = 1000;

export async function benchIngest(records: number, options: IngestBenchOptions = {}): Promise<IngestBenchResult> {
  if (!Number.isSafeInteger(records) || records < 1)
    throw new RangeError(`records must be a positive integer, got ${records}`);
  const engine = options.engine ?? "sqlite";
  const dir = await mkdtemp(path.join(os.tmpdir(), "trace-ingest-bench-"));
  const location =
    engine === "sqlite" ? path.join(dir, "trace.db") : (options.url ?? (await createTestDatabase("bench_ingest")));
  try {
    const csv = path.join(dir, "identity.csv");
    const contentDir = path.join(dir, "content");
    await writeIdentityCsv(csv, { rows: records, products: 10, itemsPerLot: ITEMS_PER_LOT });

    const built = await runChild<{ root: string; leafCount: number; content: string }>(
      `const { buildBatch } = require(${JSON.stringify(path.join(REPO, "core/batch"))});
       buildBatch({ kind: "identity", input: ${JSON.stringify(csv)}, outDir: ${JSON.stringify(contentDir)} })
         .then((r) => done({ root: r.root, leafCount: r.leafCount, content: r.content }), fail);`,
    );
    await rm(csv);

    const store = await openStore({ db: location });
    let before: number;
    try {
      await createSeeder(store).anchor({
        brandId: 1,
        root: built.root,
        kind: 1,
        leafCount: built.leafCount,
        contentUri: path.basename(built.content),
        submitter: `0x${"11".repeat(20)}`,
        blockNumber: 1,
        blockHash: `0x${"22".repeat(32)}`,
        txHash: `0x${"33".repeat(32)}`,
        logIndex: 0,
        blockTime: 1700000000,
      });
      before = await mirrorBytes(store);
    } finally {
      await store.close();
    }

    const ingested = await runChild<{
      seconds: number;
      maxRssKiB: number;
      status: string;
      records: number;
      stageMs: number;
      commitMs: number;
    }>(
      `const { openStore } = require(${JSON.stringify(path.join(REPO, "mirror/store"))});
       const { createIngester } = require(${JSON.stringify(path.join(REPO, "indexer/ingest"))});
       const { createContentSource } = require(${JSON.stringify(path.join(REPO, "indexer/content-source"))});
       const phases = {};
       const quiet = { info(o) { Object.assign(phases, o); }, warn() {}, error() {}, debug() {} };
       const source = createContentSource({ contentDir: ${JSON.stringify(contentDir)}, maxBytes: 2 ** 40, timeoutMs: 30000 });
       openStore({ db: ${JSON.stringify(location)} }).then(async (store) => {
         const ingester = createIngester({ store, source, log: quiet });
         const t0 = process.hrtime.bigint();
         const outcome = await ingester.ingestOne({ brandId: 1, root: ${JSON.stringify(built.root)} });
         const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
         await store.close();
         // VmHWM: this process's own peak (getrusage's maxRSS keeps the parent's peak across fork and exec).
         const hwm = /VmHWM:\\s+(\\d+) kB/.exec(require("node:fs").readFileSync("/proc/self/status", "utf8"));
         done({ seconds, maxRssKiB: hwm ? Number(hwm[1]) : process.resourceUsage().maxRSS, status: outcome.status, records: outcome.records ?? 0, stageMs: phases.stageMs, commitMs: phases.commitMs });
       }).catch(fail);`,
    );
    if (ingested.status !== "ok" || ingested.records !== records)
      throw new Error(`ingest did not succeed: ${JSON.stringify(ingested)}`);
    const reopened = await openStore({ db: location });
    let after: number;
    try {
      after = await mirrorBytes(reopened);
    } finally {
      await reopened.close();
    }
    return {
      engine,
      ingestRecords: records,
      ingestSeconds: round(ingested.seconds, 2),
      peakRssMiB: round(ingested.maxRssKiB / 1024, 0),
      bytesPerIdentityRecord: round((after - before) / records, 1),
      stageSeconds: round(ingested.stageMs / 1000, 2),
      commitSeconds: round(ingested.commitMs / 1000, 2),
    };
  } finally {
    if (options.keep !== true) {
      await rm(dir, { recursive: true, force: true });
      if (engine === "postgres" && options.url === undefined) await dropDatabase(location);
    }
  }
}

/** The mirror's size on disk: the SQLite file (WAL folded in), or PostgreSQL's tables with their TOAST and indexes. */
async function mirrorBytes(store: MirrorStore): Promise<number> {
  if (store.engine === "sqlite") {
    store.db.pragma("wal_checkpoint(TRUNCATE)");
    return (await stat(store.db.name)).size;
  }
  const result = await store.pool.query<{ bytes: number }>(
    "SELECT coalesce(sum(pg_total_relation_size(format('%I.%I', schemaname, tablename))), 0)::bigint AS bytes " +
      "FROM pg_tables WHERE schemaname = current_schema()",
  );
  return result.rows[0]?.bytes ?? 0;
}

async function dropDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  target.pathname = "/postgres";
  const client = new pg.Client({ connectionString: target.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name.replace(/"/g, '""')}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Runs `code` in a fresh Node process (with ts-node when running from sources); it calls done(value) or fail(err). */
async function runChild<T>(code: string): Promise<T> {
  const fromSources = __filename.endsWith(".ts");
  const prelude =
    "const done = (v) => { process.stdout.write('\\n@@RESULT ' + JSON.stringify(v) + '\\n'); process.exit(0); };" +
    "const fail = (e) => { console.error(e); process.exit(1); };";
  const args = [...(fromSources ? ["-r", "ts-node/register/transpile-only"] : []), "-e", prelude + code];
  const child = spawn(process.execPath, args, {
    cwd: REPO,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
  child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  const [exitCode] = (await once(child, "exit")) as [number | null];
  const line = stdout.split("\n").find((l) => l.startsWith("@@RESULT "));
  if (exitCode !== 0 || line === undefined)
    throw new Error(`bench child failed (exit ${exitCode}):\n${stderr}${stdout}`);
  return JSON.parse(line.slice("@@RESULT ".length)) as T;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
