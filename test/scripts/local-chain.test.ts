/**
 * The embedded chain of `npm start` picks its Hardhat node's port free, and that port may be taken
 * before the node listens. It then tries another, and it never mistakes whatever already answers
 * on the port (another node, say) for its own node.
 */
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { startLocalChain } from "../../scripts/lib/local-chain";
import { freePort } from "../indexer/helpers/node";

const ROOT = path.resolve(__dirname, "..", "..");

async function rpc(url: string, method: string): Promise<unknown> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: [] }),
  });
  return ((await response.json()) as { result?: unknown }).result;
}

describe("npm start: the local chain's own port", function () {
  this.timeout(120_000);
  let impostor: http.Server;
  let impostorPort: number;

  before(async function () {
    // Answers like a node on another chain: the wrong node to build the demo on.
    impostor = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => res.end(JSON.stringify({ jsonrpc: "2.0", id: 1, result: "0x1" })));
    });
    impostorPort = await freePort();
    await new Promise<void>((resolve) => impostor.listen(impostorPort, "127.0.0.1", resolve));
  });
  after(async function () {
    await new Promise((resolve) => impostor.close(resolve));
  });

  it("tries another port when the first is taken, and serves its own node, not what answered there", async function () {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "trace-chain-"));
    const picked: number[] = [];
    const chain = await startLocalChain({
      dataDir,
      port: await freePort(),
      projectRoot: ROOT,
      log: () => undefined,
      pickPort: async () => {
        const port = picked.length === 0 ? impostorPort : await freePort();
        picked.push(port);
        return port;
      },
    });
    try {
      expect(picked, "a second port after the taken one").to.have.length(2);
      expect(await rpc(chain.url, "eth_chainId")).to.equal("0x7a69");
    } finally {
      await chain.stop();
    }
  });

  it("fails naming EADDRINUSE after three taken ports", async function () {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "trace-chain-"));
    const publicPort = await freePort();
    let tries = 0;
    const error = await startLocalChain({
      dataDir,
      port: publicPort,
      projectRoot: ROOT,
      log: () => undefined,
      pickPort: () => (tries++, Promise.resolve(impostorPort)),
    }).then(
      // A chain that starts anyway is stopped, so a failing run leaves no node behind.
      (chain) => chain.stop().then(() => undefined),
      (e: unknown) => e as Error,
    );
    expect(tries).to.equal(3);
    expect(error?.message).to.match(/the Hardhat node exited[\s\S]*EADDRINUSE/);
    // The public port is let go again.
    const probe = net.createServer();
    await new Promise<void>(
      (resolve, reject) => (probe.once("error", reject), probe.listen(publicPort, "127.0.0.1", resolve)),
    );
    await new Promise((resolve) => probe.close(resolve));
  });
});
