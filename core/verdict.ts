/**
 * The one verdict rule. Every part that tells a user what a scanned code means — the API's
 * documents, `traceanchor verify`, the scan page's in-browser check — decides it here, from facts
 * it has established (the server from its mirror, a verifier from the chain).
 *
 *   decideVerdict(facts: VerdictFacts): Verdict
 *   recallApplies(level, recall): boolean      which recall events a code of a given level is about
 *   isRecallDisposition(value): boolean        the CBV "recalled" disposition in any of its spellings
 *   VERDICTS                                   the list of verdicts, with what they tell a consumer
 *   isVerdict(value): value is Verdict         one of ALL_VERDICTS (documents from older servers may hold others)
 *   verifiedStatement(verdict, { revokedAt })  VERDICTS[verdict].verified, with the revocation date when known
 *
 * A verdict says only what a code of its level can prove:
 *   serial  (/01/{gtin}[/10/{lot}]/21/{serial}): genuine, revoked, recalled, prefix-mismatch, suspicious, unknown
 *   lot     (/01/{gtin}/10/{lot}) and
 *   product (/01/{gtin}):                         registered, recalled, unlisted, unregistered
 */

/** What a Digital Link identifies: one serialised item, a lot (batch) of a product, or a product (GTIN). */
export type CodeLevel = "serial" | "lot" | "product";

/** The level of an EPCIS event relative to an item: it names the item, its lot, or its product class. */
export type EventLevel = "item" | "lot" | "class";

export type SerialVerdict = "genuine" | "revoked" | "recalled" | "prefix-mismatch" | "suspicious" | "unknown";
export type ClassVerdict = "registered" | "recalled" | "unlisted" | "unregistered";
export type Verdict = SerialVerdict | ClassVerdict;

export const SERIAL_VERDICTS: readonly SerialVerdict[] = [
  "genuine",
  "revoked",
  "recalled",
  "prefix-mismatch",
  "suspicious",
  "unknown",
];
export const CLASS_VERDICTS: readonly ClassVerdict[] = ["registered", "recalled", "unlisted", "unregistered"];
export const ALL_VERDICTS: readonly Verdict[] = [...new Set<Verdict>([...SERIAL_VERDICTS, ...CLASS_VERDICTS])];

/** A recall event as the verdict needs it. */
export interface RecallFact {
  /** What the event names, relative to the scanned code's item: the item itself, its lot, or its product class. */
  readonly level: EventLevel;
  /** The brand that anchored the event's batch. */
  readonly brandId: string;
  /** The event's batch was revoked: the recall was withdrawn. */
  readonly revoked: boolean;
}

export interface VerdictFacts {
  readonly level: CodeLevel;
  /** The brand that owns the GTIN's GS1 company prefix on chain; null when no brand does. */
  readonly prefixOwner: string | null;
  /**
   * The identity record the document shows, with the brand that anchored it and whether its batch is
   * revoked. Serial level: the item's own record. Lot and product level: one item of that lot or
   * product (the prefix owner's, when it anchored any). Null when there is none.
   */
  readonly identity: { readonly brandId: string; readonly revoked: boolean } | null;
  /** Trace events with a recall disposition about this code's item, lot or product. */
  readonly recalls: readonly RecallFact[];
  /** Serial level: how often the code was scanned (a server-side count), and the count above which it is suspicious. */
  readonly scans?: { readonly count: number | null; readonly threshold: number };
}

/** A CBV disposition meaning "recalled": `recalled`, `urn:epcglobal:cbv:disp:recalled`, `https://ref.gs1.org/cbv/Disp-recalled`. */
export function isRecallDisposition(value: unknown): boolean {
  return typeof value === "string" && /(?:^|[:/_-])recalled$/i.test(value);
}

/**
 * Whether a recall event of `recall.level` is about a code of `level`: a serial is recalled by an
 * event naming it, its lot or its product; a lot by one naming the lot or the product; a product by
 * one naming the product (a recall of one lot does not recall every lot).
 */
export function recallApplies(level: CodeLevel, recall: EventLevel): boolean {
  if (level === "serial") return true;
  if (level === "lot") return recall === "lot" || recall === "class";
  return recall === "class";
}

