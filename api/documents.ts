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
import { ApiError } from "./errors";
import type { Mirror } from "./mirror";
import type { AnchorRow } from "./repositories/anchors";
import type { CursorRow } from "./repositories/cursor";
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
    explorerTxUrl: explorerLink(config, `tx/${anchor.txHash}`),
  };
}

export function proofBundle(mirror: Mirror, row: AnchoredRecordRow, cursor: CursorRow): ProofBundle {
  return makeProofBundle({
    record: JSON.parse(row.record) as TraceAnchorRecord,
    recordHash: hexOf(row.recordHash),
    proof: mirror.trees.proof(row.anchor.brandId, row.anchor.root, row.recordHash),
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

interface Identity {
  readonly row: AnchoredRecordRow;
  readonly record: TraceAnchorRecord;
  readonly lot: string | undefined;
}

/** The identity record a serial resolves to: the prefix owner's live copy, else its revoked one, else the oldest. */
function chooseIdentity(rows: readonly AnchoredRecordRow[], ownerBrand: number | undefined, pathLot: string | undefined): Identity | undefined {
  const identities: Identity[] = [];
  for (const row of rows) {
    const record = JSON.parse(row.record) as TraceAnchorRecord;
    if (record.kind !== "identity") continue;
    const lot = record.item.lot;
    // A label that names a lot other than the anchored one is not this item.
    if (pathLot !== undefined && lot !== undefined && lot !== pathLot) continue;
    identities.push({ row, record, lot });
  }
  const rank = (i: Identity): number => (i.row.anchor.brandId === ownerBrand ? 0 : 2) + (i.row.anchor.revokedAtBlock === null ? 0 : 1);
  return identities.sort((a, b) => rank(a) - rank(b))[0];
}

/**
 * The item document, or undefined when nothing is anchored for the key. `scan` is the client
 * address when this request counts as a scan (a GET of a serialised item with scans on).
 */
export function itemDocument(ctx: ItemContext, key: ItemKey, scan: { client: string; now: number } | undefined): ItemDoc | undefined {
  const { mirror, config } = ctx;
  const cursor = requireCursor(mirror);
  const owner = mirror.brands.ownerOfGtin(key.gtin);
  let identity: Identity | undefined;
  if (key.serial !== undefined) {
    identity = chooseIdentity(mirror.items.identities(key.gtin, key.serial), owner?.brandId, key.lot);
    if (identity === undefined) return undefined;
  }
  const lot = identity?.lot ?? key.lot;
  const eventsBrand = owner?.brandId ?? identity?.row.anchor.brandId;
  const rows = mirror.items
    .events({ gtin: key.gtin, ...(key.serial === undefined ? {} : { serial: key.serial }), ...(lot === undefined ? {} : { lot }) })
    .filter((row) => row.anchor.revokedAtBlock === null && row.anchor.kind === 2 && row.anchor.brandId === eventsBrand);
  if (identity === undefined && rows.length === 0) return undefined;

  const events = rows
    .map((row) => {
      const record = JSON.parse(row.record) as TraceAnchorRecord;
      const event = record.kind === "trace" ? record.event : undefined;
      const eventTime = typeof event?.eventTime === "string" ? event.eventTime : null;
      return { row, record, event, eventTime, at: eventTime === null ? Number.NaN : Date.parse(eventTime) };
    })
    .sort((a, b) => (Number.isNaN(a.at) ? 1 : 0) - (Number.isNaN(b.at) ? 1 : 0) || a.at - b.at || 0);
  const recalled = events.some((e) => e.row.level !== "class" && isRecallDisposition(e.event?.disposition));

  let scans: ItemDoc["scans"] = { count: null, firstScanAt: null };
  if (ctx.scans !== undefined && key.serial !== undefined) {
    const counted = scan === undefined ? ctx.scans.get(key.gtin, key.serial) : ctx.scans.record(key.gtin, key.serial, scan.client, scan.now);
    scans = counted === undefined ? { count: 0, firstScanAt: null } : { count: counted.count, firstScanAt: isoTime(counted.firstScanAt) };
  }

  let verdict: Verdict;
  if (identity === undefined) verdict = recalled ? "recalled" : "unverified";
  else if (owner === undefined || identity.row.anchor.brandId !== owner.brandId) verdict = "prefix-mismatch";
  else if (identity.row.anchor.revokedAtBlock !== null) verdict = "revoked";
  else if (recalled) verdict = "recalled";
  else if (scans.count !== null && scans.count > config.scanThreshold) verdict = "suspicious";
  else verdict = "genuine";

  const brandRow = owner === undefined ? undefined : mirror.brands.get(owner.brandId);
  return {
    verdict,
    item: {
      gtin: key.gtin,
      serial: key.serial ?? null,
      lot: lot ?? null,
      digitalLink: digitalLinkOf(config, { gtin: key.gtin, ...(lot === undefined ? {} : { lot }), ...(key.serial === undefined ? {} : { serial: key.serial }) }),
    },
    brand: owner === undefined || brandRow === undefined ? null : { brandId: String(owner.brandId), name: brandRow.name, prefix: owner.prefix },
    identity:
      identity === undefined
        ? null
        : {
            record: identity.record,
            recordHash: hexOf(identity.row.recordHash),
            proof: mirror.trees.proof(identity.row.anchor.brandId, identity.row.anchor.root, identity.row.recordHash),
            root: identity.row.anchor.root,
            anchor: anchorStatus(identity.row.anchor, cursor, config),
          },
    events: events.map(({ row, record, eventTime }) => ({
      record,
      recordHash: hexOf(row.recordHash),
      proof: mirror.trees.proof(row.anchor.brandId, row.anchor.root, row.recordHash),
      root: row.anchor.root,
      anchor: anchorStatus(row.anchor, cursor, config),
      level: row.level,
      role: row.submitterRole,
      eventTime,
    })),
    scans,
  };
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
