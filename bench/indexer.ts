/**
 * Indexer throughput, on a local Hardhat node and on anvil, each holding the same chain: the
 * contract deployed by `traceanchor deploy` (TRACE_RPC_URL), then 10,000 Anchored events (250 per
 * anchorMany, 5 empty blocks after each: 244 blocks).
 *
 *   - indexer: `traceanchor index` as a whole process (compiled CLI, plain node), with its defaults
 *     (no TRACE_INDEX_* variable), into a fresh SQLite file, timed from spawn until its cursor
 *     reaches the head; content ingestion runs in it as always (no content files: all stay pending);
 *   - bare eth_getLogs: sweeps over the same blocks at fixed ranges of 10 … 2,000 blocks, one request
 *     at a time, with fetch and JSON.parse and nothing else; the best range is the ceiling. The target:
 *     the indexer ≥ 80% of the best bare rate on both nodes;
 *   - replay: the indexer's own work on the same logs held in memory — decode, derive, write,
 *     advance the cursor — with no RPC (target ≥ 20,000 events/s);
 *   - ingest: a 1,000,000-record identity batch streamed, its root rebuilt and checked, stored
 *     (target ≤ 30 s, ≤ 1 GiB peak RSS of the ingesting process), and the SQLite bytes per record.
 * Each timing is the median of 3 runs. One node runs at a time. Prints a table per node, rewrites its
 * section of docs/benchmarks.md and, as its last line, prints one JSON object.
 *
 *   npm run bench:indexer   [BENCH_EVENTS=10000 BENCH_PER_TX=250 BENCH_GAP=5 BENCH_NODES=hardhat,anvil
 *                            BENCH_INDEXER_PARTS=index,ingest]
 *
 * BENCH_INDEXER_PARTS=index measures the nodes and the replay only (no content ingestion), prints
 * the tables and leaves docs/benchmarks.md alone: for iterating on the indexer.
 *
 * BENCH_TRACE_X=v runs `traceanchor index` with TRACE_X=v instead of its default (for trying
 * settings; the table then names them).
 */
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { createHttpProvider, openDatabase, runMigrations } from "../indexer";
import { createChainClient } from "../indexer/rpc";
import type { BlockHeader, ChainLog } from "../indexer/rpc";
import { createSqliteChainStore } from "../mirror/write/chain";
import { blockNumber, connectDeployment, mine, mined, request, setUpBrand } from "../test/indexer/helpers/chain";
import { startAnvilNode, startHardhatNode } from "../test/indexer/helpers/node";
import type { HardhatNode } from "../test/indexer/helpers/node";
import { benchIngest } from "../test/indexer/fixtures-ingest/bench-ingest";
import { writeBenchSection } from "./report";
import { buildIsFresh } from "../bin/build-fresh";

const EVENTS = Number.parseInt(process.env.BENCH_EVENTS ?? "10000", 10);
const PER_TX = Number.parseInt(process.env.BENCH_PER_TX ?? "250", 10);
const GAP = Number.parseInt(process.env.BENCH_GAP ?? "5", 10);
const NODES = (process.env.BENCH_NODES ?? "hardhat,anvil").split(",") as NodeKind[];
const PARTS = new Set((process.env.BENCH_INDEXER_PARTS ?? "index,ingest").split(","));
const RANGES = [10, 20, 50, 100, 200, 500, 1000, 2000];
/** Reference only, one run each: the transport the indexer used to read through. */
const ETHERS_RANGES = [20, 2000];
const RUNS = 3;
const TARGET = 0.8;
const ROOT = path.resolve(__dirname, "..");
const CLI = path.join(ROOT, "bin", "traceanchor.js");
/** Hardhat's and anvil's first account: the well-known development key, never a real one. */
const DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

type NodeKind = "hardhat" | "anvil";

interface IndexRun {
  /** Spawn to cursor at the head. */
  readonly seconds: number;
  /** CPU time of the process until then (user + system). */
  readonly cpuSeconds: number;
  /** Spawn to the cursor row's creation (the CLI loaded, the chain and contract found). */
  readonly startupSeconds: number;
  readonly events: number;
}

