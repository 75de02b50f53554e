/**
 * A made-up chain of TraceAnchor logs, without a node: headers that link, and logs encoded with the
 * contract's ABI (brands, prefixes, submitters, admin transfers, runs of anchors, revocations), so
 * that the chain stores can be driven range by range, forked and rolled back, on both engines.
 *
 *   syntheticChain({ blocks, seed, fork? }): SyntheticChain
 *   ranges(chain, size, from?, to?): RangeBatch[]
 */
import { keccak256, toUtf8Bytes, encodeBytes32String } from "ethers";
import { TraceAnchor__factory } from "../../../typechain-types";
import type { RangeBatch } from "../../../mirror/write/chain";
import type { BlockHeaderRow, ChainLogRow } from "../../../mirror/types";

export const SYNTHETIC_CONTRACT = "0x5fbdb2315678afecb367f032d93f642f64180aa3";

export interface SyntheticChain {
  readonly headers: readonly BlockHeaderRow[];
  readonly logs: readonly ChainLogRow[];
  readonly head: number;
}

export interface SyntheticOptions {
  readonly blocks: number;
  readonly seed: number;
  /** From block `at` on, another branch: other hashes and other events (drawn from `seed`). */
  readonly fork?: { readonly at: number; readonly seed: number };
  /** Anchors per anchoring transaction (default 1–8, drawn). */
  readonly anchorsPerTx?: number;
  /** Share of blocks with registry changes (default 0.3). */
  readonly registryRate?: number;
}

const iface = TraceAnchor__factory.createInterface();

