/**
 * EPCISQueryDocuments whose events carry their TraceAnchor proofs.
 *
 *   createProofs({ mirror, anchored }): (events: StoredEvent[]) => Promise<(TaProof | null)[]>
 *   queryDocument(queryName, events, { now?, subscriptionId? }): object
 *
 * Each anchored event gets `"ta:proof": {salt, recordHash, proof, root, anchor}`, where
 * recordHash = keccak256(JCS({"v":1, "kind":"trace", "salt": salt, "event": <the event without
 * "ta:proof">})) and `proof` is its OpenZeppelin StandardMerkleTree proof to `root`, which the anchor
 * put on chain: `StandardMerkleTree.verify(root, ["bytes32"], [recordHash], proof)` and the
 * contract's `verify` both hold. An event whose record is in no anchored batch of the mirror (a
 * captured event not yet anchored, or one whose anchor a reorg removed) carries `"ta:proof": null`.
 * The page's anchored copies are one lookup (mirror/epcis/query-proofs.ts); the proofs come from the
 * API's tree cache (api/trees.ts), checked against the root before they are served.
 */
import { EPCIS_CONTEXT } from "../../core/epcis";
import type { AnchoredLookup } from "../../mirror/epcis/query-proofs";
import type { StoredEvent } from "../../mirror/epcis/query";
import { anchorRef, isFinal, preferredCopy } from "../documents";
import type { Mirror } from "../mirror";

/** The IRI of TraceAnchor's proof vocabulary: `ta:proof` expands to `https://traceanchor.dev/ns/proof#proof`. */
export const TA_NAMESPACE = "https://traceanchor.dev/ns/proof#";

export const QUERY_CONTEXT: readonly unknown[] = [EPCIS_CONTEXT, { ta: TA_NAMESPACE }];

/** Anchored copies of one record looked at, as /v1/proofs does. */
const MAX_COPIES = 32;

export interface TaProof {
  readonly salt: string;
  readonly recordHash: string;
  readonly proof: readonly string[];
  readonly root: string;
  readonly anchor: ReturnType<typeof anchorRef> & { readonly final: boolean; readonly revoked: boolean };
}

export type ProofsOf = (events: readonly StoredEvent[]) => Promise<(TaProof | null)[]>;

export function createProofs(deps: {
  readonly mirror: Pick<Mirror, "cursor" | "trees">;
  readonly anchored: AnchoredLookup;
}): ProofsOf {
  return async (events) => {
    if (events.length === 0) return [];
    const cursor = await deps.mirror.cursor.get();
    if (cursor === undefined) return events.map(() => null);
    const copies = await deps.anchored.copies(
      events.map((e) => e.recordHash),
      MAX_COPIES,
    );
    return Promise.all(
      events.map(async (event): Promise<TaProof | null> => {
        const row = preferredCopy(copies.get(event.recordHash.toString("hex")) ?? [], cursor);
        if (row === undefined) return null;
        const { anchor } = row;
        return {
          salt: event.salt,
          recordHash: `0x${event.recordHash.toString("hex")}`,
          proof: await deps.mirror.trees.proof(anchor.brandId, anchor.root, row.recordHash, row.leafIndex),
          root: anchor.root,
          anchor: {
            ...anchorRef(anchor, cursor),
            final: isFinal(anchor, cursor),
            revoked: anchor.revokedAtBlock !== null,
          },
        };
      }),
    );
  };
}

/** The events (stored JSON text) with their proofs, in order. */
export function eventsWithProofs(events: readonly StoredEvent[], proofs: readonly (TaProof | null)[]): object[] {
  return events.map((event, i) => ({
    ...(JSON.parse(event.event) as Record<string, unknown>),
    "ta:proof": proofs[i] ?? null,
  }));
}

export function queryDocument(
  queryName: string,
  eventList: readonly object[],
  options: { readonly now?: Date; readonly subscriptionId?: string } = {},
): object {
  const subscription = options.subscriptionId === undefined ? {} : { subscriptionID: options.subscriptionId };
  return {
    "@context": QUERY_CONTEXT,
    type: "EPCISQueryDocument",
    schemaVersion: "2.0",
    creationDate: (options.now ?? new Date()).toISOString(),
    epcisBody: { queryResults: { queryName, ...subscription, resultsBody: { eventList } } },
  };
}

/** A REST binding collection (`/eventTypes`, `/bizSteps`, …). */
export function collection(member: readonly string[]): object {
  return { "@context": QUERY_CONTEXT, type: "Collection", member };
}
