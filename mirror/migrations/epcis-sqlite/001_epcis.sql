-- EPCIS 2.0 capture and query state (docs/epcis.md), kept apart from the mirror: the chain rebuilds
-- the mirror, but not the events brands sent us before they were anchored, nor their tokens,
-- named queries and subscriptions. PostgreSQL holds the same tables, column for column, in the
-- trace_state schema (migrations/postgres/008_epcis.sql). Times are Unix milliseconds; flags are
-- 0/1 integers; JSON is text; hashes are 32-byte blobs.

-- Bearer tokens that may capture for one brand. Only the SHA-256 of a token is kept.
CREATE TABLE epcis_tokens (
  token_id TEXT PRIMARY KEY,
  brand_id INTEGER NOT NULL,
  label TEXT NOT NULL DEFAULT '',
  token_hash BLOB NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER -- NULL while the token is valid
);

-- One row per capture job: a POST /epcis/capture document or a POST /epcis/events event.
CREATE TABLE epcis_captures (
  capture_id TEXT PRIMARY KEY,
  brand_id INTEGER NOT NULL,
  token_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  finished_at INTEGER, -- NULL while running
  running INTEGER NOT NULL DEFAULT 1,
  success INTEGER, -- NULL while running
  error_behaviour TEXT NOT NULL CHECK (error_behaviour IN ('rollback', 'proceed')),
  event_count INTEGER NOT NULL, -- events in the document
  stored_count INTEGER NOT NULL DEFAULT 0, -- events stored (new, not duplicates)
  errors TEXT NOT NULL DEFAULT '[]' -- JSON array of {eventIndex, field, message}
);

CREATE INDEX epcis_captures_created ON epcis_captures (created_at);

-- Trace batches the capture worker builds from pending events and anchors with the service's key.
-- A batch is written here (with its root) before its transaction is sent, so that a restart finds
-- it and checks the chain before sending again: an event is never anchored twice.
CREATE TABLE epcis_batches (
  batch_id INTEGER PRIMARY KEY,
  brand_id INTEGER NOT NULL,
  root TEXT NOT NULL UNIQUE, -- 0x hex
  event_count INTEGER NOT NULL,
  content_uri TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('built', 'sent', 'anchored', 'failed')),
  created_at INTEGER NOT NULL,
  tx_hash TEXT,
  block_number INTEGER,
  error TEXT
);

-- Every event we can answer queries about: captured here (pending until anchored), or read from
-- an anchored trace batch in the mirror (CLI batches). `seq` orders them (capture order; nextPageToken
-- and subscriptions count on it). An event's leaf is keccak256(JCS({v:1, kind:"trace", salt, event}))
-- = record_hash; its proof is found through the mirror's records by that hash.
CREATE TABLE epcis_events (
  seq INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL, -- the event's own eventID, or its CBV 2.0 hash id
  correction INTEGER NOT NULL DEFAULT 0, -- 1 when the event carries an errorDeclaration
  brand_id INTEGER NOT NULL,
  capture_id TEXT, -- NULL for an event read from a mirror batch
  batch_id INTEGER REFERENCES epcis_batches (batch_id), -- the capture worker's batch, once built
  content_hash BLOB NOT NULL UNIQUE, -- SHA-256 of JCS(event): the same event sent twice is one row
  record_hash BLOB NOT NULL, -- unique in practice (a random salt in each leaf); never looked up here: proofs are found in the mirror's records
  salt TEXT NOT NULL, -- Protocol v1: 32 lowercase hex characters, as in the leaf
  event TEXT NOT NULL, -- the event as JSON, with its eventID, exactly as hashed
  event_type TEXT NOT NULL,
  event_time INTEGER NOT NULL,
  record_time INTEGER NOT NULL, -- when we stored it
  action TEXT,
  biz_step TEXT, -- bare CBV value (e.g. 'shipping') or the full URI of a non-CBV value
  disposition TEXT,
  read_point TEXT,
  biz_location TEXT
);

-- An eventID names one event; corrections (errorDeclaration) of it sit beside it.
CREATE UNIQUE INDEX epcis_events_id ON epcis_events (event_id) WHERE correction = 0;
CREATE INDEX epcis_events_corrections ON epcis_events (event_id) WHERE correction = 1;
CREATE INDEX epcis_events_pending ON epcis_events (brand_id, seq) WHERE batch_id IS NULL AND capture_id IS NOT NULL;
CREATE INDEX epcis_events_batch ON epcis_events (batch_id);
CREATE INDEX epcis_events_capture ON epcis_events (capture_id) WHERE capture_id IS NOT NULL; -- a capture job's events
CREATE INDEX epcis_events_type ON epcis_events (event_type, seq);
CREATE INDEX epcis_events_time ON epcis_events (event_time);
CREATE INDEX epcis_events_record_time ON epcis_events (record_time);
CREATE INDEX epcis_events_biz_step ON epcis_events (biz_step, seq);
CREATE INDEX epcis_events_disposition ON epcis_events (disposition, seq);
CREATE INDEX epcis_events_read_point ON epcis_events (read_point, seq);
CREATE INDEX epcis_events_biz_location ON epcis_events (biz_location, seq);

-- The identifiers an event names, by role, normalised to one form (EPC pure-identity URNs; classes
-- as their class URN), so MATCH_epc, MATCH_anyEPC, MATCH_epcClass… are index lookups.
CREATE TABLE epcis_event_epcs (
  epc TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('epc', 'parent', 'child', 'input', 'output',
                                     'epcClass', 'childClass', 'inputClass', 'outputClass')),
  seq INTEGER NOT NULL REFERENCES epcis_events (seq) ON DELETE CASCADE,
  PRIMARY KEY (epc, role, seq)
) WITHOUT ROWID;

-- No index on seq: the queries look identifiers up by (epc, role), and events are never deleted
-- (the foreign key's cascade would scan). Each index costs every captured event a B-tree insert.

-- Mirror trace batches whose events are in epcis_events (the query indexer's progress).
CREATE TABLE epcis_indexed_batches (
  brand_id INTEGER NOT NULL,
  root TEXT NOT NULL,
  indexed_at INTEGER NOT NULL,
  PRIMARY KEY (brand_id, root)
);

-- Named queries (POST /epcis/queries).
CREATE TABLE epcis_queries (
  name TEXT PRIMARY KEY,
  query TEXT NOT NULL, -- JSON: the query parameters
  created_at INTEGER NOT NULL
);

CREATE TABLE epcis_subscriptions (
  subscription_id TEXT PRIMARY KEY,
  query_name TEXT NOT NULL REFERENCES epcis_queries (name) ON DELETE CASCADE,
  dest TEXT NOT NULL,
  signature_token TEXT,
  stream INTEGER NOT NULL DEFAULT 0,
  schedule TEXT, -- JSON, NULL for a stream
  created_at INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT
);

-- Events already sent to a subscription: never the same event twice to one subscription.
CREATE TABLE epcis_deliveries (
  subscription_id TEXT NOT NULL REFERENCES epcis_subscriptions (subscription_id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  delivered_at INTEGER NOT NULL,
  PRIMARY KEY (subscription_id, seq)
) WITHOUT ROWID;
