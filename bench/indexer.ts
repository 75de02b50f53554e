/**
 * Indexer throughput against a local Hardhat node holding ≥ 10,000 Anchored events:
 *   - getLogs only: a bare eth_getLogs loop over the same blocks and ranges (the RPC's ceiling);
 *   - indexer: createIndexer().syncOnce() into a fresh SQLite file (target ≥ 50% of getLogs only);
 *   - replay: the indexer's own work on the same logs held in memory — decode, derive, write,
 *     advance the cursor — with no RPC (target ≥ 20,000 events/s).
 *   - ingest: a 1,000,000-record identity batch streamed, its root rebuilt and checked, stored
 *     (target ≤ 30 s, ≤ 1 GiB peak RSS of the ingesting process), and the SQLite bytes per record.
 * Prints a table and, as its last line, one JSON object.
 *
 *   npm run bench:indexer   [BENCH_EVENTS=10000 BENCH_PER_TX=250 BENCH_GAP=5 BENCH_MAX_RANGE=2000]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createIndexer, openDatabase, runMigrations } from "../indexer";
import { createChainClient } from "../indexer/rpc";
import type { BlockHeader, ChainLog } from "../indexer/rpc";
import { createStore } from "../indexer/store";
import { blockNumber, deployTraceAnchor, mine, mined, request, setUpBrand } from "../test/indexer/helpers/chain";
import { startHardhatNode } from "../test/indexer/helpers/node";
import { benchIngest } from "../test/indexer/fixtures-ingest/bench-ingest";
import { writeBenchSection } from "./report";

const EVENTS = Number.parseInt(process.env.BENCH_EVENTS ?? "10000", 10);
const PER_TX = Number.parseInt(process.env.BENCH_PER_TX ?? "250", 10);
const GAP = Number.parseInt(process.env.BENCH_GAP ?? "5", 10);
const MAX_RANGE = Number.parseInt(process.env.BENCH_MAX_RANGE ?? "2000", 10);
const RUNS = 3;

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bench-indexer-"));
  const node = await startHardhatNode();
  try {
    const d = await deployTraceAnchor(node);
    const brandId = await setUpBrand(d);
    const submitter = d.as(d.submitter);
    const generated = Date.now();
    for (let made = 0, tx = 0; made < EVENTS; tx++) {
      const count = Math.min(PER_TX, EVENTS - made);
      await mined(submitter.anchorMany(brandId, Array.from({ length: count }, (_, j) => request(`bench-${tx}-${j}`, BigInt(1 + j)))));
      made += count;
      await mine(node, GAP);
    }
    const head = await blockNumber(node);
    const from = d.deployBlock;
    process.stderr.write(`generated ${EVENTS} anchors in blocks ${from}..${head} in ${((Date.now() - generated) / 1000).toFixed(1)} s\n`);

    // Bare eth_getLogs over the same ranges.
    const getLogsRates: number[] = [];
    let rawLogs = 0;
    for (let run = 0; run < RUNS; run++) {
      const start = performance.now();
      rawLogs = 0;
      for (let lo = from; lo <= head; lo += MAX_RANGE) {
        const logs = (await node.provider.send("eth_getLogs", [{ address: d.address, fromBlock: `0x${lo.toString(16)}`, toBlock: `0x${Math.min(head, lo + MAX_RANGE - 1).toString(16)}` }])) as unknown[];
        rawLogs += logs.length;
      }
      getLogsRates.push(rawLogs / ((performance.now() - start) / 1000));
    }

    // The indexer, end to end, into a fresh file each run.
    const indexerRates: number[] = [];
    let indexedEvents = 0;
    for (let run = 0; run < RUNS; run++) {
      const db = openDatabase(path.join(tmp, `indexer-${run}.db`));
      const indexer = createIndexer({ db, provider: node.provider, contract: d.address, log: silent, config: { fromBlock: from, maxRange: MAX_RANGE } });
      const start = performance.now();
      await indexer.syncOnce();
      const seconds = (performance.now() - start) / 1000;
      indexedEvents = (db.prepare("SELECT count(*) AS n FROM events_raw").get() as { n: number }).n;
      indexerRates.push(indexedEvents / seconds);
      db.close();
    }

    // Replay: the same ranges from memory through the indexer's store.
    const client = createChainClient(node.provider);
    const ranges: { logs: ChainLog[]; headers: Map<number, BlockHeader>; to: BlockHeader }[] = [];
    for (let lo = from; lo <= head; lo += MAX_RANGE) {
      const hi = Math.min(head, lo + MAX_RANGE - 1);
      const logs = await client.logs(d.address, lo, hi);
      const found = await client.headers([...new Set(logs.map((log) => log.blockNumber)), hi]);
      const headers = new Map<number, BlockHeader>();
      for (const [n, header] of found) if (header !== null) headers.set(n, header);
      const to = headers.get(hi);
      if (to === undefined) throw new Error(`no header ${hi}`);
      ranges.push({ logs, headers, to });
    }
    const replayRates: number[] = [];
    let replayed = 0;
    for (let run = 0; run < RUNS; run++) {
      const db = openDatabase(path.join(tmp, `replay-${run}.db`));
      runMigrations(db);
      const store = createStore(db, { reorgWindow: 128 });
      store.openCursor(31337, d.address, from);
      const start = performance.now();
      replayed = 0;
      for (const range of ranges) {
        store.applyRange({ ...range, head, finalizedBlock: head });
        replayed += range.logs.length;
      }
      replayRates.push(replayed / ((performance.now() - start) / 1000));
      db.close();
    }

    const eventsPerSec = Math.round(median(indexerRates));
    const getLogsOnlyPerSec = Math.round(median(getLogsRates));
    const replayEventsPerSec = Math.round(median(replayRates));
    const indexerRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
    await node.stop();
    // Measured alone, after the node is gone, so the two do not share the two cores.
    const ingest = await benchIngest(Number(process.env.BENCH_INGEST_RECORDS ?? 1_000_000));
    const peakRssMiB = ingest.peakRssMiB;
    const ratio = eventsPerSec / getLogsOnlyPerSec;
    const rows: [string, string, string][] = [
      ["events (logs in range)", String(indexedEvents), ""],
      ["eth_getLogs only", `${getLogsOnlyPerSec.toLocaleString("en-US")} events/s`, "ceiling"],
      ["indexer end to end", `${eventsPerSec.toLocaleString("en-US")} events/s`, `${(ratio * 100).toFixed(0)}% of getLogs only (target ≥ 50%)`],
      ["replay from memory", `${replayEventsPerSec.toLocaleString("en-US")} events/s`, "target ≥ 20,000"],
      ["peak RSS, indexer benchmark process", `${indexerRssMiB} MiB`, "holds every log in memory for the replay"],
      [`content ingestion, ${ingest.ingestRecords.toLocaleString("en-US")} identity records`, `${ingest.ingestSeconds.toFixed(1)} s`, `target ≤ 30 s (check + stage ${ingest.stageSeconds.toFixed(1)} s, one transaction ${ingest.commitSeconds.toFixed(1)} s)`],
      ["peak RSS, ingesting process", `${ingest.peakRssMiB} MiB`, "target ≤ 1,024 MiB"],
      ["SQLite bytes per identity record", ingest.bytesPerIdentityRecord.toLocaleString("en-US"), "records + item keys + tree + indexes"],
    ];
    const table = ["| measure | result | note |", "|---|---|---|", ...rows.map((row) => `| ${row.join(" | ")} |`)].join("\n");
    const body =
      `## Indexer (\`npm run bench:indexer\`)\n\n${EVENTS} Anchored events (${PER_TX} per anchorMany, ${GAP} empty blocks between) on a local Hardhat node, ` +
      `blocks ${from}..${head}, eth_getLogs ranges of ${MAX_RANGE} blocks; median of ${RUNS} runs.\n\n${table}`;
    writeBenchSection("indexer", body);
    console.log(table);
    console.log(
      JSON.stringify({
        events: indexedEvents,
        eventsPerSec,
        getLogsOnlyPerSec,
        replayEventsPerSec,
        ingestRecords: ingest.ingestRecords,
        ingestSeconds: Number(ingest.ingestSeconds.toFixed(2)),
        peakRssMiB,
        bytesPerIdentityRecord: ingest.bytesPerIdentityRecord,
      }),
    );
    if (rawLogs !== indexedEvents || replayed !== indexedEvents) throw new Error(`event counts differ: getLogs ${rawLogs}, indexer ${indexedEvents}, replay ${replayed}`);
  } finally {
    await node.stop().catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
