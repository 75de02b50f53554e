/**
 * The verifier: checks an item document or a proof bundle without trusting whoever served it, and
 * decides the verdict from what it checked with the one verdict rule (core/verdict.ts). Runs in Node
 * and in browsers (no Node built-ins). Each check is a separate, reported step:
 *
 *   1. the document has the shape of an item document or a proof bundle;
 *   2. every recordHash recomputed from its record (RFC 8785 canonical JSON, keccak256);
 *   3. every Merkle proof leads from its record hash to its root (OpenZeppelin StandardMerkleTree);
 *   4. every record is about the code asked for, at its level (serial, lot or product);
 *   5. on chain, through every given RPC (they must agree): the chain id, the contract, each anchor
 *      (brand, root) with its kind and leafCount, each batch's revocation, and the brand owning the
 *      GTIN's company prefix.
 *
 * A step fails only when something does not match or cannot be read; then the verdict is
 * "not-verified". A revoked batch, a recall or a prefix owner other than the anchoring brand are
 * facts the chain confirms: they pass, and the verdict says what they mean.
 *
 * Every chain read is started before any is awaited, so a reader that batches the calls of one
 * tick (JSON-RPC batch) needs a single round trip.
 *
 *   verifyDocument(doc: unknown, options: VerifyOptions): Promise<VerifyReport>
 */
import { isProofBundle } from "./bundle";
import type { ChainReader, OnChainAnchor } from "./chain-reader";
import { extractItemKeys } from "./epcis";
import { isGtin14 } from "./gs1";
import { verifyProof } from "./merkle";
import { KIND_CODE, kindOfCode, parseRecord, recordHash, type RecordKind, type TraceAnchorRecord } from "./record";
import {
  decideVerdict,
  isRecallDisposition,
  type CodeLevel,
  type EventLevel,
  type RecallFact,
  type Verdict,
  type VerdictFacts,
} from "./verdict";

/** What the verifier concludes: a verdict the checks support, or "not-verified" when a check failed. */
export type VerifyVerdict = Verdict | "not-verified";

export type VerifyCheck =
  | "document"
  | "record-hash"
  | "merkle-proof"
  | "item-binding"
  | "chain"
  | "contract"
  | "anchor"
  | "revocation"
  | "prefix-owner"
  | "rpc-agreement";

export interface VerifyStep {
  readonly check: VerifyCheck;
  /** What was checked: "document", "identity", "event 2", "prefix owner", a contract address or an RPC URL. */
  readonly subject: string;
  /** "fail" only when something does not match or could not be read. */
  readonly status: "pass" | "fail" | "skip";
  readonly detail: string;
}

export interface VerifyReport {
  readonly verdict: VerifyVerdict;
  /** What the scanned code identifies (a proof bundle: serial). */
  readonly level: CodeLevel;
  /**
   * True when the chain was read. Without an RPC only hashes, proofs and item binding are checked,
   * and the verdict is decided from the document's own claims (its brand, its anchors' revoked
   * flags): it is then not a verified fact.
   */
  readonly onChain: boolean;
  /** How many records (identity and events) the document holds, each checked by hash and proof. */
  readonly records: number;
  /** The verdict the document states (the server's claim); null for a proof bundle. */
  readonly serverVerdict: string | null;
  /** Whether `serverVerdict` equals `verdict`; null when there is nothing to compare or the document was not verified. */
  readonly agreesWithServer: boolean | null;
  /** The facts `verdict` was decided from; null when not verified. */
  readonly facts: VerdictFacts | null;
  /** When the identity record's batch was revoked (ISO 8601), as the chain says; null otherwise. */
  readonly revokedAt: string | null;
  readonly steps: readonly VerifyStep[];
}

export interface VerifyOptions {
  /** Chains to read; with two or more, their answers must agree. Empty: offline checks only. */
  readonly chains: readonly ChainReader[];
  /** The TraceAnchor address the verifier trusts; without it, the document's claim is reported as such. */
  readonly trustedContract?: string;
  /** Scans of one serial above which it is "suspicious" (the server's TRACE_SCAN_THRESHOLD); default 50. */
  readonly scanThreshold?: number;
}

