/**
 * Brands' signed link sets, one per GTIN (the newest), in their own writable SQLite file: the mirror
 * is the indexer's and read-only to the API. Only sets whose signature the route checked get here;
 * each row keeps the message as signed, the signature and the domain, so anyone can re-check it.
 *
 *   applyLinkSetSchema(db)              creates the table (idempotent)
 *   createLinkSetRepository(db)         get / put / linkSetOf (a BrandLinkSource over the file)
 */
import type { Database } from "better-sqlite3";
import { parseLinkSet, type LinkSetMessage } from "../../core/link-set";
import { mirrorVersion, versionedCache } from "../../mirror/read";
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
  get(gtin: string): StoredLinkSet | undefined;
  /** Keeps `set` if its issuedAt is strictly greater than the stored one's (or none is stored). */
  put(set: StoredLinkSet): PutResult;
}

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

interface Row {
  gtin: string;
  brand_id: string;
  issued_at: number;
  chain_id: string;
  contract: string;
  message: string;
  signature: string;
  signer: string;
  accepted_at: number;
}

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

/** Sets in the memo: most are a few hundred bytes; a large one is read from the file each time. */
const MEMO_ENTRIES = 20_000;
const MEMO_MAX_SET_CHARS = 8 * 1024;

export function createLinkSetRepository(db: Database): LinkSetRepository {
  applyLinkSetSchema(db);
  const statements = {
    get: db.prepare<[string], Row>("SELECT * FROM link_sets WHERE gtin = ?"),
    upsert: db.prepare<[string, string, number, string, string, string, string, string, number]>(
      "INSERT INTO link_sets (gtin, brand_id, issued_at, chain_id, contract, message, signature, signer, accepted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) " +
        "ON CONFLICT (gtin) DO UPDATE SET brand_id = excluded.brand_id, issued_at = excluded.issued_at, chain_id = excluded.chain_id, contract = excluded.contract, " +
        "message = excluded.message, signature = excluded.signature, signer = excluded.signer, accepted_at = excluded.accepted_at",
    ),
  };
  const dataVersion = db.prepare<[], number>("PRAGMA data_version").pluck();
  // The resolver asks on every scan; another process's commit to the file empties the memo, this
  // one's own writes update it. `null`: known to have no set; "large": read from the file each time.
  const memo = versionedCache<string, Entry | null | "large">(
    mirrorVersion(() => dataVersion.get() ?? 0),
    MEMO_ENTRIES,
  );
  const read = (gtin: string): Entry | undefined => {
    const row = statements.get.get(gtin);
    if (row === undefined) return undefined;
    const stored = toStored(row);
    return { stored, brand: brandLinkSetOf(stored), size: row.message.length };
  };
  const remember = (gtin: string, found: Entry | undefined): void =>
    memo.set(gtin, found === undefined ? null : found.size <= MEMO_MAX_SET_CHARS ? found : "large");
  const entry = (gtin: string): Entry | undefined => {
    const hit = memo.peek(gtin);
    if (hit === null) return undefined;
    if (hit !== undefined && hit !== "large") return hit;
    const found = read(gtin);
    if (hit === undefined) remember(gtin, found);
    return found;
  };

  // IMMEDIATE: the read of the stored issuedAt and the write are one step even with another writer.
  const put = db.transaction((set: StoredLinkSet): PutResult => {
    const current = read(set.message.gtin);
    if (current !== undefined && current.stored.message.issuedAt >= set.message.issuedAt)
      return { ok: false, stored: current.stored };
    const m = set.message;
    statements.upsert.run(
      m.gtin,
      m.brandId,
      m.issuedAt,
      set.chainId,
      set.contract,
      JSON.stringify(m),
      set.signature,
      set.signer,
      set.acceptedAt,
    );
    return { ok: true };
  });

  return {
    get: (gtin) => entry(gtin)?.stored,
    linkSetOf: (gtin) => Promise.resolve(entry(gtin)?.brand),
    put(set) {
      const result = put.immediate(set);
      // Read back after the commit, so the memo holds exactly what the file holds.
      remember(set.message.gtin, read(set.message.gtin));
      return result;
    },
  };
}

function toStored(row: Row): StoredLinkSet {
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
