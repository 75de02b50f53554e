/**
 * `traceanchor start` (`npm start`), run as the user runs it: its own Hardhat node, the demo data,
 * and then an EPCIS capture through /epcis/capture with a demo token, which the capture worker
 * anchors within the demo's 5-second batch interval. The test reads what the demo prints, checks it
 * against the API (the job's anchor, the genuine item's events, the curl example), and stops the
 * demo with SIGTERM as Ctrl-C would: it exits 0 and its chain stops too.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { expect } from "chai";
import { describeEngines, testMirrorLocation } from "../helpers/engines";
import { freePort } from "../indexer/helpers/node";

const ROOT = path.resolve(__dirname, "..", "..");
const STORE = "urn:epc:id:sgln:5012345.00021.0";

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

interface Demo {
  child: ChildProcess;
  log(): string;
  exited: Promise<number | null>;
}

function startDemo(dir: string, env: Record<string, string>): Demo {
  let text = "";
  const child = spawn(process.execPath, [path.join(ROOT, "bin", "traceanchor.js"), "start"], {
    cwd: dir,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.on("data", (c: Buffer) => (text += c.toString("utf8")));
  child.stderr.on("data", (c: Buffer) => (text += c.toString("utf8")));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, log: () => text, exited };
}

async function waitForLine(demo: Demo, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(demo.log());
    if (match) return match;
    if (demo.child.exitCode !== null) throw new Error(`start exited (${demo.child.exitCode}):\n${demo.log()}`);
    if (Date.now() > deadline) throw new Error(`no ${String(pattern)} in ${timeoutMs} ms:\n${demo.log()}`);
    await sleep(250);
  }
}

function printed(log: string, label: string): string {
  const match = new RegExp(`^  ${label}: +(.+)$`, "m").exec(log);
  if (!match) throw new Error(`start printed no "${label}":\n${log}`);
  return match[1]!;
}

interface ItemEvent {
  record: { event: { bizStep?: string; readPoint?: { id: string }; epcList?: string[] } };
  anchor: { txHash: string } | null;
}

describeEngines("npm start: the demo's EPCIS capture", function (engine) {
  this.timeout(300_000);

  it("captures through /epcis/capture, prints the token, job and curl example, and the anchor; stops on SIGTERM", async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trace-start-"));
    const [nodePort, apiPort] = [await freePort(), await freePort()];
    const demo = startDemo(dir, {
      TRACE_NODE_PORT: String(nodePort),
      TRACE_PORT: String(apiPort),
      ...(engine === "postgres" ? { TRACE_DB: await testMirrorLocation(engine, "start_capture") } : {}),
    });
    try {
      await waitForLine(demo, /TraceAnchor is running/, 180_000);
      const anchored = await waitForLine(
        demo,
        /EPCIS capture (cap_[0-9a-f]+) anchored in block (\d+) \(tx (0x[0-9a-f]{64})/,
        60_000,
      );
      const log = demo.log();
      const token = printed(log, "capture token");
      const jobUrl = printed(log, "capture job");
      const genuine = printed(log, "genuine item");
      expect(token).to.match(/^tac_/);
      expect(jobUrl).to.equal(`http://127.0.0.1:${apiPort}/epcis/capture/${anchored[1]}`);

      const job = (await (await fetch(jobUrl, { headers: { authorization: `Bearer ${token}` } })).json()) as {
        success: boolean;
        storedCount: number;
        anchor: { block: number; txHash: string };
      };
      expect(job.success).to.equal(true);
      expect(job.storedCount).to.equal(2);
      expect(job.anchor.block).to.equal(Number(anchored[2]));
      expect(job.anchor.txHash).to.equal(anchored[3]);

      // The genuine item's document (what its scan page shows) lists the captured events, anchored,
      // once the content is ingested (a moment after the anchor).
      let received: ItemEvent | undefined;
      for (let i = 0; i < 60 && received === undefined; i++) {
        const item = (await (await fetch(genuine, { headers: { accept: "application/json" } })).json()) as {
          events: ItemEvent[];
        };
        received = item.events.find((e) => e.record.event.readPoint?.id === STORE && e.anchor !== null);
        if (received === undefined) await sleep(500);
      }
      expect(received, "the item shows the captured receiving event").to.not.equal(undefined);
      expect(received!.record.event.bizStep).to.equal("receiving");
      expect(received!.anchor!.txHash).to.equal(job.anchor.txHash);

      // The printed curl example, as printed (its file exists), captures one more event.
      const curl = printed(log, "capture more");
      expect(curl).to.include(`-H 'Authorization: Bearer ${token}' -H 'Content-Type: application/ld+json'`);
      const example = /--data @(\S+) (\S+)$/.exec(curl)!;
      expect(example[2]).to.equal(`http://127.0.0.1:${apiPort}/epcis/capture`);
      const response = await fetch(example[2]!, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/ld+json" },
        body: fs.readFileSync(example[1]!),
      });
      expect(response.status, await response.clone().text()).to.equal(202);
      expect(response.headers.get("location")).to.match(/^\/epcis\/capture\/cap_[0-9a-f]+$/);
    } finally {
      demo.child.kill("SIGTERM");
    }
    const code = await Promise.race([demo.exited, sleep(30_000).then(() => "timeout" as const)]);
    expect(code, demo.log()).to.equal(0);
    expect(await listening(nodePort), "the demo's Hardhat node stopped").to.equal(false);
    expect(await listening(apiPort), "the API stopped").to.equal(false);
  });
});
