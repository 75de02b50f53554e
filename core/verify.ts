/**
 * The verifier: checks an item document or a proof bundle without trusting whoever served it.
 * Runs in Node and in browsers (no Node built-ins). Each check is a separate, reported step:
 *
 *   1. every recordHash recomputed from its record (RFC 8785 canonical JSON, keccak256);
 *   2. every Merkle proof leads from its record hash to its root (OpenZeppelin StandardMerkleTree);
 *   3. every record is about the item asked for (identity: same GTIN and serial; event: names it or its lot);
 *   4. on chain, through every given RPC (they must agree): the contract is the trusted one, the anchor
 *      (brand, root) exists with the same kind and leafCount, it is not revoked, and for the identity
 *      record the brand holds the GTIN's company prefix.
 *
 *   verifyDocument(doc: unknown, options: VerifyOptions): Promise<VerifyReport>
 */
import type { AnchorRef } from "./bundle";
import { isProofBundle } from "./bundle";
import type { ChainReader, OnChainAnchor } from "./chain-reader";
import { extractItemKeys } from "./epcis";
import { verifyProof } from "./merkle";
import { recordHash, type EpcisEvent, type TraceAnchorRecord } from "./record";

export type Verdict = "genuine" | "revoked" | "recalled" | "prefix-mismatch" | "unknown" | "not-verified";

export interface VerifyStep {
  readonly check: "record-hash" | "merkle-proof" | "item-binding" | "chain" | "contract" | "anchor" | "not-revoked" | "prefix-owner" | "rpc-agreement";
  /** What was checked: "identity", "event 2", or an RPC URL. */
  readonly subject: string;
  readonly status: "pass" | "fail" | "skip";
  readonly detail: string;
}

export interface VerifyReport {
  readonly verdict: Verdict;
  /** True when the chain was read; without an RPC only hashes and proofs are checked. */
  readonly onChain: boolean;
  readonly steps: readonly VerifyStep[];
}

export interface VerifyOptions {
  /** Chains to read; with two or more, their answers must agree. Empty: offline checks only. */
  readonly chains: readonly ChainReader[];
  /** The TraceAnchor address the verifier trusts; without it, the document's claim is reported as such. */
  readonly trustedContract?: string;
}

interface ProofPart {
  readonly record: TraceAnchorRecord;
  readonly recordHash: string;
  readonly proof: readonly string[];
  readonly root: string;
  readonly anchor: AnchorRef;
}

interface Subject {
  readonly name: string;
  readonly part: ProofPart;
  readonly role: "identity" | "event";
}

interface ItemRef {
  readonly gtin: string;
  readonly serial?: string | null;
  readonly lot?: string | null;
}

const KIND_CODE = { identity: 1, trace: 2 } as const;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isProofPart(value: unknown): value is ProofPart {
  return (
    isObject(value) &&
    isObject(value.record) &&
    typeof value.recordHash === "string" &&
    Array.isArray(value.proof) &&
    typeof value.root === "string" &&
    isObject(value.anchor)
  );
}

export function isRecalled(event: EpcisEvent): boolean {
  const disposition = event.disposition;
  return typeof disposition === "string" && /(^|[:/-])recalled$/i.test(disposition);
}

function subjectsOf(doc: unknown): { subjects: Subject[]; item?: ItemRef } {
  if (isProofBundle(doc)) {
    const role = doc.record.kind === "identity" ? "identity" : "event";
    return { subjects: [{ name: role === "identity" ? "identity" : "event 1", part: doc, role }] };
  }
  if (!isObject(doc)) return { subjects: [] };
  const subjects: Subject[] = [];
  if (doc.identity !== undefined && doc.identity !== null) {
    if (!isProofPart(doc.identity)) throw new TypeError("identity is not a record with its proof and anchor");
    subjects.push({ name: "identity", part: doc.identity, role: "identity" });
  }
  const events = Array.isArray(doc.events) ? doc.events : [];
  events.forEach((event, i) => {
    if (!isProofPart(event)) throw new TypeError(`events[${i}] is not a record with its proof and anchor`);
    subjects.push({ name: `event ${i + 1}`, part: event, role: "event" });
  });
  const item = isObject(doc.item) && typeof doc.item.gtin === "string" ? (doc.item as unknown as ItemRef) : undefined;
  return item ? { subjects, item } : { subjects };
}