interface NodeResult {
  readonly kind: NodeKind;
  readonly fromBlock: number;
  readonly head: number;
  readonly logs: number;
  /** Median seconds of a bare sweep, per range. */
  readonly bare: Map<number, number>;
  /** Seconds of one sweep through ethers' JsonRpcProvider (what the indexer used to read through), per range. */
  readonly ethers: Map<number, number>;
  readonly bestRange: number;
  readonly bestBarePerSec: number;
  /** Median seconds to read the default reorg window's headers, as the indexer does once (batches of 100). */
  readonly windowHeadersSeconds: number;
  readonly index: IndexRun;
  readonly indexPerSec: number;
  readonly afterStartupPerSec: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");
const pct = (n: number): string => `${(n * 100).toFixed(0)}%`;

/** The compiled CLI must be what is measured: build dist/ when it is missing or older than the sources. */
function ensureBuild(): void {
  if (buildIsFresh(path.join(ROOT, "dist", "scripts", "cli.js"))) return;
  process.stderr.write("dist/ is older than the sources: npm run build…\n");
  execFileSync("npm", ["run", "--silent", "build"], { stdio: ["ignore", "ignore", "inherit"], cwd: ROOT });
}

/** The environment of a CLI child: no TRACE_* of ours, so the defaults hold, except BENCH_TRACE_* overrides. */
function cliEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!key.startsWith("TRACE_") && !key.startsWith("BENCH_")) env[key] = value;
  return { ...env, ...overrides(), ...extra };
}

function overrides(): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith("BENCH_TRACE_") && value !== undefined) result[key.slice("BENCH_".length)] = value;
  }
  return result;
}

/** `traceanchor deploy` against the node, as a user would: TRACE_RPC_URL and a key; account 1 as registrar. */
async function deployWithCli(
  node: HardhatNode,
  deploymentsDir: string,
): Promise<{ address: string; blockNumber: number }> {
  const registrar = await (await node.provider.getSigner(1)).getAddress();
  const out = execFileSync(
    process.execPath,
    [CLI, "--json", "deploy", "--admin-delay", "0", "--registrar", registrar],
    {
      cwd: ROOT,
      env: cliEnv({ TRACE_RPC_URL: node.url, TRACE_PRIVATE_KEY: DEV_KEY, TRACE_DEPLOYMENTS_DIR: deploymentsDir }),
      encoding: "utf8",
    },
  );
  const result = JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as { contract?: string; blockNumber?: number };
  if (result.contract === undefined || result.blockNumber === undefined)
    throw new Error(`traceanchor deploy printed no result: ${out}`);
  return { address: result.contract, blockNumber: result.blockNumber };
}

async function rpc(url: string, method: string, params: unknown[]): Promise<unknown> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const reply = JSON.parse(await response.text()) as { result?: unknown; error?: unknown };
  if (reply.error !== undefined) throw new Error(`${method}: ${JSON.stringify(reply.error)}`);
  return reply.result;
}

/** One sweep of from..head in ranges of `range` blocks: seconds and logs. */
async function bareSweep(
  url: string,
  address: string,
  from: number,
  head: number,
  range: number,
): Promise<{ seconds: number; logs: number }> {
  const started = performance.now();
  let logs = 0;
  for (let lo = from; lo <= head; lo += range) {
    const hi = Math.min(head, lo + range - 1);
    const result = await rpc(url, "eth_getLogs", [
      { address, fromBlock: `0x${lo.toString(16)}`, toBlock: `0x${hi.toString(16)}` },
    ]);
    if (!Array.isArray(result)) throw new Error("eth_getLogs result is not an array");
    logs += result.length;
  }
  return { seconds: (performance.now() - started) / 1000, logs };
}

/** Default TRACE_INDEX_REORG_WINDOW: the indexer reads the header of every block this close to the head. */
const REORG_WINDOW = 128;

