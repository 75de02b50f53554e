-- EPCIS 2.0 capture and query state (docs/epcis.md) in the trace_state schema, beside scans and
-- link sets: the chain rebuilds the mirror, but not the events brands sent us before they were
-- anchored, nor their tokens, named queries and subscriptions. SQLite keeps the same tables, column
-- for column, in their own file (migrations/epcis-sqlite/001_epcis.sql). Times are Unix
-- milliseconds; flags are 0/1 integers; JSON is text; hashes are 32-byte bytea.

-- Bearer tokens that may capture for one brand. Only the SHA-256 of a token is kept.
CREATE TABLE trace_state.epcis_tokens (
  token_id text COLLATE "C" PRIMARY KEY,
  brand_id bigint NOT NULL,
  label text COLLATE "C" NOT NULL DEFAULT '',
  token_hash bytea NOT NULL UNIQUE,
  created_at bigint NOT NULL,
  revoked_at bigint -- NULL while the token is valid
);

-- One row per capture job: a POST /epcis/capture document or a POST /epcis/events event.
CREATE TABLE trace_state.epcis_captures (
  capture_id text COLLATE "C" PRIMARY KEY,
  brand_id bigint NOT NULL,
  token_id text COLLATE "C" NOT NULL,
  created_at bigint NOT NULL,
  finished_at bigint, -- NULL while running
  running bigint NOT NULL DEFAULT 1,
  success bigint, -- NULL while running
  error_behaviour text COLLATE "C" NOT NULL CHECK (error_behaviour IN ('rollback', 'proceed')),
  event_count bigint NOT NULL, -- events in the document
  stored_count bigint NOT NULL DEFAULT 0, -- events stored (new, not duplicates)
  errors text COLLATE "C" NOT NULL DEFAULT '[]' -- JSON array of {eventIndex, field, message}
);

CREATE INDEX epcis_captures_created ON trace_state.epcis_captures (created_at);

-- Trace batches the capture worker builds from pending events and anchors with the service's key.
-- A batch is written here (with its root) before its transaction is sent, so that a restart finds
-- it and checks the chain before sending again: an event is never anchored twice.
CREATE TABLE trace_state.epcis_batches (
  batch_id bigserial PRIMARY KEY,
  brand_id bigint NOT NULL,
  root text COLLATE "C" NOT NULL UNIQUE, -- 0x hex
  event_count bigint NOT NULL,
  content_uri text COLLATE "C" NOT NULL,
  state text COLLATE "C" NOT NULL CHECK (state IN ('built', 'sent', 'anchored', 'failed')),
  created_at bigint NOT NULL,
  tx_hash text COLLATE "C",
  block_number bigint,
  error text COLLATE "C"
);

-- Every event we can answer queries about: captured here (pending until anchored), or read from
-- an anchored trace batch in the mirror (CLI batches). `seq` orders them (capture order; nextPageToken
-- and subscriptions count on it). An event's leaf is keccak256(JCS({v:1, kind:"trace", salt, event}))
-- = record_hash; its proof is found through the mirror's records by that hash.
CREATE TABLE trace_state.epcis_events (
  seq bigserial PRIMARY KEY,
  event_id text COLLATE "C" NOT NULL, -- the event's own eventID, or its CBV 2.0 hash id
  correction bigint NOT NULL DEFAULT 0, -- 1 when the event carries an errorDeclaration
  brand_id bigint NOT NULL,
  capture_id text COLLATE "C", -- NULL for an event read from a mirror batch
  batch_id bigint REFERENCES trace_state.epcis_batches (batch_id), -- the capture worker's batch, once built
  content_hash bytea NOT NULL UNIQUE, -- SHA-256 of JCS(event): the same event sent twice is one row
  record_hash bytea NOT NULL, -- unique in practice (a random salt in each leaf); never looked up here: proofs are found in the mirror's records
  salt text COLLATE "C" NOT NULL, -- Protocol v1: 32 lowercase hex characters, as in the leaf
  event text COLLATE "C" NOT NULL, -- the event as JSON, with its eventID, exactly as hashed
  event_type text COLLATE "C" NOT NULL,
  event_time bigint NOT NULL,
  record_time bigint NOT NULL, -- when we stored it
  action text COLLATE "C",
  biz_step text COLLATE "C", -- bare CBV value (e.g. 'shipping') or the full URI of a non-CBV value
  disposition text COLLATE "C",
  read_point text COLLATE "C",
  biz_location text COLLATE "C"
);

