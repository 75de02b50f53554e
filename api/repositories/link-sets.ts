/**
 * Brands' signed link sets, one per GTIN (the newest), on either engine: in their own writable
 * SQLite file (TRACE_LINKS_DB; the mirror is the indexer's and read-only to the API), or in the
 * mirror's PostgreSQL database (trace_state.link_sets, shared by every replica). Only sets whose
 * signature the route checked get here; each row keeps the message as signed, the signature and the
 * domain, so anyone can re-check it.
 *
 *   applyLinkSetSchema(db)                 creates the SQLite table (idempotent)
 *   createLinkSetRepository(target)        get / put / linkSetOf (a BrandLinkSource over the store)
 *
 * The resolver asks on every linkset and redirect, so sets are memoised; the memo is dropped
 * whenever the store changes. SQLite: `PRAGMA data_version` tells when another connection committed
 * to the file (read at most once per millisecond). PostgreSQL: a trigger moves
 * trace_state.link_sets_version with every change, in the writer's transaction; a replica reads it
 * again at most every LINK_SET_POLL_MS, and a read that finds the last check older than that waits
 * for a new one. So a set put through one replica is served by every other within LINK_SET_POLL_MS
 * of its commit (plus one version query); the replica that put it serves it at once.
 */
import type { Database } from "better-sqlite3";
import { parseLinkSet, type LinkSetMessage } from "../../core/link-set";
import { lift } from "../../mirror/async";
import { pgLinkSetTable, type LinkSetRow } from "../../mirror/pg/link-sets";
import { mirrorVersion, versionedCache } from "../../mirror/read";
import type { PgStore } from "../../mirror/store";
import type { BrandLinkSet, BrandLinkSource } from "../link-source";

/** A link set as accepted: the signed message and what it was checked against. */
export interface StoredLinkSet {
  /** The domain's chain id, decimal. */
  readonly chainId: string;
  /** The domain's verifying contract, lowercase. */
  readonly contract: string;
  readonly message: LinkSetMessage;
  readonly signature: string;
  /** The recovered signer, lowercase: the brand's admin when the set was accepted. */
  readonly signer: string;
  /** Unix seconds, the API's clock when it accepted the set. */
  readonly acceptedAt: number;
}

export type PutResult =
  | { readonly ok: true }
  /** A set at least as new is kept already; nothing was written. */
  | { readonly ok: false; readonly stored: StoredLinkSet };

export interface LinkSetRepository extends BrandLinkSource {
  get(gtin: string): Promise<StoredLinkSet | undefined>;
  /**
   * Keeps `set` if its issuedAt is strictly greater than the stored one's (or none is stored), in
   * one transaction: a put that fails leaves the stored set as it was.
   */
  put(set: StoredLinkSet): Promise<PutResult>;
}

