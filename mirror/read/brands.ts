/** Brands, their GS1 company prefixes and their submitters. */
import type { Database } from "better-sqlite3";
import type { BrandRow, PrefixRow, SubmitterRow } from "../types";
import { ttlCache, versionedCache, type MirrorVersion } from "./cache";

export interface BrandsRepository {
  list(): BrandRow[];
  get(brandId: number): BrandRow | undefined;
  prefixes(brandId: number): PrefixRow[];
  submitters(brandId: number): SubmitterRow[];
  /** The longest assigned company prefix that the GTIN-14 starts with after its indicator digit. */
  ownerOfGtin(gtin14: string): PrefixRow | undefined;
}

export interface BrandDb {
  brand_id: number;
  name: string;
  admin: string;
  pending_admin: string | null;
  registered_block: number;
  registered_tx: string;
  registered_time: number;
}

export interface PrefixDb {
  prefix: string;
  brand_id: number;
  assigned_block: number;
  assigned_tx: string;
  assigned_time: number;
}

interface SubmitterDb {
  account: string;
  role: string | null;
  role_raw: string;
  set_block: number;
  set_tx: string;
  set_time: number;
}

export const BRAND_COLUMNS = "brand_id, name, admin, pending_admin, registered_block, registered_tx, registered_time";
export const PREFIX_COLUMNS = "prefix, brand_id, assigned_block, assigned_tx, assigned_time";

/** GS1 company prefixes are 6 to 12 digits. */
export const PREFIX_LENGTHS = [12, 11, 10, 9, 8, 7, 6];

export function createBrandsRepository(db: Database, version?: MirrorVersion): BrandsRepository {
  const statements = {
    list: db.prepare<[], BrandDb>(`SELECT ${BRAND_COLUMNS} FROM brands ORDER BY brand_id`),
    get: db.prepare<[number], BrandDb>(`SELECT ${BRAND_COLUMNS} FROM brands WHERE brand_id = ?`),
    prefixes: db.prepare<[number], PrefixDb>(
      `SELECT ${PREFIX_COLUMNS} FROM prefixes WHERE brand_id = ? ORDER BY prefix`,
    ),
    submitters: db.prepare<[number], SubmitterDb>(
      "SELECT account, role, role_raw, set_block, set_tx, set_time FROM submitters WHERE brand_id = ? ORDER BY account",
    ),
    owner: db.prepare<string[], PrefixDb>(
      `SELECT ${PREFIX_COLUMNS} FROM prefixes WHERE prefix IN (${PREFIX_LENGTHS.map(() => "?").join(", ")}) ORDER BY length(prefix) DESC LIMIT 1`,
    ),
  };
  // Prefix ownership and brand names change on chain rarely; a resolver asks for them on every scan.
  // With the mirror's version they are re-read after every commit to the mirror, else after a second.
  const owners =
    version === undefined
      ? ttlCache<string, PrefixRow | undefined>(1000, 100_000)
      : versionedCache<string, PrefixRow | undefined>(version, 100_000);
  const brands =
    version === undefined
      ? ttlCache<number, BrandRow | undefined>(1000, 10_000)
      : versionedCache<number, BrandRow | undefined>(version, 10_000);
  return {
    list: () => statements.list.all().map(toBrand),
    get: (brandId) =>
      brands.get(brandId, () => {
        const row = statements.get.get(brandId);
        return row === undefined ? undefined : toBrand(row);
      }),
    prefixes: (brandId) => statements.prefixes.all(brandId).map(toPrefix),
    submitters: (brandId) =>
      statements.submitters.all(brandId).map((row) => ({
        account: row.account,
        role: row.role,
        roleRaw: row.role_raw,
        setBlock: row.set_block,
        setTx: row.set_tx,
        setTime: row.set_time,
      })),
    ownerOfGtin: (gtin14) =>
      owners.get(gtin14, () => {
        const digits = gtin14.slice(1);
        const row = statements.owner.get(...PREFIX_LENGTHS.map((length) => digits.slice(0, length)));
        return row === undefined ? undefined : toPrefix(row);
      }),
  };
}

export function toBrand(row: BrandDb): BrandRow {
  return {
    brandId: row.brand_id,
    name: row.name,
    admin: row.admin,
    pendingAdmin: row.pending_admin,
    registeredBlock: row.registered_block,
    registeredTx: row.registered_tx,
    registeredTime: row.registered_time,
  };
}

export function toPrefix(row: PrefixDb): PrefixRow {
  return {
    prefix: row.prefix,
    brandId: row.brand_id,
    assignedBlock: row.assigned_block,
    assignedTx: row.assigned_tx,
    assignedTime: row.assigned_time,
  };
}
