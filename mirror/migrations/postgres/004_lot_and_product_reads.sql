-- Reads for product-level and lot-level Digital Links (twin of sqlite/004_lot_and_product_reads.sql):
-- identity records per GTIN, brand, lot and batch, kept by triggers on item_keys.

CREATE TABLE identity_counts (
  gtin text COLLATE "C" NOT NULL,
  brand_id bigint NOT NULL,
  lot text COLLATE "C" NOT NULL,
  root text NOT NULL,
  items bigint NOT NULL,
  first_leaf bigint NOT NULL,
  PRIMARY KEY (gtin, brand_id, lot, root),
  FOREIGN KEY (brand_id, root) REFERENCES anchors (brand_id, root) ON DELETE CASCADE
);

INSERT INTO identity_counts (gtin, brand_id, lot, root, items, first_leaf)
  SELECT gtin, brand_id, lot, root, count(*), min(leaf_index) FROM item_keys WHERE kind = 1 AND serial <> '' GROUP BY gtin, brand_id, lot, root;

-- Statement-level triggers with transition tables: a COPY of a million keys updates the counts in
-- one grouped statement, not a million row triggers.
CREATE FUNCTION item_keys_identity_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO identity_counts (gtin, brand_id, lot, root, items, first_leaf)
    SELECT gtin, brand_id, lot, root, count(*), min(leaf_index) FROM added
    WHERE kind = 1 AND serial <> '' GROUP BY gtin, brand_id, lot, root
    ON CONFLICT (gtin, brand_id, lot, root) DO UPDATE
      SET items = identity_counts.items + excluded.items, first_leaf = least(identity_counts.first_leaf, excluded.first_leaf);
  RETURN NULL;
END $$;

CREATE FUNCTION item_keys_identity_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE identity_counts c SET items = c.items - r.n
    FROM (SELECT gtin, brand_id, lot, root, count(*) AS n FROM removed WHERE kind = 1 AND serial <> ''
          GROUP BY gtin, brand_id, lot, root) r
    WHERE c.gtin = r.gtin AND c.brand_id = r.brand_id AND c.lot = r.lot AND c.root = r.root;
  DELETE FROM identity_counts c
    USING (SELECT DISTINCT gtin, brand_id, lot, root FROM removed WHERE kind = 1 AND serial <> '') r
    WHERE c.gtin = r.gtin AND c.brand_id = r.brand_id AND c.lot = r.lot AND c.root = r.root AND c.items <= 0;
  RETURN NULL;
END $$;

CREATE TRIGGER item_keys_identity_added AFTER INSERT ON item_keys
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION item_keys_identity_added();
CREATE TRIGGER item_keys_identity_removed AFTER DELETE ON item_keys
  REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION item_keys_identity_removed();

CREATE INDEX item_keys_trace_lots ON item_keys (gtin, lot) WHERE kind = 2 AND serial = '';
