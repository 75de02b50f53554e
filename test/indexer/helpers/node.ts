/**
 * A real development node in a child process, on a free port, for the indexer tests and the
 * benchmark: Hardhat's, or anvil from the `@foundry-rs/anvil` package (its binary ships in the
 * platform package; nothing is downloaded).
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { JsonRpcProvider, Network } from "ethers";

export interface HardhatNode {
  readonly url: string;
  readonly port: number;
  /** A provider with the node's unlocked, funded accounts. */
  readonly provider: JsonRpcProvider;
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  stop(): Promise<void>;
}

/**
 * A port that is free now and that the kernel does not hand out by itself: one below the
 * ephemeral range (`ip_local_port_range`, 32768–60999 on Linux). A port from `listen(0)` is in that
 * range, so between our probe and the child's listen the kernel may give it to an outgoing
 * connection (the child's own, to PostgreSQL or the chain): a CI run lost the demo's API port so.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * (low - 10_000));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port between 10000 and ${low - 1} in 50 tries`);
}

function ephemeralLow(): number {
  try {
    const low = Number.parseInt(fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8"), 10);
    if (Number.isInteger(low) && low > 11_000) return low;
  } catch {
    // not Linux: stay below Linux's default low end, itself below the IANA dynamic range (49152)
  }
  return 32_768;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

export function localProvider(url: string): JsonRpcProvider {
  return new JsonRpcProvider(url, Network.from(31337), { staticNetwork: true, cacheTimeout: -1 });
}

async function waitForRpc(
  name: string,
  url: string,
  child: ChildProcess,
  output: () => string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${output()}`);
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${name} did not answer within ${timeoutMs} ms:\n${output()}`);
}

export function startHardhatNode(): Promise<HardhatNode> {
  const cli = require.resolve("hardhat/internal/cli/cli.js");
  return startNode("hardhat node", (port) => [
    process.execPath,
    cli,
    "node",
    "--hostname",
    "127.0.0.1",
    "--port",
    String(port),
  ]);
}

/** The anvil binary of this platform's `@foundry-rs/anvil-<os>-<arch>` package. */
export function anvilBinary(): string {
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const name = process.platform === "win32" ? "anvil.exe" : "anvil";
  return path.join(
    path.dirname(require.resolve(`@foundry-rs/anvil-${process.platform}-${arch}/package.json`)),
    "bin",
    name,
  );
}

/** Anvil with its defaults (chain 31337, automine, the same ten funded accounts as Hardhat's), cancun like our build. */
export function startAnvilNode(): Promise<HardhatNode> {
  return startNode("anvil", (port) => [
    anvilBinary(),
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--hardfork",
    "cancun",
  ]);
}

async function startNode(name: string, command: (port: number) => string[]): Promise<HardhatNode> {
  const port = await freePort();
  const [file, ...args] = command(port);
  if (file === undefined) throw new Error(`no command for ${name}`);
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("HARDHAT_")));
  const child = spawn(file, args, {
    cwd: path.resolve(__dirname, "..", "..", ".."),
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForRpc(name, url, child, () => output, 60_000);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  const provider = localProvider(url);
  return {
    url,
    port,
    provider,
    rpc: <T>(method: string, params: unknown[] = []) => provider.send(method, params) as Promise<T>,
    async stop() {
      provider.destroy();
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