export const DEFAULT_SCAN_THRESHOLD = 50;

interface AnchorClaim {
  readonly chainId: string;
  readonly contract: string;
  readonly brandId: bigint;
  readonly kind: RecordKind;
  readonly leafCount: number;
  /** The document's `anchor.revoked` (item documents carry it; bundles do not). */
  readonly revoked: boolean | undefined;
}

interface Subject {
  readonly name: string;
  readonly role: "identity" | "event";
  /** The record as sent, or why it is not a v1 record. */
  readonly record: TraceAnchorRecord | { readonly error: string };
  readonly recordHash: string;
  readonly proof: readonly string[];
  readonly root: string;
  readonly anchor: AnchorClaim;
}

interface ItemRef {
  readonly gtin: string;
  readonly serial: string | null;
  readonly lot: string | null;
}

interface Parsed {
  readonly level: CodeLevel;
  /** The scanned code; undefined for a proof bundle (which names no code). */
  readonly item: ItemRef | undefined;
  readonly identity: Subject | undefined;
  readonly events: readonly Subject[];
  readonly serverVerdict: string | null;
  /** The document's claimed prefix owner (its `brand.brandId`), for offline verdicts. */
  readonly brandClaim: string | null | undefined;
  readonly scanCount: number | null;
}

const HEX32 = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const DECIMAL = /^(0|[1-9]\d{0,19})$/;
const LEVELS: readonly CodeLevel[] = ["serial", "lot", "product"];

class ShapeError extends Error {
  override readonly name = "ShapeError";
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sameHex(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function anchorClaim(value: unknown, where: string): AnchorClaim {
  if (!isObject(value)) throw new ShapeError(`${where}.anchor is not an object`);
  const { chainId, contract, brandId, kind, leafCount, revoked } = value;
  if (typeof chainId !== "string" || !DECIMAL.test(chainId))
    throw new ShapeError(`${where}.anchor.chainId is not a decimal string`);
  if (typeof contract !== "string" || !ADDRESS.test(contract))
    throw new ShapeError(`${where}.anchor.contract is not an address`);
  if (typeof brandId !== "string" || !DECIMAL.test(brandId) || BigInt(brandId) >= 2n ** 64n)
    throw new ShapeError(`${where}.anchor.brandId is not a brand id`);
  if (kind !== "identity" && kind !== "trace")
    throw new ShapeError(`${where}.anchor.kind is neither identity nor trace`);
  if (typeof leafCount !== "number" || !Number.isSafeInteger(leafCount) || leafCount < 1)
    throw new ShapeError(`${where}.anchor.leafCount is not a positive integer`);
  return {
    chainId,
    contract,
    brandId: BigInt(brandId),
    kind,
    leafCount,
    revoked: typeof revoked === "boolean" ? revoked : undefined,
  };
}

function subjectOf(value: unknown, name: string, role: Subject["role"], where: string): Subject {
  if (!isObject(value)) throw new ShapeError(`${where} is not a record with its proof and anchor`);
  const { recordHash: hash, proof, root } = value;
  if (!isObject(value.record)) throw new ShapeError(`${where}.record is not an object`);
  if (typeof hash !== "string" || !HEX32.test(hash)) throw new ShapeError(`${where}.recordHash is not 32 bytes of hex`);
  if (!Array.isArray(proof) || !proof.every((p): p is string => typeof p === "string" && HEX32.test(p)))
    throw new ShapeError(`${where}.proof is not a list of 32-byte hashes`);
  if (typeof root !== "string" || !HEX32.test(root)) throw new ShapeError(`${where}.root is not 32 bytes of hex`);
  let record: Subject["record"];
  try {
    record = parseRecord(value.record);
  } catch (error) {
    // Not a record that could have been anchored: a failed record-hash step, not a broken document.
    record = { error: message(error) };
  }
  return { name, role, record, recordHash: hash, proof, root, anchor: anchorClaim(value.anchor, where) };
}

function nullableString(value: unknown, field: string): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== "string" || value === "") throw new ShapeError(`${field} is not a string or null`);
  return value;
}

