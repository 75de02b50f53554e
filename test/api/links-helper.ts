/**
 * For link-set tests: the shared fixture mirror with brand admins whose keys the test holds (the
 * fixture's own admins are bare addresses), a link-set store on either engine (a SQLite file, or a
 * PostgreSQL database's trace_state schema) and an app over both (reading the fixture, or its
 * PostgreSQL copy), and signing as a brand does.
 */
import Database from "better-sqlite3";
import { Wallet } from "ethers";
import { LINK_SET_TYPES, linkSetDomain, type LinkSetLink, type LinkSetMessage } from "../../core/link-set";
import { openDatabase } from "../../mirror/db";
import { openStore, type Engine, type PgStore } from "../../mirror/store";
import { testMirrorLocation } from "../helpers/engines";
import { createSqliteSeeder } from "../../mirror/write/seed";
import { ACME, CHAIN_ID, CONTRACT, FAKE, createMirrorFixture, type MirrorFixture } from "./fixtures";
import { buildTestApp, pgMirrorOf, syncFixture, type TestApp } from "./helper";

/** Fixed development keys, so failures reproduce. */
export const ACME_ADMIN = new Wallet("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
export const FAKE_ADMIN = new Wallet("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a");
export const STRANGER = new Wallet("0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6");

export const FIXTURE_DOMAIN = linkSetDomain(CHAIN_ID, CONTRACT);

/** The fixture mirror with ACME's and FAKE's admins set to ACME_ADMIN and FAKE_ADMIN. */
export async function createLinksFixture(): Promise<MirrorFixture> {
  const fixture = await createMirrorFixture();
  setBrandAdmin(fixture, ACME.brandId, ACME_ADMIN.address);
  setBrandAdmin(fixture, FAKE.brandId, FAKE_ADMIN.address);
  return fixture;
}

/** What the indexer writes after an admin transfer is accepted on chain (into the SQLite fixture). */
export function setBrandAdmin(fixture: MirrorFixture, brandId: number, admin: string): void {
  const db = openDatabase(fixture.dbPath);
  try {
    createSqliteSeeder(db).setAdmin(brandId, admin.toLowerCase());
  } finally {
    db.close();
  }
}

/** `setBrandAdmin`, and on PostgreSQL the fixture's copy brought up to date. */
export async function transferAdmin(
  fixture: MirrorFixture,
  brandId: number,
  admin: string,
  engine: Engine,
): Promise<void> {
  setBrandAdmin(fixture, brandId, admin);
  if (engine === "postgres") await syncFixture(fixture);
}

/**
 * What the indexer writes after a brand's prefix is released on chain; on PostgreSQL the fixture's
 * copy is brought up to date too.
 */
export async function releasePrefix(fixture: MirrorFixture, prefix: string, engine: Engine): Promise<void> {
  const db = openDatabase(fixture.dbPath);
  try {
    createSqliteSeeder(db).releasePrefix(prefix);
  } finally {
    db.close();
  }
  if (engine === "postgres") await syncFixture(fixture);
}

/** The fixture's mirror on `engine`, as the API reads it: a read-only SQLite handle, or its PostgreSQL copy. */
export async function fixtureMirror(
  fixture: MirrorFixture,
  engine: Engine,
): Promise<{ readonly target: Database.Database | PgStore; close(): void }> {
  if (engine === "postgres") return { target: await pgMirrorOf(fixture), close: () => undefined };
  const db = openDatabase(fixture.dbPath, { readonly: true });
  return { target: db, close: () => db.close() };
}

/** Where link sets are kept: a SQLite handle, or a PostgreSQL store. */
export type LinkStore = Database.Database | PgStore;

/** A new, empty link-set store's location on `engine`: ":memory:" for SQLite unless `file` is asked for. */
export async function linkStoreLocation(engine: Engine, name: string, file = false): Promise<string> {
  return engine === "sqlite" && !file ? ":memory:" : testMirrorLocation(engine, name);
}

/** Opens the store at `location` (a SQLite path or a postgres:// URL, migrated on first open). */
export async function openLinkStore(location: string): Promise<LinkStore> {
  if (/^postgres(ql)?:/.test(location)) {
    const store = await openStore({ db: location });
    if (store.engine !== "postgres") throw new Error(`expected PostgreSQL at ${location}`);
    return store;
  }
  return new Database(location);
}

export async function closeLinkStore(store: LinkStore): Promise<void> {
  if ("pool" in store) await store.close();
  else store.close();
}

export interface LinksTestApp extends TestApp {
  readonly linksDb: LinkStore;
}

/**
 * The API over the fixture's mirror on `engine` (its PostgreSQL copy there) with a link-set store at
 * `location` (a SQLite file in memory by default).
 */
export async function buildLinksApp(
  fixture: MirrorFixture,
  location = ":memory:",
  engine: Engine = "sqlite",
): Promise<LinksTestApp> {
  const linksDb = await openLinkStore(location);
  const t = await buildTestApp(fixture, { linksDb, engine });
  return {
    ...t,
    linksDb,
    async close() {
      await t.close();
      await closeLinkStore(linksDb);
    },
  };
}

export const pip = (overrides: Partial<LinkSetLink> = {}): LinkSetLink => ({
  linkType: "gs1:pip",
  href: "https://acme.example/p/09506000134352",
  title: "Acme cotton shirt",
  hreflang: "en",
  mediaType: "text/html",
  ...overrides,
});

/** Unix seconds, `ago` seconds back: issuedAt must not be ahead of the API's clock. */
export const secondsAgo = (ago: number): number => Math.floor(Date.now() / 1000) - ago;

export async function sign(wallet: Wallet, message: LinkSetMessage, domain = FIXTURE_DOMAIN): Promise<string> {
  return wallet.signTypedData(domain, LINK_SET_TYPES, message);
}

/** The PUT body a brand sends: the message, its signature and the domain it signed. */
export async function signedBody(
  wallet: Wallet,
  message: LinkSetMessage,
  domain = FIXTURE_DOMAIN,
): Promise<Record<string, unknown>> {
  return {
    linkSet: message,
    signature: await sign(wallet, message, domain),
    domain: {
      name: domain.name,
      version: domain.version,
      chainId: Number(domain.chainId),
      verifyingContract: domain.verifyingContract,
    },
  };
}
