-- The mirror's version: a counter that moves with every statement that changes a mirror table, so
-- that API replicas know when to drop their memos (SQLite's PRAGMA data_version does this there).
-- Statement-level triggers keep it, whoever writes (the indexer, an upload); a COPY of a million
-- rows moves it once. Replicas poll it (a streaming standby carries it too; NOTIFY would not).

CREATE TABLE mirror_version (
  id integer PRIMARY KEY CHECK (id = 1),
  version bigint NOT NULL
);

INSERT INTO mirror_version (id, version) VALUES (1, 0);

CREATE FUNCTION mirror_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE mirror_version SET version = version + 1 WHERE id = 1;
  RETURN NULL;
END $$;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['cursor', 'brands', 'prefixes', 'submitters', 'anchors', 'records', 'item_keys', 'tree_nodes', 'identity_counts'] LOOP
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION mirror_version_bump()', t || '_version', t);
  END LOOP;
END $$;
