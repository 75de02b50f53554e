/**
 * The consumer scan page: what a phone shows right after scanning a product's QR code.
 *
 *   renderScanPage(doc, options): string          the whole HTML page (server side)
 *   renderMain(doc, options): string              the product, verdict and timeline (server and browser)
 *   serverVerdictNotice(server, phone, onChain)   the notice shown when the phone's verdict is not the server's
 *   checkSummary(report, rpcCount): CheckSummary  what the page says about its in-browser check
 *   renderSteps(steps): string                    the list of checks the phone ran
 *
 * Pure string rendering, no DOM and no Node built-ins, so the browser script re-renders the same
 * markup from the document it has verified itself: what the page shows is what was checked. The
 * verdicts and their wording are core/verdict.ts's.
 */
import {
  VERDICTS,
  isRecallDisposition,
  isVerdict,
  verifiedStatement,
  type CodeLevel,
  type VerdictText,
} from "../../core/verdict";
import type { VerifyCheck, VerifyReport, VerifyStep } from "../../core/verify";

export interface ScanAnchor {
  readonly chainId: string;
  readonly contract: string;
  readonly brandId: string;
  readonly txHash: string;
  readonly blockNumber: number;
  readonly blockTime: string;
  readonly final?: boolean;
  readonly revoked?: boolean;
  readonly revokeReason?: string | null;
  readonly explorerTxUrl?: string | null;
}

export interface ScanPart {
  readonly record: unknown;
  readonly recordHash: string;
  readonly proof: readonly string[];
  readonly root: string;
  readonly anchor: ScanAnchor;
  readonly role?: string | null;
  readonly level?: string;
  readonly eventTime?: string | null;
}

/** A lot's or a product's summary, as the server counts it from its mirror. */
export interface ScanProduct {
  readonly name: string | null;
  readonly attributes: Readonly<Record<string, unknown>> | null;
  readonly items: number;
  readonly lots: number;
  readonly recalledLots: readonly string[];
}

export interface ScanDocument {
  /** Absent in documents of older servers: those are rendered as serial pages. */
  readonly level?: CodeLevel;
  /** One of core/verdict's verdicts; an older server may send another word. */
  readonly verdict: string;
  readonly item: {
    readonly gtin: string;
    readonly serial: string | null;
    readonly lot: string | null;
    readonly digitalLink: string;
  };
  readonly brand: { readonly brandId: string; readonly name: string; readonly prefix: string } | null;
  /** Serial level: the item's record. Lot and product level: one item of the prefix owner, a sample. */
  readonly identity: ScanPart | null;
  readonly events: readonly ScanPart[];
  /** Non-null at lot and product level. */
  readonly product?: ScanProduct | null;
  readonly scans: { readonly count: number | null; readonly firstScanAt: string | null };
}

export interface ScanPageOptions {
  /** URL of the browser verifier script. */
  readonly scriptUrl: string;
  /** JSON-RPC URLs the browser reads the chain through (all must agree); none: only hashes and proofs are checked. */
  readonly rpcUrls?: readonly string[];
  /** The TraceAnchor address the page vouches for. */
  readonly contract?: string;
  /** Where the proof bundle of a record is served: `${bundleBase}/${recordHash}`. */
  readonly bundleBase: string;
  /** The server's scan threshold (TRACE_SCAN_THRESHOLD), so the phone decides "suspicious" as it does; default the verifier's. */
  readonly scanThreshold?: number;
}

/** What the browser script reads from the page's #scan-config. */
export interface ScanConfig {
  readonly rpcUrls: readonly string[];
  readonly contract: string | null;
  readonly bundleBase: string;
  readonly scanThreshold: number | null;
}

