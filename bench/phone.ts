/**
 * `npm run bench:phone`: a first visit to a genuine item's scan page on an emulated phone network,
 * until the page says "Verified on this phone".
 *
 * 1. Starts the demo of `npm start` in a child process (`traceanchor start` on temp data and free
 *    ports: a local Hardhat chain behind its journaling proxy, the demo brands and batches, the
 *    indexer), and waits for its genuine item: four trace nodes, five events in three trace batches.
 * 2. Builds the API in this process over the demo's mirror (read-only), once per mode:
 *      before  the scan script reading the chain with one application/json request per read (so
 *              each is preceded by a CORS preflight unless one is cached), behind a proxy that
 *              drops Accept-Encoding, so nothing is compressed: the page as it was;
 *      after   the app as it is: compressed responses, the hashed script, batched CORS-simple reads.
 *    BENCH_PHONE_MODES=before,after,head,preconnect adds experiments on top of "after": the script
 *    tag moved into <head>, and a <link rel="preconnect"> to the RPC origin. BENCH_PHONE_SETUP_RTTS=N
 *    makes each new connection wait N round trips before its first request (TCP, TLS), which CDP's
 *    emulation leaves out. Experiments are printed; only the default run rewrites the docs.
 *    The browser reads the chain through a counting proxy in front of the demo's RPC, and each app
 *    through a proxy of its own.
 * 3. Debian's chromium (playwright-core, --headless --no-sandbox --disable-gpu), a phone-sized
 *    viewport, CDP network emulation (300 ms latency, 1.6 Mbit/s down, 750 kbit/s up), a browser
 *    with a new profile for every run (cold first visit); BENCH_PHONE_RUNS runs per mode (default
 *    7), modes interleaved.
 *
 * Measures, from the start of navigation: when the server's verdict is shown (the frame after the
 * verdict block is parsed) and when #check-result gets its class (the in-browser check finished,
 * which must say ok and genuine); requests to the RPC origin (preflights counted), JSON-RPC calls;
 * bytes on the wire per resource type (CDP encodedDataLength: headers and body as received); and
 * from Resource Timing, when the HTML, the script and the chain reads came.
 * Prints a table, rewrites its section of docs/benchmarks.md, ends with one JSON line.
 * Targets: verified ≤ 1.5 s, ≤ 2 RPC requests.
 *
 *   node -r ts-node/register/transpile-only bench/phone.ts
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { chromium, type BrowserContext } from "playwright-core";
import { buildApp } from "../api/app";
import { apiConfig, type ApiConfig } from "../api/config";
import { buildScanScript, type ScriptAsset } from "../api/scan-page/bundle";
import { IMMUTABLE, scanPageRenderer, sendScript } from "../api/scan-page/plugin";
import { openMirror, type Db } from "../mirror/db";
import { freePort } from "../test/indexer/helpers/node";
import { writeBenchSection } from "./report";

const CHROMIUM = "/usr/bin/chromium";
const RUNS = Number(process.env.BENCH_PHONE_RUNS ?? 7);
const MODES = (process.env.BENCH_PHONE_MODES ?? "before,after").split(",").map((m) => m.trim()) as ModeName[];
const NETWORK = { offline: false, latency: 300, downloadThroughput: 1_600_000 / 8, uploadThroughput: 750_000 / 8 };
/** Round trips each new connection costs before its first request (BENCH_PHONE_SETUP_RTTS; 0: as CDP emulates). */
const SETUP_RTTS = Number(process.env.BENCH_PHONE_SETUP_RTTS ?? 0);
const SETUP_MS = SETUP_RTTS * NETWORK.latency;
const TARGET_VERIFIED_MS = 1500;
const TARGET_RPC_REQUESTS = 2;
const ROOT = path.resolve(__dirname, "..");

type ModeName = "before" | "after" | "head" | "preconnect";

const MODE_LABELS: Record<ModeName, string> = {
  before: "uncompressed, one application/json request per chain read (the page as it was)",
  after: "compressed, hashed script, batched text/plain reads (the app as it is)",
  head: "after + script tag in <head> (defer)",
  preconnect: "after + <link rel=preconnect> to the RPC origin",
};

interface RpcCounts {
  requests: number;
  preflights: number;
  posts: number;
  calls: number;
  contentTypes: Set<string>;
}

interface RunResult {
  readonly browser: string;
  readonly verdictShownMs: number;
  readonly verifiedMs: number;
  readonly rpc: {
    readonly requests: number;
    readonly preflights: number;
    readonly calls: number;
    readonly contentTypes: string;
  };
  /** Bytes received per CDP resource type (Document, Script, Fetch, Preflight, …). */
  readonly bytes: Readonly<Record<string, number>>;
  readonly phases: Phases;
}

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

