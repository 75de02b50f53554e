/**
 * `traceanchor start` (`npm start`): the whole system in one command. Without TRACE_RPC_URL it starts
 * the embedded local chain (a Hardhat node whose transactions are journaled in ./data, so a second
 * start reuses everything), deploys the contract, loads the demo brands and batches once, then runs
 * the indexer and the API and prints the URLs to open. With TRACE_RPC_URL it runs against that chain
 * instead: no demo chain, no demo data unless --demo. Ctrl-C stops every process it started.
 */
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { JsonRpcProvider, Wallet } from "ethers";
import { formatDigitalLink } from "../../core/digital-link";
import { loadConfig, type Env } from "../lib/config";
import { readDeployment } from "../lib/deployments";
import { startLocalChain, type LocalChain } from "../lib/local-chain";
import type { Io } from "../lib/output";
import { Output } from "../lib/output";
import { devAccount } from "../demo/accounts";
import { BRANDS, LOGISTICS, OPERATOR, RECALLED, RETAIL, REVOKED, demoBatches, itemOf } from "../demo/dataset";
import { CAPTURE_BRAND, captureItemEpc, demoCaptureDocument, demoCaptureExample } from "../demo/capture";
import { runService } from "./service";

export interface StartFlags {
  fresh?: boolean;
  demo?: boolean;
}

type Run = (argv: string[], io: Io) => Promise<number>;

interface DemoUrls {
  genuine: string;
  recalled: string;
  revoked: string;
  unknown: string;
}

function quietIo(io: Io, env: Env): Io {
  const sink = { write: () => true } as unknown as NodeJS.WritableStream;
  return { ...io, env, stdout: sink, stderr: io.stderr };
}

