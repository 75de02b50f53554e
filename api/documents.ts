/**
 * The documents the API serves, built from mirror rows: anchor references, proof bundles, batch
 * status, and the item document behind a Digital Link with its verdict.
 */
import type { Static } from "@sinclair/typebox";
import { makeProofBundle, type AnchorRef as CoreAnchorRef, type ProofBundle } from "../core/bundle";
import { formatDigitalLink } from "../core/digital-link";
import type { Hex32 } from "../core/hex";
import type { RecordKind, TraceAnchorRecord } from "../core/record";
import type { ApiConfig } from "./config";
import { versionedCache } from "./cache";
import { ApiError } from "./errors";
import type { Mirror } from "./mirror";
import type { AnchorRow } from "./repositories/anchors";
import type { CursorRow } from "./repositories/cursor";
import type { IdentityRow, TraceEventRow } from "./repositories/items";
import type { AnchoredRecordRow } from "./repositories/records";
import type { ScansRepository } from "./repositories/scans";
import type { AnchorStatus, BatchStatus, ItemDocument, Linkset } from "./schemas";

export type AnchorStatusDoc = Static<typeof AnchorStatus>;
export type ItemDoc = Static<typeof ItemDocument>;
export type BatchStatusDoc = Static<typeof BatchStatus>;
export type LinksetDoc = Static<typeof Linkset>;
export type Verdict = ItemDoc["verdict"];

export interface ItemKey {
  /** GTIN-14. */
  readonly gtin: string;
  readonly lot?: string;
  readonly serial?: string;
}

export const kindName = (kind: number): RecordKind => (kind === 1 ? "identity" : "trace");
export const isoTime = (seconds: number): string => new Date(seconds * 1000).toISOString();
export const hexOf = (bytes: Buffer): Hex32 => `0x${bytes.toString("hex")}`;

export function requireCursor(mirror: Mirror): CursorRow {
  const cursor = mirror.cursor.get();
  if (cursor === undefined) throw new ApiError(503, "NOT_INDEXED", "the mirror has not indexed any block yet");
  return cursor;
}

export function anchorRef(anchor: AnchorRow, cursor: CursorRow): CoreAnchorRef {
  return {
    chainId: String(cursor.chainId),
    contract: cursor.contract,
    brandId: String(anchor.brandId),
    kind: kindName(anchor.kind),
    leafCount: anchor.leafCount,
    txHash: anchor.txHash as Hex32,
    blockNumber: anchor.blockNumber,
    logIndex: anchor.logIndex,
    blockTime: isoTime(anchor.blockTime),
  };
}

export const isFinal = (anchor: AnchorRow, cursor: CursorRow): boolean => anchor.blockNumber <= cursor.finalizedBlock;

export function explorerLink(config: ApiConfig, path: string): string | null {
  return config.explorerUrl === null ? null : `${config.explorerUrl}/${path}`;
}

export function anchorStatus(anchor: AnchorRow, cursor: CursorRow, config: ApiConfig): AnchorStatusDoc {
  return {
    ...anchorRef(anchor, cursor),
    final: isFinal(anchor, cursor),
    revoked: anchor.revokedAtBlock !== null,
    revokeReason: anchor.revokeReason,
    explorerTxUrl: explorerLink(config, `tx/${anchor.txHash}`),
  };
}

export function proofBundle(mirror: Mirror, row: AnchoredRecordRow, cursor: CursorRow): ProofBundle {
  return makeProofBundle({
    record: JSON.parse(row.record) as TraceAnchorRecord,
    recordHash: hexOf(row.recordHash),
    proof: mirror.trees.proof(row.anchor.brandId, row.anchor.root, row.recordHash, row.leafIndex),
    root: row.anchor.root as Hex32,
    anchor: anchorRef(row.anchor, cursor),
  });
}

/** Which anchored copy of a record /v1/proofs serves: live before revoked, final before not, then oldest. */
export function preferredCopy<T extends AnchoredRecordRow>(rows: readonly T[], cursor: CursorRow): T | undefined {
  const rank = (row: T): number => (row.anchor.revokedAtBlock === null ? 0 : 2) + (isFinal(row.anchor, cursor) ? 0 : 1);
  return [...rows].sort((a, b) => rank(a) - rank(b))[0];
}