function forward(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  target: string,
  body: Buffer,
  headers: http.IncomingHttpHeaders,
): void {
  const upstream = http.request(`${target}${req.url ?? "/"}`, { method: req.method, headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on("error", (error) => {
    res.writeHead(502);
    res.end(error.message);
  });
  upstream.end(body);
}

/**
 * A pass-through proxy; `inspect` sees each request and its body and may change the headers sent on.
 * A request on a connection younger than SETUP_MS waits until it is that old: the handshakes (TCP,
 * TLS) a real network makes a new connection pay, which CDP's emulation does not model.
 */
async function proxy(
  target: string,
  inspect: (req: http.IncomingMessage, body: Buffer) => http.IncomingHttpHeaders,
): Promise<{ url: string; close(): Promise<void> }> {
  const opened = new WeakMap<object, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const wait = (opened.get(req.socket) ?? 0) + SETUP_MS - Date.now();
      const go = (): void => forward(req, res, target, body, inspect(req, body));
      if (wait > 0) setTimeout(go, wait);
      else go();
    });
  });
  server.on("connection", (socket) => opened.set(socket, Date.now()));
  const url = await listen(server);
  return {
    url,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The browser's RPC: counts requests to it, preflights and JSON-RPC calls. */
async function countingRpc(
  target: string,
): Promise<{ url: string; counts: RpcCounts; reset(): void; close(): Promise<void> }> {
  const counts: RpcCounts = { requests: 0, preflights: 0, posts: 0, calls: 0, contentTypes: new Set() };
  const p = await proxy(target, (req, body) => {
    counts.requests++;
    if (req.method === "OPTIONS") counts.preflights++;
    if (req.method === "POST") {
      counts.posts++;
      counts.contentTypes.add(String(req.headers["content-type"] ?? "none"));
      const message = JSON.parse(body.toString("utf8")) as unknown;
      counts.calls += Array.isArray(message) ? message.length : 1;
    }
    return req.headers;
  });
  return {
    url: p.url,
    counts,
    reset: () => {
      Object.assign(counts, { requests: 0, preflights: 0, posts: 0, calls: 0, contentTypes: new Set() });
    },
    close: () => p.close(),
  };
}

interface Demo {
  readonly child: ChildProcess;
  readonly dbPath: string;
  /** Path and query of the genuine item's Digital Link. */
  readonly genuinePath: string;
  readonly rpcUrl: string;
  stop(): Promise<void>;
}

/** `traceanchor start` on temp data: chain, contract, demo data, indexer; resolves once it serves the genuine item. */
async function startDemo(dir: string): Promise<Demo> {
  const nodePort = await freePort();
  const apiPort = await freePort();
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("TRACE_")),
  );
  Object.assign(env, {
    TRACE_DATA_DIR: path.join(dir, "data"),
    TRACE_DEPLOYMENTS_DIR: path.join(dir, "deployments"),
    TRACE_NODE_PORT: String(nodePort),
    TRACE_PORT: String(apiPort),
    TRACE_LOG_LEVEL: "warn",
  });
  // Its own process group, so its Hardhat node goes with it whatever happens.
  const child = spawn(process.execPath, [path.join(ROOT, "bin", "traceanchor.js"), "start"], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.pid === undefined) return;
    child.kill("SIGINT");
    await Promise.race([new Promise((resolve) => child.once("exit", resolve)), sleep(10_000)]);
    if (child.exitCode === null) process.kill(-child.pid, "SIGKILL");
  };
  const deadline = Date.now() + 600_000;
  for (;;) {
    const genuine = /genuine item:\s+(\S+)/.exec(out)?.[1];
    if (genuine && out.includes("TraceAnchor is running.")) {
      const url = new URL(genuine);
      return {
        child,
        dbPath: path.join(dir, "data", "trace.db"),
        genuinePath: `${url.pathname}${url.search}`,
        rpcUrl: `http://127.0.0.1:${nodePort}`,
        stop,
      };
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`the demo did not start (exit ${child.exitCode}):\n${out}\n${err}`);
    }
    await sleep(500);
  }
}

/** The scan page's HTML with an experiment applied (what render.ts would emit with it). */
function experiment(mode: ModeName, html: string, rpcOrigins: readonly string[]): string {
  if (mode === "head") {
    const tag = /<script src="[^"]+" defer><\/script>\n?/.exec(html)?.[0];
    if (tag === undefined) throw new Error("no script tag to move");
    return html.replace(tag, "").replace("</head>", `${tag.trim()}</head>`);
  }
  if (mode === "preconnect")
    return html.replace(
      "</head>",
      `${rpcOrigins.map((o) => `<link rel="preconnect" href="${o}" crossorigin>`).join("")}</head>`,
    );
  return html;
}

