/**
 * `npm run bench:api`: the Digital Link item route over a mirror of 1,000,000 identity records,
 * against a bare Fastify route returning a constant JSON object, on the same machine in the same run.
 *
 * 1. Builds the mirror directly in bulk (no chain, no content file): 4 identity batches of 250,000
 *    records (100 GTINs, serials, 1,000 lots) with their trees, plus a trace batch naming 1,000 lots,
 *    written exactly as the indexer's schema expects.
 * 1b. Copies that mirror into a fresh PostgreSQL database (TRACE_TEST_PG_URL's server, else a
 *    throwaway cluster as the tests start one) with mirror/copy.ts.
 * 2. Runs each server of bench/api-server.ts from the compiled build (built first when dist/ is stale)
 *    in a plain-node child: the real app (buildApp, read-only mirror, scans on, rate limit off, no
 *    request logs) over each engine, a bare Fastify route, and (reference only) bare routes sending one item document:
 *    alone, after one key seek in the mirror, and after the item route's own read of the item.
 * 3. autocannon in this process, 32 connections, 10 s each after a warm-up; item requests spread at
 *    random over all items. Checks that a sample of item responses are genuine with verifying proofs.
 *
 * Prints a table, rewrites its section of docs/benchmarks.md, and ends with one JSON line:
 * {"records","itemReqPerSec","bareReqPerSec","ratio","p99Ms"} and the same keys prefixed pg for the
 * PostgreSQL mirror. Targets: ratio ≥ 0.40, p99 ≤ 25 ms, on both engines.
 *
 *   node --max-old-space-size=4096 -r ts-node/register/transpile-only bench/api.ts
 */
import { execFileSync, fork, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import autocannon from "autocannon";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import {
  buildTree,
  canonicalRecord,
  contentHeaderLine,
  createSaltSource,
  gs1CheckDigit,
  identityRecord,
  lgtinUrn,
  recordHashInto,
  traceRecord,
} from "../core";
import { openDatabase, runMigrations } from "../mirror/db";
import { copyMirror } from "../mirror/copy";
import { openStore, sqliteStore } from "../mirror/store";
import { createTestDatabase, dropTestDatabase } from "../test/helpers/postgres";
import { createContentStore, storeContent } from "../mirror/write/content";
import { createSqliteSeeder } from "../mirror/write/seed";
import { buildIsFresh } from "../bin/build-fresh";
import type { ServerMode } from "./api-server";
import { writeBenchSection } from "./report";

const RECORDS = Number(process.env.BENCH_API_RECORDS ?? 1_000_000);
const BATCHES = 4;
const GTINS = 100;
const LOTS = 1000;
const CONNECTIONS = 32;
const DURATION_S = Number(process.env.BENCH_API_SECONDS ?? 10);
const WARMUP_S = 3;
const PREFIX = "9506000";
const CONTRACT = "0x5fbdb2315678afecb367f032d93f642f64180aa3";

const gtins = Array.from({ length: GTINS }, (_, i) => {
  const body = `0${PREFIX}${String(10_000 + i).padStart(5, "0")}`;
  return `${body}${gs1CheckDigit(body)}`;
});
const itemOf = (i: number) => ({
  gtin: gtins[i % GTINS] as string,
  serial: `S${i}`,
  lot: `L${Math.floor(i / GTINS) % LOTS}`,
});

/** A mirror of RECORDS identity records in BATCHES batches and one trace batch, stored as the ingester stores contents. */
async function buildMirror(file: string): Promise<{ seconds: number; bytes: number }> {
  const started = process.hrtime.bigint();
  const db = openDatabase(file);
  runMigrations(db);
  db.pragma("synchronous = OFF");
  const salt = createSaltSource(new Uint8Array(32).fill(7));
  const hex = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;
  const seed = createSqliteSeeder(db);
  const store = createContentStore(sqliteStore(db));
  seed.cursor({
    chainId: 31337,
    contract: CONTRACT,
    fromBlock: 1,
    blockNumber: 1000,
    blockHash: hex(1000),
    headBlock: 1000,
    finalizedBlock: 990,
  });
  seed.block({ number: 1000, hash: hex(1000), parentHash: hex(999), timestamp: 1709260000 });
  seed.brand({
    brandId: 1,
    admin: `0x${"a1".repeat(20)}`,
    name: "Bench Brand",
    block: 1,
    tx: hex(1),
    log: 0,
    time: 1709250000,
  });
  seed.prefix({ prefix: PREFIX, brandId: 1, block: 1, tx: hex(2), log: 1, time: 1709250000 });
  seed.submitter({
    brandId: 1,
    account: `0x${"f1".repeat(20)}`,
    role: "factory",
    roleRaw: `0x${Buffer.from("factory").toString("hex").padEnd(64, "0")}`,
    block: 1,
    tx: hex(3),
    log: 2,
    time: 1709250000,
  });

  const writeBatch = async (kind: 1 | 2, texts: string[], block: number): Promise<void> => {
    const packed = Buffer.alloc(texts.length * 32);
    texts.forEach((text, i) => recordHashInto(text, packed, i * 32));
    const root = buildTree(packed).root;
    seed.anchor({
      brandId: 1,
      root,
      kind,
      leafCount: texts.length,
      contentUri: `ipfs://bench/${root}`,
      submitter: `0x${"f1".repeat(20)}`,
      blockNumber: block,
      blockHash: hex(block),
      txHash: hex(block * 7),
      logIndex: 0,
      blockTime: 1709250000 + 12 * block,
    });
    const anchor = await store.anchor({ brandId: 1, root });
    if (anchor === undefined) throw new Error("bench anchor not stored");
    const header = contentHeaderLine({ v: 1, kind: kind === 1 ? "identity" : "trace", root, leafCount: texts.length });
    const content = (function* () {
      yield `${header}\n`;
      for (let i = 0; i < texts.length; i += 10_000) yield `${texts.slice(i, i + 10_000).join("\n")}\n`;
    })();
    const outcome = await storeContent(store, anchor, Readable.from(content));
    if (!outcome.ok) throw new Error(`bench content not stored: ${outcome.reason}`);
  };

  const perBatch = Math.ceil(RECORDS / BATCHES);
  for (let b = 0; b < BATCHES; b++) {
    const from = b * perBatch;
    const to = Math.min(RECORDS, from + perBatch);
    const texts: string[] = [];
    for (let i = from; i < to; i++) texts.push(canonicalRecord(identityRecord(itemOf(i), salt(i))));
    await writeBatch(1, texts, 100 + b);
  }
  const events = Array.from({ length: LOTS }, (_, j) =>
    traceRecord(
      {
        type: "ObjectEvent",
        action: "OBSERVE",
        eventTime: new Date(Date.UTC(2024, 2, 1) + j * 60_000).toISOString(),
        eventTimeZoneOffset: "+00:00",
        bizStep: "shipping",
        quantityList: [{ epcClass: lgtinUrn(gtins[j % GTINS] as string, `L${j}`, PREFIX.length), quantity: 100 }],
      },
      salt(RECORDS + j),
    ),
  );
  await writeBatch(
    2,
    events.map((e) => canonicalRecord(e)),
    200,
  );
  db.close();
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, bytes: fs.statSync(file).size };
}

