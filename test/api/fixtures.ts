/**
 * A mirror database for API tests, written exactly as the indexer's schema expects: the cursor and
 * block rows, brands, prefixes, submitters and anchors as the chain would produce them, and batch
 * contents (records, item_keys, tree_nodes) built with core's `buildBatch`. Kept apart so it can be
 * swapped for the real indexer + ingester later.
 *
 *   createMirrorFixture(): Promise<MirrorFixture>     the scenario the API tests share
 *   insertAnchor(db, row) / insertContents(db, brandId, built)   building blocks
 *   anchorBatch(fixture, {...}): Promise<BuiltFixtureBatch>     one more anchored batch, for a suite's own scenario
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildBatch, type BuildBatchResult } from "../../core/batch";
import { sgtinUrn, lgtinUrn, sgtinPatternUrn } from "../../core/epc";
import { gs1CheckDigit } from "../../core/gs1";
import { parseRecord, type TraceAnchorRecord } from "../../core/record";
import { openDatabase, runMigrations, type Db } from "../../mirror/db";
import { sqliteStore } from "../../mirror/store";
import type { ContentStatus } from "../../mirror/types";
import { createContentStore, storeContent } from "../../mirror/write/content";
import { createSqliteSeeder } from "../../mirror/write/seed";

export const CHAIN_ID = 31337;
export const CONTRACT = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
export const HEAD_BLOCK = 120;
export const FINALIZED_BLOCK = 50;
/** Block timestamps: block n is mined at BASE_TIME + 12 n. */
export const BASE_TIME = 1_709_251_200;

export const ADDR = {
  acmeAdmin: "0x00000000000000000000000000000000000000a1",
  factory: "0x00000000000000000000000000000000000000f1",
  logistics: "0x00000000000000000000000000000000000000f2",
  fakeAdmin: "0x00000000000000000000000000000000000000b1",
};

export const ACME = { brandId: 1, name: "Acme Apparel", prefix: "9506000" };
export const FAKE = { brandId: 2, name: "Knockoff Traders", prefix: "4006381" };

/** GTIN-14 with company prefix 9506000 and item reference `ref` (5 digits). */
export function acmeGtin(ref: string): string {
  const body = `0${ACME.prefix}${ref.padStart(5, "0")}`;
  return `${body}${gs1CheckDigit(body)}`;
}

export const GTIN = "09506000134352";
/** The same item as GTIN-13, as printed on a retail label. */
export const GTIN13 = "9506000134352";
/** A GTIN whose company prefix nobody owns. */
export const ORPHAN_GTIN = (() => {
  const body = "0871234500001";
  return `${body}${gs1CheckDigit(body)}`;
})();

export const blockTime = (block: number): number => BASE_TIME + 12 * block;
export const txHashOf = (n: number): string => `0x${n.toString(16).padStart(64, "0")}`;
export const blockHashOf = (n: number): string => `0x${(n + 0xb000).toString(16).padStart(64, "0")}`;
const roleRaw = (label: string): string => `0x${Buffer.from(label, "utf8").toString("hex").padEnd(64, "0")}`;

export interface AnchorInput {
  readonly brandId: number;
  readonly root: string;
  readonly kind: 1 | 2;
  readonly leafCount: number;
  readonly submitter: string;
  readonly blockNumber: number;
  readonly logIndex?: number;
  readonly contentStatus?: ContentStatus;
  readonly contentError?: string | null;
  readonly revoked?: { readonly block: number; readonly reason: string; readonly by: string };
}

export function insertAnchor(db: Db, a: AnchorInput): void {
  const logIndex = a.logIndex ?? 0;
  createSqliteSeeder(db).anchor({
    brandId: a.brandId,
    root: a.root,
    kind: a.kind,
    leafCount: a.leafCount,
    contentUri: `ipfs://content/${a.root}.ndjson`,
    submitter: a.submitter,
    blockNumber: a.blockNumber,
    blockHash: blockHashOf(a.blockNumber),
    txHash: txHashOf(a.blockNumber * 100 + logIndex),
    logIndex,
    blockTime: blockTime(a.blockNumber),
    ...(a.revoked === undefined
      ? {}
      : {
          revoked: {
            block: a.revoked.block,
            by: a.revoked.by,
            reason: a.revoked.reason,
            tx: txHashOf(a.revoked.block * 100 + 99),
            log: 99,
            time: blockTime(a.revoked.block),
          },
        }),
    ...(a.contentStatus === undefined ? {} : { contentStatus: a.contentStatus }),
    ...(a.contentError === undefined ? {} : { contentError: a.contentError }),
  });
}

