/**
 * The documents the API serves, built from mirror rows: anchor references, proof bundles, batch
 * status, and the document behind a Digital Link at its level (serial, lot, product), with the
 * verdict core/verdict.ts decides from the facts gathered here.
 */
import type { Static } from "@sinclair/typebox";
import { makeProofBundle, type AnchorRef as CoreAnchorRef, type ProofBundle } from "../core/bundle";
import { formatDigitalLink } from "../core/digital-link";
import type { Hex32 } from "../core/hex";
import { isPlainObject, KIND_CODE, kindOfCode, type RecordKind, type TraceAnchorRecord } from "../core/record";
import { decideVerdict, isRecallDisposition, type CodeLevel, type RecallFact, type Verdict } from "../core/verdict";
import type { ApiConfig } from "./config";
import { versionedCache } from "../mirror/read";
import { ApiError } from "./errors";
import type { Mirror } from "./mirror";
import type {
  AnchorRow,
  AnchoredRecordRow,
  CursorRow,
  IdentityRow,
  LotEventRow,
  SerialRows,
  PrefixRow,
  TraceEventRow,
} from "../mirror/types";
import type { ScansRepository } from "./repositories/scans";
import type { BrandLinkSource } from "./link-source";
import type { AnchorStatus, BatchStatus, ItemDocument } from "./schemas";

export type AnchorStatusDoc = Static<typeof AnchorStatus>;
export type ItemDoc = Static<typeof ItemDocument>;
export type BatchStatusDoc = Static<typeof BatchStatus>;
export type { CodeLevel, Verdict };

export interface ItemKey {
  /** GTIN-14. */
  readonly gtin: string;
  readonly lot?: string;
  readonly serial?: string;
}

/** The record kind of an anchor row; the contract anchors no other kinds, so any other is a broken mirror. */
export function anchorKind(anchor: AnchorRow): RecordKind {
  const kind = kindOfCode(anchor.kind);
  if (kind === undefined)
    throw new Error(
      `anchor ${anchor.brandId}:${anchor.root} in the mirror has kind ${anchor.kind}, neither identity (1) nor trace (2)`,
    );
  return kind;
}
export const isoTime = (seconds: number): string => new Date(seconds * 1000).toISOString();
export const hexOf = (bytes: Buffer): Hex32 => `0x${bytes.toString("hex")}`;

export async function requireCursor(mirror: Mirror): Promise<CursorRow> {
  const cursor = await mirror.cursor.get();
  if (cursor === undefined) throw new ApiError(503, "NOT_INDEXED", "the mirror has not indexed any block yet");
  return cursor;
}

