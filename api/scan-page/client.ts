/**
 * The scan page's script, bundled for browsers (api/scan-page/bundle.ts): verifies the embedded item
 * document with core's verifier, then re-renders the page from the document it checked, so nothing
 * shown comes from unchecked markup. An altered response shows as "not verified".
 */
import { createRpcChainReader } from "../../core/chain-reader";
import { verifyDocument, type VerifyReport } from "../../core/verify";
import { escapeHtml, renderMain, type ScanDocument } from "./render";

interface ScanConfig {
  rpcUrl: string | null;
  contract: string | null;
  bundleBase: string;
}

const LABELS: Record<string, string> = {
  "record-hash": "Record fingerprint recomputed",
  "merkle-proof": "Merkle proof leads to the anchored root",
  "item-binding": "Record is about this item",
  chain: "Chain identity",
  contract: "TraceAnchor contract",
  anchor: "Batch anchored on chain",
  "not-revoked": "Batch not revoked",
  "prefix-owner": "Brand owns the barcode prefix",
  "rpc-agreement": "Chain nodes agree",
};

function readJson<T>(id: string): T {
  const element = document.getElementById(id);
  if (!element?.textContent) throw new Error(`missing #${id}`);
  return JSON.parse(element.textContent) as T;
}

function show(report: VerifyReport | undefined, error?: string): void {
  const result = document.getElementById("check-result");
  const list = document.getElementById("check-steps");
  if (!result || !list) return;
  if (!report) {
    result.textContent = `Not verified: ${error ?? "the check could not run"}`;
    result.className = "bad";
    return;
  }
  const failed = report.steps.filter((s) => s.status === "fail");
  const verified = report.verdict !== "not-verified" && failed.length === 0;
  result.textContent = verified
    ? `Verified on this phone: ${report.steps.length} checks passed${report.onChain ? ", including the chain" : " (hashes and proofs; the chain was not read)"}. The records and the verdict above are authentic.`
    : `Not verified: ${failed.length} check(s) failed. Do not trust this page.`;
  result.className = verified ? "ok" : "bad";
  result.setAttribute("data-verdict", report.verdict);
  // A failure is shown at once; a pass keeps its list folded.
  if (!verified) document.getElementById("check-details")?.setAttribute("open", "");
  list.innerHTML = report.steps
    .map((s) => `<li class="${s.status}">${escapeHtml(LABELS[s.check] ?? s.check)} (${escapeHtml(s.subject)}): ${escapeHtml(s.detail)}</li>`)
    .join("");
}

async function main(): Promise<void> {
  let doc: ScanDocument;
  let config: ScanConfig;
  try {
    doc = readJson<ScanDocument>("item-document");
    config = readJson<ScanConfig>("scan-config");
  } catch (error) {
    show(undefined, error instanceof Error ? error.message : String(error));
    return;
  }
  let report: VerifyReport;
  try {
    report = await verifyDocument(doc, {
      chains: config.rpcUrl ? [createRpcChainReader(config.rpcUrl)] : [],
      ...(config.contract ? { trustedContract: config.contract } : {}),
    });
  } catch (error) {
    show(undefined, error instanceof Error ? error.message : String(error));
    return;
  }
  const content = document.getElementById("content");
  if (content && report.verdict !== "not-verified") content.innerHTML = renderMain(doc, config);
  show(report);
}

void main();