type Json = Record<string, unknown>;

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The last segment of a CBV value in any of its forms: bare, URN, or GS1 web vocabulary URI. */
export function cbvTerm(value: unknown): string | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  const tail = value.split(/[:/#]/).pop() ?? value;
  return tail.replace(/^(BizStep|Disp|BTT|ER|SDT|MeasurementType)-/i, "");
}

/** CBV business steps grouped into the four trace nodes a consumer knows, plus anything else. */
const STEPS: Readonly<Record<string, { label: string; node: string }>> = {
  commissioning: { label: "Made and serialised", node: "Factory" },
  creating_class_instance: { label: "Produced", node: "Factory" },
  transforming: { label: "Processed", node: "Factory" },
  packing: { label: "Packed", node: "Factory" },
  encoding: { label: "Labelled", node: "Factory" },
  inspecting: { label: "Inspected", node: "Quality inspection" },
  sampling: { label: "Sampled for testing", node: "Quality inspection" },
  accepting: { label: "Accepted", node: "Quality inspection" },
  shipping: { label: "Shipped", node: "Logistics" },
  departing: { label: "Departed", node: "Logistics" },
  loading: { label: "Loaded", node: "Logistics" },
  transporting: { label: "In transit", node: "Logistics" },
  arriving: { label: "Arrived", node: "Logistics" },
  receiving: { label: "Received", node: "Logistics" },
  storing: { label: "Stored", node: "Logistics" },
  holding: { label: "Held", node: "Logistics" },
  picking: { label: "Picked for an order", node: "Order logistics" },
  stocking: { label: "Put on the shelf", node: "Retail" },
  retail_selling: { label: "Sold", node: "Retail" },
  recalling: { label: "Recalled", node: "Recall" },
  destroying: { label: "Destroyed", node: "Recall" },
};

/** A JSON value as page text: strings, numbers and booleans as they are, anything else as its JSON. */
function textOf(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value) ?? "";
}

function stepOf(event: Json): { label: string; node: string } {
  // A recall is what the consumer must see, whatever business step carried it.
  if (isRecallDisposition(event.disposition)) return { label: "Recalled", node: "Recall" };
  const term = cbvTerm(event.bizStep);
  if (term === undefined) return { label: event.type === undefined ? "Event" : textOf(event.type), node: "Other" };
  return STEPS[term] ?? { label: term.replace(/_/g, " "), node: "Other" };
}

/** The event's time in its own time zone, e.g. "2026-11-01 15:00 (UTC+08:00)". */
export function localTime(eventTime: unknown, offset: unknown): string {
  if (typeof eventTime !== "string") return "";
  const ms = Date.parse(eventTime);
  if (Number.isNaN(ms)) return eventTime;
  const match = typeof offset === "string" ? /^([+-])(\d{2}):(\d{2})$/.exec(offset) : null;
  const minutes = match ? (match[1] === "-" ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3])) : 0;
  const local = new Date(ms + minutes * 60_000).toISOString();
  return `${local.slice(0, 10)} ${local.slice(11, 16)} (UTC${match ? match[0] : "+00:00"})`;
}

const UNITS: Readonly<Record<string, string>> = {
  CEL: "°C",
  FAH: "°F",
  KEL: "K",
  P1: "%",
  KGM: "kg",
  GRM: "g",
  MTR: "m",
  A93: "g/m³",
  PAL: "Pa",
  LTR: "l",
};

function sensorLines(event: Json): string[] {
  const lines: string[] = [];
  const elements = Array.isArray(event.sensorElementList) ? event.sensorElementList : [];
  for (const element of elements) {
    const reports = isObject(element) && Array.isArray(element.sensorReport) ? element.sensorReport : [];
    for (const report of reports) {
      if (!isObject(report)) continue;
      // "gs1:RelativeHumidity" → "Relative humidity"
      const term = cbvTerm(report.type) ?? "Reading";
      const type = term
        .replace(/([a-z])([A-Z])/g, "$1 $2")
        .replace(/ ([A-Z])/g, (_m, c: string) => ` ${c.toLowerCase()}`);
      const unit = typeof report.uom === "string" ? (UNITS[report.uom] ?? report.uom) : "";
      const value = report.value ?? report.meanValue;
      const range =
        report.minValue !== undefined && report.maxValue !== undefined
          ? ` (${textOf(report.minValue)}–${textOf(report.maxValue)}${unit})`
          : "";
      if (value !== undefined) lines.push(`${type}: ${textOf(value)}${unit}${range}`);
      else if (range) lines.push(`${type}: ${range.trim()}`);
    }
  }
  return lines;
}

function certificates(event: Json): string[] {
  const info = event.certificationInfo;
  const list = Array.isArray(info) ? info : info === undefined ? [] : [info];
  return list.map((c) => textOf(isObject(c) ? (c.certificate ?? c.certificateID ?? c.certificationStandard ?? c) : c));
}

function link(text: string): string {
  return /^https:\/\//.test(text)
    ? `<a href="${escapeHtml(text)}" rel="noopener">${escapeHtml(text)}</a>`
    : escapeHtml(text);
}

