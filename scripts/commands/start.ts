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
import { JsonRpcProvider } from "ethers";
import { formatDigitalLink } from "../../core/digital-link";
import { loadConfig, type Env } from "../lib/config";
import { readDeployment } from "../lib/deployments";
import { startLocalChain, type LocalChain } from "../lib/local-chain";
import type { Io } from "../lib/output";
import { Output } from "../lib/output";
import { devAccount } from "../demo/accounts";
import { BRANDS, LOGISTICS, OPERATOR, RECALLED, RETAIL, REVOKED, demoBatches, itemOf } from "../demo/dataset";
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
            io.stdout.write(`${lines.join("\n")}\n`);
          })();
        },
      },
      out,
    );
  } finally {
    await chain?.stop();
  }
}