const COMPILED_SERVER = path.join(__dirname, "..", "dist", "bench", "api-server.js");

/** Builds dist/ when it is missing or older than the sources, so the servers run the code measured. */
function ensureBuild(): void {
  if (buildIsFresh(COMPILED_SERVER)) return;
  process.stderr.write("dist/ is older than the sources: npm run build…\n");
  execFileSync("npm", ["run", "--silent", "build"], {
    stdio: ["ignore", "ignore", "inherit"],
    cwd: path.join(__dirname, ".."),
  });
}

/** A server of bench/api-server.ts in its own plain-node child process. */
function start(mode: ServerMode, args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(COMPILED_SERVER, [mode, ...args], {
    execArgv: [],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    child.once("message", (message: { url: string }) => resolve({ child, url: message.url }));
    child.once("exit", (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.removeAllListeners("exit");
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/** The machine is shared: every result is read next to the load average it was measured under. */
const logLoad = (what: string): void => {
  process.stderr.write(
    `${what}: load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(", ")} (${os.cpus().length} cores)\n`,
  );
};

const randomItemPath = (): string => {
  const item = itemOf(Math.floor(Math.random() * RECORDS));
  return `/01/${item.gtin}/21/${item.serial}`;
};

async function load(url: string, seconds: number, randomItems: boolean): Promise<autocannon.Result> {
  return autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    ...(randomItems
      ? {
          requests: [
            { method: "GET", setupRequest: (req: autocannon.Request) => ({ ...req, path: randomItemPath() }) },
          ],
        }
      : {}),
  });
}

/** Checks a few item answers are genuine with verifying proofs (keeping one in `docFile`), warms up, then loads at random items. */
async function measureItem(
  server: { child: ChildProcess; url: string },
  docFile: string | undefined,
  what: string,
): Promise<autocannon.Result> {
  try {
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${server.url}${randomItemPath()}`);
      const text = await res.text();
      const doc = JSON.parse(text) as {
        verdict: string;
        identity: { root: string; recordHash: string; proof: string[] };
      };
      if (
        doc.verdict !== "genuine" ||
        !StandardMerkleTree.verify(doc.identity.root, ["bytes32"], [doc.identity.recordHash], doc.identity.proof)
      ) {
        throw new Error(`${what}: item check failed: ${text.slice(0, 300)}`);
      }
      if (docFile !== undefined) fs.writeFileSync(docFile, text);
    }
    await load(server.url, WARMUP_S, true);
    logLoad(what);
    return await load(server.url, DURATION_S, true);
  } finally {
    await stop(server.child);
  }
}

/** Copies the SQLite mirror into a fresh PostgreSQL database (migrated, COPY, analysed). */
async function copyToPostgres(dbPath: string, url: string): Promise<{ seconds: number; bytes: number }> {
  const started = process.hrtime.bigint();
  const store = await openStore({ db: url, application: "bench-api-copy" });
  const db = openDatabase(dbPath, { readonly: true });
  try {
    if (store.engine !== "postgres") throw new Error("not a PostgreSQL store");
    await copyMirror(db, store.pool);
    await store.pool.query("ANALYZE");
    const size = await store.pool.query<{ bytes: number }>(
      "SELECT pg_database_size(current_database())::bigint AS bytes",
    );
    return { seconds: Number(process.hrtime.bigint() - started) / 1e9, bytes: size.rows[0]?.bytes ?? 0 };
  } finally {
    db.close();
    await store.close();
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-api-"));
  // BENCH_API_DB: keep the built mirror at this path and reuse it on later runs (same RECORDS).
  const keptDb = process.env.BENCH_API_DB;
  const dbPath = keptDb ?? path.join(dir, "trace.db");
  try {
    let built: { seconds: number; bytes: number };
    if (keptDb !== undefined && fs.existsSync(`${keptDb}.built-${RECORDS}`)) {
      built = JSON.parse(fs.readFileSync(`${keptDb}.built-${RECORDS}`, "utf8")) as { seconds: number; bytes: number };
      process.stderr.write(`reusing the mirror of ${RECORDS.toLocaleString("en")} identity records at ${keptDb}\n`);
    } else {
      if (keptDb !== undefined)
        for (const suffix of ["", "-wal", "-shm"]) fs.rmSync(`${keptDb}${suffix}`, { force: true });
      process.stderr.write(`building a mirror of ${RECORDS.toLocaleString("en")} identity records…\n`);
      built = await buildMirror(dbPath);
      if (keptDb !== undefined) fs.writeFileSync(`${keptDb}.built-${RECORDS}`, JSON.stringify(built));
    }
    process.stderr.write(`built in ${built.seconds.toFixed(1)} s, ${(built.bytes / 2 ** 20).toFixed(0)} MiB\n`);

    ensureBuild();
    const docFile = path.join(dir, "item.json");
    const itemResult = await measureItem(
      await start("item", [dbPath, path.join(dir, "scans.db")]),
      docFile,
      "item run",
    );
    // The same mirror, copied row for row into PostgreSQL, behind the same app.
    const pgUrl = await createTestDatabase("bench_api");
    const copied = await copyToPostgres(dbPath, pgUrl);
    process.stderr.write(
      `copied into PostgreSQL in ${copied.seconds.toFixed(1)} s, ${(copied.bytes / 2 ** 20).toFixed(0)} MiB\n`,
    );
    let pgItemResult: autocannon.Result;
    try {
      pgItemResult = await measureItem(await start("item-pg", [pgUrl]), undefined, "item-pg run");
    } finally {
      await dropTestDatabase(pgUrl);
    }
    const measureBare = async (
      mode: ServerMode,
      args: string[],
      what: string,
      randomItems: boolean,
    ): Promise<autocannon.Result> => {
      const server = await start(mode, args);
      try {
        await load(server.url, WARMUP_S, randomItems);
        logLoad(what);
        return await load(server.url, DURATION_S, randomItems);
      } finally {
        await stop(server.child);
      }
    };
    const bareResult = await measureBare("bare", [], "bare run", false);
    // Reference only, not in the ratio: the same document bytes at random item paths, first alone,
    // then after the cheapest read of the item there is, then after the item route's own read.
    const docBytes = fs.statSync(docFile).size.toLocaleString("en");
    const referenceRuns: [ServerMode, string[], string][] = [
      ["bare-doc", [docFile], `bare Fastify, a fixed ${docBytes}-byte item document`],
      ["bare-seek", [dbPath, docFile], "bare Fastify, one key seek for the item's leaf index, then the fixed document"],
      [
        "bare-read",
        [dbPath, docFile],
        "bare Fastify, the item route's read of the item (identity and events, one statement), then the fixed document",
      ],
    ];
    const references: [string, autocannon.Result][] = [];
    for (const [mode, args, what] of referenceRuns)
      references.push([what, await measureBare(mode, args, `${mode} run`, true)]);
    // A reference whose read missed (404) would be measuring less than it claims.
    for (const [what, r] of references) {
      if (r.non2xx > 0 || r.errors > 0)
        throw new Error(`reference "${what}": ${r.non2xx} non-2xx responses, ${r.errors} errors`);
    }
    logLoad("end");

    const itemReqPerSec = Math.round(itemResult.requests.average);
    const bareReqPerSec = Math.round(bareResult.requests.average);
    const ratio = Number((itemReqPerSec / bareReqPerSec).toFixed(3));
    const p99Ms = itemResult.latency.p99;
    const pgItemReqPerSec = Math.round(pgItemResult.requests.average);
    const pgRatio = Number((pgItemReqPerSec / bareReqPerSec).toFixed(3));
    const pgP99Ms = pgItemResult.latency.p99;
    const errors = itemResult.errors + itemResult.non2xx + pgItemResult.errors + pgItemResult.non2xx;
    if (errors > 0) process.stderr.write(`warning: ${errors} item requests failed or were not 2xx\n`);
    const rowOf = (what: string, r: autocannon.Result): string[] => [
      what,
      Math.round(r.requests.average).toLocaleString("en"),
      String(r.latency.p50),
      String(r.latency.p99),
      String(r.errors + r.non2xx),
    ];
    const rows = [
      ["route", "req/s", "p50 ms", "p99 ms", "errors + non-2xx"],
      rowOf("GET /01/{gtin}/21/{serial} (random item), SQLite mirror", itemResult),
      rowOf("GET /01/{gtin}/21/{serial} (random item), PostgreSQL mirror", pgItemResult),
      rowOf("bare Fastify, constant JSON", bareResult),
      ...references.map(([what, r]) => rowOf(`${what} (reference)`, r)),
    ];
    const table = rows
      .map(
        (r, i) =>
          `| ${r.join(" | ")} |${i === 0 ? `\n|${r.map((_, j) => (j === 0 ? "---" : "---:")).join("|")}|` : ""}`,
      )
      .join("\n");
    console.log(table);
    writeBenchSection(
      "api",
      [
        "## Proof API (`npm run bench:api`)",
        "",
        `Mirror of ${RECORDS.toLocaleString("en")} identity records in ${BATCHES} batches (+ a 1,000-event trace batch), built in bulk in ${built.seconds.toFixed(0)} s (${(built.bytes / 2 ** 20).toFixed(0)} MiB).`,
        `autocannon in the bench process, ${CONNECTIONS} connections, ${DURATION_S} s after a ${WARMUP_S} s warm-up; each server in its own child process on the same machine, run from the compiled build with plain node (bench/api-server.ts).`,
        "Item requests are spread at random over all items; every response carries the identity proof, the lot's trace event with its proof, and a counted scan.",
        "",
        table,
        "",
        `The PostgreSQL mirror is the same rows copied with \`mirror copy\`'s COPY (${(copied.bytes / 2 ** 20).toFixed(0)} MiB database); the app reads it through its pool and counts scans in trace_state, as \`TRACE_DB=postgres://… serve\` does.`,
        "",
        `Ratio item / bare: SQLite **${ratio}**, PostgreSQL **${pgRatio}** (target ≥ 0.40); item p99: SQLite **${p99Ms} ms**, PostgreSQL **${pgP99Ms} ms** (target ≤ 25 ms).`,
        "The reference rows are not in the ratio. Each is a bare Fastify route requested at random item paths like the item route, sending the bytes of one item document:",
        "alone (what the response's size costs), after one key seek in the mirror (the cheapest read of an item there is), and after the item route's own read of the item's rows (no proof, rendering, scan count, validation or hooks).",
      ].join("\n"),
      // BENCH_API_REPORT_FILE: write the section elsewhere (default docs/benchmarks.md).
      process.env.BENCH_API_REPORT_FILE,
    );
    console.log(
      JSON.stringify({
        records: RECORDS,
        itemReqPerSec,
        bareReqPerSec,
        ratio,
        p99Ms,
        pgItemReqPerSec,
        pgRatio,
        pgP99Ms,
      }),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
