-- The chain mirror. Block numbers, log indexes and times are integers; hashes, addresses and roots
-- are 0x-prefixed lowercase hex text. Every derived row records the block that produced it.

-- One row: how far the mirror has read, of which chain and contract.
CREATE TABLE cursor (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  chain_id INTEGER NOT NULL,
  contract TEXT NOT NULL,
  from_block INTEGER NOT NULL,
  -- Every event in blocks from_block..block_number is in events_raw and applied.
  block_number INTEGER NOT NULL,
  -- NULL until the first block is indexed.
  block_hash TEXT,
  head_block INTEGER,
  -- Rows with block_number <= finalized_block are final (head - confirmations at the last sync).
  finalized_block INTEGER NOT NULL
);

-- Headers of the recent window, for reorg detection; older ones are pruned.
CREATE TABLE blocks (
  number INTEGER PRIMARY KEY,
  hash TEXT NOT NULL,
  parent_hash TEXT NOT NULL,
  timestamp INTEGER NOT NULL
);

-- Every log of the contract, as read. The source of truth for the derived tables below.
-- Rowid tables, not WITHOUT ROWID: rows here are far larger than SQLite's ~200-byte guidance.
CREATE TABLE events_raw (
  block_number INTEGER NOT NULL,
  block_hash TEXT NOT NULL,
  tx_hash TEXT NOT NULL,
  tx_index INTEGER NOT NULL,
  log_index INTEGER NOT NULL,
  address TEXT NOT NULL,
  topics TEXT NOT NULL, -- JSON array of 0x hex strings
  data TEXT NOT NULL,
  event TEXT NOT NULL, -- the ABI event name, or 'unknown'
  args TEXT NOT NULL, -- JSON object; uint values as decimal strings
  block_time INTEGER NOT NULL,
  PRIMARY KEY (block_hash, log_index)
);

CREATE INDEX events_raw_order ON events_raw (block_number, tx_index, log_index);

CREATE TABLE brands (
  brand_id INTEGER PRIMARY KEY,
  admin TEXT NOT NULL,
  pending_admin TEXT, -- NULL when no transfer is pending
  name TEXT NOT NULL,
  registered_block INTEGER NOT NULL,
  registered_tx TEXT NOT NULL,
  registered_log INTEGER NOT NULL,
  registered_time INTEGER NOT NULL,
  updated_block INTEGER NOT NULL
);

-- Prefixes currently assigned; a released prefix has no row.
CREATE TABLE prefixes (
  prefix TEXT PRIMARY KEY,
  brand_id INTEGER NOT NULL,
  assigned_block INTEGER NOT NULL,
  assigned_tx TEXT NOT NULL,
  assigned_log INTEGER NOT NULL,
  assigned_time INTEGER NOT NULL
);

CREATE INDEX prefixes_brand ON prefixes (brand_id);

-- Current submitters; a removed submitter has no row.
CREATE TABLE submitters (
  brand_id INTEGER NOT NULL,
  account TEXT NOT NULL,
  role TEXT, -- the bytes32 label as UTF-8 text, NULL when it is not printable text
  role_raw TEXT NOT NULL,
  set_block INTEGER NOT NULL,
  set_tx TEXT NOT NULL,
  set_log INTEGER NOT NULL,
  set_time INTEGER NOT NULL,
  PRIMARY KEY (brand_id, account)
);

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
  PRIMARY KEY (brand_id, root)
);

CREATE INDEX anchors_block ON anchors (block_number, log_index);
CREATE INDEX anchors_revoked ON anchors (revoked_at_block) WHERE revoked_at_block IS NOT NULL;
CREATE INDEX anchors_pending ON anchors (content_status) WHERE content_status <> 'ok';