/** PostgreSQL: how stale another replica's view of a put may be, at most (plus one version query). */
export const LINK_SET_POLL_MS = 100;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS link_sets (
  gtin TEXT PRIMARY KEY,
  brand_id TEXT NOT NULL,
  issued_at INTEGER NOT NULL,
  chain_id TEXT NOT NULL,
  contract TEXT NOT NULL,
  message TEXT NOT NULL,
  signature TEXT NOT NULL,
  signer TEXT NOT NULL,
  accepted_at INTEGER NOT NULL
) WITHOUT ROWID;
`;

export function applyLinkSetSchema(db: Database): void {
  db.exec(SCHEMA);
}

/** The resolver's view of a stored set: links in the shape of BrandLink. */
export function brandLinkSetOf(stored: StoredLinkSet): BrandLinkSet {
  const { message } = stored;
  return {
    brandId: message.brandId,
    gtin: message.gtin,
    links: message.links.map((link) => ({
      type: link.linkType,
      href: link.href,
      title: link.title,
      ...(link.hreflang === "" ? {} : { hreflang: [link.hreflang] }),
      ...(link.mediaType === "" ? {} : { mediaType: link.mediaType }),
    })),
    signer: stored.signer,
    signature: stored.signature,
    issuedAt: new Date(message.issuedAt * 1000).toISOString(),
  };
}

interface Entry {
  readonly stored: StoredLinkSet;
  readonly brand: BrandLinkSet;
  /** Length of the stored message JSON. */
  readonly size: number;
}

/** Sets in the memo: most are a few hundred bytes; a large one is read from the store each time. */
const MEMO_ENTRIES = 20_000;
const MEMO_MAX_SET_CHARS = 8 * 1024;

export function createLinkSetRepository(target: Database | PgStore): LinkSetRepository {
  return isPgStore(target) ? pgLinkSets(target) : lift(sqliteLinkSets(target));
}

const isPgStore = (target: Database | PgStore): target is PgStore => (target as Partial<PgStore>).engine === "postgres";

type Memo = ReturnType<typeof versionedCache<string, Entry | null | "large">>;

function entryOf(row: LinkSetRow | undefined): Entry | undefined {
  if (row === undefined) return undefined;
  const stored = toStored(row);
  return { stored, brand: brandLinkSetOf(stored), size: row.message.length };
}

/** What the memo keeps for a GTIN: `null`, known to have no set; "large", read from the store each time. */
const memoValue = (found: Entry | undefined): Entry | null | "large" =>
  found === undefined ? null : found.size <= MEMO_MAX_SET_CHARS ? found : "large";

function rowOf(set: StoredLinkSet): LinkSetRow {
  const m = set.message;
  return {
    gtin: m.gtin,
    brand_id: m.brandId,
    issued_at: m.issuedAt,
    chain_id: set.chainId,
    contract: set.contract,
    message: JSON.stringify(m),
    signature: set.signature,
    signer: set.signer,
    accepted_at: set.acceptedAt,
  };
}

/** The SQLite repository, synchronous inside (`createLinkSetRepository` lifts it). */
function sqliteLinkSets(db: Database) {
  applyLinkSetSchema(db);
  const statements = {
    get: db.prepare<[string], LinkSetRow>("SELECT * FROM link_sets WHERE gtin = ?"),
    upsert: db.prepare<[string, string, number, string, string, string, string, string, number]>(
      "INSERT INTO link_sets (gtin, brand_id, issued_at, chain_id, contract, message, signature, signer, accepted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) " +
        "ON CONFLICT (gtin) DO UPDATE SET brand_id = excluded.brand_id, issued_at = excluded.issued_at, chain_id = excluded.chain_id, contract = excluded.contract, " +
        "message = excluded.message, signature = excluded.signature, signer = excluded.signer, accepted_at = excluded.accepted_at",
    ),
  };
  const dataVersion = db.prepare<[], number>("PRAGMA data_version").pluck();
  // Another process's commit to the file empties the memo, this one's own writes update it.
  const memo: Memo = versionedCache(
    mirrorVersion(() => dataVersion.get() ?? 0),
    MEMO_ENTRIES,
  );
  const read = (gtin: string): Entry | undefined => entryOf(statements.get.get(gtin));
  const entry = (gtin: string): Entry | undefined => {
    const hit = memo.peek(gtin);
    if (hit === null) return undefined;
    if (hit !== undefined && hit !== "large") return hit;
    const found = read(gtin);
    if (hit === undefined) memo.set(gtin, memoValue(found));
    return found;
  };

  // IMMEDIATE: the read of the stored issuedAt and the write are one step even with another writer.
  const put = db.transaction((set: StoredLinkSet): PutResult => {
    const current = read(set.message.gtin);
    if (current !== undefined && current.stored.message.issuedAt >= set.message.issuedAt)
      return { ok: false, stored: current.stored };
    const row = rowOf(set);
    statements.upsert.run(
      row.gtin,
      row.brand_id,
      row.issued_at,
      row.chain_id,
      row.contract,
      row.message,
      row.signature,
      row.signer,
      row.accepted_at,
    );
    return { ok: true };
  });

  return {
    get: (gtin: string): StoredLinkSet | undefined => entry(gtin)?.stored,
    linkSetOf: (gtin: string): BrandLinkSet | undefined => entry(gtin)?.brand,
    put(set: StoredLinkSet): PutResult {
      const result = put.immediate(set);
      // Read back after the commit, so the memo holds exactly what the file holds.
      memo.set(set.message.gtin, memoValue(read(set.message.gtin)));
      return result;
    },
  };
}

/**
 * A version read from PostgreSQL: `fresh()` reads it again when the last read began `pollMs` ago or
 * more (callers meanwhile share that one query), else resolves at once; `version` is its
 * MirrorVersion, for versionedCache.
 */
function polledVersion(read: () => Promise<number>, pollMs: number, now: () => number = Date.now) {
  let seen = 0;
  let checkedAt = -Infinity;
  let polling: Promise<void> | undefined;
  const poll = async (): Promise<void> => {
    const started = now();
    try {
      seen = await read();
      checkedAt = started;
    } finally {
      polling = undefined;
    }
  };
  return {
    version: mirrorVersion(() => seen, now),
    fresh: (): Promise<void> => (now() - checkedAt < pollMs ? Promise.resolve() : (polling ??= poll())),
  };
}

function pgLinkSets(store: PgStore): LinkSetRepository {
  // The primary: a standby's lag would break the bound above.
  const table = pgLinkSetTable(store.pool);
  const polled = polledVersion(() => table.version(), LINK_SET_POLL_MS);
  const memo: Memo = versionedCache(polled.version, MEMO_ENTRIES);
  const entry = async (gtin: string): Promise<Entry | undefined> => {
    await polled.fresh();
    const hit = memo.peek(gtin);
    if (hit === null) return undefined;
    if (hit !== undefined && hit !== "large") return hit;
    const generation = polled.version.generation();
    const found = entryOf(await table.get(gtin));
    // Not kept if the memo was dropped meanwhile (the read may predate the change that dropped it)
    // or this replica put a set of the GTIN meanwhile.
    if (hit === undefined && polled.version.generation() === generation && memo.peek(gtin) === undefined)
      memo.set(gtin, memoValue(found));
    return found;
  };
  const put = async (set: StoredLinkSet): Promise<PutResult> => {
    const row = rowOf(set);
    // Not written: a set at least as new is stored. Read it; should it be gone already, try again.
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await table.putIfNewer(row)) {
        memo.set(row.gtin, memoValue(entryOf(row)));
        return { ok: true };
      }
      const current = await table.get(row.gtin);
      if (current !== undefined) {
        memo.set(row.gtin, memoValue(entryOf(current)));
        return { ok: false, stored: toStored(current) };
      }
    }
    throw new Error(`link set of ${row.gtin}: the stored set kept changing while this one was put`);
  };
  return {
    get: async (gtin) => (await entry(gtin))?.stored,
    linkSetOf: async (gtin) => (await entry(gtin))?.brand,
    put,
  };
}

function toStored(row: LinkSetRow): StoredLinkSet {
  return {
    chainId: row.chain_id,
    contract: row.contract,
    // Only checked sets are written; parsing again keeps the types honest and catches a hand-edited file.
    message: parseLinkSet(JSON.parse(row.message)),
    signature: row.signature,
    signer: row.signer,
    acceptedAt: row.accepted_at,
  };
}