/** The level a document states, else the one its item implies (documents older than levels). */
function levelOf(value: unknown, item: ItemRef): CodeLevel {
  const implied: CodeLevel = item.serial !== null ? "serial" : item.lot !== null ? "lot" : "product";
  if (value === undefined) return implied;
  if (typeof value !== "string" || !(LEVELS as readonly string[]).includes(value))
    throw new ShapeError(`level must be one of ${LEVELS.join(", ")}`);
  const level = value as CodeLevel;
  if (level === "serial" && item.serial === null) throw new ShapeError("a serial-level document needs item.serial");
  if (level !== "serial" && item.serial !== null) throw new ShapeError(`a ${level}-level document names no serial`);
  if (level === "lot" && item.lot === null) throw new ShapeError("a lot-level document needs item.lot");
  return level;
}

function parseDocument(doc: unknown): Parsed {
  if (isProofBundle(doc)) {
    const role = isObject(doc.record) && doc.record.kind === "identity" ? "identity" : "event";
    const subject = subjectOf(doc, role === "identity" ? "identity" : "event 1", role, "bundle");
    return {
      level: "serial",
      item: undefined,
      identity: role === "identity" ? subject : undefined,
      events: role === "event" ? [subject] : [],
      serverVerdict: null,
      brandClaim: undefined,
      scanCount: null,
    };
  }
  if (!isObject(doc)) throw new ShapeError("the document is neither an item document nor a proof bundle");
  const rawItem = doc.item;
  if (!isObject(rawItem) || typeof rawItem.gtin !== "string" || !isGtin14(rawItem.gtin))
    throw new ShapeError("item.gtin is not a GTIN-14");
  const item: ItemRef = {
    gtin: rawItem.gtin,
    serial: nullableString(rawItem.serial, "item.serial"),
    lot: nullableString(rawItem.lot, "item.lot"),
  };
  const level = levelOf(doc.level, item);
  const identity =
    doc.identity === null || doc.identity === undefined
      ? undefined
      : subjectOf(doc.identity, "identity", "identity", "identity");
  const rawEvents = doc.events ?? [];
  if (!Array.isArray(rawEvents)) throw new ShapeError("events is not a list");
  const events = rawEvents.map((e: unknown, i: number) => subjectOf(e, `event ${i + 1}`, "event", `events[${i}]`));
  const verdict = doc.verdict;
  if (verdict !== undefined && typeof verdict !== "string") throw new ShapeError("verdict is not a string");
  const brand = doc.brand;
  const brandClaim =
    isObject(brand) && typeof brand.brandId === "string" ? brand.brandId : brand === null ? null : undefined;
  const scans = doc.scans;
  const count =
    isObject(scans) && typeof scans.count === "number" && Number.isSafeInteger(scans.count) && scans.count >= 0
      ? scans.count
      : null;
  return { level, item, identity, events, serverVerdict: verdict ?? null, brandClaim, scanCount: count };
}

/** What an event names relative to the scanned code, most specific first; undefined when it names none of it. */
function eventLevel(
  record: TraceAnchorRecord,
  level: CodeLevel,
  item: ItemRef,
  itemLot: string | null,
): EventLevel | undefined {
  if (record.kind !== "trace") return undefined;
  const keys = extractItemKeys(record.event).filter((k) => k.type !== "other" && k.gtin === item.gtin);
  const names = (type: "serial" | "lot" | "class"): boolean =>
    keys.some((k) => {
      if (k.type !== type) return false;
      if (k.type === "serial") return level === "serial" && k.serial === item.serial;
      if (k.type === "lot") return level === "product" || (itemLot !== null && k.lot === itemLot);
      return true;
    });
  if (names("serial")) return "item";
  if (names("lot")) return "lot";
  if (names("class")) return "class";
  return undefined;
}

const recordOf = (s: Subject): TraceAnchorRecord | undefined => ("error" in s.record ? undefined : s.record);