function sameHex(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function bindingProblem(subject: Subject, item: ItemRef): string | undefined {
  const record = subject.part.record;
  if (record.kind === "identity") {
    if (record.item.gtin !== item.gtin) return `record is for GTIN ${record.item.gtin}, not ${item.gtin}`;
    if ((item.serial ?? undefined) !== undefined && record.item.serial !== item.serial) {
      return `record is for serial ${record.item.serial}, not ${item.serial}`;
    }
    return undefined;
  }
  const keys = extractItemKeys(record.event);
  const names = keys.some(
    (k) =>
      (k.type === "serial" && k.gtin === item.gtin && k.serial === item.serial) ||
      (k.type === "lot" && k.gtin === item.gtin && k.lot === item.lot && item.lot !== undefined && item.lot !== null) ||
      (k.type === "class" && k.gtin === item.gtin),
  );
  return names ? undefined : "the event does not name this item, its lot or its class";
}

async function readAll<T>(
  chains: readonly ChainReader[],
  read: (chain: ChainReader) => Promise<T>,
): Promise<Array<{ chain: ChainReader; value?: T; error?: string }>> {
  return Promise.all(
    chains.map(async (chain) => {
      try {
        return { chain, value: await read(chain) };
      } catch (error) {
        return { chain, error: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
}

function anchorKey(a: OnChainAnchor): string {
  return `${a.kind}/${a.leafCount}/${a.anchoredAt}/${a.revokedAt}`;
}

export async function verifyDocument(doc: unknown, options: VerifyOptions): Promise<VerifyReport> {
  const steps: VerifyStep[] = [];
  const step = (s: VerifyStep): void => void steps.push(s);
  let subjectsAndItem: { subjects: Subject[]; item?: ItemRef };
  try {
    subjectsAndItem = subjectsOf(doc);
  } catch (error) {
    step({ check: "record-hash", subject: "document", status: "fail", detail: error instanceof Error ? error.message : String(error) });
    return { verdict: "not-verified", onChain: false, steps };
  }
  const { subjects, item } = subjectsAndItem;
  const integrityFailed = new Set<string>();
  const revoked = new Set<string>();
  let prefixMismatch = false;

  for (const subject of subjects) {
    const { part } = subject;
    let computed: string | undefined;
    try {
      computed = recordHash(part.record);
    } catch (error) {
      step({ check: "record-hash", subject: subject.name, status: "fail", detail: `record cannot be hashed: ${error instanceof Error ? error.message : String(error)}` });
      integrityFailed.add(subject.name);
      continue;
    }
    const hashOk = sameHex(computed, part.recordHash);
    step({ check: "record-hash", subject: subject.name, status: hashOk ? "pass" : "fail", detail: hashOk ? computed : `record hashes to ${computed}, document says ${part.recordHash}` });
    let proofOk = false;
    try {
      proofOk = verifyProof(part.root, computed, part.proof);
    } catch {
      proofOk = false;
    }
    step({ check: "merkle-proof", subject: subject.name, status: proofOk ? "pass" : "fail", detail: proofOk ? `${part.proof.length} step(s) to root ${part.root}` : `proof does not lead to root ${part.root}` });
    if (!hashOk || !proofOk) integrityFailed.add(subject.name);
    if (item) {
      const problem = bindingProblem(subject, item);
      step({ check: "item-binding", subject: subject.name, status: problem ? "fail" : "pass", detail: problem ?? "about this item" });
      if (problem) integrityFailed.add(subject.name);
    }
  }

  const onChain = options.chains.length > 0;
  if (onChain && subjects.length > 0) {
    const chainIds = await readAll(options.chains, (c) => c.chainId());
    for (const r of chainIds) {
      const expected = subjects[0]!.part.anchor.chainId;
      const ok = r.value !== undefined && r.value.toString() === expected;
      step({ check: "chain", subject: r.chain.name, status: ok ? "pass" : "fail", detail: r.error ?? `chain ${r.value} (document: ${expected})` });
      if (!ok) integrityFailed.add("chain");
    }
    const contracts = new Set(subjects.map((s) => s.part.anchor.contract.toLowerCase()));
    for (const contract of contracts) {
      if (options.trustedContract && contract !== options.trustedContract.toLowerCase()) {
        step({ check: "contract", subject: contract, status: "fail", detail: `not the trusted TraceAnchor ${options.trustedContract}` });
        integrityFailed.add("contract");
        continue;
      }
      const codes = await readAll(options.chains, (c) => c.code(contract));
      const hasCode = codes.every((r) => r.value !== undefined && r.value !== "0x");
      step({
        check: "contract",
        subject: contract,
        status: hasCode ? "pass" : "fail",
        detail: hasCode ? (options.trustedContract ? "the trusted TraceAnchor" : "a contract (address taken from the document: pass --contract to pin it)") : "no contract at this address",
      });
      if (!hasCode) integrityFailed.add("contract");
    }

    for (const subject of subjects) {
      const { anchor, root } = subject.part;
      const results = await readAll(options.chains, (c) => c.anchorOf(anchor.contract, BigInt(anchor.brandId), root));
      const values = results.filter((r) => r.value !== undefined).map((r) => r.value!);
      const agree = values.length === results.length && new Set(values.map(anchorKey)).size === 1;
      if (options.chains.length > 1) {
        step({ check: "rpc-agreement", subject: subject.name, status: agree ? "pass" : "fail", detail: agree ? `${results.length} RPCs agree` : results.map((r) => `${r.chain.name}: ${r.error ?? anchorKey(r.value!)}`).join("; ") });
      }
      const first = values[0];
      if (!agree || !first) {
        if (results.some((r) => r.error)) step({ check: "anchor", subject: subject.name, status: "fail", detail: results.map((r) => r.error).filter(Boolean).join("; ") });
        integrityFailed.add(subject.name);
        continue;
      }
      const problems: string[] = [];
      if (first.anchoredAt === 0n) problems.push(`brand ${anchor.brandId} never anchored root ${root}`);
      else {
        if (first.kind !== KIND_CODE[anchor.kind]) problems.push(`kind on chain ${first.kind}, document says ${anchor.kind}`);
        if (first.leafCount !== BigInt(anchor.leafCount)) problems.push(`leafCount on chain ${first.leafCount}, document says ${anchor.leafCount}`);
      }
      step({ check: "anchor", subject: subject.name, status: problems.length ? "fail" : "pass", detail: problems.join("; ") || `anchored by brand ${anchor.brandId}, ${anchor.leafCount} records` });
      if (problems.length) {
        integrityFailed.add(subject.name);
        continue;
      }
      const isRevoked = first.revokedAt !== 0n;
      step({ check: "not-revoked", subject: subject.name, status: isRevoked ? "fail" : "pass", detail: isRevoked ? `revoked at ${new Date(Number(first.revokedAt) * 1000).toISOString()}` : "active" });
      if (isRevoked) revoked.add(subject.name);

      if (subject.role === "identity" && subject.part.record.kind === "identity") {
        const gtin = subject.part.record.item.gtin;
        const owners = await readAll(options.chains, (c) => c.brandOfGtin(anchor.contract, gtin));
        const owner = owners[0]?.value;
        const ownersAgree = owners.every((o) => o.value !== undefined && o.value === owner);
        const ok = ownersAgree && owner === BigInt(anchor.brandId);
        step({
          check: "prefix-owner",
          subject: subject.name,
          status: ok ? "pass" : "fail",
          detail: !ownersAgree ? "RPCs disagree on the prefix owner" : owner === 0n ? `no brand holds the company prefix of ${gtin}` : ok ? `brand ${owner} holds the company prefix of ${gtin}` : `the company prefix of ${gtin} belongs to brand ${owner}, not ${anchor.brandId}`,
        });
        if (!ownersAgree) integrityFailed.add("chain");
        else if (!ok) prefixMismatch = true;
      }
    }
  }

  const identity = subjects.find((s) => s.role === "identity");
  let verdict: Verdict;
  if (integrityFailed.size > 0) verdict = "not-verified";
  else if (!identity) verdict = "unknown";
  else if (revoked.has(identity.name)) verdict = "revoked";
  else if (prefixMismatch) verdict = "prefix-mismatch";
  else if (subjects.some((s) => s.role === "event" && !revoked.has(s.name) && s.part.record.kind === "trace" && isRecalled(s.part.record.event))) verdict = "recalled";
  else verdict = "genuine";
  return { verdict, onChain, steps };
}