/** Only a live recall anchored by the prefix owner counts: anyone can anchor an event naming someone else's GTIN. */
function recalledBy(facts: VerdictFacts, owner: string): boolean {
  return facts.recalls.some((r) => !r.revoked && r.brandId === owner && recallApplies(facts.level, r.level));
}

export function decideVerdict(facts: VerdictFacts): Verdict {
  const owner = facts.prefixOwner;
  const identity = facts.identity;
  if (facts.level === "serial") {
    if (identity === null) return "unknown";
    // A registration (or its revocation) by a brand that does not own the barcode proves nothing about the item.
    if (owner === null || identity.brandId !== owner) return "prefix-mismatch";
    if (identity.revoked) return "revoked";
    if (recalledBy(facts, owner)) return "recalled";
    const scans = facts.scans;
    if (scans !== undefined && scans.count !== null && scans.count > scans.threshold) return "suspicious";
    return "genuine";
  }
  if (owner === null) return "unregistered";
  if (recalledBy(facts, owner)) return "recalled";
  if (identity !== null && identity.brandId === owner && !identity.revoked) return "registered";
  return "unlisted";
}

export interface VerdictText {
  readonly title: string;
  /** What the verdict tells a consumer. */
  readonly text: string;
  readonly tone: "ok" | "bad" | "warn";
  /** How a verifier that confirmed the verdict on chain states it. */
  readonly verified: string;
}

export const VERDICTS: Readonly<Record<Verdict, VerdictText>> = {
  genuine: {
    title: "Genuine",
    text: "This item was registered by the brand that owns its barcode, and the record is anchored on chain.",
    tone: "ok",
    verified: "Verified: genuine, registered by the brand that owns this barcode's prefix",
  },
  recalled: {
    title: "Recalled",
    text: "The brand has recalled this product, its lot or this item. Do not use it; follow the brand's instructions.",
    tone: "bad",
    verified: "Verified: recalled by the brand that owns this barcode",
  },
  revoked: {
    title: "Registration revoked",
    text: "The brand has revoked the batch this item was registered in.",
    tone: "bad",
    verified: "Verified: the brand revoked this registration",
  },
  "prefix-mismatch": {
    title: "Not registered by the barcode's owner",
    text: "The brand that registered this item does not own its barcode's company prefix.",
    tone: "bad",
    verified: "Verified: anchored by a brand that does not own this barcode's prefix",
  },
  suspicious: {
    title: "Scanned unusually often",
    text: "This code has been scanned more often than a single item should be: it may have been copied.",
    tone: "warn",
    verified: "Verified: the records are anchored by the barcode's owner; the scan count is the server's",
  },
  unknown: {
    title: "Item not found",
    text: "No brand has registered this item. The product may be counterfeit.",
    tone: "bad",
    verified: "No record of this item",
  },
  registered: {
    title: "Registered product",
    text: "The brand that owns this barcode has registered items of this product on chain. This code does not identify a single item.",
    tone: "ok",
    verified: "Verified: the brand that owns this barcode anchored items of this product",
  },
  unlisted: {
    title: "Not registered here",
    text: "The brand that owns this barcode has not registered this product here.",
    tone: "warn",
    verified: "Verified: a brand owns this barcode's prefix; no item of this product registered by it is shown here",
  },
  unregistered: {
    title: "Unregistered code",
    text: "No brand has registered this barcode's company prefix.",
    tone: "warn",
    verified: "Verified: no brand owns this barcode's company prefix on chain",
  },
};

export function isVerdict(value: unknown): value is Verdict {
  return typeof value === "string" && (ALL_VERDICTS as readonly string[]).includes(value);
}

/** How a verifier that confirmed `verdict` on chain states it; a revocation with its date (`revokedAt`, ISO 8601). */
export function verifiedStatement(verdict: Verdict, details: { readonly revokedAt?: string | null } = {}): string {
  const text = VERDICTS[verdict].verified;
  return verdict === "revoked" && details.revokedAt ? `${text} on ${details.revokedAt.slice(0, 10)}` : text;
}
