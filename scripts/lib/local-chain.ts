/**
 * The embedded local chain of `npm start`: a Hardhat node in a child process, behind a small JSON-RPC
 * proxy that journals every signed transaction with its block time. Hardhat keeps its chain in
 * memory; replaying the journal into a node with the same genesis time rebuilds the very same blocks
 * (same hashes), so the SQLite mirror, content files and deployment record in ./data stay valid
 * across restarts.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface LocalChain {
  readonly url: string;
  /** Blocks rebuilt from the journal at start (0 on a new chain). */
  readonly replayed: number;
  stop(): Promise<void>;
}

interface JournalEntry {
  raw: string;
  timestamp: number;
  blockHash: string;
}

interface RpcMessage {
  jsonrpc?: string;
  id?: unknown;
  method?: string;
  params?: unknown[];
}

// Methods that would change the chain without a signed transaction: the journal could not replay them.
const REFUSED = /^(evm_|hardhat_|anvil_)|^eth_sendTransaction$|^eth_sign/;

async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await response.json()) as { result?: unknown; error?: { message?: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message ?? "error"}`);
  return body.result;
}

async function waitForNode(url: string, child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`the Hardhat node exited with code ${child.exitCode ?? child.signalCode}`);
    if (/Started HTTP and WebSocket JSON-RPC server at/.test(output())) {
      try {
        await rpc(url, "eth_chainId");
        return;
      } catch {
        // listening, not answering yet
      }
    }
    if (Date.now() > deadline)
      throw new Error(`the Hardhat node did not answer at ${url} within ${timeoutMs / 1000} s`);
    await sleep(250);
  }
}

function readJournal(file: string): JournalEntry[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line, i) => {
      try {
        return JSON.parse(line) as JournalEntry;
      } catch (error) {
        throw new Error(`${file}:${i + 1}: not a journal entry (run npm start -- --fresh)`, { cause: error });
      }
    });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export async function startLocalChain(options: {
  dataDir: string;
  port: number;
  projectRoot: string;
  log: (line: string) => void;
  /** Picks the node's own port (tests hand out taken ones); a free one from the kernel by default. */
  pickPort?: () => Promise<number>;
}): Promise<LocalChain> {
  const dir = path.join(options.dataDir, "chain");
  fs.mkdirSync(dir, { recursive: true });
  const genesisFile = path.join(dir, "genesis.txt");
  if (!fs.existsSync(genesisFile)) fs.writeFileSync(genesisFile, `${new Date().toISOString()}\n`);
  const genesis = fs.readFileSync(genesisFile, "utf8").trim();
  const journalFile = path.join(dir, "journal.ndjson");
  const journal = readJournal(journalFile);

  // Take the public port first: if another node holds it, fail before starting anything.
  let resolveReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));
  let handle: (req: http.IncomingMessage, res: http.ServerResponse) => void = () => undefined;
  const server = http.createServer((req, res) => void ready.then(() => handle(req, res)));
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "EADDRINUSE"
          ? new Error(`port ${options.port} is in use: is another node running? (set TRACE_NODE_PORT)`)
          : error,
      ),
    );
    server.listen(options.port, "127.0.0.1", resolve);
  });
  // The node's own port is picked free and may be taken before it listens (by an outgoing
  // connection, say): then it exits saying EADDRINUSE and we try another. Ready means it printed
  // that it listens, not that something answers there, which could be another node on that port.
  let child: ChildProcess | undefined;
  let internal = "";
  for (let attempt = 1; child === undefined; attempt++) {
    const port = await (options.pickPort ?? freePort)();
    internal = `http://127.0.0.1:${port}`;
    const node = spawn(
      process.execPath,
      [require.resolve("hardhat/internal/cli/cli.js"), "node", "--hostname", "127.0.0.1", "--port", String(port)],
      {
        cwd: options.projectRoot,
        env: { ...process.env, TRACE_CHAIN_GENESIS: genesis },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    const keep = (chunk: Buffer): void => void (output = (output + chunk.toString()).slice(-4000));
    node.stdout?.on("data", keep);
    node.stderr?.on("data", keep);
    try {
      await waitForNode(internal, node, () => output, 60_000);
      // From here its stdout is a line per RPC call: drained unread (a full pipe would block it).
      node.stdout?.removeListener("data", keep);
      node.stdout?.resume();
      child = node;
    } catch (error) {
      node.kill("SIGKILL");
      if (attempt < 3 && /EADDRINUSE/.test(output)) continue;
      server.close();
      throw new Error(`${(error as Error).message}${output ? `\n${output.trim()}` : ""}`);
    }
  }

  // Rebuild the chain: the same transactions at the same times give the same blocks.
  for (const [i, entry] of journal.entries()) {
    await rpc(internal, "evm_setNextBlockTimestamp", [entry.timestamp]);
    const hash = (await rpc(internal, "eth_sendRawTransaction", [entry.raw])) as string;
    const receipt = (await rpc(internal, "eth_getTransactionReceipt", [hash])) as { blockHash: string };
    if (receipt.blockHash !== entry.blockHash) {
      child.kill("SIGKILL");
      server.close();
      throw new Error(
        `the local chain journal did not replay to the same block at entry ${i + 1}; start over with: npm start -- --fresh`,
      );
    }
  }
  if (journal.length > 0) options.log(`local chain: replayed ${journal.length} transaction(s) from ${journalFile}`);

  // One transaction at a time through the proxy, so the journal's order is the chain's order.
  let queue: Promise<unknown> = Promise.resolve();
  const forward = async (message: RpcMessage): Promise<unknown> => {
    const method = message.method ?? "";
    if (REFUSED.test(method)) {
      return {
        jsonrpc: "2.0",
        id: message.id ?? null,
        error: {
          code: -32601,
          message: `${method} is disabled on the demo chain: it keeps a journal of signed transactions to survive restarts`,
        },
      };
    }
    const send = async (): Promise<unknown> => {
      const response = await fetch(internal, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(message),
      });
      const body = (await response.json()) as { result?: unknown };
      if (method === "eth_sendRawTransaction" && typeof body.result === "string") {
        const receipt = (await rpc(internal, "eth_getTransactionReceipt", [body.result])) as {
          blockNumber: string;
          blockHash: string;
        } | null;
        if (receipt) {
          const block = (await rpc(internal, "eth_getBlockByNumber", [receipt.blockNumber, false])) as {
            timestamp: string;
          };
          const entry: JournalEntry = {
            raw: String(message.params?.[0]),
            timestamp: Number.parseInt(block.timestamp, 16),
            blockHash: receipt.blockHash,
          };
          fs.appendFileSync(journalFile, `${JSON.stringify(entry)}\n`);
        }
      }
      return body;
    };
    if (method !== "eth_sendRawTransaction") return send();
    const result = queue.then(send, send);
    queue = result.catch(() => undefined);
    return result;
  };

  handle = (req, res) => {
    // The scan page's verifier calls the chain from the browser: answer its CORS preflight.
    if (req.method === "OPTIONS") {
      res.writeHead(204, {
        "access-control-allow-origin": "*",
        "access-control-allow-headers": "content-type",
        "access-control-allow-methods": "POST",
      });
      res.end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        let reply: unknown;
        try {
          const parsed = JSON.parse(Buffer.concat(chunks).toString("utf8")) as RpcMessage | RpcMessage[];
          reply = Array.isArray(parsed) ? await Promise.all(parsed.map(forward)) : await forward(parsed);
        } catch (error) {
          reply = { jsonrpc: "2.0", id: null, error: { code: -32700, message: (error as Error).message } };
        }
        res.writeHead(200, {
          "content-type": "application/json",
          "access-control-allow-origin": "*",
          "access-control-allow-headers": "content-type",
        });
        res.end(JSON.stringify(reply));
      })();
    });
  };
  resolveReady();

  return {
    url: `http://127.0.0.1:${options.port}`,
    replayed: journal.length,
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        // Its state is in memory and rebuilt from the journal, so there is nothing to wait for.
        await Promise.race([new Promise((resolve) => child.once("exit", resolve)), sleep(1000)]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
    },
  };
}