-- An eventID names one event; corrections (errorDeclaration) of it sit beside it.
CREATE UNIQUE INDEX epcis_events_id ON trace_state.epcis_events (event_id) WHERE correction = 0;
CREATE INDEX epcis_events_corrections ON trace_state.epcis_events (event_id) WHERE correction = 1;
CREATE INDEX epcis_events_pending ON trace_state.epcis_events (brand_id, seq) WHERE batch_id IS NULL AND capture_id IS NOT NULL;
CREATE INDEX epcis_events_batch ON trace_state.epcis_events (batch_id);
CREATE INDEX epcis_events_capture ON trace_state.epcis_events (capture_id) WHERE capture_id IS NOT NULL; -- a capture job's events
CREATE INDEX epcis_events_type ON trace_state.epcis_events (event_type, seq);
CREATE INDEX epcis_events_time ON trace_state.epcis_events (event_time);
CREATE INDEX epcis_events_record_time ON trace_state.epcis_events (record_time);
CREATE INDEX epcis_events_biz_step ON trace_state.epcis_events (biz_step, seq);
CREATE INDEX epcis_events_disposition ON trace_state.epcis_events (disposition, seq);
CREATE INDEX epcis_events_read_point ON trace_state.epcis_events (read_point, seq);
CREATE INDEX epcis_events_biz_location ON trace_state.epcis_events (biz_location, seq);

-- The identifiers an event names, by role, normalised to one form (EPC pure-identity URNs; classes
-- as their class URN), so MATCH_epc, MATCH_anyEPC, MATCH_epcClass… are index lookups.
CREATE TABLE trace_state.epcis_event_epcs (
  epc text COLLATE "C" NOT NULL,
  role text COLLATE "C" NOT NULL CHECK (role IN ('epc', 'parent', 'child', 'input', 'output',
                                     'epcClass', 'childClass', 'inputClass', 'outputClass')),
  seq bigint NOT NULL REFERENCES trace_state.epcis_events (seq) ON DELETE CASCADE,
  PRIMARY KEY (epc, role, seq)
);

-- No index on seq: the queries look identifiers up by (epc, role), and events are never deleted
-- (the foreign key's cascade would scan). Each index costs every captured event a B-tree insert.

-- Mirror trace batches whose events are in epcis_events (the query indexer's progress).
CREATE TABLE trace_state.epcis_indexed_batches (
  brand_id bigint NOT NULL,
  root text COLLATE "C" NOT NULL,
  indexed_at bigint NOT NULL,
  PRIMARY KEY (brand_id, root)
);

-- Named queries (POST /epcis/queries).
CREATE TABLE trace_state.epcis_queries (
  name text COLLATE "C" PRIMARY KEY,
  query text COLLATE "C" NOT NULL, -- JSON: the query parameters
  created_at bigint NOT NULL
);

CREATE TABLE trace_state.epcis_subscriptions (
  subscription_id text COLLATE "C" PRIMARY KEY,
  query_name text COLLATE "C" NOT NULL REFERENCES trace_state.epcis_queries (name) ON DELETE CASCADE,
  dest text COLLATE "C" NOT NULL,
  signature_token text COLLATE "C",
  stream bigint NOT NULL DEFAULT 0,
  schedule text COLLATE "C", -- JSON, NULL for a stream
  created_at bigint NOT NULL,
  next_attempt_at bigint NOT NULL DEFAULT 0,
  attempts bigint NOT NULL DEFAULT 0,
  last_error text COLLATE "C"
);

-- Events already sent to a subscription: never the same event twice to one subscription.
CREATE TABLE trace_state.epcis_deliveries (
  subscription_id text COLLATE "C" NOT NULL REFERENCES trace_state.epcis_subscriptions (subscription_id) ON DELETE CASCADE,
  seq bigint NOT NULL,
  delivered_at bigint NOT NULL,
  PRIMARY KEY (subscription_id, seq)
);