export function batchStatus(anchor: AnchorRow, cursor: CursorRow, config: ApiConfig): BatchStatusDoc {
  const self = `${config.publicUrl}/v1/batches/${anchor.brandId}/${anchor.root}`;
  return {
    brandId: String(anchor.brandId),
    root: anchor.root,
    kind: kindName(anchor.kind),
    leafCount: anchor.leafCount,
    contentUri: anchor.contentUri,
    submitter: anchor.submitter,
    anchor: anchorStatus(anchor, cursor, config),
    final: isFinal(anchor, cursor),
    revoked:
      anchor.revokedAtBlock === null
        ? null
        : {
            reason: anchor.revokeReason ?? "",
            by: anchor.revokedBy,
            txHash: anchor.revokeTx,
            blockNumber: anchor.revokedAtBlock,
            blockTime: anchor.revokedTime === null ? null : isoTime(anchor.revokedTime),
          },
    content: { status: anchor.contentStatus, reason: anchor.contentError },
    links: {
      self,
      records: `${self}/records`,
      content: `${self}/content`,
      explorerTx: explorerLink(config, `tx/${anchor.txHash}`),
      explorerBlock: explorerLink(config, `block/${anchor.blockNumber}`),
      explorerContract: explorerLink(config, `address/${cursor.contract}`),
    },
  };
}

/** A CBV disposition that means "recalled": "recalled", "urn:epcglobal:cbv:disp:recalled", "https://ref.gs1.org/cbv/Disp-recalled". */
export function isRecallDisposition(value: unknown): boolean {
  return typeof value === "string" && /(?:^|[:/_-])recalled$/i.test(value);
}

export interface ItemContext {
  readonly mirror: Mirror;
  readonly config: ApiConfig;
  readonly scans: ScansRepository | undefined;
}

/** One trace event of an item document, rendered once: its JSON text and what sorting and the verdict need. */
interface EventEntry {
  readonly id: string;
  readonly level: TraceEventRow["level"];
  /** Parsed eventTime (ms), NaN when absent or unparsable. */
  readonly at: number;
  readonly blockNumber: number;
  readonly logIndex: number;
  readonly leafIndex: number;
  readonly recall: boolean;
  readonly json: string;
}

/** The events naming a lot or a class, for one brand, as of one cursor. */
interface LevelFragment {
  readonly cursor: CursorRow;
  readonly entries: readonly EventEntry[];
}

interface AnchorFragment {
  readonly cursor: CursorRow;
  readonly rootJson: string;
  readonly statusJson: string;
}

/**
 * Per app: rendered anchor statuses (one per anchor row object, which the items repository keeps
 * until the mirror changes) and the rendered events of each lot and class (shared by every item of
 * the lot), dropped whenever the mirror's version moves: a new block, a revocation, new content.
 */
interface ItemRenderer {
  readonly config: ApiConfig;
  readonly anchors: WeakMap<AnchorRow, AnchorFragment>;
  readonly levels: ReturnType<typeof versionedCache<string, LevelFragment>>;
}

const renderers = new WeakMap<Mirror, ItemRenderer>();

function rendererOf(ctx: ItemContext): ItemRenderer {
  let renderer = renderers.get(ctx.mirror);
  if (renderer === undefined || renderer.config !== ctx.config) {
    renderer = { config: ctx.config, anchors: new WeakMap(), levels: versionedCache<string, LevelFragment>(ctx.mirror.version, 100_000) };
    renderers.set(ctx.mirror, renderer);
  }
  return renderer;
}

const jsonString = (value: string | null | undefined): string => (value === null || value === undefined ? "null" : JSON.stringify(value));

/** A stored record's JSON text, spliced as is: the indexer stores records as canonical JSON (RFC 8785). */
function recordJson(text: string): string {
  return text.charCodeAt(0) === 123 && text.charCodeAt(text.length - 1) === 125 ? text : JSON.stringify(JSON.parse(text));
}

function anchorFragment(renderer: ItemRenderer, anchor: AnchorRow, cursor: CursorRow): AnchorFragment {
  const hit = renderer.anchors.get(anchor);
  if (hit !== undefined && hit.cursor === cursor) return hit;
  const fragment = { cursor, rootJson: JSON.stringify(anchor.root), statusJson: JSON.stringify(anchorStatus(anchor, cursor, renderer.config)) };
  renderer.anchors.set(anchor, fragment);
  return fragment;
}

/** `{"record",…,"anchor"}` of an anchored record, without the closing brace. */
function provedJson(mirror: Mirror, renderer: ItemRenderer, row: AnchoredRecordRow, cursor: CursorRow): string {
  const anchor = anchorFragment(renderer, row.anchor, cursor);
  return (
    `{"record":${recordJson(row.record)},"recordHash":"${hexOf(row.recordHash)}",` +
    `"proof":${mirror.trees.proofJson(row.anchor.brandId, row.anchor.root, row.recordHash, row.leafIndex)},` +
    `"root":${anchor.rootJson},"anchor":${anchor.statusJson}`
  );
}