interface Server {
  readonly base: string;
  close(): Promise<void>;
}

async function serve(mode: ModeName, db: Db, config: ApiConfig, single: ScriptAsset): Promise<Server> {
  const contract = (): string | undefined =>
    (db.prepare("SELECT contract FROM cursor WHERE id = 1").get() as { contract: string } | undefined)?.contract;
  const rpcOrigins = [...new Set(config.browserRpcUrls.map((url) => new URL(url).origin))];
  // What api/app.ts renders by default, with the baseline's script for "before".
  const render = scanPageRenderer(
    { rpcUrls: config.browserRpcUrls, scanThreshold: config.scanThreshold, contract },
    mode === "before" ? single : undefined,
  );
  const app = await buildApp({
    db,
    config,
    processMetrics: false,
    ...(mode === "after" ? {} : { renderHtml: async (doc) => experiment(mode, await render(doc), rpcOrigins) }),
  });
  if (mode === "before") app.get(single.url, (request, reply) => sendScript(request, reply, single, IMMUTABLE));
  const base = (await app.listen({ port: 0, host: "127.0.0.1" })).replace(/\/$/, "");
  const front = await proxy(base, (req) => {
    if (mode !== "before") return req.headers;
    // Nothing compressed: the client's Accept-Encoding never reaches the app.
    const headers = { ...req.headers };
    delete headers["accept-encoding"];
    return headers;
  });
  return {
    base: front.url,
    close: async () => {
      await front.close();
      await app.close();
    },
  };
}

/** Installed before the page's own scripts: when the verdict is shown and the check finishes. */
const MARKS = `(() => {
  const marks = {};
  window.__phone = marks;
  const check = () => {
    if (marks.verdictParsed === undefined && document.querySelector(".verdict")) {
      marks.verdictParsed = performance.now();
      requestAnimationFrame(() => { marks.verdictShown = performance.now(); });
    }
    const result = document.getElementById("check-result");
    if (marks.verified === undefined && result && (result.className === "ok" || result.className === "bad")) {
      marks.verified = performance.now();
      marks.result = result.className;
      marks.verdict = result.getAttribute("data-verdict");
      marks.text = result.textContent;
      const nav = performance.getEntriesByType("navigation")[0];
      const resources = performance.getEntriesByType("resource");
      const script = resources.find((r) => r.initiatorType === "script");
      const rpc = resources.filter((r) => r.initiatorType === "fetch");
      marks.phases = {
        htmlFirstByte: nav ? nav.responseStart : NaN,
        htmlEnd: nav ? nav.responseEnd : NaN,
        scriptStart: script ? script.startTime : NaN,
        scriptEnd: script ? script.responseEnd : NaN,
        rpcStart: rpc.length ? Math.min(...rpc.map((r) => r.startTime)) : NaN,
        rpcEnd: rpc.length ? Math.max(...rpc.map((r) => r.responseEnd)) : NaN,
      };
    }
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ["class"] });
})();`;

/** From the Resource Timing entries when the check finished, ms from the start of navigation. */
interface Phases {
  htmlFirstByte: number;
  htmlEnd: number;
  scriptStart: number;
  scriptEnd: number;
  rpcStart: number;
  rpcEnd: number;
}

interface Marks {
  phases?: Phases;
  verdictShown?: number;
  verified?: number;
  result?: string;
  verdict?: string | null;
  text?: string;
}

/**
 * A browser with a new profile of its own: an empty cache, no connections, nothing learned. Not an
 * incognito context (browser.newContext): Chromium ignores <link rel="preconnect"> in those.
 */
async function freshBrowser(profile: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
  });
}