/** The verdict's wording; a word this page does not know (an older server's) is shown as such, never as a known verdict. */
function verdictText(verdict: string): Pick<VerdictText, "title" | "text" | "tone"> {
  if (isVerdict(verdict)) return VERDICTS[verdict];
  return {
    title: "Verdict not recognised",
    text: `The server's verdict ${JSON.stringify(verdict)} is not one this page knows.`,
    tone: "warn",
  };
}

/** The level the page is laid out for: lot and product pages need the server's product summary, else serial. */
export function pageLevel(doc: ScanDocument): CodeLevel {
  return (doc.level === "lot" || doc.level === "product") && isObject(doc.product) ? doc.level : "serial";
}

function attribute(record: unknown, ...names: string[]): string | undefined {
  const attributes = isObject(record) && isObject(record.attributes) ? record.attributes : undefined;
  for (const name of names) {
    const value = attributes?.[name];
    if (typeof value === "string" && value !== "") return value;
  }
  return undefined;
}

function verdictBlock(doc: ScanDocument): string {
  const v = verdictText(doc.verdict);
  // Not counterfeit: the barcode's owner is known, it just has not registered this product here.
  const text =
    doc.verdict === "unlisted" && doc.brand
      ? `${doc.brand.name} owns this barcode's prefix but has not registered this product here.`
      : v.text;
  const scans =
    doc.verdict === "suspicious" && doc.scans.count !== null
      ? ` Scanned ${doc.scans.count} times since ${escapeHtml(doc.scans.firstScanAt ?? "")}.`
      : "";
  const reason =
    doc.verdict === "revoked" && doc.identity?.anchor.revokeReason
      ? ` The brand's reason: “${escapeHtml(doc.identity.anchor.revokeReason)}”.`
      : "";
  return `<section class="verdict ${v.tone}" aria-live="polite"><h2>${escapeHtml(v.title)}</h2><p>${escapeHtml(text)}${scans}${reason}</p></section>`;
}

function badge(doc: ScanDocument, level: CodeLevel): string {
  const anchor = doc.identity?.anchor;
  if (!anchor) return "";
  const when = escapeHtml(anchor.blockTime.slice(0, 10));
  const what = level === "serial" ? "Anchored" : `An item of this ${level} anchored`;
  const text = `${what} on chain ${escapeHtml(anchor.chainId)}, block ${escapeHtml(anchor.blockNumber)}, ${when}${anchor.final === false ? " (not final yet)" : ""}`;
  return `<p class="badge">${anchor.explorerTxUrl ? `<a href="${escapeHtml(anchor.explorerTxUrl)}" rel="noopener">${text}</a>` : text}</p>`;
}

function timeline(doc: ScanDocument, level: CodeLevel, bundleBase: string): string {
  const subject = level === "serial" ? "item" : level;
  if (doc.events.length === 0)
    return `<section><h2>Journey</h2><p>No trace events recorded for this ${subject} yet.</p></section>`;
  const items = doc.events.map((part) => {
    const event = isObject(part.record) && isObject(part.record.event) ? part.record.event : {};
    const step = stepOf(event);
    const recalled = isRecallDisposition(event.disposition);
    const where =
      cbvTerm(isObject(event.bizLocation) ? event.bizLocation.id : undefined) ??
      cbvTerm(isObject(event.readPoint) ? event.readPoint.id : undefined);
    const details = [
      ...sensorLines(event).map((l) => `<li>${escapeHtml(l)}</li>`),
      ...certificates(event).map((c) => `<li>Certificate: ${link(c)}</li>`),
    ].join("");
    return `<li class="event${recalled ? " recalled" : ""}"><h3><span class="node">${escapeHtml(step.node)}</span> ${escapeHtml(step.label)}</h3>
<p><time datetime="${escapeHtml(event.eventTime ?? "")}">${escapeHtml(localTime(event.eventTime, event.eventTimeZoneOffset))}</time>${part.role ? ` · recorded by ${escapeHtml(part.role)}` : ""}${where ? ` · ${escapeHtml(where)}` : ""}${part.level && part.level !== "item" && part.level !== (level === "product" ? "class" : level) ? ` · for the whole ${escapeHtml(part.level === "class" ? "product" : part.level)}` : ""}</p>
${details ? `<ul>${details}</ul>` : ""}<p class="small"><a href="${escapeHtml(`${bundleBase}/${part.recordHash}`)}" download>proof</a></p></li>`;
  });
  return `<section><h2>Journey</h2><ol class="timeline">${items.join("\n")}</ol></section>`;
}

