-- Batch contents, filled by content ingestion once a content file matches its anchored root.
-- Rows belong to an anchor and go with it when a reorg removes the anchor (ON DELETE CASCADE).

CREATE TABLE records (
  brand_id INTEGER NOT NULL,
  root TEXT NOT NULL,
  leaf_index INTEGER NOT NULL, -- position in the content file (0-based, header excluded)
  record_hash BLOB NOT NULL, -- 32 bytes
  record TEXT NOT NULL, -- the record as JSON, as found in the content file
  PRIMARY KEY (brand_id, root, leaf_index),
  FOREIGN KEY (brand_id, root) REFERENCES anchors (brand_id, root) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE INDEX records_hash ON records (record_hash);

-- Item keys, to find the records of one item: identity records by GTIN + serial, trace events by
-- the EPCs they name (decoded to GTIN + serial / lot).
CREATE TABLE item_keys (
  gtin TEXT NOT NULL,
  serial TEXT NOT NULL DEFAULT '', -- '' for a lot-level or class-level key
  lot TEXT NOT NULL DEFAULT '',
  kind INTEGER NOT NULL, -- 1 identity, 2 trace
  record_hash BLOB NOT NULL,
  brand_id INTEGER NOT NULL,
  root TEXT NOT NULL,
  leaf_index INTEGER NOT NULL,
  PRIMARY KEY (gtin, serial, lot, kind, brand_id, root, leaf_index),
  FOREIGN KEY (brand_id, root) REFERENCES anchors (brand_id, root) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE INDEX item_keys_batch ON item_keys (brand_id, root);

-- The Merkle tree of a batch, serialised (all node hashes, 32 bytes each), so proofs need no rebuild.
CREATE TABLE tree_nodes (
  brand_id INTEGER NOT NULL,
  root TEXT NOT NULL,
  nodes BLOB NOT NULL,
  PRIMARY KEY (brand_id, root),
  FOREIGN KEY (brand_id, root) REFERENCES anchors (brand_id, root) ON DELETE CASCADE
) WITHOUT ROWID;