/** eth_getBlockByNumber for the last REORG_WINDOW blocks up to head, in JSON-RPC batches of 100 (the indexer's transport's batch size). */
async function windowHeaders(url: string, head: number): Promise<number> {
  const started = performance.now();
  const numbers = Array.from({ length: Math.min(REORG_WINDOW, head + 1) }, (_, i) => head - i);
  for (let i = 0; i < numbers.length; i += 100) {
    const batch = numbers.slice(i, i + 100).map((n, j) => ({
      jsonrpc: "2.0",
      id: j,
      method: "eth_getBlockByNumber",
      params: [`0x${n.toString(16)}`, false],
    }));
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(batch),
    });
    const replies = JSON.parse(await response.text()) as unknown[];
    if (!Array.isArray(replies) || replies.length !== batch.length)
      throw new Error("eth_getBlockByNumber batch failed");
  }
  return (performance.now() - started) / 1000;
}

/** Seconds from spawning a Node process that does nothing until it has exited: the floor of any whole-process Node indexer. */
function nodeProcessSeconds(): number {
  const times: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    execFileSync(process.execPath, ["-e", "0"]);
    times.push((performance.now() - started) / 1000);
  }
  return median(times);
}

/** The same sweep through ethers' JsonRpcProvider.send. */
async function ethersSweep(
  node: HardhatNode,
  address: string,
  from: number,
  head: number,
  range: number,
): Promise<number> {
  const started = performance.now();
  for (let lo = from; lo <= head; lo += range) {
    const hi = Math.min(head, lo + range - 1);
    await node.provider.send("eth_getLogs", [
      { address, fromBlock: `0x${lo.toString(16)}`, toBlock: `0x${hi.toString(16)}` },
    ]);
  }
  return (performance.now() - started) / 1000;
}

/** User + system CPU seconds of a live process, from /proc (Linux); NaN elsewhere. */
function cpuSecondsOf(pid: number | undefined): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    // utime and stime are fields 14 and 15 of stat, in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

function cursorBlock(dbPath: string): number | null {
  if (!fs.existsSync(dbPath)) return null;
  try {
    const db = new Database(dbPath, { readonly: true, fileMustExist: true });
    try {
      const row = db.prepare("SELECT block_number FROM cursor WHERE id = 1").get() as
        { block_number: number } | undefined;
      return row?.block_number ?? null;
    } finally {
      db.close();
    }
  } catch {
    // Not created yet, or the schema is being written: not there yet.
    return null;
  }
}