/** The lot the item belongs to: its identity record's (verified), else the one the code names. */
function lotOf(parsed: Parsed): string | null {
  const record = parsed.identity === undefined ? undefined : recordOf(parsed.identity);
  return parsed.level === "serial" && record?.kind === "identity" && record.item.lot !== undefined
    ? record.item.lot
    : (parsed.item?.lot ?? null);
}

function identityProblem(record: TraceAnchorRecord, level: CodeLevel, item: ItemRef): string | undefined {
  if (record.kind !== "identity") return "the identity is a trace record";
  if (record.item.gtin !== item.gtin) return `record is for GTIN ${record.item.gtin}, not ${item.gtin}`;
  if (level === "serial") {
    if (record.item.serial !== item.serial) return `record is for serial ${record.item.serial}, not ${item.serial}`;
    if (item.lot !== null && record.item.lot !== undefined && record.item.lot !== item.lot)
      return `record is for lot ${record.item.lot}, not ${item.lot}`;
  }
  if (level === "lot" && record.item.lot !== item.lot)
    return `record is for lot ${record.item.lot ?? "(none)"}, not ${item.lot}`;
  return undefined;
}

const EVENT_NAMES: Readonly<Record<CodeLevel, string>> = {
  serial: "the event does not name this item, its lot or its product",
  lot: "the event does not name this lot or its product",
  product: "the event does not name a lot of this product or the product",
};

const BINDING_PASS: Readonly<Record<CodeLevel, string>> = {
  serial: "about this item",
  lot: "about this lot",
  product: "about this product",
};

interface Read<T> {
  readonly chain: ChainReader;
  readonly value?: T;
  readonly error?: string;
}

/** Starts `read` on every chain now (synchronously) and collects the answers and errors. */
function readAll<T>(chains: readonly ChainReader[], read: (chain: ChainReader) => Promise<T>): Promise<Read<T>[]> {
  return Promise.all(
    chains.map(async (chain): Promise<Read<T>> => {
      try {
        return { chain, value: await read(chain) };
      } catch (error) {
        return { chain, error: message(error) };
      }
    }),
  );
}

/** The one answer every chain gave, or a description of how they differed. */
function agreed<T>(results: readonly Read<T>[], key: (value: T) => string): { value: T } | { problem: string } {
  const failed = results.filter((r) => r.value === undefined);
  if (failed.length > 0) return { problem: failed.map((r) => `${r.chain.name}: ${r.error ?? "no answer"}`).join("; ") };
  const values = results.map((r) => r.value as T);
  if (new Set(values.map(key)).size > 1)
    return { problem: results.map((r) => `${r.chain.name}: ${key(r.value as T)}`).join("; ") };
  return { value: values[0] as T };
}

const anchorKey = (a: OnChainAnchor): string =>
  `kind ${a.kind}, ${a.leafCount} leaves, anchored at ${a.anchoredAt}, revoked at ${a.revokedAt}`;
/** A block time read on chain; beyond the years a Date holds (only a lying RPC answers that), the raw seconds. */
const isoOfSeconds = (seconds: bigint): string =>
  seconds <= 8_640_000_000_000n ? new Date(Number(seconds) * 1000).toISOString() : `${seconds} (unix seconds)`;

type Step = (s: VerifyStep) => void;

