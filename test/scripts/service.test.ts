import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { expect } from "chai";
import { runService } from "../../scripts/commands/service";
import { loadConfig } from "../../scripts/lib/config";
import { Output } from "../../scripts/lib/output";
import { cli } from "./cli-harness";

/** Serves an empty mirror with `extra` in the environment, stops once it listens, and returns what it wrote to stderr. */
async function serveOnce(extra: Record<string, string>): Promise<{ stderr: string; url: string | undefined }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trace-serve-"));
  const env = {
    TRACE_DB: path.join(dir, "trace.db"),
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
  return { stderr: Buffer.concat(chunks).toString("utf8"), url };
}

describe("traceanchor serve", function () {
  this.timeout(60_000);

  it("warns at start-up that phones will not read the chain when no browser RPC is set", async function () {
    const { stderr, url } = await serveOnce({});
    expect(url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(stderr).to.include("warning: TRACE_BROWSER_RPC_URLS is not set: phones will check hashes and proofs only");
  });

  it("does not warn when TRACE_BROWSER_RPC_URLS or the older TRACE_BROWSER_RPC_URL is set", async function () {
    const envs: Record<string, string>[] = [
      { TRACE_BROWSER_RPC_URLS: "https://a.example/rpc,https://b.example" },
      { TRACE_BROWSER_RPC_URL: "https://a.example/rpc" },
    ];
    for (const extra of envs) {
      const { stderr } = await serveOnce(extra);
      expect(stderr, JSON.stringify(extra)).not.to.include("warning");
    }
  });

  it("fails at start-up with one line naming the variable of a bad browser RPC URL", async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trace-serve-"));
    for (const [name, value] of [
      ["TRACE_BROWSER_RPC_URLS", "https://a.example,ftp://b.example"],
      ["TRACE_BROWSER_RPC_URLS", "https://a.example/rpc?key=1"],
      ["TRACE_BROWSER_RPC_URL", "not a url"],
    ] as const) {
      const result = await cli(
        ["serve", "--no-index"],
        { TRACE_DB: path.join(dir, "trace.db"), TRACE_SCANS: "off", TRACE_PORT: "0", [name]: value },
        dir,
      );
      expect(result.code, result.stderr).to.equal(1);
      expect(result.stderr.trimEnd().split("\n"), result.stderr).to.have.length(1);
      expect(result.stderr).to.match(new RegExp(`^error: ${name}: `));
      expect(fs.existsSync(path.join(dir, "trace.db")), "nothing opened before the check").to.equal(false);
    }
  });
});
