-- Integer batch ids. Every anchor row gets a batch_id (assigned when the row is written, never
-- reused: AUTOINCREMENT), and the rows of a batch (records, item_keys, tree_nodes, identity_counts)
-- are keyed by it instead of (brand_id, root): the 66-character root was repeated in every row and
-- index entry of a batch. Reorg deletes still cascade (anchors → rows, by batch_id). Also, from the
-- measurements (docs/mirror.md, "Bytes per record"):
--   - item_keys no longer repeats record_hash (a join to records has it) nor brand_id (the anchor's),
--     and holds no lot-level key per identity record (serial ''): nothing read them since
--     identity_counts (004) counts a GTIN's and a lot's items;
--   - records_hash indexes the hash's first 8 bytes, not all 32 (lookups compare the whole hash);
--   - tree_nodes is a rowid table keyed by batch_id (one large value per batch).
-- The tables are rebuilt: rows are copied aside, the old tables dropped (children first, so the
-- cascade finds nothing to delete), and the rows copied back with the anchors' new ids, which are
-- handed out in chain order.

DROP TRIGGER item_keys_identity_added;
DROP TRIGGER item_keys_identity_removed;

CREATE TEMP TABLE m007_anchors AS SELECT * FROM anchors;
CREATE TEMP TABLE m007_records AS SELECT * FROM records;
CREATE TEMP TABLE m007_item_keys AS SELECT * FROM item_keys;
CREATE TEMP TABLE m007_tree_nodes AS SELECT * FROM tree_nodes;
CREATE TEMP TABLE m007_identity_counts AS SELECT * FROM identity_counts;

DROP TABLE identity_counts;
DROP TABLE tree_nodes;
DROP TABLE item_keys;
DROP TABLE records;
DROP TABLE anchors;

CREATE TABLE anchors (
  brand_id INTEGER NOT NULL,
  root TEXT NOT NULL,
  kind INTEGER NOT NULL,
  leaf_count INTEGER NOT NULL,
  content_uri TEXT NOT NULL,
  submitter TEXT NOT NULL,
  block_number INTEGER NOT NULL,
  block_hash TEXT NOT NULL,
  tx_hash TEXT NOT NULL,
  tx_index INTEGER NOT NULL,
  log_index INTEGER NOT NULL,
  block_time INTEGER NOT NULL,
  revoked_at_block INTEGER,
  revoked_by TEXT,
  revoke_reason TEXT,
  revoke_tx TEXT,
  revoke_log INTEGER,
  revoked_time INTEGER,
  content_status TEXT NOT NULL DEFAULT 'pending'
    CHECK (content_status IN ('pending', 'ok', 'missing', 'mismatch')),
  content_error TEXT,
  content_attempts INTEGER NOT NULL DEFAULT 0,
  content_retry_at INTEGER, -- unix ms; NULL: due now
  -- The batch's id in this mirror (the rowid): rows of the batch name it. Not part of the chain's
  -- data: two mirrors of one chain may number their batches differently (checksums leave it out).
  batch_id INTEGER PRIMARY KEY AUTOINCREMENT,
  UNIQUE (brand_id, root)
);

INSERT INTO anchors (brand_id, root, kind, leaf_count, content_uri, submitter, block_number, block_hash, tx_hash, tx_index,
    log_index, block_time, revoked_at_block, revoked_by, revoke_reason, revoke_tx, revoke_log, revoked_time, content_status,
    content_error, content_attempts, content_retry_at)
  SELECT brand_id, root, kind, leaf_count, content_uri, submitter, block_number, block_hash, tx_hash, tx_index,
    log_index, block_time, revoked_at_block, revoked_by, revoke_reason, revoke_tx, revoke_log, revoked_time, content_status,
    content_error, content_attempts, content_retry_at
  FROM m007_anchors ORDER BY block_number, log_index, brand_id, root;

CREATE INDEX anchors_block ON anchors (block_number, log_index);
CREATE INDEX anchors_revoked ON anchors (revoked_at_block) WHERE revoked_at_block IS NOT NULL;
CREATE INDEX anchors_pending ON anchors (content_status) WHERE content_status <> 'ok';
CREATE INDEX anchors_content_due ON anchors (content_retry_at) WHERE content_status = 'pending';

CREATE TABLE records (
  batch_id INTEGER NOT NULL REFERENCES anchors (batch_id) ON DELETE CASCADE,
  leaf_index INTEGER NOT NULL, -- position in the content file (0-based, header excluded)
  record_hash BLOB NOT NULL, -- 32 bytes
  record TEXT NOT NULL, -- the record as JSON, as found in the content file
  PRIMARY KEY (batch_id, leaf_index)
) WITHOUT ROWID;

INSERT INTO records (batch_id, leaf_index, record_hash, record)
  SELECT a.batch_id, r.leaf_index, r.record_hash, r.record FROM m007_records r JOIN anchors a USING (brand_id, root)
  ORDER BY a.batch_id, r.leaf_index;

-- Lookups by hash: WHERE substr(record_hash, 1, 8) = ? AND record_hash = ?.
CREATE INDEX records_hash ON records (substr(record_hash, 1, 8));

CREATE TABLE item_keys (
  gtin TEXT NOT NULL,
  serial TEXT NOT NULL DEFAULT '', -- '' for a lot-level or class-level key
  lot TEXT NOT NULL DEFAULT '',
  kind INTEGER NOT NULL, -- 1 identity, 2 trace
  batch_id INTEGER NOT NULL REFERENCES anchors (batch_id) ON DELETE CASCADE,
  leaf_index INTEGER NOT NULL,
  PRIMARY KEY (gtin, serial, lot, kind, batch_id, leaf_index)
) WITHOUT ROWID;

INSERT INTO item_keys (gtin, serial, lot, kind, batch_id, leaf_index)
  SELECT k.gtin, k.serial, k.lot, k.kind, a.batch_id, k.leaf_index FROM m007_item_keys k JOIN anchors a USING (brand_id, root)
  WHERE k.kind = 2 OR k.serial <> ''
  ORDER BY k.gtin, k.serial, k.lot, k.kind, a.batch_id, k.leaf_index;

CREATE INDEX item_keys_batch ON item_keys (batch_id);
CREATE INDEX item_keys_trace_lots ON item_keys (gtin, lot) WHERE kind = 2 AND serial = '';

CREATE TABLE tree_nodes (
  batch_id INTEGER PRIMARY KEY REFERENCES anchors (batch_id) ON DELETE CASCADE,
  nodes BLOB NOT NULL
);

INSERT INTO tree_nodes (batch_id, nodes)
  SELECT a.batch_id, t.nodes FROM m007_tree_nodes t JOIN anchors a USING (brand_id, root) ORDER BY a.batch_id;

CREATE TABLE identity_counts (
  gtin TEXT NOT NULL,
  brand_id INTEGER NOT NULL,
  lot TEXT NOT NULL,
  batch_id INTEGER NOT NULL REFERENCES anchors (batch_id) ON DELETE CASCADE,
  items INTEGER NOT NULL,
  first_leaf INTEGER NOT NULL,
  PRIMARY KEY (gtin, brand_id, lot, batch_id)
) WITHOUT ROWID;

CREATE INDEX identity_counts_batch ON identity_counts (batch_id);

INSERT INTO identity_counts (gtin, brand_id, lot, batch_id, items, first_leaf)
  SELECT c.gtin, c.brand_id, c.lot, a.batch_id, c.items, c.first_leaf FROM m007_identity_counts c JOIN anchors a USING (brand_id, root);

-- As in 004, with the brand read from the key's anchor.
CREATE TRIGGER item_keys_identity_added AFTER INSERT ON item_keys WHEN NEW.kind = 1 AND NEW.serial <> '' BEGIN
  INSERT INTO identity_counts (gtin, brand_id, lot, batch_id, items, first_leaf)
    VALUES (NEW.gtin, (SELECT brand_id FROM anchors WHERE batch_id = NEW.batch_id), NEW.lot, NEW.batch_id, 1, NEW.leaf_index)
    ON CONFLICT (gtin, brand_id, lot, batch_id) DO UPDATE SET items = items + 1, first_leaf = min(first_leaf, excluded.first_leaf);
END;

CREATE TRIGGER item_keys_identity_removed AFTER DELETE ON item_keys WHEN OLD.kind = 1 AND OLD.serial <> '' BEGIN
  UPDATE identity_counts SET items = items - 1 WHERE gtin = OLD.gtin AND lot = OLD.lot AND batch_id = OLD.batch_id;
  DELETE FROM identity_counts WHERE gtin = OLD.gtin AND lot = OLD.lot AND batch_id = OLD.batch_id AND items <= 0;
END;

DROP TABLE m007_anchors;
DROP TABLE m007_records;
DROP TABLE m007_item_keys;
DROP TABLE m007_tree_nodes;
DROP TABLE m007_identity_counts;