async function visit(url: string, rpc: Awaited<ReturnType<typeof countingRpc>>): Promise<RunResult> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "trace-bench-phone-profile-"));
  const context = await freshBrowser(profile);
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.clearBrowserCache");
    await cdp.send("Network.emulateNetworkConditions", NETWORK);
    const types = new Map<string, string>();
    const bytes: Record<string, number> = {};
    cdp.on("Network.requestWillBeSent", (e: { requestId: string; type?: string }) =>
      types.set(e.requestId, e.type ?? "Other"),
    );
    cdp.on("Network.responseReceived", (e: { requestId: string; type: string }) => types.set(e.requestId, e.type));
    cdp.on("Network.loadingFinished", (e: { requestId: string; encodedDataLength: number }) => {
      const type = types.get(e.requestId) ?? "Other";
      bytes[type] = (bytes[type] ?? 0) + e.encodedDataLength;
    });
    await page.addInitScript(MARKS);
    rpc.reset();
    await page.goto(url, { waitUntil: "commit" });
    await page.waitForFunction(() => (window as unknown as { __phone?: Marks }).__phone?.verified !== undefined, null, {
      timeout: 60_000,
      polling: 50,
    });
    // Let the last responses' loadingFinished events arrive.
    await page.waitForLoadState("load");
    await sleep(200);
    const marks = await page.evaluate((): Marks => (window as unknown as { __phone: Marks }).__phone);
    if (marks.result !== "ok" || marks.verdict !== "genuine")
      throw new Error(`the page did not verify the genuine item: ${marks.result} ${marks.verdict}: ${marks.text}`);
    if (errors.length > 0) throw new Error(`the page threw: ${errors.join("; ")}`);
    const version = (await cdp.send("Browser.getVersion")).product;
    return {
      browser: version,
      verdictShownMs: marks.verdictShown ?? Number.NaN,
      verifiedMs: marks.verified ?? Number.NaN,
      rpc: {
        requests: rpc.counts.requests,
        preflights: rpc.counts.preflights,
        calls: rpc.counts.calls,
        contentTypes: [...rpc.counts.contentTypes].join(", "),
      },
      bytes,
      phases: marks.phases ?? {
        htmlFirstByte: NaN,
        htmlEnd: NaN,
        scriptStart: NaN,
        scriptEnd: NaN,
        rpcStart: NaN,
        rpcEnd: NaN,
      },
    };
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const kb = (n: number): string => `${(n / 1024).toFixed(1)} KB`;

function summarise(runs: readonly RunResult[]) {
  const pick = (f: (r: RunResult) => number) => ({ median: median(runs.map(f)), max: Math.max(...runs.map(f)) });
  const types = [...new Set(runs.flatMap((r) => Object.keys(r.bytes)))].sort();
  return {
    verdictShown: pick((r) => r.verdictShownMs),
    verified: pick((r) => r.verifiedMs),
    rpcRequests: pick((r) => r.rpc.requests),
    preflights: pick((r) => r.rpc.preflights),
    calls: pick((r) => r.rpc.calls),
    contentTypes: [...new Set(runs.map((r) => r.rpc.contentTypes))].join("; "),
    browser: [...new Set(runs.map((r) => r.browser))].join(", "),
    bytes: Object.fromEntries(types.map((t) => [t, median(runs.map((r) => r.bytes[t] ?? 0))])) as Record<
      string,
      number
    >,
    total: median(runs.map((r) => Object.values(r.bytes).reduce((a, b) => a + b, 0))),
    phases: Object.fromEntries(
      (Object.keys(runs[0]?.phases ?? {}) as (keyof Phases)[]).map((k) => [k, median(runs.map((r) => r.phases[k]))]),
    ) as unknown as Phases,
  };
}

