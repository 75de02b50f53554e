/**
 * `traceanchor verify <digital-link-uri | bundle.json>`: fetches the item document (or reads a proof
 * bundle or saved item document), then checks it with core/verify against one or more RPCs and prints
 * the verdict the chain confirms. Exits 0 only when the chain was read and the code is genuine (a
 * serial) or registered (a lot or product); 3 for any other verdict.
 */
import fs from "node:fs";
import path from "node:path";
import { createRpcChainReader } from "../../core/chain-reader";
import { VERDICTS, verifiedStatement } from "../../core/verdict";
import { verifyDocument, type VerifyReport } from "../../core/verify";
import { ConfigError, type Config } from "../lib/config";
import { readDeployment } from "../lib/deployments";
import type { Output } from "../lib/output";

export async function loadDocument(config: Config, target: string): Promise<unknown> {
  if (/^https?:\/\//i.test(target)) {
    let response: Response;
    try {
      response = await fetch(target, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(15_000) });
    } catch (error) {
      throw new ConfigError(`cannot fetch ${target}: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      });
    }
    const text = await response.text();
    if (!response.ok) throw new ConfigError(`${target}: HTTP ${response.status} ${text.slice(0, 200)}`);
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new ConfigError(`${target}: the response is not JSON`, { cause: error });
    }
  }
  const file = path.resolve(config.cwd, target);
  if (!fs.existsSync(file)) throw new ConfigError(`no such file: ${target} (give a Digital Link URI or a bundle file)`);
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as unknown;
  } catch (error) {
    throw new ConfigError(`${target}: not valid JSON`, { cause: error });
  }
}

async function trustedContract(config: Config): Promise<string | undefined> {
  if (config.contract) return config.contract;
  try {
    const chainId = await createRpcChainReader(config.rpcUrl).chainId();
    return readDeployment(config.deploymentsDir, chainId)?.contract;
  } catch {
    // The verify steps report an unreachable RPC themselves.
    return undefined;
  }
}

/** The outcome the command succeeds on: a genuine item, or a registered lot or product, read on chain. */
export function isGood(report: VerifyReport): boolean {
  return (
    report.onChain && (report.verdict === "genuine" || (report.level !== "serial" && report.verdict === "registered"))
  );
}

function printTable(report: VerifyReport, out: Output): void {
  const mark = { pass: "ok  ", fail: "FAIL", skip: "skip" } as const;
  for (const s of report.steps)
    out.info(`${mark[s.status]}  ${s.check.padEnd(14)} ${s.subject.padEnd(10)} ${s.detail}`);
  out.info("");
  out.info(`verdict: ${report.verdict} (${report.level} code)`);
  if (report.verdict === "not-verified") {
    out.info("Not verified: a check above failed.");
    return;
  }
  out.info(
    report.onChain
      ? verifiedStatement(report.verdict, { revokedAt: report.revokedAt })
      : "Chain not read: hashes and proofs only; anchors, revocations and the prefix owner were NOT checked.",
  );
  if (report.agreesWithServer === false) {
    const server = report.serverVerdict ?? "";
    out.info(
      `The server's verdict "${server}" ${report.onChain ? "was wrong" : "does not follow from its own document"}: ${VERDICTS[report.verdict].title}.`,
    );
  }
}

export async function verifyCommand(
  config: Config,
  target: string,
  flags: { rpc: string[] },
  out: Output,
): Promise<number> {
  const doc = await loadDocument(config, target);
  const urls = flags.rpc.length > 0 ? flags.rpc : [config.rpcUrl];
  const contract = await trustedContract(config);
  if (!contract)
    out.note(
      "warning: no trusted contract (set TRACE_CONTRACT or keep deployments/<chainId>.json): the document's address is checked for code only",
    );
  const report = await verifyDocument(doc, {
    chains: urls.map((u) => createRpcChainReader(u)),
    ...(contract ? { trustedContract: contract } : {}),
  });
  printTable(report, out);
  out.jsonOnly({
    verdict: report.verdict,
    level: report.level,
    genuine: report.verdict === "genuine" && report.onChain,
    onChain: report.onChain,
    serverVerdict: report.serverVerdict,
    agreesWithServer: report.agreesWithServer,
    revokedAt: report.revokedAt,
    rpcs: urls,
    contract,
    steps: report.steps,
  });
  return isGood(report) ? 0 : 3;
}