/** Stores a batch's content file as the ingester does (mirror/write/content.ts), for an anchor inserted 'pending'. */
export async function insertContents(db: Db, brandId: number, built: BuildBatchResult): Promise<TraceAnchorRecord[]> {
  const store = createContentStore(sqliteStore(db));
  const anchor = await store.anchor({ brandId, root: built.root });
  if (anchor === undefined) throw new Error(`no anchor ${built.root} for brand ${brandId} in the fixture`);
  const outcome = await storeContent(store, anchor, fs.createReadStream(built.content));
  if (!outcome.ok || outcome.result !== "ingested")
    throw new Error(`fixture content not stored: ${JSON.stringify(outcome)}`);
  return fs
    .readFileSync(built.content, "utf8")
    .split("\n")
    .filter((line) => line.length > 0)
    .slice(1)
    .map((line) => parseRecord(JSON.parse(line)));
}

export interface BuiltFixtureBatch extends BuildBatchResult {
  readonly brandId: number;
  readonly records: TraceAnchorRecord[];
}

export interface MirrorFixture {
  readonly dir: string;
  readonly dbPath: string;
  readonly contentDir: string;
  readonly batches: {
    /** Acme, final: SER1, SER2 (LOT1), SER3 (LOT2), SCAN1, "a.b-c/d". */
    readonly identity: BuiltFixtureBatch;
    /** Acme, revoked: REV1. */
    readonly revoked: BuiltFixtureBatch;
    /** Knockoff Traders anchoring Acme's GTIN: FAKE1. */
    readonly counterfeit: BuiltFixtureBatch;
    /** Acme trace events, final: SER1 commissioned, LOT1 shipped, class inspected, LOT2 recalled. */
    readonly trace: BuiltFixtureBatch;
    /** Knockoff Traders "recalling" SER1: must not count. */
    readonly griefing: BuiltFixtureBatch;
    /** Acme, anchored after the finalized block: NEW1. */
    readonly recent: BuiltFixtureBatch;
    /** Acme, an identity GTIN nobody owns: ORPHAN1. */
    readonly orphan: BuiltFixtureBatch;
  };
  /** An anchored batch whose content was never uploaded (content_status pending), with its built content. */
  readonly pending: BuiltFixtureBatch;
  /** Content status mismatch, no rows. */
  readonly mismatchRoot: string;
  cleanup(): void;
}

async function build(dir: string, name: string, kind: "identity" | "trace", text: string): Promise<BuildBatchResult> {
  const input = path.join(dir, name);
  fs.writeFileSync(input, text);
  return buildBatch({ kind, input, outDir: path.join(dir, "built") });
}

export const event = (fields: Record<string, unknown>): string =>
  JSON.stringify({ type: "ObjectEvent", action: "OBSERVE", eventTimeZoneOffset: "+00:00", ...fields });

