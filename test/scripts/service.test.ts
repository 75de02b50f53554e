import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { expect } from "chai";
import pg from "pg";
import type { Engine } from "../../mirror/store";
import { describeEngines, testMirrorLocation } from "../helpers/engines";
import { runService } from "../../scripts/commands/service";
import { loadConfig } from "../../scripts/lib/config";
import { Output } from "../../scripts/lib/output";
import { cli } from "./cli-harness";
import { freePort, startHardhatNode, type HardhatNode } from "../indexer/helpers/node";

/**
 * Serves an empty mirror on `engine` with `extra` in the environment, stops once it listens, and
 * returns what it wrote to stderr.
 */
async function serveOnce(
  engine: Engine,
  extra: Record<string, string>,
): Promise<{ stderr: string; url: string | undefined; db: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trace-serve-"));
  const env = {
    TRACE_DB: await testMirrorLocation(engine, "serve"),
    TRACE_SCANS: "off",
    TRACE_PORT: "0",
    TRACE_LOG_LEVEL: "silent",
    ...extra,
  };
  const stderr = new PassThrough();
  const chunks: Buffer[] = [];
  stderr.on("data", (c: Buffer) => chunks.push(c));
  const out = new Output({ stdout: new PassThrough(), stderr, env, cwd: dir }, false);
  let url: string | undefined;
  let ready: (value: string) => void = () => undefined;
  const until = new Promise<string>((resolve) => (ready = resolve));
  await runService(
    loadConfig(env, {}, dir),
    env,
    { index: false, serve: true, until, onReady: (info) => ((url = info.url), ready("test done")) },
    out,
  );
  return { stderr: Buffer.concat(chunks).toString("utf8"), url, db: env.TRACE_DB };
}

/** Whether anything was created at `location`: the SQLite file, or the migrations table in the PostgreSQL database. */
async function opened(location: string): Promise<boolean> {
  if (!location.startsWith("postgres")) return fs.existsSync(location);
  const client = new pg.Client({ connectionString: location });
  await client.connect();
  try {
    const { rows } = await client.query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t");
    return rows[0]?.t !== null;
  } finally {
    await client.end();
  }
}

describeEngines("traceanchor serve", function (engine) {
  this.timeout(60_000);

  it("warns at start-up that phones will not read the chain when no browser RPC is set", async function () {
    const { stderr, url, db } = await serveOnce(engine, {});
    expect(url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await opened(db), "the mirror is created once the variables check out").to.equal(true);
    expect(stderr).to.include("warning: TRACE_BROWSER_RPC_URLS is not set: phones will check hashes and proofs only");
  });

  it("does not warn when TRACE_BROWSER_RPC_URLS or the older TRACE_BROWSER_RPC_URL is set", async function () {
    const envs: Record<string, string>[] = [
      { TRACE_BROWSER_RPC_URLS: "https://a.example/rpc,https://b.example" },
      { TRACE_BROWSER_RPC_URL: "https://a.example/rpc" },
    ];
    for (const extra of envs) {
      const { stderr } = await serveOnce(engine, extra);
      expect(stderr, JSON.stringify(extra)).not.to.include("warning");
    }
  });

  it("fails at start-up with one line naming the variable of a bad browser RPC URL", async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trace-serve-"));
    const db = await testMirrorLocation(engine, "serve_bad_rpc");
    for (const [name, value] of [
      ["TRACE_BROWSER_RPC_URLS", "https://a.example,ftp://b.example"],
      ["TRACE_BROWSER_RPC_URLS", "https://a.example/rpc?key=1"],
      ["TRACE_BROWSER_RPC_URL", "not a url"],
    ] as const) {
      const result = await cli(
        ["serve", "--no-index"],
        { TRACE_DB: db, TRACE_SCANS: "off", TRACE_PORT: "0", [name]: value },
        dir,
      );
      expect(result.code, result.stderr).to.equal(1);
      expect(result.stderr.trimEnd().split("\n"), result.stderr).to.have.length(1);
      expect(result.stderr).to.match(new RegExp(`^error: ${name}: `));
      expect(await opened(db), "nothing opened before the check").to.equal(false);
    }
  });

  describe("when TRACE_PORT is taken while indexing", function () {
    let node: HardhatNode;
    let holder: net.Server;
    let port: number;
    before(async function () {
      node = await startHardhatNode();
      port = await freePort();
      holder = net.createServer();
      await new Promise<void>((resolve) => holder.listen(port, "127.0.0.1", resolve));
    });
    after(async function () {
      await new Promise((resolve) => holder?.close(resolve));
      await node?.stop();
    });

    // A CI run's demo lost its API port this way and then indexed on for minutes, serving nothing.
    it("exits 1 with one line naming TRACE_PORT, and stops its indexer", async function () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trace-serve-"));
      const child = spawn(process.execPath, [path.resolve(__dirname, "..", "..", "bin", "traceanchor.js"), "serve"], {
        cwd: dir,
        env: {
          ...process.env,
          TRACE_DB: await testMirrorLocation(engine, "serve_port_taken"),
          TRACE_RPC_URL: node.url,
          TRACE_CONTRACT: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
          TRACE_PORT: String(port),
          TRACE_SCANS: "off",
          TRACE_LOG_LEVEL: "silent",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
      child.stdout.resume();
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => (child.kill("SIGKILL"), resolve(null)), 40_000);
        child.once("exit", (exitCode) => (clearTimeout(timer), resolve(exitCode)));
      });
      expect(code, `still running after 40 s:\n${stderr}`).to.equal(1);
      const errors = stderr.split("\n").filter((line) => line.startsWith("error: "));
      expect(errors, stderr).to.deep.equal([
        `error: TRACE_PORT: 127.0.0.1:${port} is already in use by another process; stop it or set TRACE_PORT (or TRACE_HOST) to a free address`,
      ]);
    });
  });
});
