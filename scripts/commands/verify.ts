/**
 * `traceanchor verify <digital-link-uri | bundle.json>`: fetches the item document (or reads a proof
 * bundle or saved item document), then checks it with core/verify against one or more RPCs. Exits
 * non-zero unless the item is genuine and the chain was read.
 */
import fs from "node:fs";
import path from "node:path";
import { createRpcChainReader } from "../../core/chain-reader";
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
      throw new ConfigError(`cannot fetch ${target}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
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

function printTable(report: VerifyReport, out: Output): void {
  const mark = { pass: "ok  ", fail: "FAIL", skip: "skip" } as const;
  for (const s of report.steps) out.info(`${mark[s.status]}  ${s.check.padEnd(14)} ${s.subject.padEnd(10)} ${s.detail}`);
  out.info("");
  out.info(`verdict: ${report.verdict}${report.onChain ? "" : " (chain not read)"}`);
}

export async function verifyCommand(config: Config, target: string, flags: { rpc: string[] }, out: Output): Promise<number> {
  const doc = await loadDocument(config, target);
  const urls = flags.rpc.length > 0 ? flags.rpc : [config.rpcUrl];
  const contract = await trustedContract(config);
  if (!contract) out.note("warning: no trusted contract (set TRACE_CONTRACT or keep deployments/<chainId>.json): the document's address is checked for code only");
  const report = await verifyDocument(doc, { chains: urls.map((u) => createRpcChainReader(u)), ...(contract ? { trustedContract: contract } : {}) });
  printTable(report, out);
  out.jsonOnly({ verdict: report.verdict, genuine: report.verdict === "genuine" && report.onChain, onChain: report.onChain, rpcs: urls, contract, steps: report.steps });
  return report.verdict === "genuine" && report.onChain ? 0 : 3;
}