/** Hashes, proofs and item binding; returns what each bound event names relative to the code. */
function checkRecords(parsed: Parsed, subjects: readonly Subject[], step: Step): Map<Subject, EventLevel> {
  const { level, item } = parsed;
  const itemLot = lotOf(parsed);
  const eventLevels = new Map<Subject, EventLevel>();
  for (const subject of subjects) {
    const { record } = subject;
    if ("error" in record) {
      step({ check: "record-hash", subject: subject.name, status: "fail", detail: `not a v1 record: ${record.error}` });
      continue;
    }
    let computed: string;
    try {
      computed = recordHash(record);
    } catch (error) {
      step({
        check: "record-hash",
        subject: subject.name,
        status: "fail",
        detail: `record cannot be hashed: ${message(error)}`,
      });
      continue;
    }
    const hashOk = sameHex(computed, subject.recordHash);
    step({
      check: "record-hash",
      subject: subject.name,
      status: hashOk ? "pass" : "fail",
      detail: hashOk ? computed : `record hashes to ${computed}, document says ${subject.recordHash}`,
    });
    let proofOk: boolean;
    try {
      proofOk = verifyProof(subject.root, computed, subject.proof);
    } catch {
      proofOk = false;
    }
    step({
      check: "merkle-proof",
      subject: subject.name,
      status: proofOk ? "pass" : "fail",
      detail: proofOk
        ? `${subject.proof.length} step(s) to root ${subject.root}`
        : `proof does not lead to root ${subject.root}`,
    });
    if (record.kind !== subject.anchor.kind) {
      step({
        check: "item-binding",
        subject: subject.name,
        status: "fail",
        detail: `a ${record.kind} record in a batch the document calls ${subject.anchor.kind}`,
      });
      continue;
    }
    if (item === undefined) continue;
    let problem: string | undefined;
    if (subject.role === "identity") problem = identityProblem(record, level, item);
    else {
      try {
        const found = eventLevel(record, level, item, itemLot);
        if (found === undefined)
          problem = record.kind === "trace" ? EVENT_NAMES[level] : "the event is an identity record";
        else eventLevels.set(subject, found);
      } catch (error) {
        problem = `the event names an unreadable identifier: ${message(error)}`;
      }
    }
    step({
      check: "item-binding",
      subject: subject.name,
      status: problem ? "fail" : "pass",
      detail: problem ?? BINDING_PASS[level],
    });
  }
  return eventLevels;
}

interface ChainFacts {
  /** Brand id holding the GTIN's prefix, null for none; undefined when it could not be read. */
  readonly prefixOwner: string | null | undefined;
  /** The anchor of each record whose anchor matched the document. */
  readonly anchors: ReadonlyMap<Subject, OnChainAnchor>;
}

/**
 * Reads the chain through every reader, all reads issued before the first await: the chain id, the
 * contract's code, each distinct anchor, the prefix owner of `gtin`. Reports a step for each.
 */
