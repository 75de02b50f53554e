-- Batch contents (twin of sqlite/002_content.sql). Rows go with their anchor on a reorg.

CREATE TABLE records (
  brand_id bigint NOT NULL,
  root text NOT NULL,
  leaf_index bigint NOT NULL,
  record_hash bytea NOT NULL,
  record text NOT NULL,
  PRIMARY KEY (brand_id, root, leaf_index),
  FOREIGN KEY (brand_id, root) REFERENCES anchors (brand_id, root) ON DELETE CASCADE
);

CREATE INDEX records_hash ON records (record_hash);

-- COLLATE "C": the same byte order as SQLite's BINARY, so both engines sort keys alike.
CREATE TABLE item_keys (
  gtin text COLLATE "C" NOT NULL,
  serial text COLLATE "C" NOT NULL DEFAULT '',
  lot text COLLATE "C" NOT NULL DEFAULT '',
  kind integer NOT NULL,
  record_hash bytea NOT NULL,
  brand_id bigint NOT NULL,
  root text NOT NULL,
  leaf_index bigint NOT NULL,
  PRIMARY KEY (gtin, serial, lot, kind, brand_id, root, leaf_index),
  FOREIGN KEY (brand_id, root) REFERENCES anchors (brand_id, root) ON DELETE CASCADE
);

CREATE INDEX item_keys_batch ON item_keys (brand_id, root);

CREATE TABLE tree_nodes (
  brand_id bigint NOT NULL,
  root text NOT NULL,
  nodes bytea NOT NULL,
  PRIMARY KEY (brand_id, root),
  FOREIGN KEY (brand_id, root) REFERENCES anchors (brand_id, root) ON DELETE CASCADE
);
