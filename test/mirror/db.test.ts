import { expect } from "chai";
import { loadMigrations, openDatabase, openMirror, pendingMigrations, runMigrations } from "../../mirror/db";
import { MigrationError, MirrorError } from "../../mirror/errors";
import { cleanupTempDbs, tempDbPath } from "../indexer/helpers/db";

describe("mirror/db", function () {
  after(cleanupTempDbs);

  describe("migrations", function () {
    it("applies every numbered file once, in order, each recorded", function () {
      const db = openDatabase(tempDbPath());
      const versions = loadMigrations().map((m) => m.version);
      expect(versions.length).to.be.greaterThanOrEqual(2);
      expect(runMigrations(db)).to.deep.equal(versions);
      expect(runMigrations(db)).to.deep.equal([]);
      const rows = db.prepare("SELECT version, name FROM schema_migrations ORDER BY version").all() as {
        version: number;
        name: string;
      }[];
      expect(rows.map((row) => row.version)).to.deep.equal(versions);
      expect(rows.slice(0, 2)).to.deep.equal([
        { version: 1, name: "init" },
        { version: 2, name: "content" },
      ]);
      expect(db.pragma("journal_mode", { simple: true })).to.equal("wal");
      expect(db.pragma("foreign_keys", { simple: true })).to.equal(1);
      db.close();
    });

    it("opens read-only on an up-to-date database and refuses one that is behind", function () {
      const file = tempDbPath();
      const writer = openDatabase(file);
      writer.exec(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
      );
      const reader = openDatabase(file, { readonly: true });
      expect(pendingMigrations(reader).map((m) => m.version)).to.deep.equal(loadMigrations().map((m) => m.version));
      expect(() => runMigrations(reader)).to.throw(MigrationError);
      runMigrations(writer);
      expect(runMigrations(reader)).to.deep.equal([]);
      expect(() => reader.exec("DELETE FROM brands")).to.throw(/readonly/);
      reader.close();
      writer.close();
    });

    it("cascades content rows when their anchor goes", function () {
      const db = openDatabase(tempDbPath());
      runMigrations(db);
      db.prepare(
        "INSERT INTO anchors (brand_id, root, kind, leaf_count, content_uri, submitter, block_number, block_hash, tx_hash, tx_index, log_index, block_time) " +
          "VALUES (1, '0xaa', 1, 1, 'u', '0x1', 5, '0xbb', '0xcc', 0, 0, 1)",
      ).run();
      const batch = db.prepare("SELECT batch_id FROM anchors WHERE root = '0xaa'").pluck().get();
      db.prepare("INSERT INTO records (batch_id, leaf_index, record_hash, record) VALUES (?, 0, x'00', '{}')").run(
        batch,
      );
      db.prepare(
        "INSERT INTO item_keys (gtin, serial, lot, kind, batch_id, leaf_index) VALUES ('g', 's', '', 1, ?, 0)",
      ).run(batch);
      db.prepare("INSERT INTO tree_nodes (batch_id, nodes) VALUES (?, x'00')").run(batch);
      db.prepare("DELETE FROM anchors WHERE block_number > 4").run();
      for (const table of ["records", "item_keys", "tree_nodes", "identity_counts"])
        expect(db.prepare(`SELECT count(*) AS n FROM ${table}`).get()).to.deep.equal({ n: 0 });
      db.close();
    });
  });

  describe("openMirror", function () {
    it("migrates a writer and checks a reader, over the same file", function () {
      const file = tempDbPath();
      const writer = openMirror({ db: file });
      expect(pendingMigrations(writer)).to.deep.equal([]);
      const reader = openMirror({ db: file, readonly: true });
      expect(reader.readonly).to.equal(true);
      reader.close();
      writer.close();
    });

    it("refuses a reader on a file that is behind the code, and closes it", function () {
      const file = tempDbPath();
      openDatabase(file).close();
      expect(() => openMirror({ db: file, readonly: true })).to.throw(MigrationError, /missing migrations/);
    });

    it("refuses a PostgreSQL URL until that engine exists", function () {
      expect(() => openMirror({ db: "postgres://u@127.0.0.1/trace" })).to.throw(MirrorError, /SQLite only/);
    });
  });
});
