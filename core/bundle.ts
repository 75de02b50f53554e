/**
 * The proof bundle (Protocol v1): everything needed to check one record offline and against any RPC,
 * without our API. The API serves it at /v1/proofs/{recordHash}; the item document embeds the same
 * fields for the item's identity record and each of its trace events.
 *
 *   makeProofBundle(parts): ProofBundle
 *   isProofBundle(value): value is ProofBundle
 */
import type { Hex32 } from "./hex";
import type { RecordKind, TraceAnchorRecord } from "./record";

export const PROOF_BUNDLE_TYPE = "TraceAnchorProofBundle";

/** Where and when a batch was anchored. `blockTime` is the block's timestamp as an ISO 8601 UTC string. */
export interface AnchorRef {
  readonly chainId: string;
  readonly contract: string;
  readonly brandId: string;
  readonly kind: RecordKind;
  readonly leafCount: number;
  readonly txHash: Hex32;
  readonly blockNumber: number;
  readonly logIndex: number;
  readonly blockTime: string;
}

export interface ProofBundle {
  readonly type: typeof PROOF_BUNDLE_TYPE;
  readonly v: 1;
  readonly record: TraceAnchorRecord;
  readonly recordHash: Hex32;
  /** Sibling hashes from the leaf up, as OpenZeppelin's `getProof` returns them. */
  readonly proof: readonly Hex32[];
  readonly root: Hex32;
  readonly anchor: AnchorRef;
}

export function makeProofBundle(parts: Omit<ProofBundle, "type" | "v">): ProofBundle {
  return { type: PROOF_BUNDLE_TYPE, v: 1, ...parts };
}

export function isProofBundle(value: unknown): value is ProofBundle {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Partial<ProofBundle>;
  return v.type === PROOF_BUNDLE_TYPE && v.v === 1 && typeof v.recordHash === "string" && Array.isArray(v.proof);
}