async function cliStep(run: Run, io: Io, env: Env, argv: string[], what: string): Promise<Record<string, unknown>> {
  let last = "";
  const capture = {
    write: (chunk: string | Uint8Array) => {
      last += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  const code = await run([...argv, "--json"], { ...quietIo(io, env), stdout: capture });
  if (code !== 0) throw new Error(`demo setup failed while ${what} (traceanchor ${argv.join(" ")})`);
  const line = last.trimEnd().split("\n").pop() ?? "{}";
  return JSON.parse(line) as Record<string, unknown>;
}

async function hasCode(rpcUrl: string, address: string): Promise<boolean> {
  try {
    return (await new JsonRpcProvider(rpcUrl, undefined, { cacheTimeout: -1 }).getCode(address)) !== "0x";
  } catch {
    return false;
  }
}

async function seedDemo(run: Run, io: Io, env: Env, dataDir: string, out: Output): Promise<void> {
  const key = (i: number): string => devAccount(i).privateKey;
  const as = (i: number): Env => ({ ...env, TRACE_PRIVATE_KEY: key(i) });
  const dir = path.join(dataDir, "demo");
  fs.mkdirSync(dir, { recursive: true });
  out.note("loading demo data: 4 brands, their submitters, identity and trace batches…");
  for (const [b, brand] of BRANDS.entries()) {
    const registered = await cliStep(
      run,
      io,
      as(OPERATOR),
      ["brand", "register", "--name", brand.name, "--admin", devAccount(brand.admin).address, "--prefix", brand.prefix],
      `registering ${brand.name}`,
    );
    const brandId = String(registered.brandId);
    if (brandId !== String(b + 1))
      throw new Error(`expected brand id ${b + 1}, got ${brandId}: the chain already had brands (use --fresh)`);
    const roles: Array<[number, string]> = [
      [brand.factory, "factory"],
      [brand.qualityLab, "quality-lab"],
      [LOGISTICS, "logistics"],
      [RETAIL, "retail"],
    ];
    for (const [account, role] of roles) {
      await cliStep(
        run,
        io,
        as(brand.admin),
        ["brand", "submitter", "--brand", brandId, "--account", devAccount(account).address, "--role", role],
        `naming the ${role} submitter of ${brand.name}`,
      );
    }
  }
  for (const batch of demoBatches(new Date())) {
    const file = path.join(dir, batch.file);
    fs.writeFileSync(file, batch.text);
    const brandId = String(batch.brandIndex + 1);
    const submitted = await cliStep(
      run,
      io,
      as(batch.submitter),
      ["batch", "submit", "--brand", brandId, "--kind", batch.kind, "--input", file],
      `submitting ${batch.file}`,
    );
    const records = Number(submitted.leafCount);
    out.note(
      `  ${BRANDS[batch.brandIndex]!.name}: ${batch.kind} batch ${batch.file} (${records} record${records === 1 ? "" : "s"})`,
    );
    if (batch.revoke) {
      await cliStep(
        run,
        io,
        as(BRANDS[batch.brandIndex]!.admin),
        ["batch", "revoke", "--brand", brandId, "--root", String(submitted.root), "--reason", batch.revoke],
        `revoking ${batch.file}`,
      );
      out.note(`  ${BRANDS[batch.brandIndex]!.name}: revoked ${batch.file}`);
    }
  }
}

/** The demo's EPCIS capture token and job, kept in data/demo/capture.json so a second start reuses them. */
interface DemoCapture {
  readonly brandId: string;
  /** The service's account, named as the brand's epcis-capture submitter. */
  readonly account: string;
  /** The TRACE_DB whose EPCIS store holds the token (a demo switched to PostgreSQL makes a new one). */
  readonly db: string;
  readonly token: string;
  readonly tokenId: string;
  captureId?: string;
}

const captureFile = (dataDir: string): string => path.join(dataDir, "demo", "capture.json");

function readDemoCapture(dataDir: string, account: string, db: string): DemoCapture | undefined {
  try {
    const saved = JSON.parse(fs.readFileSync(captureFile(dataDir), "utf8")) as DemoCapture;
    return saved.account === account && saved.db === db ? saved : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The brand admin names the service's account as the demo brand's `epcis-capture` submitter (its
 * consent on chain) and makes a capture token, both through the CLI's own commands.
 */
async function prepareCapture(
  run: Run,
  io: Io,
  env: Env,
  dataDir: string,
  out: Output,
  account: string,
): Promise<DemoCapture> {
  const db = env.TRACE_DB ?? "";
  const saved = readDemoCapture(dataDir, account, db);
  if (saved) return saved;
  const brand = BRANDS[CAPTURE_BRAND]!;
  const brandId = String(CAPTURE_BRAND + 1);
  await cliStep(
    run,
    io,
    { ...env, TRACE_PRIVATE_KEY: devAccount(brand.admin).privateKey },
    ["brand", "submitter", "--brand", brandId, "--account", account, "--role", "epcis-capture"],
    `naming the epcis-capture submitter of ${brand.name}`,
  );
  const made = await cliStep(
    run,
    io,
    env,
    ["capture", "token", "create", "--brand", brandId, "--label", "npm start demo"],
    `making a capture token for ${brand.name}`,
  );
  out.note(`  ${brand.name}: ${account} (this service) captures EPCIS events for it; demo capture token made`);
  const demo: DemoCapture = { brandId, account, db, token: String(made.token), tokenId: String(made.tokenId) };
  fs.mkdirSync(path.dirname(captureFile(dataDir)), { recursive: true });
  fs.writeFileSync(captureFile(dataDir), `${JSON.stringify(demo, null, 2)}\n`);
  return demo;
}

/**
 * POSTs the demo document to /epcis/capture (once per data directory) and returns the job's id.
 * Retries a 403 for a while: the indexer may not have mirrored the submitter step yet.
 */
async function postDemoCapture(
  base: string,
  demo: DemoCapture,
  dataDir: string,
  stopped: () => boolean,
): Promise<string> {
  const document = path.join(dataDir, "demo", "capture-document.json");
  fs.writeFileSync(document, `${JSON.stringify(demoCaptureDocument(new Date()), null, 2)}\n`);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const response = await fetch(`${base}/epcis/capture`, {
      method: "POST",
      headers: { authorization: `Bearer ${demo.token}`, "content-type": "application/ld+json" },
      body: fs.readFileSync(document),
    });
    const location = response.headers.get("location");
    if (response.status === 202 && location) return location.split("/").pop()!;
    if (response.status !== 403 || Date.now() > deadline || stopped())
      throw new Error(`POST /epcis/capture answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
    await sleep(1000);
  }
}

interface CaptureAnchor {
  root: string;
  txHash: string;
  block: number;
}

/** Polls the capture job until it shows its anchor (or the service stops). */
async function waitForAnchor(
  jobUrl: string,
  token: string,
  stopped: () => boolean,
): Promise<CaptureAnchor | undefined> {
  while (!stopped()) {
    try {
      const response = await fetch(jobUrl, { headers: { authorization: `Bearer ${token}` } });
      const job = (await response.json()) as { anchor?: CaptureAnchor | null };
      if (job.anchor) return job.anchor;
    } catch {
      // stopping, or not answering for a moment
    }
    await sleep(1000);
  }
  return undefined;
}

/** Captures the demo document (once), and the lines that show the token, the job and a curl example. */
async function demoCaptureLines(
  base: string,
  demo: DemoCapture,
  dataDir: string,
  stopped: () => boolean,
): Promise<string[]> {
  try {
    if (!demo.captureId) {
      demo.captureId = await postDemoCapture(base, demo, dataDir, stopped);
      fs.writeFileSync(captureFile(dataDir), `${JSON.stringify(demo, null, 2)}\n`);
    }
  } catch (error) {
    return [`  EPCIS capture:  the demo capture failed: ${error instanceof Error ? error.message : String(error)}`];
  }
  const example = path.join(dataDir, "demo", "capture-example.json");
  fs.writeFileSync(example, `${JSON.stringify(demoCaptureExample(new Date()), null, 2)}\n`);
  const name = BRANDS[CAPTURE_BRAND]!.name;
  return [
    `EPCIS capture, for ${name} (brand ${demo.brandId}): shipping and receiving of ${captureItemEpc()}`,
    `  capture token:  ${demo.token}`,
    `  capture job:    ${base}/epcis/capture/${demo.captureId}`,
    `  capture more:   curl -H 'Authorization: Bearer ${demo.token}' -H 'Content-Type: application/ld+json' --data @${example} ${base}/epcis/capture`,
  ];
}

/** Prints the demo capture's anchor once the worker has made it (within TRACE_CAPTURE_BATCH_SECONDS). */
async function reportAnchor(base: string, demo: DemoCapture, io: Io, stopped: () => boolean): Promise<void> {
  const anchor = await waitForAnchor(`${base}/epcis/capture/${demo.captureId}`, demo.token, stopped);
  if (anchor)
    io.stdout.write(
      `EPCIS capture ${demo.captureId} anchored in block ${anchor.block} (tx ${anchor.txHash}, root ${anchor.root}); the genuine item's page shows its events\n`,
    );
}

function demoUrls(base: string): DemoUrls {
  const link = (item: { gtin: string; lot: string; serial: string }): string => formatDigitalLink(item, base);
  const genuine = itemOf(0, 0, BRANDS[0]!.products[0]!.lots[0]!, 1);
  return {
    genuine: link(genuine),
    recalled: link(itemOf(RECALLED.brand, RECALLED.product, RECALLED.lot, 7)),
    revoked: link(itemOf(REVOKED.brand, REVOKED.product, REVOKED.lot, 3)),
    unknown: link({ ...genuine, serial: "FAKE000001" }),
  };
}

/** Waits until the API serves the genuine demo item, i.e. the indexer has caught up and ingested it. */
async function waitForItem(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { headers: { accept: "application/json" } });
      if (response.status === 200) return true;
    } catch {
      // not listening yet
    }
    await sleep(500);
  }
  return false;
}

export async function startCommand(flags: StartFlags, io: Io, run: Run, projectRoot: string): Promise<void> {
  const out = new Output(io, false);
  const dataDir = path.resolve(io.cwd, io.env.TRACE_DATA_DIR ?? "data");
  const embedded = !io.env.TRACE_RPC_URL;
  // The local chain's contract is recorded where every other command looks by default.
  const localDeployment = path.resolve(io.cwd, io.env.TRACE_DEPLOYMENTS_DIR ?? "deployments", "31337.json");
  if (flags.fresh) {
    if (fs.existsSync(dataDir)) fs.rmSync(dataDir, { recursive: true, force: true });
    if (embedded) fs.rmSync(localDeployment, { force: true });
    out.note(`--fresh: removed ${dataDir}${embedded ? ` and ${path.relative(io.cwd, localDeployment)}` : ""}`);
  }
  fs.mkdirSync(dataDir, { recursive: true });
  // The terminal shows the URLs; per-request logs would bury them (TRACE_LOG_LEVEL=info brings them back).
  io = { ...io, env: { TRACE_LOG_LEVEL: "warn", ...io.env } };
  let chain: LocalChain | undefined;
  let stopping: Promise<NodeJS.Signals> | undefined;
  try {
    let env: Env = {
      ...io.env,
      TRACE_DB: io.env.TRACE_DB ?? path.join(dataDir, "trace.db"),
      TRACE_CONTENT_DIR: io.env.TRACE_CONTENT_DIR ?? path.join(dataDir, "content"),
      TRACE_SCANS_DB: io.env.TRACE_SCANS_DB ?? path.join(dataDir, "scans.db"),
      TRACE_LINKS_DB: io.env.TRACE_LINKS_DB ?? path.join(dataDir, "links.db"),
      TRACE_EPCIS_DB: io.env.TRACE_EPCIS_DB ?? path.join(dataDir, "epcis.db"),
      // Captured events are anchored within seconds, while the user watches (the default is 60 s).
      TRACE_CAPTURE_BATCH_SECONDS: io.env.TRACE_CAPTURE_BATCH_SECONDS?.trim() || "5",
      // Subscriptions of the demo may deliver to webhooks on this machine.
      TRACE_WEBHOOK_ALLOW_PRIVATE: io.env.TRACE_WEBHOOK_ALLOW_PRIVATE?.trim() || "on",
    };
    if (embedded) {
      out.note("starting the local chain (Hardhat node)…");
      chain = await startLocalChain({
        dataDir,
        port: Number.parseInt(io.env.TRACE_NODE_PORT ?? "8545", 10),
        projectRoot,
        log: (l) => out.note(l),
      });
      env = {
        ...env,
        TRACE_RPC_URL: chain.url,
        TRACE_PRIVATE_KEY: io.env.TRACE_PRIVATE_KEY ?? devAccount(OPERATOR).privateKey,
        // Phones read the demo's own chain unless told otherwise (either variable).
        ...(io.env.TRACE_BROWSER_RPC_URLS || io.env.TRACE_BROWSER_RPC_URL ? {} : { TRACE_BROWSER_RPC_URLS: chain.url }),
      };
    }
    // Ctrl-C during setup must stop the chain too.
    stopping = new Promise((resolve) => {
      process.once("SIGINT", () => resolve("SIGINT"));
      process.once("SIGTERM", () => resolve("SIGTERM"));
    });
    let stopped = false;
    void stopping.then(() => (stopped = true));

    const config = loadConfig(env, {}, io.cwd);
    const provider = new JsonRpcProvider(config.rpcUrl, undefined, { cacheTimeout: -1 });
    const chainId = (await provider.getNetwork()).chainId;
    const known = config.contract ?? readDeployment(config.deploymentsDir, chainId)?.contract;
    if (!known || !(await hasCode(config.rpcUrl, known))) {
      if (!config.privateKey && !config.keystore)
        throw new Error(
          "no TraceAnchor contract known on this chain and no key to deploy one: set TRACE_CONTRACT, or TRACE_PRIVATE_KEY to deploy",
        );
      const deployed = await cliStep(run, io, env, ["deploy"], "deploying the contract");
      out.note(`deployed TraceAnchor at ${String(deployed.contract)}`);
    }

    const marker = path.join(dataDir, "demo", "loaded.json");
    const wantDemo = embedded || flags.demo === true;
    if (wantDemo && !fs.existsSync(marker)) {
      await seedDemo(run, io, env, dataDir, out);
      fs.writeFileSync(marker, `${JSON.stringify({ loadedAt: new Date().toISOString() })}\n`);
    }
    // The service captures with its own key: the demo brand names that account, and gets a token.
    const serviceAccount = config.privateKey === undefined ? undefined : new Wallet(config.privateKey).address;
    const capture =
      wantDemo && serviceAccount !== undefined
        ? await prepareCapture(run, io, env, dataDir, out, serviceAccount)
        : undefined;

    const base = `http://${config.host}:${config.port}`;
    const urls = wantDemo ? demoUrls(base) : undefined;
    await runService(
      config,
      env,
      {
        index: true,
        serve: true,
        until: stopping,
        onReady: (info) => {
          void (async () => {
            if (urls && !(await waitForItem(urls.genuine, 120_000)))
              out.note("warning: the genuine demo item is not served yet; the indexer is still catching up");
            const lines = [
              "",
              "TraceAnchor is running.",
              ...(urls
                ? [
                    `  genuine item:   ${urls.genuine}`,
                    `  recalled item:  ${urls.recalled}`,
                    `  revoked batch:  ${urls.revoked}`,
                    `  unknown item:   ${urls.unknown}`,
                  ]
                : []),
              `  API docs:       ${info.url ?? base}/docs`,
              `  chain (RPC):    ${config.rpcUrl}`,
              `  data:           ${dataDir}`,
              "Open a URL in a browser for the scan page; curl it for JSON. Press Ctrl-C to stop.",
              "",
            ];
            const captureLines = capture
              ? await demoCaptureLines(info.url ?? base, capture, dataDir, () => stopped)
              : [];
            io.stdout.write(`${[...lines.slice(0, -2), ...captureLines, ...lines.slice(-2)].join("\n")}\n`);
            if (capture?.captureId) void reportAnchor(info.url ?? base, capture, io, () => stopped);
          })();
        },
      },
      out,
    );
  } finally {
    await chain?.stop();
  }
}
