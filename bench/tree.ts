/**
 * `npm run bench:tree`: the batch builder at scale and our tree against OpenZeppelin's.
 *
 * 1. Generates a 1,000,000-row identity CSV (valid GTIN-14s, serials, lots) in a temp dir.
 * 2. buildBatch on it: wall seconds and peak RSS (process.resourceUsage().maxRSS, read right after).
 * 3. On the first 50,000 records of the content file: OZ StandardMerkleTree.of(hashes, ["bytes32"])
 *    (given the record hashes) vs our full path canonical JSON → recordHash → buildTree; roots must match.
 * 4. Whole processes on a 60,000-record CSV: `traceanchor batch build` (the compiled CLI, plain node)
 *    against a plain node process that reads the same records and runs OpenZeppelin's
 *    StandardMerkleTree.of over their hashes (bench/oz-tree.js); alternated, the first pair cold
 *    (a fresh build's first run); roots must match. Target: ours ≥ 5× faster on every run.
 * 5. Raw keccak256 throughput of the selected backend on 64-byte inputs (one node hash).
 *
 * Prints a table, rewrites its section of docs/benchmarks.md, and ends with one JSON line.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { mkdtemp, rm } from "node:fs/promises";
import { writeBenchSection } from "./report";
import { writeIdentityCsv } from "../test/helpers/identity-csv";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { createReadStream } from "node:fs";
import {
  buildBatch,
  buildTree,
  canonicalRecord,
  keccak256Into,
  keccakBackendName,
  parseRecord,
  recordHashInto,
  type TraceAnchorRecord,
} from "../core";

const RECORDS = 1_000_000;
const OZ_RECORDS = 50_000;

async function firstRecords(content: string, n: number): Promise<TraceAnchorRecord[]> {
  const rl = createInterface({ input: createReadStream(content), crlfDelay: Infinity });
  const records: TraceAnchorRecord[] = [];
  let header = true;
  for await (const line of rl) {
    if (header) {
      header = false;
      continue;
    }
    records.push(parseRecord(JSON.parse(line)));
    if (records.length === n) break;
  }
  rl.close();
  return records;
}

function keccakPerSecond(): number {
  const input = new Uint8Array(64).fill(1);
  const out = new Uint8Array(32);
  let count = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < 1e9) {
    for (let i = 0; i < 10_000; i++) keccak256Into(input, out, 0);
    count += 10_000;
    elapsed = Number(process.hrtime.bigint() - start);
  }
  return Math.round(count / (elapsed / 1e9));
}

const ROOT = path.join(__dirname, "..");
const PROCESS_RECORDS = 60_000;
const PROCESS_RUNS = Number(process.env.BENCH_TREE_PROCESS_RUNS ?? 5);

interface ProcessRun {
  readonly ours: number;
  readonly oz: number;
}

/** Wall seconds of one child process and what it printed. */
function timed(args: string[]): { seconds: number; stdout: string } {
  const started = process.hrtime.bigint();
  const stdout = execFileSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", env: { ...process.env } });
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, stdout };
}