/** A small deterministic PRNG (mulberry32): the same seed gives the same rows, faults and chains. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const address = (label: string): string => `0x${keccak256(toUtf8Bytes(label)).slice(26)}`;

interface State {
  brands: { id: bigint; admin: string; pending: string | null }[];
  prefixes: Map<string, bigint>;
  submitters: Set<string>;
  anchors: { brand: bigint; root: string; revoked: boolean }[];
  nextPrefix: number;
  nextRoot: number;
}

type Emit = (name: string, values: unknown[]) => void;

function registryChange(state: State, random: () => number, emit: Emit, branch: string): void {
  const pick = random();
  const brand = state.brands[Math.floor(random() * state.brands.length)];
  if (brand === undefined || pick < 0.15) {
    const id = BigInt(state.brands.length + 1);
    const admin = address(`admin-${id}`);
    state.brands.push({ id, admin, pending: null });
    // Tabs, newlines, backslashes, quotes and non-ASCII: COPY's text format must carry them.
    emit("BrandRegistered", [id, admin, `Brand ${id} ${branch}\t"Ünïcode" \\N\n✓`]);
    return;
  }
  if (pick < 0.35) {
    const prefix = String(4_000_000 + state.nextPrefix++);
    state.prefixes.set(prefix, brand.id);
    emit("PrefixAssigned", [brand.id, prefix]);
  } else if (pick < 0.45 && state.prefixes.size > 0) {
    const [prefix, owner] = [...state.prefixes][Math.floor(random() * state.prefixes.size)] as [string, bigint];
    state.prefixes.delete(prefix);
    emit("PrefixReleased", [owner, prefix]);
  } else if (pick < 0.65) {
    const account = address(`submitter-${Math.floor(random() * 6)}`);
    state.submitters.add(`${brand.id}/${account}`);
    const label = ["factory", "logistics", "quality inspection", "retail"][Math.floor(random() * 4)] as string;
    emit("SubmitterRoleSet", [brand.id, account, random() < 0.9 ? encodeBytes32String(label) : keccak256("0x01")]);
  } else if (pick < 0.75 && state.submitters.size > 0) {
    const key = [...state.submitters][Math.floor(random() * state.submitters.size)] as string;
    state.submitters.delete(key);
    const [id, account] = key.split("/") as [string, string];
    emit("SubmitterRemoved", [BigInt(id), account]);
  } else if (pick < 0.85) {
    const pending = random() < 0.2 ? "0x0000000000000000000000000000000000000000" : address(`next-${random()}`);
    brand.pending = pending;
    emit("BrandAdminTransferStarted", [brand.id, brand.admin, pending]);
  } else if (brand.pending !== null && brand.pending !== "0x0000000000000000000000000000000000000000") {
    emit("BrandAdminTransferred", [brand.id, brand.admin, brand.pending]);
    brand.admin = brand.pending;
    brand.pending = null;
  }
}

export function syntheticChain(options: SyntheticOptions): SyntheticChain {
  const headers: BlockHeaderRow[] = [];
  const logs: ChainLogRow[] = [];
  const state: State = {
    brands: [],
    prefixes: new Map(),
    submitters: new Set(),
    anchors: [],
    nextPrefix: 0,
    nextRoot: 0,
  };
  let random = prng(options.seed);
  let branch = "base";
  let parentHash = keccak256(toUtf8Bytes("genesis"));
  for (let number = 1; number <= options.blocks; number++) {
    if (options.fork !== undefined && number === options.fork.at) {
      random = prng(options.fork.seed);
      branch = `fork-${options.fork.seed}`;
    }
    const hash = keccak256(toUtf8Bytes(`${branch}:${number}`));
    const header = { number, hash, parentHash, timestamp: 1_700_000_000 + number * 12 };
    headers.push(header);
    parentHash = hash;
    let txIndex = 0;
    let logIndex = 0;
    const tx = (): { emit: Emit } => {
      const txHash = keccak256(toUtf8Bytes(`${branch}:${number}:${txIndex}`));
      const index = txIndex++;
      return {
        emit(name, values) {
          const encoded = iface.encodeEventLog(name, values);
          logs.push({
            blockNumber: number,
            blockHash: hash,
            txHash,
            txIndex: index,
            logIndex: logIndex++,
            address: SYNTHETIC_CONTRACT,
            topics: encoded.topics,
            data: encoded.data,
          });
        },
      };
    };
    if (number === 1 || random() < (options.registryRate ?? 0.3)) registryChange(state, random, tx().emit, branch);
    if (random() < 0.05) tx().emit("RoleGranted", [keccak256("0x02"), address("someone"), address("admin")]);
    const brand = state.brands[Math.floor(random() * state.brands.length)];
    if (brand === undefined) continue;
    const anchoring = tx();
    const count = options.anchorsPerTx ?? 1 + Math.floor(random() * 8);
    for (let i = 0; i < count; i++) {
      const root = keccak256(toUtf8Bytes(`${branch}:root:${state.nextRoot++}`));
      state.anchors.push({ brand: brand.id, root, revoked: false });
      anchoring.emit("Anchored", [
        brand.id,
        root,
        address(`submitter-${i % 6}`),
        1 + (i % 2),
        BigInt(1 + Math.floor(random() * 1_000_000)),
        `ipfs://${root.slice(2, 14)}`,
      ]);
    }
    if (random() < 0.2) {
      const target = state.anchors[Math.floor(random() * state.anchors.length)];
      if (target !== undefined && !target.revoked) {
        target.revoked = true;
        tx().emit("Revoked", [target.brand, target.root, address("revoker"), `recall ${number}\r\n\\ "lot"`]);
      }
    }
  }
  return { headers, logs, head: options.blocks };
}

/** The chain's blocks `from..to` cut into ranges of `size` blocks, as the indexer would apply them. */
export function ranges(chain: SyntheticChain, size: number, from = 1, to = chain.head): RangeBatch[] {
  const out: RangeBatch[] = [];
  for (let lo = from; lo <= to; lo += size) {
    const hi = Math.min(to, lo + size - 1);
    const headers = new Map(chain.headers.filter((h) => h.number >= lo && h.number <= hi).map((h) => [h.number, h]));
    const last = headers.get(hi);
    if (last === undefined) throw new Error(`no header ${hi}`);
    out.push({
      logs: chain.logs.filter((log) => log.blockNumber >= lo && log.blockNumber <= hi),
      headers,
      to: last,
      head: chain.head,
      finalizedBlock: chain.head - 2,
    });
  }
  return out;
}
