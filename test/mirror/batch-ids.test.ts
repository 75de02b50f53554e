/**
 * Integer batch ids (migration 007), on both engines: a populated mirror of the old shape migrates
 * (rows keep their batch, ids follow chain order, identity lot-level keys go), new anchors get ids
 * that are never reused, reorg deletes still cascade, and two engines' migrated mirrors of the same
 * rows have the same digest. Also: a caught-up cursor is not rewritten (no mirror_version bump).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { storeChecksum } from "../../mirror/checksum";
import { MIGRATIONS_DIR, openDatabase, runMigrations } from "../../mirror/db";
import { openPgPool, PG_MIGRATIONS_DIR, runPgMigrations } from "../../mirror/pg/db";
import { openStore, type Engine, type MirrorStore } from "../../mirror/store";
import { createChainStore } from "../../mirror/write/chain";
import { createSeeder } from "../../mirror/write/seed";
import { ENGINES, describeEngines, openTestStore, testMirrorLocation } from "../helpers/engines";
import { execute, queryRows } from "../indexer/fixtures-ingest/query";

const hash = (byte: number): Buffer => Buffer.alloc(32, byte);

/** A copy of the engine's migrations up to and including `last`. */
function migrationsUpTo(engine: Engine, last: number): string {
  const from = engine === "sqlite" ? MIGRATIONS_DIR : PG_MIGRATIONS_DIR;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ta-m007-"));
  for (const file of fs.readdirSync(from))
    if (Number.parseInt(file.slice(0, 3), 10) <= last) fs.copyFileSync(path.join(from, file), path.join(dir, file));
  return dir;
}

/** Old-shape rows (before 007): two anchors out of chain order, their contents, an identity lot key. */
const OLD_ROWS: [string, unknown[]][] = [
  [
    "INSERT INTO anchors (brand_id, root, kind, leaf_count, content_uri, submitter, block_number, block_hash, tx_hash, tx_index, log_index, block_time, content_status) " +
      "VALUES (?, ?, ?, ?, 'u', '0x01', ?, '0x0b', '0x0c', 0, ?, 100, 'ok')",
    [1, "0xbb", 1, 2, 7, 0],
  ],
  [
    "INSERT INTO anchors (brand_id, root, kind, leaf_count, content_uri, submitter, block_number, block_hash, tx_hash, tx_index, log_index, block_time, content_status) " +
      "VALUES (?, ?, ?, ?, 'u', '0x01', ?, '0x0b', '0x0c', 0, ?, 100, 'ok')",
    [2, "0xaa", 2, 1, 5, 1],
  ],
  ["INSERT INTO records (brand_id, root, leaf_index, record_hash, record) VALUES (1, '0xbb', 0, ?, 'r0')", [hash(1)]],
  ["INSERT INTO records (brand_id, root, leaf_index, record_hash, record) VALUES (1, '0xbb', 1, ?, 'r1')", [hash(2)]],
  ["INSERT INTO records (brand_id, root, leaf_index, record_hash, record) VALUES (2, '0xaa', 0, ?, 't0')", [hash(3)]],
  [
    "INSERT INTO item_keys (gtin, serial, lot, kind, record_hash, brand_id, root, leaf_index) VALUES ('g1', 's1', 'L1', 1, ?, 1, '0xbb', 0)",
    [hash(1)],
  ],
  [
    "INSERT INTO item_keys (gtin, serial, lot, kind, record_hash, brand_id, root, leaf_index) VALUES ('g1', 's2', 'L1', 1, ?, 1, '0xbb', 1)",
    [hash(2)],
  ],
  [
    "INSERT INTO item_keys (gtin, serial, lot, kind, record_hash, brand_id, root, leaf_index) VALUES ('g1', '', 'L1', 1, ?, 1, '0xbb', 0)",
    [hash(1)],
  ],
  [
    "INSERT INTO item_keys (gtin, serial, lot, kind, record_hash, brand_id, root, leaf_index) VALUES ('g2', '', 'L9', 2, ?, 2, '0xaa', 0)",
    [hash(3)],
  ],
  ["INSERT INTO tree_nodes (brand_id, root, nodes) VALUES (1, '0xbb', ?)", [hash(9)]],
  ["INSERT INTO tree_nodes (brand_id, root, nodes) VALUES (2, '0xaa', ?)", [hash(8)]],
];