export function renderMain(doc: ScanDocument, options: Pick<ScanPageOptions, "bundleBase">): string {
  const level = pageLevel(doc);
  if (level !== "serial") return renderClassMain(doc, level, options);
  const record = doc.identity?.record;
  const product = attribute(record, "product", "name", "productName", "description") ?? `GTIN ${doc.item.gtin}`;
  const recall =
    doc.verdict === "recalled"
      ? `<div class="banner" role="alert"><strong>Recall:</strong> do not use this product.</div>`
      : "";
  const facts = [
    ["Brand", doc.brand?.name],
    ["GTIN", doc.item.gtin],
    ["Lot", doc.item.lot],
    ["Serial", doc.item.serial],
    ["Best before", attribute(record, "expiry", "bestBefore", "best_before")],
  ]
    .filter((f): f is [string, string] => typeof f[1] === "string" && f[1] !== "")
    .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`)
    .join("");
  const bundle = doc.identity
    ? `<p><a class="button" href="${escapeHtml(`${options.bundleBase}/${doc.identity.recordHash}`)}" download="proof-${escapeHtml(doc.item.gtin)}.json">Download the proof bundle</a></p>`
    : "";
  return `${recall}<header><p class="brand">${escapeHtml(doc.brand?.name ?? "Unknown brand")}</p><h1>${escapeHtml(product)}</h1></header>
${verdictBlock(doc)}${badge(doc, "serial")}<section><h2>Item</h2><dl>${facts}</dl>${bundle}</section>
${timeline(doc, "serial", options.bundleBase)}`;
}

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

function attributeText(value: unknown): string | undefined {
  if (typeof value === "string") return value === "" ? undefined : value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

/** A lot's or a product's page: what the brand registered, never a verdict about one item. */
function renderClassMain(
  doc: ScanDocument,
  level: "lot" | "product",
  options: Pick<ScanPageOptions, "bundleBase">,
): string {
  const product = doc.product as ScanProduct;
  const sample = doc.identity?.record;
  const name =
    (typeof product.name === "string" && product.name !== "" ? product.name : undefined) ??
    attribute(sample, "product", "name", "productName", "description") ??
    `GTIN ${doc.item.gtin}`;
  const recall =
    doc.verdict === "recalled"
      ? `<div class="banner" role="alert"><strong>Recall:</strong> do not use ${level === "lot" ? "products of this lot" : "this product"}.</div>`
      : "";
  const attributes = isObject(product.attributes)
    ? Object.entries(product.attributes).flatMap(([k, v]): [string, string][] => {
        const text = attributeText(v);
        return text === undefined ? [] : [[k, text]];
      })
    : [];
  const counts =
    typeof product.items === "number" && typeof product.lots === "number"
      ? `${plural(product.items, "item", "items")} in ${plural(product.lots, "lot", "lots")} anchored (the server's count)`
      : undefined;
  const facts = [
    ["Brand", doc.brand?.name],
    ["GTIN", doc.item.gtin],
    ["Lot", level === "lot" ? doc.item.lot : null],
    ...attributes,
  ]
    .filter((f): f is [string, string] => typeof f[1] === "string" && f[1] !== "")
    .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`)
    .join("");
  const recalledLots = Array.isArray(product.recalledLots)
    ? product.recalledLots.filter((l): l is string => typeof l === "string")
    : [];
  const recalls =
    recalledLots.length === 0
      ? ""
      : `<section class="recalled-lots"><h2>Recalled lots</h2><p class="small">As the server lists them.</p><ul>${recalledLots.map((l) => `<li>Lot ${escapeHtml(l)}</li>`).join("")}</ul></section>`;
  return `${recall}<header><p class="brand">${escapeHtml(doc.brand?.name ?? "No registered brand")}</p><h1>${escapeHtml(name)}</h1></header>
${verdictBlock(doc)}${badge(doc, level)}<section><h2>${level === "lot" ? "Lot" : "Product"}</h2><dl>${facts}</dl>${counts ? `<p class="counts">${escapeHtml(counts)}.</p>` : ""}</section>${recalls}
${timeline(doc, level, options.bundleBase)}`;
}

/** Shown above the page when the phone's verdict is not the one the server sent. */
export function serverVerdictNotice(serverVerdict: string, phoneVerdict: string, onChain: boolean): string {
  const server = escapeHtml(verdictText(serverVerdict).title);
  const phone = escapeHtml(verdictText(phoneVerdict).title);
  return onChain
    ? `<div class="banner" role="alert" id="server-verdict"><strong>The server's verdict (“${server}”) was wrong.</strong> This phone read the chain: ${phone}.</div>`
    : `<div class="banner" role="alert" id="server-verdict"><strong>The server's verdict (“${server}”) does not follow from the records it sent</strong>, which say: ${phone}. Nothing here was checked against the chain.</div>`;
}

export const CHECK_LABELS: Readonly<Record<VerifyCheck, string>> = {
  document: "Document is well-formed",
  "record-hash": "Record fingerprint recomputed",
  "merkle-proof": "Merkle proof leads to the anchored root",
  "item-binding": "Record is about this code",
  chain: "Chain identity",
  contract: "TraceAnchor contract",
  anchor: "Batch anchored on chain",
  revocation: "Batch revocation read on chain",
  "prefix-owner": "Owner of the barcode prefix read on chain",
  "rpc-agreement": "Chain nodes agree",
};

export function renderSteps(steps: readonly VerifyStep[]): string {
  return steps
    .map(
      (s) =>
        `<li class="${escapeHtml(s.status)}">${escapeHtml(CHECK_LABELS[s.check] ?? s.check)} (${escapeHtml(s.subject)}): ${escapeHtml(s.detail)}</li>`,
    )
    .join("");
}

export interface CheckSummary {
  readonly text: string;
  /** The colour: the verdict's tone when the chain confirmed it; amber when the chain was not read. */
  readonly tone: "ok" | "warn" | "bad";
  /** verified: the verdict is a fact read on chain; unchecked: hashes and proofs only; not-verified: a check failed. */
  readonly state: "verified" | "unchecked" | "not-verified";
}

/** What the page says about the check this phone ran; `rpcCount` is how many RPCs it read. */
export function checkSummary(report: VerifyReport, rpcCount: number): CheckSummary {
  if (report.verdict === "not-verified") {
    const failed = report.steps.filter((s) => s.status === "fail").length;
    return {
      text: `Not verified: ${failed} check(s) failed. Do not trust this page.`,
      tone: "bad",
      state: "not-verified",
    };
  }
  const records = plural(
    report.records,
    "record fingerprint and its Merkle proof",
    "record fingerprints and their Merkle proofs",
  );
  const wrong =
    report.agreesWithServer === false
      ? ` The server's verdict (“${verdictText(report.serverVerdict ?? "").title}”) was wrong.`
      : "";
  if (!report.onChain) {
    const checked = report.records === 0 ? "This page holds no records to check" : `This phone checked ${records}`;
    const odd =
      report.agreesWithServer === false ? " The server's verdict does not follow from the records it sent." : "";
    return {
      text: `${checked}. The chain was not read, so the anchors, revocations and the barcode's prefix owner were NOT checked: the verdict above is the server's word.${odd}`,
      tone: "warn",
      state: "unchecked",
    };
  }
  const through = rpcCount > 1 ? `${rpcCount} chain nodes, which agree` : "the chain";
  const read =
    report.records === 0
      ? "the owner of the barcode's prefix"
      : "the anchors, revocations and the owner of the barcode's prefix";
  const checked =
    report.records === 0
      ? `read ${read} through ${through}`
      : `checked ${records}, and read ${read} through ${through}`;
  return {
    text: `${verifiedStatement(report.verdict, { revokedAt: report.revokedAt })}. This phone ${checked}.${wrong}`,
    tone: VERDICTS[report.verdict].tone,
    state: "verified",
  };
}

const STYLE = `:root{color-scheme:light;--ok:#0a6b2d;--bad:#a4161a;--warn:#8a5300;--ink:#1b1b1b;--muted:#4a4a4a}
*{box-sizing:border-box}body{margin:0;overflow-wrap:anywhere;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:#f6f6f4}
main{max-width:40rem;margin:0 auto;padding:1rem}h1{font-size:1.5rem;margin:.2rem 0 1rem}h2{font-size:1.15rem;margin:1.2rem 0 .5rem}h3{font-size:1rem;margin:0}
.brand{margin:0;color:var(--muted);font-weight:600}.verdict{border-radius:.5rem;padding:.75rem 1rem;color:#fff}.verdict h2{margin:0;font-size:1.35rem}.verdict p{margin:.25rem 0 0}
.ok{background:var(--ok)}.bad{background:var(--bad)}.warn{background:var(--warn)}.banner{background:var(--bad);color:#fff;padding:.75rem 1rem;font-size:1.1rem;margin:-1rem -1rem 1rem}
.badge{font-size:.9rem;margin:.5rem 0}.badge a,a{color:#0b4f9c}dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}dt{color:var(--muted)}dd{margin:0;word-break:break-all}
.timeline{list-style:none;padding:0;margin:0;border-left:3px solid #c9c9c4}.event{margin:0 0 1rem;padding-left:1rem}.event p{margin:.1rem 0}.event ul{margin:.25rem 0;padding-left:1.2rem}
.event.recalled h3{color:var(--bad)}.node{display:inline-block;font-size:.8rem;background:#e4e4de;border-radius:.25rem;padding:0 .35rem;margin-right:.25rem}.small{font-size:.85rem}
.button{display:inline-block;background:#0b4f9c;color:#fff;padding:.5rem .9rem;border-radius:.4rem;text-decoration:none;margin-top:.75rem}
summary{cursor:pointer;margin:.5rem 0}#checks{background:#fff;border:1px solid #d6d6d0;border-radius:.5rem;padding:.75rem 1rem;margin-top:1.5rem}#checks ul{padding-left:1.2rem;margin:.25rem 0}.pass::marker{content:"✔ "}.fail::marker{content:"✘ ";color:var(--bad)}.skip::marker{content:"– "}
#check-result.ok,#check-result.bad,#check-result.warn{color:#fff;padding:.25rem .5rem;border-radius:.25rem}
@media (min-width:48rem){main{padding:2rem}}`;

/** The page for a code that resolves to no record: the consumer must learn that, plainly. */
export function renderUnknownPage(item: {
  readonly gtin: string;
  readonly lot?: string;
  readonly serial?: string;
}): string {
  const facts = [
    ["GTIN", item.gtin],
    ["Lot", item.lot],
    ["Serial", item.serial],
  ]
    .filter((f): f is [string, string] => typeof f[1] === "string")
    .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`)
    .join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Unknown item</title><style>${STYLE}</style></head>
<body><main><header><p class="brand">TraceAnchor</p><h1>Item not found</h1></header>
<section class="verdict bad" aria-live="polite"><h2>Unknown</h2><p>No brand has registered this code. The product may be counterfeit, or its code may have been copied or mistyped. Do not rely on it; ask the seller or contact the brand.</p></section>
<section><h2>Scanned code</h2><dl>${facts}</dl></section></main></body></html>`;
}

/** Inside <script type="application/json">, only "</" could end the element early. */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c");
}