async function readChain(
  subjects: readonly Subject[],
  gtin: string | undefined,
  anchoring: string | undefined,
  options: VerifyOptions,
  step: Step,
): Promise<ChainFacts> {
  const { chains } = options;
  const claimedChains = new Set(subjects.map((s) => s.anchor.chainId));
  const claimedContracts = new Set(subjects.map((s) => s.anchor.contract.toLowerCase()));
  const trusted = options.trustedContract?.toLowerCase();
  const registry = trusted ?? (claimedContracts.size === 1 ? [...claimedContracts][0] : undefined);

  // Every read starts here, before the first await.
  const chainIds = readAll(chains, (c) => c.chainId());
  const codes = registry === undefined ? undefined : readAll(chains, (c) => c.code(registry));
  const anchorReads = new Map<string, Promise<Read<OnChainAnchor>[]>>();
  const keyOf = (s: Subject): string => `${s.anchor.brandId}/${s.root.toLowerCase()}`;
  if (registry !== undefined) {
    for (const subject of subjects) {
      const key = keyOf(subject);
      if (!anchorReads.has(key))
        anchorReads.set(
          key,
          readAll(chains, (c) => c.anchorOf(registry, subject.anchor.brandId, subject.root)),
        );
    }
  }
  const owners =
    registry === undefined || gtin === undefined ? undefined : readAll(chains, (c) => c.brandOfGtin(registry, gtin));
  const [chainIdResults, codeResults, ownerResults] = await Promise.all([chainIds, codes, owners]);
  const anchorResults = new Map<string, Read<OnChainAnchor>[]>();
  for (const [key, read] of anchorReads) anchorResults.set(key, await read);

  const claimedChain = claimedChains.size === 1 ? [...claimedChains][0] : undefined;
  if (claimedChains.size > 1)
    step({
      check: "chain",
      subject: "document",
      status: "fail",
      detail: `the anchors name ${claimedChains.size} chains: ${[...claimedChains].join(", ")}`,
    });
  const agreedChain = agreed(chainIdResults, (v) => v.toString());
  for (const r of chainIdResults) {
    const got = r.value?.toString();
    const ok = got !== undefined && (claimedChain === undefined ? "value" in agreedChain : got === claimedChain);
    const detail =
      r.error ??
      (claimedChain === undefined
        ? `chain ${got} (the document names none${ok ? "" : "; the RPCs disagree"})`
        : `chain ${got} (document: ${claimedChain})`);
    step({ check: "chain", subject: r.chain.name, status: ok ? "pass" : "fail", detail });
  }

  if (claimedContracts.size > 1) {
    step({
      check: "contract",
      subject: "document",
      status: "fail",
      detail: `the anchors name ${claimedContracts.size} contracts`,
    });
  } else if (trusted !== undefined && claimedContracts.size === 1 && !claimedContracts.has(trusted)) {
    step({
      check: "contract",
      subject: [...claimedContracts][0]!,
      status: "fail",
      detail: `not the trusted TraceAnchor ${options.trustedContract}`,
    });
  }
  if (registry === undefined || codeResults === undefined) {
    if (claimedContracts.size <= 1)
      step({
        check: "contract",
        subject: "document",
        status: "fail",
        detail: "no contract to read: the document names none and no trusted contract was given",
      });
  } else {
    const problems = codeResults.filter((r) => r.value === undefined || r.value === "0x" || r.value === "");
    step({
      check: "contract",
      subject: registry,
      status: problems.length === 0 ? "pass" : "fail",
      detail:
        problems.length > 0
          ? problems.map((r) => `${r.chain.name}: ${r.error ?? "no contract at this address"}`).join("; ")
          : trusted !== undefined
            ? "the trusted TraceAnchor"
            : "a contract (address taken from the document: pass --contract to pin it)",
    });
  }

  const anchors = new Map<Subject, OnChainAnchor>();
  for (const subject of subjects) {
    const results = anchorResults.get(keyOf(subject));
    if (results === undefined) continue;
    const answer = agreed(results, anchorKey);
    if (chains.length > 1) {
      step({
        check: "rpc-agreement",
        subject: subject.name,
        status: "value" in answer ? "pass" : "fail",
        detail: "value" in answer ? `${results.length} RPCs agree` : answer.problem,
      });
    }
    if (!("value" in answer)) {
      if (chains.length === 1) step({ check: "anchor", subject: subject.name, status: "fail", detail: answer.problem });
      continue;
    }
    const onchain = answer.value;
    const { anchor, root } = subject;
    const problems: string[] = [];
    if (onchain.anchoredAt === 0n) problems.push(`brand ${anchor.brandId} never anchored root ${root}`);
    else {
      if (onchain.kind !== KIND_CODE[anchor.kind])
        problems.push(`kind on chain ${kindOfCode(onchain.kind) ?? onchain.kind}, document says ${anchor.kind}`);
      if (onchain.leafCount !== BigInt(anchor.leafCount))
        problems.push(`leafCount on chain ${onchain.leafCount}, document says ${anchor.leafCount}`);
    }
    step({
      check: "anchor",
      subject: subject.name,
      status: problems.length ? "fail" : "pass",
      detail:
        problems.join("; ") ||
        `anchored by brand ${anchor.brandId}, ${anchor.leafCount} records, at ${isoOfSeconds(onchain.anchoredAt)}`,
    });
    if (problems.length) continue;
    anchors.set(subject, onchain);
    const revoked = onchain.revokedAt !== 0n;
    const claim =
      anchor.revoked === undefined || anchor.revoked === revoked
        ? ""
        : ` (the document says ${anchor.revoked ? "revoked" : "not revoked"})`;
    step({
      check: "revocation",
      subject: subject.name,
      status: "pass",
      detail: `${revoked ? `revoked on ${isoOfSeconds(onchain.revokedAt)}` : "not revoked"}${claim}`,
    });
  }

  let prefixOwner: string | null | undefined;
  if (ownerResults !== undefined && gtin !== undefined) {
    const answer = agreed(ownerResults, (v) => v.toString());
    if (chains.length > 1) {
      step({
        check: "rpc-agreement",
        subject: "prefix owner",
        status: "value" in answer ? "pass" : "fail",
        detail: "value" in answer ? `${ownerResults.length} RPCs agree` : answer.problem,
      });
    }
    if ("value" in answer) {
      const owner = answer.value === 0n ? null : answer.value.toString();
      prefixOwner = owner;
      const detail =
        owner === null
          ? `no brand holds the company prefix of ${gtin}`
          : anchoring === undefined || anchoring === owner
            ? `brand ${owner} holds the company prefix of ${gtin}`
            : `the company prefix of ${gtin} belongs to brand ${owner}, not ${anchoring}`;
      step({ check: "prefix-owner", subject: "prefix owner", status: "pass", detail });
    } else if (chains.length === 1) {
      step({ check: "prefix-owner", subject: "prefix owner", status: "fail", detail: answer.problem });
    }
  }
  return { prefixOwner, anchors };
}

