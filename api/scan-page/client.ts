/**
 * The scan page's script, bundled for browsers (api/scan-page/bundle.ts): verifies the embedded item
 * document with core's verifier through every RPC the page names, then re-renders the page from the
 * document it checked with the verdict it decided, so nothing shown comes from unchecked markup. The
 * verdict is stated as a fact when the chain confirmed it, as the server's word when no chain was
 * read; a server verdict the phone contradicts is called wrong; an altered response shows as "not
 * verified".
 */
import { createRpcChainReader } from "../../core/chain-reader";
import { verifyDocument, type VerifyReport } from "../../core/verify";
import {
  checkSummary,
  renderMain,
  renderSteps,
  serverVerdictNotice,
  type ScanConfig,
  type ScanDocument,
} from "./render";

function readJson<T>(id: string): T {
  const element = document.getElementById(id);
  if (!element?.textContent) throw new Error(`missing #${id}`);
  return JSON.parse(element.textContent) as T;
}

/** The RPC URLs of a page's config; a page rendered before lists carried one `rpcUrl`. */
function rpcUrlsOf(config: ScanConfig & { readonly rpcUrl?: unknown }): string[] {
  if (Array.isArray(config.rpcUrls))
    return config.rpcUrls.filter((u): u is string => typeof u === "string" && u !== "");
  return typeof config.rpcUrl === "string" && config.rpcUrl !== "" ? [config.rpcUrl] : [];
}

function showFailure(error: string): void {
  const result = document.getElementById("check-result");
  if (!result) return;
  result.textContent = `Not verified: ${error}. Do not trust this page.`;
  result.className = "bad";
  result.setAttribute("data-state", "not-verified");
}

function show(report: VerifyReport, rpcCount: number): void {
  const result = document.getElementById("check-result");
  const list = document.getElementById("check-steps");
  if (!result || !list) return;
  const summary = checkSummary(report, rpcCount);
  result.textContent = summary.text;
  result.className = summary.tone;
  result.setAttribute("data-state", summary.state);
  result.setAttribute("data-verdict", report.verdict);
  // A failure is shown at once; a pass keeps its list folded.
  if (summary.state === "not-verified") document.getElementById("check-details")?.setAttribute("open", "");
  list.innerHTML = renderSteps(report.steps);
}

async function main(): Promise<void> {
  let doc: ScanDocument;
  let config: ScanConfig;
  try {
    doc = readJson<ScanDocument>("item-document");
    config = readJson<ScanConfig>("scan-config");
  } catch (error) {
    showFailure(error instanceof Error ? error.message : String(error));
    return;
  }
  const rpcUrls = rpcUrlsOf(config);
  let report: VerifyReport;
  try {
    report = await verifyDocument(doc, {
      chains: rpcUrls.map((url) => createRpcChainReader(url)),
      ...(config.contract ? { trustedContract: config.contract } : {}),
      ...(typeof config.scanThreshold === "number" ? { scanThreshold: config.scanThreshold } : {}),
    });
  } catch (error) {
    showFailure(error instanceof Error ? error.message : String(error));
    return;
  }
  const content = document.getElementById("content");
  if (content && report.verdict !== "not-verified") {
    const notice =
      report.agreesWithServer === false ? serverVerdictNotice(doc.verdict, report.verdict, report.onChain) : "";
    content.innerHTML = notice + renderMain({ ...doc, verdict: report.verdict }, config);
  }
  show(report, rpcUrls.length);
}

void main();