/** `traceanchor index` from spawn until its cursor is at `head`; then SIGTERM and a clean exit. */
async function indexProcess(node: HardhatNode, deploymentsDir: string, dir: string, head: number): Promise<IndexRun> {
  const dbPath = path.join(dir, "index.db");
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, "index"], {
    cwd: dir,
    env: cliEnv({
      TRACE_RPC_URL: node.url,
      TRACE_DEPLOYMENTS_DIR: deploymentsDir,
      TRACE_DB: dbPath,
      TRACE_CONTENT_DIR: path.join(dir, "content"),
    }),
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let startupSeconds: number | undefined;
  let seconds: number | undefined;
  let cpuSeconds = Number.NaN;
  try {
    while (seconds === undefined) {
      if (child.exitCode !== null) throw new Error(`traceanchor index exited with ${child.exitCode}:\n${stderr}`);
      if (performance.now() - started > 300_000)
        throw new Error(`traceanchor index did not catch up within 300 s:\n${stderr}`);
      const at = cursorBlock(dbPath);
      const now = (performance.now() - started) / 1000;
      if (at !== null) startupSeconds ??= now;
      if (at !== null && at >= head) {
        seconds = now;
        cpuSeconds = cpuSecondsOf(child.pid);
      } else await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    child.kill("SIGTERM");
  }
  const code = await exited;
  if (code !== 0) throw new Error(`traceanchor index exited with ${code} after SIGTERM:\n${stderr}`);
  const db = new Database(dbPath, { readonly: true });
  const events = (db.prepare("SELECT count(*) AS n FROM events_raw").get() as { n: number }).n;
  db.close();
  return { seconds, cpuSeconds, startupSeconds: startupSeconds ?? seconds, events };
}

/** Builds the chain on one node, then measures bare sweeps and the indexer there. */
async function benchNode(
  kind: NodeKind,
  tmp: string,
): Promise<{ result: NodeResult; node: HardhatNode; address: string }> {
  const node = kind === "anvil" ? await startAnvilNode() : await startHardhatNode();
  try {
    const deploymentsDir = path.join(tmp, kind, "deployments");
    const deployed = await deployWithCli(node, deploymentsDir);
    const d = await connectDeployment(node, deployed.address, deployed.blockNumber);
    const brandId = await setUpBrand(d);
    const submitter = d.as(d.submitter);
    const generated = performance.now();
    for (let made = 0, tx = 0; made < EVENTS; tx++) {
      const count = Math.min(PER_TX, EVENTS - made);
      await mined(
        submitter.anchorMany(
          brandId,
          Array.from({ length: count }, (_, j) => request(`bench-${tx}-${j}`, BigInt(1 + j))),
        ),
      );
      made += count;
      await mine(node, GAP);
    }
    const head = await blockNumber(node);
    const from = deployed.blockNumber;
    process.stderr.write(
      `${kind}: ${EVENTS} anchors in blocks ${from}..${head} in ${((performance.now() - generated) / 1000).toFixed(1)} s\n`,
    );

    // Interleaved, so that a slow moment of the machine does not fall on one range only.
    const times = new Map<number, number[]>(RANGES.map((range) => [range, []]));
    let logs = 0;
    for (let run = 0; run < RUNS; run++) {
      for (const range of RANGES) {
        const sweep = await bareSweep(node.url, d.address, from, head, range);
        times.get(range)?.push(sweep.seconds);
        logs = sweep.logs;
      }
    }
    const bare = new Map([...times].map(([range, seconds]) => [range, median(seconds)]));
    const ethers = new Map<number, number>();
    for (const range of ETHERS_RANGES) ethers.set(range, await ethersSweep(node, d.address, from, head, range));
    const [bestRange, bestSeconds] = [...bare].reduce((best, entry) => (entry[1] < best[1] ? entry : best));
    const headerTimes: number[] = [];
    for (let run = 0; run < RUNS; run++) headerTimes.push(await windowHeaders(node.url, head));

    const runs: IndexRun[] = [];
    for (let run = 0; run < RUNS; run++) {
      const dir = path.join(tmp, kind, `index-${run}`);
      fs.mkdirSync(dir, { recursive: true });
      runs.push(await indexProcess(node, deploymentsDir, dir, head));
      if (runs.at(-1)?.events !== logs)
        throw new Error(
          `${kind}: traceanchor index stored ${runs.at(-1)?.events} events, eth_getLogs returned ${logs}`,
        );
    }
    const index = {
      seconds: median(runs.map((r) => r.seconds)),
      cpuSeconds: median(runs.map((r) => r.cpuSeconds)),
      startupSeconds: median(runs.map((r) => r.startupSeconds)),
      events: logs,
    };
    const afterStartup = median(runs.map((r) => r.seconds - r.startupSeconds));
    process.stderr.write(
      `${kind}: index runs ${runs.map((r) => `${r.seconds.toFixed(2)} s (startup ${r.startupSeconds.toFixed(2)} s, CPU ${r.cpuSeconds.toFixed(2)} s)`).join(", ")}\n`,
    );
    return {
      node,
      address: d.address,
      result: {
        kind,
        fromBlock: from,
        head,
        logs,
        bare,
        ethers,
        bestRange,
        bestBarePerSec: logs / bestSeconds,
        windowHeadersSeconds: median(headerTimes),
        index,
        indexPerSec: logs / index.seconds,
        afterStartupPerSec: logs / afterStartup,
      },
    };
  } catch (error) {
    await node.stop();
    throw error;
  }
}

function nodeTable(r: NodeResult, replayPerSec?: number, processSeconds?: number): string {
  const rows: [string, string, string][] = RANGES.map((range) => {
    const seconds = r.bare.get(range) ?? Number.NaN;
    return [
      `bare eth_getLogs, ${range.toLocaleString("en-US")}-block ranges`,
      `${fmt(r.logs / seconds)} events/s`,
      `${seconds.toFixed(3)} s${range === r.bestRange ? " — best" : ""}`,
    ];
  });
  for (const [range, seconds] of r.ethers) {
    rows.push([
      `reference: eth_getLogs through ethers' JsonRpcProvider, ${range.toLocaleString("en-US")}-block ranges`,
      `${fmt(r.logs / seconds)} events/s`,
      `${seconds.toFixed(3)} s, one run; not the ceiling`,
    ]);
  }
  const bestSeconds = r.logs / r.bestBarePerSec;
  rows.push([
    `reference: the reorg window's headers (eth_getBlockByNumber, the last ${REORG_WINDOW} blocks, batches of 100)`,
    `${r.windowHeadersSeconds.toFixed(3)} s`,
    `${pct(r.windowHeadersSeconds / bestSeconds)} of the best bare sweep's time; the indexer reads them once, bare eth_getLogs never`,
  ]);
  if (processSeconds !== undefined) {
    rows.push([
      "reference: a Node process that starts and exits (`node -e 0`)",
      `${processSeconds.toFixed(3)} s`,
      `${pct(processSeconds / bestSeconds)} of the best bare sweep's time; 80% of the bare rate leaves a whole process ${(bestSeconds / TARGET).toFixed(3)} s in all`,
    ]);
  }
  const ratio = r.indexPerSec / r.bestBarePerSec;
  rows.push([
    "`traceanchor index`, defaults, whole process",
    `${fmt(r.indexPerSec)} events/s`,
    `${r.index.seconds.toFixed(2)} s, CPU ${r.index.cpuSeconds.toFixed(2)} s; **${pct(ratio)}** of the best bare range (target ≥ ${pct(TARGET)})`,
  ]);
  rows.push([
    "the same, after its start-up",
    `${fmt(r.afterStartupPerSec)} events/s`,
    `start-up (CLI loaded, chain and contract found, database open) ${r.index.startupSeconds.toFixed(2)} s; ${pct(r.afterStartupPerSec / r.bestBarePerSec)} of the best bare range`,
  ]);
  if (replayPerSec !== undefined) {
    // The writes alone, with no RPC and no start-up: an indexer that writes no faster cannot beat this.
    rows.push([
      "ceiling set by the writes alone (replay from memory)",
      `${fmt(replayPerSec)} events/s`,
      `${pct(replayPerSec / r.bestBarePerSec)} of the best bare range: the most any indexer writing through this store reaches`,
    ]);
  }
  return ["| measure | result | note |", "|---|---:|---|", ...rows.map((row) => `| ${row.join(" | ")} |`)].join("\n");
}

/** The indexing figures of one node, for BENCH_INDEXER_PARTS=index. */
function indexSummary(r: NodeResult): Record<string, number> {
  return {
    ratio: Number((r.indexPerSec / r.bestBarePerSec).toFixed(3)),
    indexSeconds: Number(r.index.seconds.toFixed(3)),
    startupSeconds: Number(r.index.startupSeconds.toFixed(3)),
    cpuSeconds: r.index.cpuSeconds,
    bestBareSeconds: Number((r.logs / r.bestBarePerSec).toFixed(3)),
    bestRange: r.bestRange,
  };
}

/** Replay: the ranges as the indexer would apply them, from memory through its store. */
async function benchReplay(
  node: HardhatNode,
  address: string,
  from: number,
  head: number,
  tmp: string,
): Promise<{ perSec: number; events: number }> {
  const provider = createHttpProvider(node.url);
  const client = createChainClient(provider);
  const ranges: { logs: ChainLog[]; headers: Map<number, BlockHeader>; to: BlockHeader }[] = [];
  for (let lo = from; lo <= head; lo += 2000) {
    const hi = Math.min(head, lo + 1999);
    const logs = await client.logs(address, lo, hi);
    const found = await client.headers([...new Set(logs.map((log) => log.blockNumber)), hi]);
    const headers = new Map<number, BlockHeader>();
    for (const [n, header] of found) if (header !== null) headers.set(n, header);
    const to = headers.get(hi);
    if (to === undefined) throw new Error(`no header ${hi}`);
    ranges.push({ logs, headers, to });
  }
  provider.destroy();
  const rates: number[] = [];
  let events = 0;
  for (let run = 0; run < RUNS; run++) {
    const db = openDatabase(path.join(tmp, `replay-${run}.db`));
    runMigrations(db);
    const store = createSqliteChainStore(db, { reorgWindow: 128 });
    store.openCursor(31337, address, from);
    const start = performance.now();
    events = 0;
    for (const range of ranges) {
      store.applyRange({ ...range, head, finalizedBlock: head });
      events += range.logs.length;
    }
    rates.push(events / ((performance.now() - start) / 1000));
    db.close();
  }
  return { perSec: median(rates), events };
}

async function main(): Promise<void> {
  ensureBuild();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bench-indexer-"));
  try {
    const results: NodeResult[] = [];
    const processSeconds = nodeProcessSeconds();
    let replay: { perSec: number; events: number } | undefined;
    for (const kind of NODES) {
      const { result, node, address } = await benchNode(kind, tmp);
      try {
        results.push(result);
        replay ??= await benchReplay(node, address, result.fromBlock, result.head, tmp);
      } finally {
        await node.stop();
      }
      console.log(`\n${kind}\n${nodeTable(result, replay?.perSec, processSeconds)}`);
    }
    if (replay === undefined) throw new Error("no node measured");
    if (!PARTS.has("ingest")) {
      console.log(`\nreplay from memory: ${fmt(replay.perSec)} events/s (docs/benchmarks.md not rewritten)`);
      console.log(JSON.stringify(Object.fromEntries(results.map((r) => [r.kind, indexSummary(r)]))));
      return;
    }
    const indexerRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
    // Measured alone, after the nodes are gone, so the two do not share the two cores.
    const ingestRecords = Number(process.env.BENCH_INGEST_RECORDS ?? 1_000_000);
    const ingest = await benchIngest(ingestRecords);
    // The same batch into PostgreSQL (the test server helper: TRACE_TEST_PG_URL, else a throwaway cluster).
    const pgIngest = await benchIngest(ingestRecords, { engine: "postgres" });
    const first = results[0] as NodeResult;
    const of = (kind: NodeKind): NodeResult | undefined => results.find((r) => r.kind === kind);

    const rows: [string, string, string, string][] = [
      ["replay from memory", `${fmt(replay.perSec)} events/s`, "", "target ≥ 20,000"],
      ["peak RSS, benchmark process", `${indexerRssMiB} MiB`, "", "holds every log in memory for the replay"],
      [
        `content ingestion, ${ingest.ingestRecords.toLocaleString("en-US")} identity records`,
        `${ingest.ingestSeconds.toFixed(1)} s (stage ${ingest.stageSeconds.toFixed(1)} s, commit ${ingest.commitSeconds.toFixed(1)} s)`,
        `${pgIngest.ingestSeconds.toFixed(1)} s (stage ${pgIngest.stageSeconds.toFixed(1)} s, commit ${pgIngest.commitSeconds.toFixed(1)} s)`,
        "targets ≤ 20 s SQLite, ≤ 60 s PostgreSQL; one storeContent call",
      ],
      ["peak RSS, ingesting process", `${ingest.peakRssMiB} MiB`, `${pgIngest.peakRssMiB} MiB`, "target ≤ 1,024 MiB"],
      [
        "bytes per identity record",
        ingest.bytesPerIdentityRecord.toLocaleString("en-US"),
        pgIngest.bytesPerIdentityRecord.toLocaleString("en-US"),
        "records + item keys + tree + indexes (SQLite: file growth; PostgreSQL: pg_total_relation_size); target ≤ 450",
      ],
    ];
    const table = [
      "| measure | SQLite | PostgreSQL | note |",
      "|---|---|---|---|",
      ...rows.map((row) => `| ${row.join(" | ")} |`),
    ].join("\n");
    const tried = Object.entries(overrides());
    const settings =
      tried.length === 0
        ? "its defaults (no `TRACE_INDEX_*` set)"
        : `**${tried.map(([k, v]) => `${k}=${v}`).join(", ")}** (not the defaults)`;
    const body = [
      "## Indexer (`npm run bench:indexer`)",
      "",
      `${first.logs.toLocaleString("en-US")} logs (${EVENTS.toLocaleString("en-US")} Anchored events, ${PER_TX} per anchorMany, ${GAP} empty blocks after each, plus the deployment's and the brand's) in blocks ${first.fromBlock}..${first.head}, ` +
        "the contract deployed by `traceanchor deploy` with TRACE_RPC_URL. One node at a time. " +
        `\`traceanchor index\` runs as a whole process (compiled CLI, plain node) with ${settings}, timed from spawn until its cursor is at the head; ` +
        "bare eth_getLogs is one request at a time with fetch and JSON.parse only. Each figure is the median of 3 runs; the machine's 2 cores are shared, so compare figures of one run only.",
      "",
      ...results.flatMap((r) => [
        `### ${r.kind === "anvil" ? "anvil (@foundry-rs/anvil)" : "Hardhat node"}`,
        "",
        nodeTable(r, replay.perSec, processSeconds),
        "",
      ]),
      "### Replay and content ingestion",
      "",
      table,
    ].join("\n");
    writeBenchSection("indexer", body);
    console.log(`\n${table}`);
    const hardhat = of("hardhat") ?? first;
    const anvil = of("anvil");
    console.log(
      JSON.stringify({
        events: hardhat.logs,
        eventsPerSec: Math.round(hardhat.indexPerSec),
        getLogsOnlyPerSec: Math.round(hardhat.bestBarePerSec),
        replayEventsPerSec: Math.round(replay.perSec),
        ingestRecords: ingest.ingestRecords,
        ingestSeconds: Number(ingest.ingestSeconds.toFixed(2)),
        peakRssMiB: ingest.peakRssMiB,
        bytesPerIdentityRecord: ingest.bytesPerIdentityRecord,
        pgIngestRecords: pgIngest.ingestRecords,
        pgIngestSeconds: Number(pgIngest.ingestSeconds.toFixed(2)),
        pgPeakRssMiB: pgIngest.peakRssMiB,
        pgBytesPerIdentityRecord: pgIngest.bytesPerIdentityRecord,
        ratio: Number((hardhat.indexPerSec / hardhat.bestBarePerSec).toFixed(3)),
        getLogsBestRange: hardhat.bestRange,
        indexSeconds: Number(hardhat.index.seconds.toFixed(3)),
        indexStartupSeconds: Number(hardhat.index.startupSeconds.toFixed(3)),
        ...(anvil === undefined
          ? {}
          : {
              anvilEventsPerSec: Math.round(anvil.indexPerSec),
              anvilGetLogsOnlyPerSec: Math.round(anvil.bestBarePerSec),
              anvilRatio: Number((anvil.indexPerSec / anvil.bestBarePerSec).toFixed(3)),
              anvilGetLogsBestRange: anvil.bestRange,
              anvilIndexSeconds: Number(anvil.index.seconds.toFixed(3)),
              anvilIndexStartupSeconds: Number(anvil.index.startupSeconds.toFixed(3)),
            }),
      }),
    );
    if (replay.events !== hardhat.logs)
      throw new Error(`event counts differ: getLogs ${hardhat.logs}, replay ${replay.events}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