/** A mirror at migration 006 holding OLD_ROWS, then opened (and so migrated) as the code opens it. */
async function migratedOldMirror(engine: Engine): Promise<MirrorStore> {
  const location = await testMirrorLocation(engine, "m007");
  const dir = migrationsUpTo(engine, 6);
  try {
    if (engine === "sqlite") {
      const db = openDatabase(location);
      runMigrations(db, dir);
      for (const [sql, params] of OLD_ROWS) db.prepare(sql).run(...params);
      db.close();
    } else {
      const pool = await openPgPool(location, { variable: "TEST" });
      try {
        await runPgMigrations(pool, { dir });
        for (const [sql, params] of OLD_ROWS) {
          let n = 0;
          await pool.query(
            sql.replace(/\?/g, () => `$${++n}`),
            params,
          );
        }
      } finally {
        await pool.end();
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return openStore({ db: location });
}

const digests = new Map<Engine, string>();

describeEngines("mirror: integer batch ids (migration 007)", function (engine) {
  let mirror: MirrorStore;
  afterEach(async function () {
    await mirror?.close();
  });

  it("migrates a populated mirror: ids in chain order, rows keep their batch, identity lot keys go", async function () {
    mirror = await migratedOldMirror(engine);
    expect(await queryRows(mirror, "SELECT brand_id, root, batch_id FROM anchors ORDER BY batch_id")).to.deep.equal([
      { brand_id: 2, root: "0xaa", batch_id: 1 },
      { brand_id: 1, root: "0xbb", batch_id: 2 },
    ]);
    expect(
      await queryRows(
        mirror,
        "SELECT batch_id, leaf_index, record_hash, record FROM records ORDER BY batch_id, leaf_index",
      ),
    ).to.deep.equal([
      { batch_id: 1, leaf_index: 0, record_hash: hash(3), record: "t0" },
      { batch_id: 2, leaf_index: 0, record_hash: hash(1), record: "r0" },
      { batch_id: 2, leaf_index: 1, record_hash: hash(2), record: "r1" },
    ]);
    expect(
      await queryRows(
        mirror,
        "SELECT gtin, serial, lot, kind, batch_id, leaf_index FROM item_keys ORDER BY gtin, serial",
      ),
    ).to.deep.equal([
      { gtin: "g1", serial: "s1", lot: "L1", kind: 1, batch_id: 2, leaf_index: 0 },
      { gtin: "g1", serial: "s2", lot: "L1", kind: 1, batch_id: 2, leaf_index: 1 },
      { gtin: "g2", serial: "", lot: "L9", kind: 2, batch_id: 1, leaf_index: 0 },
    ]);
    expect(await queryRows(mirror, "SELECT batch_id, nodes FROM tree_nodes ORDER BY batch_id")).to.deep.equal([
      { batch_id: 1, nodes: hash(8) },
      { batch_id: 2, nodes: hash(9) },
    ]);
    expect(
      await queryRows(mirror, "SELECT gtin, brand_id, lot, batch_id, items, first_leaf FROM identity_counts"),
    ).to.deep.equal([{ gtin: "g1", brand_id: 1, lot: "L1", batch_id: 2, items: 2, first_leaf: 0 }]);
    digests.set(engine, await storeChecksum(mirror));
  });

  it("keeps counting identity keys by trigger and cascades a reorg's delete by batch id", async function () {
    mirror = await migratedOldMirror(engine);
    await execute(
      mirror,
      "INSERT INTO item_keys (gtin, serial, lot, kind, batch_id, leaf_index) VALUES ('g1', 's3', 'L1', 1, 2, 5)",
    );
    expect(await queryRows(mirror, "SELECT items, first_leaf FROM identity_counts WHERE batch_id = 2")).to.deep.equal([
      { items: 3, first_leaf: 0 },
    ]);
    await execute(mirror, "DELETE FROM item_keys WHERE batch_id = 2 AND serial = 's1'");
    expect(await queryRows(mirror, "SELECT items, first_leaf FROM identity_counts WHERE batch_id = 2")).to.deep.equal([
      { items: 2, first_leaf: 0 },
    ]);
    await createSeeder(mirror).removeAnchor(1, "0xbb");
    const left = async (table: string): Promise<unknown[]> =>
      (await queryRows<{ batch_id: number }>(mirror, `SELECT batch_id FROM ${table}`)).map((r) => r.batch_id);
    expect(await left("records")).to.deep.equal([1]);
    expect(await left("item_keys")).to.deep.equal([1]);
    expect(await left("tree_nodes")).to.deep.equal([1]);
    expect(await left("identity_counts")).to.deep.equal([]);
  });

  it("gives a new anchor the next id, and never reuses the id of a removed one", async function () {
    mirror = await migratedOldMirror(engine);
    const seeder = createSeeder(mirror);
    const anchor = (root: string): Promise<void> =>
      seeder.anchor({
        brandId: 1,
        root,
        kind: 1,
        leafCount: 1,
        contentUri: "u",
        submitter: "0x01",
        blockNumber: 9,
        blockHash: "0x0b",
        txHash: "0x0c",
        logIndex: 0,
        blockTime: 100,
      });
    await anchor("0xcc");
    await seeder.removeAnchor(1, "0xcc");
    await anchor("0xdd");
    expect(await queryRows(mirror, "SELECT root, batch_id FROM anchors WHERE batch_id > 2")).to.deep.equal([
      { root: "0xdd", batch_id: 4 },
    ]);
  });

  it("writes nothing when a caught-up indexer sets the head the cursor has already", async function () {
    mirror = await openTestStore(engine, "cursor_skip");
    const chain = createChainStore(mirror, { reorgWindow: 10 });
    await chain.openCursor(31337, `0x${"12".repeat(20)}`, 1);
    await chain.setHead(50, 40);
    /** Moves with every write to the cursor: mirror_version on PostgreSQL, another connection's data_version on SQLite. */
    const written = writeCounter(mirror);
    const before = await written();
    await chain.setHead(50, 40);
    await chain.setHead(50, 40);
    expect(await written()).to.equal(before);
    await chain.setHead(51, 41);
    expect(await written()).to.not.equal(before);
    expect(await chain.cursor()).to.include({ headBlock: 51, finalizedBlock: 0 });
  });
});

function writeCounter(mirror: MirrorStore): () => Promise<number> {
  if (mirror.engine === "postgres")
    return async () =>
      (await mirror.pool.query<{ version: number }>("SELECT version FROM mirror_version WHERE id = 1")).rows[0]
        ?.version ?? -1;
  const other = openDatabase(mirror.db.name, { readonly: true });
  const changes = mirror.db.prepare<[], number>("SELECT total_changes()").pluck();
  const dataVersion = other.prepare<[], number>("PRAGMA data_version").pluck();
  return () => Promise.resolve((dataVersion.get() ?? 0) * 1e6 + (changes.get() ?? 0));
}

if (ENGINES.includes("sqlite") && ENGINES.includes("postgres")) {
  describe("mirror: integer batch ids across engines", function () {
    it("gives the same digest for the same migrated rows on both engines", function () {
      expect(digests.size).to.equal(2);
      expect(digests.get("sqlite")).to.equal(digests.get("postgres"));
    });
  });
}
