-- What the API writes itself: scan counts and brands' signed link sets. On SQLite they live in their
-- own files (TRACE_SCANS_DB, TRACE_LINKS_DB); here in the mirror's database but in their own schema,
-- trace_state, so that they are backed up apart from the mirror (which the chain rebuilds and they
-- cannot be) and the mirror's digest (storeChecksum reads current_schema()) ignores them.

CREATE SCHEMA trace_state;

-- The salt of the last-client hashes, one per database, shared by every replica.
CREATE TABLE trace_state.scan_meta (
  key text COLLATE "C" PRIMARY KEY,
  value text NOT NULL
);

CREATE TABLE trace_state.scan_counts (
  gtin text COLLATE "C" NOT NULL,
  serial text COLLATE "C" NOT NULL,
  count bigint NOT NULL,
  first_scan_at bigint NOT NULL,
  last_client text NOT NULL,
  PRIMARY KEY (gtin, serial)
);

CREATE TABLE trace_state.link_sets (
  gtin text COLLATE "C" PRIMARY KEY,
  brand_id text NOT NULL,
  issued_at bigint NOT NULL,
  chain_id text NOT NULL,
  contract text NOT NULL,
  message text NOT NULL,
  signature text NOT NULL,
  signer text NOT NULL,
  accepted_at bigint NOT NULL
);

-- Moves with every change to link_sets, whoever makes it, in the same transaction: replicas poll it
-- to know when to drop their memo of link sets (SQLite's PRAGMA data_version does this there).
CREATE TABLE trace_state.link_sets_version (
  id integer PRIMARY KEY CHECK (id = 1),
  version bigint NOT NULL
);

INSERT INTO trace_state.link_sets_version (id, version) VALUES (1, 0);

CREATE FUNCTION trace_state.link_sets_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE trace_state.link_sets_version SET version = version + 1 WHERE id = 1;
  RETURN NULL;
END $$;

-- Row-level for writes (a put that keeps the stored set changes no row and moves nothing), one per
-- statement for TRUNCATE.
CREATE TRIGGER link_sets_version AFTER INSERT OR UPDATE OR DELETE ON trace_state.link_sets
  FOR EACH ROW EXECUTE FUNCTION trace_state.link_sets_bump();
CREATE TRIGGER link_sets_version_truncate AFTER TRUNCATE ON trace_state.link_sets
  FOR EACH STATEMENT EXECUTE FUNCTION trace_state.link_sets_bump();
