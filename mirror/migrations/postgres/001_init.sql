-- The chain mirror (PostgreSQL twin of sqlite/001_init.sql, same tables and columns). Block
-- numbers, log indexes and times are bigint; hashes, addresses and roots are 0x-prefixed lowercase
-- hex text, as in SQLite, so that both engines return the same rows; record hashes and trees bytea.

CREATE TABLE cursor (
  id integer PRIMARY KEY CHECK (id = 1),
  chain_id bigint NOT NULL,
  contract text NOT NULL,
  from_block bigint NOT NULL,
  block_number bigint NOT NULL,
  block_hash text,
  head_block bigint,
  finalized_block bigint NOT NULL
);

CREATE TABLE blocks (
  number bigint PRIMARY KEY,
  hash text NOT NULL,
  parent_hash text NOT NULL,
  timestamp bigint NOT NULL
);

CREATE TABLE events_raw (
  block_number bigint NOT NULL,
  block_hash text NOT NULL,
  tx_hash text NOT NULL,
  tx_index integer NOT NULL,
  log_index integer NOT NULL,
  address text NOT NULL,
  topics text NOT NULL,
  data text NOT NULL,
  event text NOT NULL,
  args text NOT NULL,
  block_time bigint NOT NULL,
  PRIMARY KEY (block_hash, log_index)
);

CREATE INDEX events_raw_order ON events_raw (block_number, tx_index, log_index);

CREATE TABLE brands (
  brand_id bigint PRIMARY KEY,
  admin text NOT NULL,
  pending_admin text,
  name text NOT NULL,
  registered_block bigint NOT NULL,
  registered_tx text NOT NULL,
  registered_log integer NOT NULL,
  registered_time bigint NOT NULL,
  updated_block bigint NOT NULL
);

CREATE TABLE prefixes (
  prefix text PRIMARY KEY,
  brand_id bigint NOT NULL,
  assigned_block bigint NOT NULL,
  assigned_tx text NOT NULL,
  assigned_log integer NOT NULL,
  assigned_time bigint NOT NULL
);

CREATE INDEX prefixes_brand ON prefixes (brand_id);

CREATE TABLE submitters (
  brand_id bigint NOT NULL,
  account text NOT NULL,
  role text,
  role_raw text NOT NULL,
  set_block bigint NOT NULL,
  set_tx text NOT NULL,
  set_log integer NOT NULL,
  set_time bigint NOT NULL,
  PRIMARY KEY (brand_id, account)
);

-- content_status without SQLite's never-written 'missing' (docs/mirror.md).
CREATE TABLE anchors (
  brand_id bigint NOT NULL,
  root text NOT NULL,
  kind integer NOT NULL,
  leaf_count bigint NOT NULL,
  content_uri text NOT NULL,
  submitter text NOT NULL,
  block_number bigint NOT NULL,
  block_hash text NOT NULL,
  tx_hash text NOT NULL,
  tx_index integer NOT NULL,
  log_index integer NOT NULL,
  block_time bigint NOT NULL,
  revoked_at_block bigint,
  revoked_by text,
  revoke_reason text,
  revoke_tx text,
  revoke_log integer,
  revoked_time bigint,
  content_status text NOT NULL DEFAULT 'pending' CHECK (content_status IN ('pending', 'ok', 'mismatch')),
  content_error text,
  PRIMARY KEY (brand_id, root)
);

CREATE INDEX anchors_block ON anchors (block_number, log_index);
CREATE INDEX anchors_revoked ON anchors (revoked_at_block) WHERE revoked_at_block IS NOT NULL;
CREATE INDEX anchors_pending ON anchors (content_status) WHERE content_status <> 'ok';