export async function verifyDocument(doc: unknown, options: VerifyOptions): Promise<VerifyReport> {
  const steps: VerifyStep[] = [];
  const step: Step = (s) => void steps.push(s);

  let parsed: Parsed;
  try {
    parsed = parseDocument(doc);
  } catch (error) {
    step({ check: "document", subject: "document", status: "fail", detail: message(error) });
    return {
      verdict: "not-verified",
      level: "serial",
      onChain: false,
      records: 0,
      serverVerdict: null,
      agreesWithServer: null,
      facts: null,
      revokedAt: null,
      steps,
    };
  }
  const { level, item, identity } = parsed;
  const subjects = [...(identity ? [identity] : []), ...parsed.events];
  const eventLevels = checkRecords(parsed, subjects, step);

  const identityRecord = identity === undefined ? undefined : recordOf(identity);
  const gtin = item?.gtin ?? (identityRecord?.kind === "identity" ? identityRecord.item.gtin : undefined);
  const onChain = options.chains.length > 0;
  const chain = onChain
    ? await readChain(subjects, gtin, identity?.anchor.brandId.toString(), options, step)
    : undefined;

  const base = { level, onChain, records: subjects.length, serverVerdict: parsed.serverVerdict, steps };
  if (steps.some((s) => s.status === "fail"))
    return { ...base, verdict: "not-verified", agreesWithServer: null, facts: null, revokedAt: null };

  // On chain: what was read. Offline: the document's own claims, reported as such (onChain false).
  const revokedOf = (s: Subject): boolean =>
    chain ? chain.anchors.get(s)?.revokedAt !== 0n : s.anchor.revoked === true;
  const recalls: RecallFact[] = [];
  for (const event of parsed.events) {
    const record = recordOf(event);
    const named = eventLevels.get(event);
    if (record?.kind !== "trace" || named === undefined || !isRecallDisposition(record.event.disposition)) continue;
    recalls.push({ level: named, brandId: event.anchor.brandId.toString(), revoked: revokedOf(event) });
  }
  // A proof bundle claims no prefix owner: offline, its own brand stands in.
  const claimedOwner =
    parsed.brandClaim !== undefined ? parsed.brandClaim : (identity?.anchor.brandId.toString() ?? null);
  const facts: VerdictFacts = {
    level,
    prefixOwner: chain ? (chain.prefixOwner ?? null) : claimedOwner,
    identity:
      identity === undefined ? null : { brandId: identity.anchor.brandId.toString(), revoked: revokedOf(identity) },
    recalls,
    ...(level === "serial"
      ? { scans: { count: parsed.scanCount, threshold: options.scanThreshold ?? DEFAULT_SCAN_THRESHOLD } }
      : {}),
  };
  const verdict = decideVerdict(facts);
  const identityAnchor = identity === undefined ? undefined : chain?.anchors.get(identity);
  return {
    ...base,
    verdict,
    agreesWithServer: parsed.serverVerdict === null ? null : parsed.serverVerdict === verdict,
    facts,
    revokedAt:
      identityAnchor !== undefined && identityAnchor.revokedAt !== 0n ? isoOfSeconds(identityAnchor.revokedAt) : null,
  };
}