function eventEntry(mirror: Mirror, renderer: ItemRenderer, row: TraceEventRow, cursor: CursorRow): EventEntry {
  const record = JSON.parse(row.record) as TraceAnchorRecord;
  const event = record.kind === "trace" ? record.event : undefined;
  const eventTime = typeof event?.eventTime === "string" ? event.eventTime : null;
  return {
    id: `${row.anchor.brandId}:${row.anchor.root}:${row.leafIndex}`,
    level: row.level,
    at: eventTime === null ? Number.NaN : Date.parse(eventTime),
    blockNumber: row.anchor.blockNumber,
    logIndex: row.anchor.logIndex,
    leafIndex: row.leafIndex,
    recall: isRecallDisposition(event?.disposition),
    json: `${provedJson(mirror, renderer, row, cursor)},"level":"${row.level}","role":${jsonString(row.submitterRole)},"eventTime":${jsonString(eventTime)}}`,
  };
}

/** Only live trace anchors of the brand whose events the document shows. */
const showsEvent = (row: TraceEventRow, brand: number): boolean => row.anchor.revokedAtBlock === null && row.anchor.kind === 2 && row.anchor.brandId === brand;

function levelEntries(ctx: ItemContext, renderer: ItemRenderer, gtin: string, lot: string, brand: number, cursor: CursorRow): readonly EventEntry[] {
  const key = `${gtin}\u0000${lot}\u0000${brand}`;
  const hit = renderer.levels.peek(key);
  if (hit !== undefined && hit.cursor === cursor) return hit.entries;
  const entries = ctx.mirror.items
    .level(gtin, lot)
    .filter((row) => showsEvent(row, brand))
    .map((row) => eventEntry(ctx.mirror, renderer, row, cursor));
  renderer.levels.set(key, { cursor, entries });
  return entries;
}

/** isoTime with a one-entry memo: most first scans happened in the current second. */
let lastIsoSeconds = Number.NaN;
let lastIso = "";
function recentIsoTime(seconds: number): string {
  if (seconds !== lastIsoSeconds) {
    lastIso = isoTime(seconds);
    lastIsoSeconds = seconds;
  }
  return lastIso;
}

/** By event time (events without a parsable one last), then oldest anchor first. */
function byEventTime(a: EventEntry, b: EventEntry): number {
  const an = Number.isNaN(a.at);
  const bn = Number.isNaN(b.at);
  if (an !== bn) return an ? 1 : -1;
  return (an ? 0 : a.at - b.at) || a.blockNumber - b.blockNumber || a.logIndex - b.logIndex || a.leafIndex - b.leafIndex;
}

/** The identity record a serial resolves to: the prefix owner's live copy, else its revoked one, else the oldest. */
function chooseIdentity(rows: readonly IdentityRow[], ownerBrand: number | undefined, pathLot: string | undefined): IdentityRow | undefined {
  let best: IdentityRow | undefined;
  let bestRank = Number.POSITIVE_INFINITY;
  for (const row of rows) {
    // A label that names a lot other than the anchored one is not this item.
    if (pathLot !== undefined && row.lot !== undefined && row.lot !== pathLot) continue;
    const rank = (row.anchor.brandId === ownerBrand ? 0 : 2) + (row.anchor.revokedAtBlock === null ? 0 : 1);
    if (rank < bestRank) {
      best = row;
      bestRank = rank;
    }
  }
  return best;
}

/**
 * The item document as JSON text, or undefined when nothing is anchored for the key. `scan` is the
 * client address when this request counts as a scan (a GET of a serialised item with scans on).
 * Records are spliced as stored, proofs come as text from the tree cache, and the events of the
 * item's lot and class are rendered once per mirror version.
 */