export function renderScanPage(doc: ScanDocument, options: ScanPageOptions): string {
  const rpcUrls = options.rpcUrls ?? [];
  const config: ScanConfig = {
    rpcUrls,
    contract: options.contract ?? null,
    bundleBase: options.bundleBase,
    scanThreshold: options.scanThreshold ?? null,
  };
  const title = `${doc.brand?.name ?? "TraceAnchor"} · ${verdictText(doc.verdict).title}`;
  // Opens each RPC connection while the script downloads (bench:phone: 1.92 s → 1.56 s to "verified"
  // when a new connection costs two round trips). crossorigin: the verifier's fetch sends no
  // credentials, and a credentialed connection would not be reused for it.
  const preconnects = [...new Set(rpcUrls.map((url) => new URL(url).origin))]
    .map((origin) => `<link rel="preconnect" href="${escapeHtml(origin)}" crossorigin>`)
    .join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">${preconnects}
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><main><div id="content">${renderMain(doc, options)}</div>
<section id="checks" aria-labelledby="checks-title"><h2 id="checks-title">Checked on this phone</h2>
<p id="check-result">Checking the records against their proofs${rpcUrls.length > 0 ? " and the chain" : " (this page reads no chain)"}…</p>
<details id="check-details"><summary>What was checked</summary><ul id="check-steps"></ul></details>
<noscript><p>Turn on JavaScript to check the records on this device; the verdict above is the server's word.</p></noscript></section>
</main>
<script type="application/json" id="item-document">${jsonForScript(doc)}</script>
<script type="application/json" id="scan-config">${jsonForScript(config)}</script>
<script src="${escapeHtml(options.scriptUrl)}" defer></script>
</body></html>`;
}