export async function createMirrorFixture(): Promise<MirrorFixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trace-api-"));
  const dbPath = path.join(dir, "trace.db");
  const contentDir = path.join(dir, "content");
  fs.mkdirSync(contentDir);
  const db = openDatabase(dbPath);
  try {
    runMigrations(db);
    const cp = ACME.prefix.length;
    const identity = await build(
      dir,
      "identity.csv",
      "identity",
      `gtin,serial,lot,color\n${GTIN},SER1,LOT1,red\n${GTIN13},SER2,LOT1,blue\n${GTIN},SER3,LOT2,green\n${GTIN},SCAN1,,\n${GTIN},a.b-c/d,,\n`,
    );
    const revoked = await build(dir, "revoked.csv", "identity", `gtin,serial\n${GTIN},REV1\n`);
    const counterfeit = await build(dir, "counterfeit.csv", "identity", `gtin,serial\n${GTIN},FAKE1\n`);
    const recent = await build(dir, "recent.csv", "identity", `gtin,serial\n${GTIN},NEW1\n`);
    const orphan = await build(dir, "orphan.csv", "identity", `gtin,serial\n${ORPHAN_GTIN},ORPHAN1\n`);
    const pending = await build(dir, "pending.csv", "identity", `gtin,serial\n${GTIN},PEND1\n${GTIN},PEND2\n`);
    const trace = await build(
      dir,
      "trace.ndjson",
      "trace",
      [
        event({
          eventTime: "2024-03-01T08:00:00.000Z",
          bizStep: "commissioning",
          action: "ADD",
          epcList: [sgtinUrn(GTIN, "SER1", cp)],
        }),
        event({
          eventTime: "2024-03-02T09:00:00+08:00",
          bizStep: "shipping",
          quantityList: [{ epcClass: lgtinUrn(GTIN, "LOT1", cp), quantity: 10 }],
        }),
        event({
          eventTime: "2024-02-28T10:00:00.000Z",
          bizStep: "inspecting",
          quantityList: [{ epcClass: sgtinPatternUrn(GTIN, cp), quantity: 3 }],
        }),
        event({
          eventTime: "2024-03-05T10:00:00.000Z",
          bizStep: "holding",
          disposition: "urn:epcglobal:cbv:disp:recalled",
          quantityList: [{ epcClass: lgtinUrn(GTIN, "LOT2", cp), quantity: 5 }],
        }),
      ].join("\n") + "\n",
    );
    const griefing = await build(
      dir,
      "griefing.ndjson",
      "trace",
      `${event({ eventTime: "2024-03-06T10:00:00.000Z", disposition: "recalled", epcList: [sgtinUrn(GTIN, "SER1", cp)] })}\n`,
    );

    db.transaction(() => {
      const seed = createSqliteSeeder(db);
      seed.cursor({
        chainId: CHAIN_ID,
        contract: CONTRACT,
        fromBlock: 1,
        blockNumber: HEAD_BLOCK,
        blockHash: blockHashOf(HEAD_BLOCK),
        headBlock: HEAD_BLOCK,
        finalizedBlock: FINALIZED_BLOCK,
      });
      seed.block({
        number: HEAD_BLOCK,
        hash: blockHashOf(HEAD_BLOCK),
        parentHash: blockHashOf(HEAD_BLOCK - 1),
        timestamp: blockTime(HEAD_BLOCK),
      });
      seed.brand({
        brandId: ACME.brandId,
        admin: ADDR.acmeAdmin,
        name: ACME.name,
        block: 2,
        tx: txHashOf(200),
        log: 0,
        time: blockTime(2),
      });
      seed.brand({
        brandId: FAKE.brandId,
        admin: ADDR.fakeAdmin,
        name: FAKE.name,
        block: 3,
        tx: txHashOf(300),
        log: 0,
        time: blockTime(3),
      });
      seed.prefix({
        prefix: ACME.prefix,
        brandId: ACME.brandId,
        block: 2,
        tx: txHashOf(201),
        log: 1,
        time: blockTime(2),
      });
      seed.prefix({
        prefix: FAKE.prefix,
        brandId: FAKE.brandId,
        block: 3,
        tx: txHashOf(301),
        log: 1,
        time: blockTime(3),
      });
      // A shorter prefix of Acme's owned by the counterfeiter: the longest match must win.
      seed.prefix({ prefix: "950600", brandId: FAKE.brandId, block: 4, tx: txHashOf(401), log: 1, time: blockTime(4) });
      const submitter = (brandId: number, account: string, role: string, block: number, tx: number): void =>
        seed.submitter({
          brandId,
          account,
          role,
          roleRaw: roleRaw(role),
          block,
          tx: txHashOf(tx),
          log: 2,
          time: blockTime(block),
        });
      submitter(ACME.brandId, ADDR.factory, "factory", 5, 500);
      submitter(ACME.brandId, ADDR.logistics, "logistics", 5, 501);
      submitter(FAKE.brandId, ADDR.fakeAdmin, "factory", 6, 600);

      const anchored = (
        brandId: number,
        built: BuildBatchResult,
        blockNumber: number,
        submitterAddr: string,
        extra: Partial<AnchorInput> = {},
      ): void =>
        insertAnchor(db, {
          brandId,
          root: built.root,
          kind: built.kind === "identity" ? 1 : 2,
          leafCount: built.leafCount,
          submitter: submitterAddr,
          blockNumber,
          ...extra,
        });
      anchored(ACME.brandId, identity, 10, ADDR.factory);
      anchored(ACME.brandId, revoked, 12, ADDR.factory, {
        revoked: { block: 13, reason: "labels printed twice", by: ADDR.acmeAdmin },
      });
      anchored(FAKE.brandId, counterfeit, 14, ADDR.fakeAdmin);
      anchored(ACME.brandId, trace, 16, ADDR.logistics);
      anchored(FAKE.brandId, griefing, 17, ADDR.fakeAdmin);
      anchored(ACME.brandId, orphan, 18, ADDR.factory);
      anchored(ACME.brandId, recent, 100, ADDR.factory);
      anchored(ACME.brandId, pending, 20, ADDR.factory, { contentStatus: "pending" });
      insertAnchor(db, {
        brandId: ACME.brandId,
        root: `0x${"ab".repeat(32)}`,
        kind: 1,
        leafCount: 3,
        submitter: ADDR.factory,
        blockNumber: 21,
        contentStatus: "mismatch",
        contentError: "rebuilt root differs from the anchored root",
      });
    })();

    const withRecords = async (brandId: number, built: BuildBatchResult): Promise<BuiltFixtureBatch> => ({
      ...built,
      brandId,
      records: await insertContents(db, brandId, built),
    });
    const batches = {
      identity: await withRecords(ACME.brandId, identity),
      revoked: await withRecords(ACME.brandId, revoked),
      counterfeit: await withRecords(FAKE.brandId, counterfeit),
      trace: await withRecords(ACME.brandId, trace),
      griefing: await withRecords(FAKE.brandId, griefing),
      recent: await withRecords(ACME.brandId, recent),
      orphan: await withRecords(ACME.brandId, orphan),
    };
    const pendingRecords = fs
      .readFileSync(pending.content, "utf8")
      .split("\n")
      .filter((l) => l.length > 0)
      .slice(1)
      .map((l) => parseRecord(JSON.parse(l)));
    return {
      dir,
      dbPath,
      contentDir,
      batches,
      pending: { ...pending, brandId: ACME.brandId, records: pendingRecords },
      mismatchRoot: `0x${"ab".repeat(32)}`,
      cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
    };
  } finally {
    db.close();
  }
}

/**
 * Builds `text` (CSV for identity, NDJSON events for trace), anchors it for `brandId` at `blockNumber`
 * and writes its contents into the fixture's mirror: a suite's own scenario on top of the shared one.
 */
export async function anchorBatch(
  fixture: MirrorFixture,
  batch: {
    readonly name: string;
    readonly brandId: number;
    readonly kind: "identity" | "trace";
    readonly text: string;
    readonly blockNumber: number;
    readonly revoked?: AnchorInput["revoked"];
  },
): Promise<BuiltFixtureBatch> {
  const built = await build(fixture.dir, batch.name, batch.kind, batch.text);
  const db = openDatabase(fixture.dbPath);
  try {
    insertAnchor(db, {
      brandId: batch.brandId,
      root: built.root,
      kind: batch.kind === "identity" ? 1 : 2,
      leafCount: built.leafCount,
      submitter: batch.kind === "identity" ? ADDR.factory : ADDR.logistics,
      blockNumber: batch.blockNumber,
      ...(batch.revoked === undefined ? {} : { revoked: batch.revoked }),
    });
    return { ...built, brandId: batch.brandId, records: await insertContents(db, batch.brandId, built) };
  } finally {
    db.close();
  }
}