export function itemDocumentJson(ctx: ItemContext, key: ItemKey, scan: { client: string; now: number } | undefined): string | undefined {
  const { mirror, config } = ctx;
  // This turn's requests share one read transaction; caches follow the mirror's version.
  mirror.reads.enter();
  mirror.version.generation();
  const renderer = rendererOf(ctx);
  const cursor = requireCursor(mirror);
  const owner = mirror.brands.ownerOfGtin(key.gtin);
  let identity: IdentityRow | undefined;
  let itemEvents: TraceEventRow[] = [];
  if (key.serial !== undefined) {
    const rows = mirror.items.serial(key.gtin, key.serial);
    identity = chooseIdentity(rows.identities, owner?.brandId, key.lot);
    if (identity === undefined) return undefined;
    itemEvents = rows.events;
  }
  const lot = identity?.lot ?? key.lot;
  const eventsBrand = owner?.brandId ?? identity?.anchor.brandId;

  let events: EventEntry[] = [];
  if (eventsBrand !== undefined) {
    const lists: (readonly EventEntry[])[] = [];
    const own = itemEvents.filter((row) => showsEvent(row, eventsBrand)).map((row) => eventEntry(mirror, renderer, row, cursor));
    if (own.length > 0) lists.push(own);
    if (lot !== undefined) {
      const ofLot = levelEntries(ctx, renderer, key.gtin, lot, eventsBrand, cursor);
      if (ofLot.length > 0) lists.push(ofLot);
    }
    const ofClass = levelEntries(ctx, renderer, key.gtin, "", eventsBrand, cursor);
    if (ofClass.length > 0) lists.push(ofClass);
    if (lists.length === 1) events = lists[0] as EventEntry[];
    else if (lists.length > 1) {
      // An event naming the item and its lot (or class) is listed once, at its most specific level.
      const seen = new Set<string>();
      for (const list of lists) {
        for (const entry of list) {
          if (seen.has(entry.id)) continue;
          seen.add(entry.id);
          events.push(entry);
        }
      }
      events.sort(byEventTime);
    }
  }
  if (identity === undefined && events.length === 0) return undefined;
  const recalled = events.some((e) => e.level !== "class" && e.recall);

  let scans: { count: number | null; firstScanAt: number | null } = { count: null, firstScanAt: null };
  if (ctx.scans !== undefined && key.serial !== undefined) {
    const counted = scan === undefined ? ctx.scans.get(key.gtin, key.serial) : ctx.scans.record(key.gtin, key.serial, scan.client, scan.now);
    scans = counted === undefined ? { count: 0, firstScanAt: null } : counted;
  }

  let verdict: Verdict;
  if (identity === undefined) verdict = recalled ? "recalled" : "unverified";
  else if (owner === undefined || identity.anchor.brandId !== owner.brandId) verdict = "prefix-mismatch";
  else if (identity.anchor.revokedAtBlock !== null) verdict = "revoked";
  else if (recalled) verdict = "recalled";
  else if (scans.count !== null && scans.count > config.scanThreshold) verdict = "suspicious";
  else verdict = "genuine";

  const brandRow = owner === undefined ? undefined : mirror.brands.get(owner.brandId);
  const brand =
    owner === undefined || brandRow === undefined
      ? "null"
      : `{"brandId":"${owner.brandId}","name":${JSON.stringify(brandRow.name)},"prefix":${JSON.stringify(owner.prefix)}}`;
  const link = digitalLinkOf(config, { gtin: key.gtin, ...(lot === undefined ? {} : { lot }), ...(key.serial === undefined ? {} : { serial: key.serial }) });
  let eventsJson = "[";
  for (let i = 0; i < events.length; i++) eventsJson += i === 0 ? (events[i] as EventEntry).json : `,${(events[i] as EventEntry).json}`;
  return (
    `{"verdict":"${verdict}",` +
    `"item":{"gtin":${JSON.stringify(key.gtin)},"serial":${jsonString(key.serial)},"lot":${jsonString(lot)},"digitalLink":${JSON.stringify(link)}},` +
    `"brand":${brand},` +
    `"identity":${identity === undefined ? "null" : `${provedJson(mirror, renderer, identity, cursor)}}`},` +
    `"events":${eventsJson}],` +
    `"scans":{"count":${scans.count === null ? "null" : String(scans.count)},"firstScanAt":${scans.firstScanAt === null ? "null" : `"${recentIsoTime(scans.firstScanAt)}"`}}}`
  );
}

/** The item document (see `itemDocumentJson`), or undefined when nothing is anchored for the key. */
export function itemDocument(ctx: ItemContext, key: ItemKey, scan: { client: string; now: number } | undefined): ItemDoc | undefined {
  const text = itemDocumentJson(ctx, key, scan);
  return text === undefined ? undefined : (JSON.parse(text) as ItemDoc);
}

export function digitalLinkOf(config: ApiConfig, key: ItemKey): string {
  return formatDigitalLink(key, config.publicUrl);
}

/** RFC 9264 linkset for a key, with GS1 link types; undefined when nothing is anchored for it. */
export function linksetOf(ctx: ItemContext, key: ItemKey): LinksetDoc | undefined {
  const doc = itemDocument(ctx, key, undefined);
  if (doc === undefined) return undefined;
  const link = doc.item.digitalLink;
  const anchor = digitalLinkOf(ctx.config, key);
  const verification =
    doc.identity === null
      ? { href: link, title: "Item document with proofs", type: "application/json" }
      : { href: `${ctx.config.publicUrl}/v1/proofs/${doc.identity.recordHash}`, title: "Proof bundle of the identity record", type: "application/json" };
  const pip = { href: link, title: "Scan page: is it genuine, where has it been", type: "text/html" };
  return {
    linkset: [
      {
        anchor,
        "https://gs1.org/voc/pip": [pip],
        "https://gs1.org/voc/traceability": [{ href: link, title: "Trace events with proofs", type: "application/json" }],
        "https://gs1.org/voc/verificationService": [verification],
        "https://gs1.org/voc/defaultLink": [pip],
      },
    ],
  };
}