/** `traceanchor batch build` vs OpenZeppelin's tree, each as a whole process, alternated. */
async function wholeProcesses(dir: string): Promise<ProcessRun[]> {
  execFileSync("npm", ["run", "--silent", "build"], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  const csv = path.join(dir, "identity-60k.csv");
  await writeIdentityCsv(csv, { rows: PROCESS_RECORDS, products: 100, itemsPerLot: 1000, withAttribute: true });
  const runs: ProcessRun[] = [];
  for (let i = 0; i < PROCESS_RUNS; i++) {
    const out = path.join(dir, `process-${i}`);
    const ours = timed([
      path.join(ROOT, "bin", "traceanchor.js"),
      "batch",
      "build",
      "--kind",
      "identity",
      "--input",
      csv,
      "--out",
      out,
      "--json",
    ]);
    const content = fs.readdirSync(out).find((f) => f.endsWith(".ndjson"));
    if (content === undefined) throw new Error("batch build wrote no content file");
    const oz = timed([path.join(ROOT, "bench", "oz-tree.js"), path.join(out, content)]);
    if (`${path.basename(content, ".ndjson")}\n` !== oz.stdout)
      throw new Error(`root mismatch: ours ${content}, OpenZeppelin ${oz.stdout}`);
    runs.push({ ours: ours.seconds, oz: oz.seconds });
  }
  return runs;
}

const seconds = (startNs: bigint): number => Number(process.hrtime.bigint() - startNs) / 1e9;

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "bench-tree-"));
  try {
    const csv = path.join(dir, "identity.csv");
    await writeIdentityCsv(csv, { rows: RECORDS, products: 100, itemsPerLot: 10_000, withAttribute: true });

    const t0 = process.hrtime.bigint();
    const batch = await buildBatch({ kind: "identity", input: csv, outDir: path.join(dir, "out") });
    const batchSeconds = seconds(t0);
    const peakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
    if (batch.leafCount !== RECORDS) throw new Error(`expected ${RECORDS} records, got ${batch.leafCount}`);

    const records = await firstRecords(batch.content, OZ_RECORDS);
    // Both trees get the same input, the 50,000 record hashes, exactly what StandardMerkleTree.of takes.
    const t1 = process.hrtime.bigint();
    const packed = new Uint8Array(records.length * 32);
    records.forEach((r, i) => recordHashInto(canonicalRecord(r), packed, i * 32));
    const hashSeconds = seconds(t1);
    const t1b = process.hrtime.bigint();
    const ours = buildTree(packed);
    const treeSeconds = seconds(t1b);
    const ourSeconds = hashSeconds + treeSeconds;

    const hexes = records.map((_, i) => [`0x${Buffer.from(packed.subarray(i * 32, i * 32 + 32)).toString("hex")}`]);
    const t2 = process.hrtime.bigint();
    const oz = StandardMerkleTree.of(hexes, ["bytes32"]);
    const ozSeconds = seconds(t2);
    if (oz.root !== ours.root) throw new Error(`root mismatch: OZ ${oz.root} vs ours ${ours.root}`);

    const processRuns = await wholeProcesses(dir);
    const processRatios = processRuns.map((r) => r.oz / r.ours);
    const minProcessRatio = Math.min(...processRatios);
    const keccakPerSec = keccakPerSecond();
    const speedup = ozSeconds / treeSeconds;
    const fullPathSpeedup = ozSeconds / ourSeconds;
    const cpus = os.cpus();
    const machine = `${cpus[0]?.model ?? "unknown CPU"}, ${cpus.length} cores, Node ${process.version}, ${os.platform()} ${os.arch()}`;

    const rows: Array<[string, string, string]> = [
      ["records (identity CSV → content file + root)", RECORDS.toLocaleString("en-US"), ""],
      ["buildBatch wall time", `${batchSeconds.toFixed(2)} s`, "≤ 20 s"],
      ["peak RSS (maxRSS after buildBatch)", `${peakRssMiB} MiB`, "≤ 1024 MiB"],
      [`OZ StandardMerkleTree.of, ${OZ_RECORDS.toLocaleString("en-US")} recordHashes`, `${ozSeconds.toFixed(3)} s`, ""],
      [
        `ours, buildTree on the same ${OZ_RECORDS.toLocaleString("en-US")} recordHashes`,
        `${treeSeconds.toFixed(3)} s`,
        "",
      ],
      ["speedup (OZ / ours), same input, same root", `${speedup.toFixed(1)}x`, "≥ 30x"],
      [
        `ours incl. canonical JSON + recordHash of the ${OZ_RECORDS.toLocaleString("en-US")} records`,
        `${ourSeconds.toFixed(3)} s`,
        "",
      ],
      ["OZ tree alone / our whole path (records → root)", `${fullPathSpeedup.toFixed(1)}x`, ""],
      [
        `whole processes, ${PROCESS_RECORDS.toLocaleString("en-US")}-record CSV: \`batch build\` s / OZ tree process s, per run (first cold)`,
        processRuns.map((r) => `${r.ours.toFixed(2)} / ${r.oz.toFixed(2)}`).join("; "),
        "",
      ],
      [
        "whole-process speedup (OZ / ours), per run",
        processRatios.map((r) => `${r.toFixed(1)}x`).join(", "),
        "≥ 5x on every run",
      ],
      [`keccak256 on 64 bytes (${keccakBackendName()})`, `${keccakPerSec.toLocaleString("en-US")} /s`, ""],
    ];
    const table = [
      "| measure | result | target |",
      "|---|---|---|",
      ...rows.map(([m, r, t]) => `| ${m} | ${r} | ${t} |`),
    ].join("\n");
    const section = [
      "## Batch build and Merkle tree (`npm run bench:tree`)",
      "",
      table,
      "",
      "`speedup` compares the two tree builders on the same input (the 50,000 record hashes, which is what",
      "`StandardMerkleTree.of` takes). The last row is the stricter comparison: OpenZeppelin's tree alone against",
      "our whole path from records (canonical JSON, recordHash, leaves, tree). Roots are asserted equal.",
      `The whole-process rows time \`traceanchor batch build\` (compiled CLI: start-up, CSV parsing and checks, salts, canonical JSON, hashes, tree, content file) from spawn to exit against \`node bench/oz-tree.js\` (start-up, reading the same records from the content file, OpenZeppelin's keccak256 of each, \`StandardMerkleTree.of\`), alternated, ${PROCESS_RUNS} pairs, the first right after \`npm run build\`.`,
      `keccak256 throughput is the floor: a batch of n records needs about 4n hashes, i.e. ${((4 * RECORDS) / keccakPerSec).toFixed(1)} s`,
      `of pure hashing for ${RECORDS.toLocaleString("en-US")} records at the measured rate; buildBatch took ${batchSeconds.toFixed(1)} s.`,
    ].join("\n");
    console.log(`\n${machine}\n\n${table}\n`);
    writeBenchSection("tree", section);
    console.log(
      JSON.stringify({
        records: RECORDS,
        seconds: Number(batchSeconds.toFixed(3)),
        ozSeconds: Number(ozSeconds.toFixed(3)),
        speedup: Number(speedup.toFixed(1)),
        processSpeedupMin: Number(minProcessRatio.toFixed(1)),
        peakRssMiB,
        keccakPerSec,
      }),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
