/**
 * Content-ingestion benchmark, for bench/indexer.ts and a small smoke test:
 *
 *   benchIngest(records) → { ingestRecords, ingestSeconds, peakRssMiB, bytesPerIdentityRecord }
 *
 * Builds an identity batch of `records` items (GTIN + serial + lot, 1,000 items per lot) with core's
 * buildBatch, anchors it in a fresh SQLite mirror, and ingests it from the content directory.
 * Building and ingesting each run in a child process of their own, so `peakRssMiB` is the peak RSS
 * of the ingesting process alone (Node + the ingester), not of the build. `bytesPerIdentityRecord`
 * is the growth of the SQLite file (WAL checkpointed and truncated) divided by the records: rows in
 * records, item_keys (a serial key and a lot key per record), tree_nodes and their indexes.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { openDatabase, runMigrations } from "../../../mirror/db";
import { createSeeder } from "../../../mirror/write/seed";
import { writeIdentityCsv } from "../../helpers/identity-csv";

export interface IngestBenchResult {
  readonly ingestRecords: number;
  readonly ingestSeconds: number;
  readonly peakRssMiB: number;
  readonly bytesPerIdentityRecord: number;
  /** The two phases of ingestSeconds: stream + check + spill, then the one SQLite transaction. */
  readonly stageSeconds: number;
  readonly commitSeconds: number;
}

export interface IngestBenchOptions {
  /** Keep the temp directory (database, content file) for inspection. */
  readonly keep?: boolean;
}

const REPO = path.resolve(__dirname, "../../..");
const ITEMS_PER_LOT = 1000;

export async function benchIngest(records: number, options: IngestBenchOptions = {}): Promise<IngestBenchResult> {
  if (!Number.isSafeInteger(records) || records < 1)
    throw new RangeError(`records must be a positive integer, got ${records}`);
  const dir = await mkdtemp(path.join(os.tmpdir(), "trace-ingest-bench-"));
  try {
    const csv = path.join(dir, "identity.csv");
    const contentDir = path.join(dir, "content");
    const dbFile = path.join(dir, "trace.db");
    await writeIdentityCsv(csv, { rows: records, products: 10, itemsPerLot: ITEMS_PER_LOT });

    const built = await runChild<{ root: string; leafCount: number; content: string }>(
      `const { buildBatch } = require(${JSON.stringify(path.join(REPO, "core/batch"))});
       buildBatch({ kind: "identity", input: ${JSON.stringify(csv)}, outDir: ${JSON.stringify(contentDir)} })
         .then((r) => done({ root: r.root, leafCount: r.leafCount, content: r.content }), fail);`,
    );
    await rm(csv);

    const db = openDatabase(dbFile);
    runMigrations(db);
    createSeeder(db).anchor({
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
    db.pragma("wal_checkpoint(TRUNCATE)");
    db.close();
    const before = (await stat(dbFile)).size;

    const ingested = await runChild<{
      seconds: number;
      maxRssKiB: number;
      status: string;
      records: number;
      stageMs: number;
      commitMs: number;
    }>(
      `const { openDatabase } = require(${JSON.stringify(path.join(REPO, "mirror/db"))});
       const { createIngester } = require(${JSON.stringify(path.join(REPO, "indexer/ingest"))});
       const { createContentSource } = require(${JSON.stringify(path.join(REPO, "indexer/content-source"))});
       const db = openDatabase(${JSON.stringify(dbFile)});
       const phases = {};
       const quiet = { info(o) { Object.assign(phases, o); }, warn() {}, error() {}, debug() {} };
       const source = createContentSource({ contentDir: ${JSON.stringify(contentDir)}, maxBytes: 2 ** 40, timeoutMs: 30000 });
       const ingester = createIngester({ db, source, log: quiet });
       const t0 = process.hrtime.bigint();
       ingester.ingestOne({ brandId: 1, root: ${JSON.stringify(built.root)} }).then((outcome) => {
         const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
         db.pragma("wal_checkpoint(TRUNCATE)");
         db.close();
         done({ seconds, maxRssKiB: process.resourceUsage().maxRSS, status: outcome.status, records: outcome.records ?? 0, stageMs: phases.stageMs, commitMs: phases.commitMs });
       }, fail);`,
    );
    if (ingested.status !== "ok" || ingested.records !== records)
      throw new Error(`ingest did not succeed: ${JSON.stringify(ingested)}`);
    const after = (await stat(dbFile)).size;
    return {
      ingestRecords: records,
      ingestSeconds: round(ingested.seconds, 2),
      peakRssMiB: round(ingested.maxRssKiB / 1024, 0),
      bytesPerIdentityRecord: round((after - before) / records, 1),
      stageSeconds: round(ingested.stageMs / 1000, 2),
      commitSeconds: round(ingested.commitMs / 1000, 2),
    };
  } finally {
    if (options.keep !== true) await rm(dir, { recursive: true, force: true });
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