async function main(): Promise<void> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is not installed (apt-get install chromium)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trace-bench-phone-"));
  console.log("starting the demo (chain, contract, demo data, indexer)…");
  const startedAt = Date.now();
  const demo = await startDemo(dir);
  console.log(`demo up in ${((Date.now() - startedAt) / 1000).toFixed(0)} s; genuine item ${demo.genuinePath}`);
  const rpc = await countingRpc(demo.rpcUrl);
  const db = openMirror({ db: demo.dbPath, readonly: true });
  const config = apiConfig({ port: 0, rateLimit: 0, scans: false, browserRpcUrls: [rpc.url] });
  const single = await buildScanScript({ rpc: "single" });
  const servers = new Map<ModeName, Server>();
  const results = new Map<ModeName, RunResult[]>(MODES.map((m) => [m, []]));
  try {
    for (const mode of MODES) servers.set(mode, await serve(mode, db, config, single));
    // One visit per mode first, not counted: the servers' first requests warm their caches.
    for (const mode of MODES) await visit(`${servers.get(mode)!.base}${demo.genuinePath}`, rpc);
    for (let run = 0; run < RUNS; run++) {
      for (const mode of MODES) {
        const result = await visit(`${servers.get(mode)!.base}${demo.genuinePath}`, rpc);
        results.get(mode)!.push(result);
        console.log(
          `${mode} #${run + 1}: verdict ${s(result.verdictShownMs)}, verified ${s(result.verifiedMs)}, ${result.rpc.requests} RPC requests (${result.rpc.preflights} preflights, ${result.rpc.calls} calls), ${JSON.stringify(result.bytes)}`,
        );
      }
    }
  } finally {
    for (const server of servers.values()) await server.close();
    db.close();
    await rpc.close();
    await demo.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const summaries = MODES.map((mode) => ({ mode, ...summarise(results.get(mode)!) }));
  const types = [...new Set(summaries.flatMap((x) => Object.keys(x.bytes)))].sort();
  const header = `| measure | ${summaries.map((x) => x.mode).join(" | ")} | target |`;
  const rule = `|---|${summaries.map(() => "---:").join("|")}|---|`;
  const row = (name: string, cell: (x: (typeof summaries)[number]) => string, target = ""): string =>
    `| ${name} | ${summaries.map(cell).join(" | ")} | ${target} |`;
  const table = [
    header,
    rule,
    row("server's verdict shown, median (max)", (x) => `${s(x.verdictShown.median)} (${s(x.verdictShown.max)})`),
    row(
      '"Verified on this phone", median (max)',
      (x) => `**${s(x.verified.median)}** (${s(x.verified.max)})`,
      `≤ ${s(TARGET_VERIFIED_MS)}`,
    ),
    row(
      "requests to the RPC origin, median (max)",
      (x) => `**${x.rpcRequests.median}** (${x.rpcRequests.max})`,
      `≤ ${TARGET_RPC_REQUESTS}`,
    ),
    row("of which CORS preflights", (x) => String(x.preflights.median)),
    row("JSON-RPC calls", (x) => String(x.calls.median)),
    row("request content type", (x) => x.contentTypes),
    ...types.map((t) => row(`bytes on the wire: ${t}`, (x) => kb(x.bytes[t] ?? 0))),
    row("bytes on the wire: all", (x) => kb(x.total)),
    row("HTML received", (x) => s(x.phases.htmlEnd)),
    row("script: requested / received", (x) => `${s(x.phases.scriptStart)} / ${s(x.phases.scriptEnd)}`),
    row("chain reads: first sent / last answered", (x) => `${s(x.phases.rpcStart)} / ${s(x.phases.rpcEnd)}`),
  ];
  const body = [
    "## Scan page on a phone network (`npm run bench:phone`)",
    "",
    `The demo's genuine item (\`${demo.genuinePath}\`: identity record and five trace events in three trace batches), first visit with a cold cache, ${RUNS} runs per mode, medians (max).`,
    `${[...new Set(summaries.map((x) => x.browser))].join(", ")} (Debian's chromium, headless, a new profile per run), 390×844 viewport, CDP network emulation: ${NETWORK.latency} ms latency, ${(NETWORK.downloadThroughput * 8) / 1e6} Mbit/s down, ${(NETWORK.uploadThroughput * 8) / 1e3} kbit/s up; no CPU throttling; ${SETUP_RTTS === 0 ? "no connection setup cost (CDP's emulation adds its latency per request, not per connection)" : `each new connection waits ${SETUP_RTTS} round trips (${SETUP_MS} ms) before its first request, as TCP and TLS handshakes would`}.`,
    "The demo's chain runs in a child process (`traceanchor start`); the API in the bench process over its mirror; the browser reads the chain through a counting proxy.",
    "",
    ...MODES.map((m) => `- **${m}**: ${MODE_LABELS[m]}`),
    "",
    ...table,
    "",
    'Times are from the start of navigation. "Verdict shown" is the first frame after the server\'s verdict block is parsed; "verified" is when `#check-result` gets its class (`ok`, verdict genuine, in every run).',
    "Bytes are what CDP reports as received (headers and body) per resource type; a CORS preflight counts as a request to the RPC origin.",
    "The last three rows are medians of the page's Resource Timing entries (the chain reads' span includes any preflight).",
  ].join("\n");
  console.log(`\n${body}\n`);
  // Experiments (other modes, a connection setup cost) are printed, not written over the reference figures.
  const standard = MODES.join(",") === "before,after" && SETUP_RTTS === 0;
  if (standard) writeBenchSection("phone", body);
  else console.log("(an experiment: docs/benchmarks.md is rewritten only with the default modes and no setup cost)");
  const after = summaries.find((x) => x.mode === "after");
  const before = summaries.find((x) => x.mode === "before");
  console.log(
    JSON.stringify({
      runs: RUNS,
      beforeVerifiedMs: before?.verified.median ?? null,
      afterVerifiedMs: after?.verified.median ?? null,
      afterVerifiedMaxMs: after?.verified.max ?? null,
      beforeRpcRequests: before?.rpcRequests.median ?? null,
      afterRpcRequests: after?.rpcRequests.median ?? null,
      afterBytes: after?.total ?? null,
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