export function anchorRef(anchor: AnchorRow, cursor: CursorRow): CoreAnchorRef {
  return {
    chainId: String(cursor.chainId),
    contract: cursor.contract,
    brandId: String(anchor.brandId),
    kind: anchorKind(anchor),
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

export async function proofBundle(mirror: Mirror, row: AnchoredRecordRow, cursor: CursorRow): Promise<ProofBundle> {
  return makeProofBundle({
    record: JSON.parse(row.record) as TraceAnchorRecord,
    recordHash: hexOf(row.recordHash),
    proof: await mirror.trees.proof(row.anchor.brandId, row.anchor.root, row.recordHash, row.leafIndex),
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
    kind: anchorKind(anchor),
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

export interface ItemContext {
  readonly mirror: Mirror;
  readonly config: ApiConfig;
  readonly scans: ScansRepository | undefined;
  /** The brands' signed link sets, for the linkset and redirects (api/linkset.ts); none when absent. */
  readonly links?: BrandLinkSource;
}

/** The level of a Digital Link's key: a serial, a lot (batch) of a GTIN, or the GTIN alone. */
export const levelOf = (key: ItemKey): CodeLevel =>
  key.serial !== undefined ? "serial" : key.lot !== undefined ? "lot" : "product";

/** A Digital Link's document as JSON text, with what the route decides on without parsing it. */
export interface ItemDocText {
  readonly text: string;
  readonly level: CodeLevel;
  readonly verdict: Verdict;
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

/**
 * The events naming a lot or a class as of one cursor: those a document shows (live, of one brand)
 * and the recall facts of all of them, any brand, revoked or not, for the verdict rule to weigh.
 */
interface LevelFragment {
  readonly cursor: CursorRow;
  readonly entries: readonly EventEntry[];
  readonly recalls: readonly RecallFact[];
}

interface AnchorFragment {
  readonly cursor: CursorRow;
  readonly rootJson: string;
  readonly statusJson: string;
}

interface ClassFragment {
  readonly cursor: CursorRow;
  readonly doc: ItemDocText;
}

/**
 * Per app: rendered anchor statuses (one per anchor row object, which the items repository keeps
 * until the mirror changes), the rendered events of each lot and class (shared by every item of
 * the lot), and whole lot and product documents (they count no scans), dropped whenever the
 * mirror's version moves: a new block, a revocation, new content.
 */
interface ItemRenderer {
  readonly config: ApiConfig;
  readonly anchors: WeakMap<AnchorRow, AnchorFragment>;
  readonly levels: ReturnType<typeof versionedCache<string, LevelFragment>>;
  readonly classes: ReturnType<typeof versionedCache<string, ClassFragment>>;
}

const renderers = new WeakMap<Mirror, ItemRenderer>();

function rendererOf(ctx: ItemContext): ItemRenderer {
  let renderer = renderers.get(ctx.mirror);
  if (renderer === undefined || renderer.config !== ctx.config) {
    renderer = {
      config: ctx.config,
      anchors: new WeakMap(),
      levels: versionedCache<string, LevelFragment>(ctx.mirror.version, 100_000),
      classes: versionedCache<string, ClassFragment>(ctx.mirror.version, 10_000),
    };
    renderers.set(ctx.mirror, renderer);
  }
  return renderer;
}

const jsonString = (value: string | null | undefined): string =>
  value === null || value === undefined ? "null" : JSON.stringify(value);

/** A stored record's JSON text, spliced as is: the indexer stores records as canonical JSON (RFC 8785). */
function recordJson(text: string): string {
  return text.charCodeAt(0) === 123 && text.charCodeAt(text.length - 1) === 125
    ? text
    : JSON.stringify(JSON.parse(text));
}

function anchorFragment(renderer: ItemRenderer, anchor: AnchorRow, cursor: CursorRow): AnchorFragment {
  const hit = renderer.anchors.get(anchor);
  if (hit !== undefined && hit.cursor === cursor) return hit;
  const fragment = {
    cursor,
    rootJson: JSON.stringify(anchor.root),
    statusJson: JSON.stringify(anchorStatus(anchor, cursor, renderer.config)),
  };
  renderer.anchors.set(anchor, fragment);
  return fragment;
}

/** `{"record",…,"anchor"}` of an anchored record, without the closing brace. */
async function provedJson(
  mirror: Mirror,
  renderer: ItemRenderer,
  row: AnchoredRecordRow,
  cursor: CursorRow,
): Promise<string> {
  const proof = await mirror.trees.proofJson(row.anchor.brandId, row.anchor.root, row.recordHash, row.leafIndex);
  const anchor = anchorFragment(renderer, row.anchor, cursor);
  return (
    `{"record":${recordJson(row.record)},"recordHash":"${hexOf(row.recordHash)}",` +
    `"proof":${proof},` +
    `"root":${anchor.rootJson},"anchor":${anchor.statusJson}`
  );
}

/** The EPCIS event of a trace row, or undefined for a record that is not one. */
function eventOf(row: TraceEventRow): { readonly [key: string]: unknown } | undefined {
  const record = JSON.parse(row.record) as TraceAnchorRecord;
  return record.kind === "trace" ? record.event : undefined;
}

const recallFact = (row: TraceEventRow): RecallFact => ({
  level: row.level,
  brandId: String(row.anchor.brandId),
  revoked: row.anchor.revokedAtBlock !== null,
});

/** The recall facts among trace rows, whoever anchored them. */
function recallFacts(rows: readonly TraceEventRow[]): RecallFact[] {
  const out: RecallFact[] = [];
  for (const row of rows) if (isRecallDisposition(eventOf(row)?.disposition)) out.push(recallFact(row));
  return out;
}

async function eventEntry(
  mirror: Mirror,
  renderer: ItemRenderer,
  row: TraceEventRow,
  cursor: CursorRow,
): Promise<EventEntry> {
  const event = eventOf(row);
  const proved = await provedJson(mirror, renderer, row, cursor);
  const eventTime = typeof event?.eventTime === "string" ? event.eventTime : null;
  return {
    id: `${row.anchor.brandId}:${row.anchor.root}:${row.leafIndex}`,
    level: row.level,
    at: eventTime === null ? Number.NaN : Date.parse(eventTime),
    blockNumber: row.anchor.blockNumber,
    logIndex: row.anchor.logIndex,
    leafIndex: row.leafIndex,
    recall: isRecallDisposition(event?.disposition),
    json: `${proved},"level":"${row.level}","role":${jsonString(row.submitterRole)},"eventTime":${jsonString(eventTime)}}`,
  };
}

/** Only live trace anchors of the brand whose events the document shows. */
const showsEvent = (row: TraceEventRow, brand: number | undefined): boolean =>
  brand !== undefined &&
  row.anchor.revokedAtBlock === null &&
  row.anchor.kind === KIND_CODE.trace &&
  row.anchor.brandId === brand;

/**
 * The events naming the lot (`lot` non-empty) or the class (`lot` ""), shown for `brand`, with the
 * recall facts of all. `read`: the lot's rows when the serial's read brought them (PostgreSQL), so
 * that no statement of its own is needed.
 */
async function levelFragment(
  ctx: ItemContext,
  renderer: ItemRenderer,
  gtin: string,
  lot: string,
  brand: number | undefined,
  cursor: CursorRow,
  read?: readonly TraceEventRow[],
): Promise<LevelFragment> {
  const key = `${gtin}\u0000${lot}\u0000${brand ?? ""}`;
  const hit = renderer.levels.peek(key);
  if (hit !== undefined && hit.cursor === cursor) return hit;
  const rows = read ?? (await ctx.mirror.items.level(gtin, lot));
  const entries = await Promise.all(
    rows.filter((row) => showsEvent(row, brand)).map((row) => eventEntry(ctx.mirror, renderer, row, cursor)),
  );
  const fragment = { cursor, entries, recalls: rows.length === 0 ? [] : recallFacts(rows) };
  renderer.levels.set(key, fragment);
  return fragment;
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
  return (
    (an ? 0 : a.at - b.at) || a.blockNumber - b.blockNumber || a.logIndex - b.logIndex || a.leafIndex - b.leafIndex
  );
}

/** The event lists as one, by event time; an event naming two of the levels is listed once, at the first list's level. */
function mergeEntries(lists: readonly (readonly EventEntry[])[]): readonly EventEntry[] {
  const nonEmpty = lists.filter((list) => list.length > 0);
  if (nonEmpty.length === 0) return [];
  if (nonEmpty.length === 1) return nonEmpty[0] as readonly EventEntry[];
  const seen = new Set<string>();
  const events: EventEntry[] = [];
  for (const list of nonEmpty) {
    for (const entry of list) {
      if (seen.has(entry.id)) continue;
      seen.add(entry.id);
      events.push(entry);
    }
  }
  return events.sort(byEventTime);
}

function eventsJson(events: readonly EventEntry[]): string {
  let json = "[";
  for (let i = 0; i < events.length; i++)
    json += i === 0 ? (events[i] as EventEntry).json : `,${(events[i] as EventEntry).json}`;
  return `${json}]`;
}

/** The identity record a serial resolves to: the prefix owner's live copy, else its revoked one, else the oldest. */
function chooseIdentity(
  rows: readonly IdentityRow[],
  ownerBrand: number | undefined,
  pathLot: string | undefined,
): IdentityRow | undefined {
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

async function brandJson(mirror: Mirror, owner: PrefixRow | undefined): Promise<string> {
  const brandRow = owner === undefined ? undefined : await mirror.brands.get(owner.brandId);
  return owner === undefined || brandRow === undefined
    ? "null"
    : `{"brandId":"${owner.brandId}","name":${JSON.stringify(brandRow.name)},"prefix":${JSON.stringify(owner.prefix)}}`;
}

const NO_SCANS = `"scans":{"count":null,"firstScanAt":null}}`;

/**
 * The document behind a Digital Link as JSON text, at the key's level (see `levelOf`); undefined
 * for a serial nothing is anchored for. `scan` is the client when this request counts as a scan (a
 * GET of a serialised item with scans on). Records are spliced as stored, proofs come as text from
 * the tree cache, the events of a lot and class are rendered once per mirror version, and lot and
 * product documents are kept whole until the mirror changes.
 */
export async function itemDocumentJson(
  ctx: ItemContext,
  key: ItemKey,
  scan: { client: string; now: number } | undefined,
): Promise<ItemDocText | undefined> {
  const { mirror } = ctx;
  // Caches follow the mirror's version. The reads start together: on PostgreSQL each is a round trip.
  mirror.version.generation();
  const renderer = rendererOf(ctx);
  const serialRows = key.serial === undefined ? undefined : mirror.items.serial(key.gtin, key.serial);
  serialRows?.catch(() => undefined);
  const [cursor, owner] = await Promise.all([requireCursor(mirror), mirror.brands.ownerOfGtin(key.gtin)]);
  if (key.serial === undefined || serialRows === undefined)
    return classDocument(ctx, renderer, { gtin: key.gtin, lot: key.lot }, cursor, owner);
  return serialDocument(
    ctx,
    renderer,
    { gtin: key.gtin, lot: key.lot, serial: key.serial },
    await serialRows,
    cursor,
    owner,
    scan,
  );
}

async function serialDocument(
  ctx: ItemContext,
  renderer: ItemRenderer,
  key: { readonly gtin: string; readonly lot: string | undefined; readonly serial: string },
  rows: SerialRows,
  cursor: CursorRow,
  owner: PrefixRow | undefined,
  scan: { client: string; now: number } | undefined,
): Promise<ItemDocText | undefined> {
  const { mirror, config } = ctx;
  const identity = chooseIdentity(rows.identities, owner?.brandId, key.lot);
  if (identity === undefined) return undefined;
  const lot = identity.lot ?? key.lot;
  // The events the prefix owner anchored; without an owner, those of the brand that registered the item.
  const eventsBrand = owner?.brandId ?? identity.anchor.brandId;

  const pendingLot =
    lot === undefined
      ? undefined
      : levelFragment(ctx, renderer, key.gtin, lot, eventsBrand, cursor, rows.lotEvents?.get(lot));
  const pendingClass = levelFragment(ctx, renderer, key.gtin, "", eventsBrand, cursor);
  const pendingIdentity = provedJson(mirror, renderer, identity, cursor);
  const pendingBrand = brandJson(mirror, owner);
  const ownRows = rows.events.filter((row) => showsEvent(row, eventsBrand));
  const itemRecalls: RecallFact[] = [];
  for (const row of rows.events) {
    if (isRecallDisposition(eventOf(row)?.disposition)) itemRecalls.push(recallFact(row));
  }
  const [own, ofLot, ofClass, identityJson, brandText] = await Promise.all([
    Promise.all(ownRows.map((row) => eventEntry(mirror, renderer, row, cursor))),
    pendingLot,
    pendingClass,
    pendingIdentity,
    pendingBrand,
  ]);
  const events = mergeEntries(ofLot === undefined ? [own, ofClass.entries] : [own, ofLot.entries, ofClass.entries]);
  const lotRecalls = ofLot?.recalls ?? [];
  const recalls =
    itemRecalls.length + lotRecalls.length + ofClass.recalls.length === 0
      ? []
      : [...itemRecalls, ...lotRecalls, ...ofClass.recalls];

  let scans: { count: number | null; firstScanAt: number | null } = { count: null, firstScanAt: null };
  if (ctx.scans !== undefined) {
    const counted =
      scan === undefined
        ? await ctx.scans.get(key.gtin, key.serial)
        : await ctx.scans.record(key.gtin, key.serial, scan.client, scan.now);
    scans = counted === undefined ? { count: 0, firstScanAt: null } : counted;
  }

  const verdict = decideVerdict({
    level: "serial",
    prefixOwner: owner === undefined ? null : String(owner.brandId),
    identity: { brandId: String(identity.anchor.brandId), revoked: identity.anchor.revokedAtBlock !== null },
    recalls,
    scans: { count: scans.count, threshold: config.scanThreshold },
  });
  const link = digitalLinkOf(config, { gtin: key.gtin, ...(lot === undefined ? {} : { lot }), serial: key.serial });
  const text =
    `{"level":"serial","verdict":"${verdict}",` +
    `"item":{"gtin":${JSON.stringify(key.gtin)},"serial":${JSON.stringify(key.serial)},"lot":${jsonString(lot)},"digitalLink":${JSON.stringify(link)}},` +
    `"brand":${brandText},` +
    `"identity":${identityJson}},` +
    `"events":${eventsJson(events)},"product":null,` +
    `"scans":{"count":${scans.count === null ? "null" : String(scans.count)},"firstScanAt":${scans.firstScanAt === null ? "null" : `"${recentIsoTime(scans.firstScanAt)}"`}}}`;
  return { text, level: "serial", verdict };
}

/** Batches tried for the sample record; a counted leaf can be missing only if a reorg removed it between two reads. */
const SAMPLE_TRIES = 8;

/**
 * A lot or product document: its verdict (registered, recalled, unlisted, unregistered), one live
 * identity record of the prefix owner for the GTIN (and lot) as the sample a verifier checks, the
 * owner's events (lot: the lot's and the class's; product: the class's and the lots' recalls), and
 * what the owner anchored: items, lots, recalled lots.
 */
async function classDocument(
  ctx: ItemContext,
  renderer: ItemRenderer,
  key: { readonly gtin: string; readonly lot: string | undefined },
  cursor: CursorRow,
  owner: PrefixRow | undefined,
): Promise<ItemDocText> {
  const cacheKey = `${key.gtin}\u0000${key.lot ?? ""}`;
  const hit = renderer.classes.peek(cacheKey);
  if (hit !== undefined && hit.cursor === cursor) return hit.doc;

  const { mirror, config } = ctx;
  const level = levelOf(key);
  const prefixOwner = owner === undefined ? null : String(owner.brandId);
  const ownerBrand = owner?.brandId;

  let items = 0;
  const lots = new Set<string>();
  let sample: IdentityRow | undefined;
  let tries = 0;
  const pendingClass = levelFragment(ctx, renderer, key.gtin, "", ownerBrand, cursor);
  const pendingLot =
    key.lot === undefined ? undefined : levelFragment(ctx, renderer, key.gtin, key.lot, ownerBrand, cursor);
  const pendingRecalls =
    key.lot !== undefined || ownerBrand === undefined ? undefined : mirror.items.lotRecalls(key.gtin);
  // Settled later; a failure here must not go unhandled while the counts are read.
  for (const pending of [pendingClass, pendingLot, pendingRecalls]) pending?.catch(() => undefined);
  const counts = ownerBrand === undefined ? [] : await mirror.items.identityCounts(key.gtin, ownerBrand, key.lot);
  for (const row of counts) {
    if (row.anchor.revokedAtBlock !== null || row.items <= 0) continue;
    items += row.items;
    if (row.lot !== "") lots.add(row.lot);
    if (sample === undefined && tries < SAMPLE_TRIES && ownerBrand !== undefined) {
      tries++;
      sample = await mirror.items.identityAt(ownerBrand, row.anchor.root, row.firstLeaf, row.lot);
    }
  }

  const ofClass = await pendingClass;
  let events: readonly EventEntry[];
  let recalls: readonly RecallFact[];
  let recalledLots: string[];
  if (key.lot !== undefined) {
    const ofLot = (await pendingLot) as LevelFragment;
    events = mergeEntries([ofLot.entries, ofClass.entries]);
    recalls = [...ofLot.recalls, ...ofClass.recalls];
    recalledLots = lotRecalled(prefixOwner, ofLot.recalls) ? [key.lot] : [];
  } else {
    const lotRows = (await pendingRecalls) ?? [];
    const recallRows = lotRows.filter((row) => isRecallDisposition(eventOf(row)?.disposition));
    const shown = await Promise.all(
      recallRows.filter((row) => showsEvent(row, ownerBrand)).map((row) => eventEntry(mirror, renderer, row, cursor)),
    );
    events = mergeEntries([ofClass.entries, shown]);
    recalls = [...ofClass.recalls, ...recallRows.map(recallFact)];
    recalledLots = recalledLotsOf(prefixOwner, recallRows);
  }

  const verdict = decideVerdict({
    level,
    prefixOwner,
    identity:
      sample === undefined
        ? null
        : { brandId: String(sample.anchor.brandId), revoked: sample.anchor.revokedAtBlock !== null },
    recalls,
  });
  const attributes = sample === undefined ? undefined : attributesOf(sample.record);
  const name = attributes === undefined ? undefined : productName(attributes);
  const link = digitalLinkOf(config, key.lot === undefined ? { gtin: key.gtin } : { gtin: key.gtin, lot: key.lot });
  const [brandText, identityJson] = await Promise.all([
    brandJson(mirror, owner),
    sample === undefined ? undefined : provedJson(mirror, renderer, sample, cursor),
  ]);
  const text =
    `{"level":"${level}","verdict":"${verdict}",` +
    `"item":{"gtin":${JSON.stringify(key.gtin)},"serial":null,"lot":${jsonString(key.lot)},"digitalLink":${JSON.stringify(link)}},` +
    `"brand":${brandText},` +
    `"identity":${identityJson === undefined ? "null" : `${identityJson}}`},` +
    `"events":${eventsJson(events)},` +
    `"product":{"name":${jsonString(name)},"attributes":${attributes === undefined ? "null" : JSON.stringify(attributes)},` +
    `"items":${items},"lots":${lots.size},"recalledLots":${JSON.stringify(recalledLots)}},` +
    NO_SCANS;
  const doc: ItemDocText = { text, level, verdict };
  renderer.classes.set(cacheKey, { cursor, doc });
  return doc;
}

/** Whether the recalls naming one lot recall it, by the verdict rule (a recall of the product is not one of the lot). */
function lotRecalled(prefixOwner: string | null, lotRecalls: readonly RecallFact[]): boolean {
  return (
    lotRecalls.length > 0 &&
    decideVerdict({
      level: "lot",
      prefixOwner,
      identity: null,
      recalls: lotRecalls.filter((r) => r.level === "lot"),
    }) === "recalled"
  );
}

/** The lots of a GTIN its lot-level recall events recall, sorted. */
function recalledLotsOf(prefixOwner: string | null, rows: readonly LotEventRow[]): string[] {
  const byLot = new Map<string, RecallFact[]>();
  for (const row of rows) {
    const facts = byLot.get(row.lot);
    if (facts === undefined) byLot.set(row.lot, [recallFact(row)]);
    else facts.push(recallFact(row));
  }
  return [...byLot]
    .filter(([, facts]) => lotRecalled(prefixOwner, facts))
    .map(([lot]) => lot)
    .sort();
}

/** The attributes object of a stored identity record, or undefined. */
function attributesOf(recordText: string): { [key: string]: unknown } | undefined {
  const record = JSON.parse(recordText) as TraceAnchorRecord;
  return record.kind === "identity" && isPlainObject(record.attributes) ? record.attributes : undefined;
}

/** The product's name among an identity record's attributes: the demo data's and batch files' usual columns. */
function productName(attributes: { readonly [key: string]: unknown }): string | undefined {
  for (const name of ["product", "name", "productName", "description"]) {
    const value = attributes[name];
    if (typeof value === "string" && value !== "") return value;
  }
  return undefined;
}

/** The document (see `itemDocumentJson`), parsed; undefined for a serial nothing is anchored for. */
export async function itemDocument(
  ctx: ItemContext,
  key: ItemKey,
  scan: { client: string; now: number } | undefined,
): Promise<ItemDoc | undefined> {
  const doc = await itemDocumentJson(ctx, key, scan);
  return doc === undefined ? undefined : (JSON.parse(doc.text) as ItemDoc);
}

export function digitalLinkOf(config: ApiConfig, key: ItemKey): string {
  return formatDigitalLink(key, config.publicUrl);
}
