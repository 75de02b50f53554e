-- Reads for product-level (/01/{gtin}) and lot-level (/01/{gtin}/10/{lot}) Digital Links, which
-- must not scan every key of a GTIN: a GTIN may have a million items.

-- Serialised identity records per GTIN, brand, lot ('' for none) and batch: how many items a brand
-- anchored for a GTIN or lot, in how many lots, and one of them to show. Kept by the triggers below
-- on every write to item_keys, whoever writes it (the indexer, an upload); rows go with their
-- anchor on a reorg. first_leaf is the smallest leaf index of such a record in the batch.
CREATE TABLE identity_counts (
  gtin TEXT NOT NULL,
  brand_id INTEGER NOT NULL,
  lot TEXT NOT NULL,
  root TEXT NOT NULL,
  items INTEGER NOT NULL,
  first_leaf INTEGER NOT NULL,
  PRIMARY KEY (gtin, brand_id, lot, root),
  FOREIGN KEY (brand_id, root) REFERENCES anchors (brand_id, root) ON DELETE CASCADE
) WITHOUT ROWID;

INSERT INTO identity_counts (gtin, brand_id, lot, root, items, first_leaf)
  SELECT gtin, brand_id, lot, root, count(*), min(leaf_index) FROM item_keys WHERE kind = 1 AND serial <> '' GROUP BY gtin, brand_id, lot, root;

-- Only serial keys count: the indexer also writes a lot-level key (serial '') for an identity record with a lot.
CREATE TRIGGER item_keys_identity_added AFTER INSERT ON item_keys WHEN NEW.kind = 1 AND NEW.serial <> '' BEGIN
  INSERT INTO identity_counts (gtin, brand_id, lot, root, items, first_leaf) VALUES (NEW.gtin, NEW.brand_id, NEW.lot, NEW.root, 1, NEW.leaf_index)
    ON CONFLICT (gtin, brand_id, lot, root) DO UPDATE SET items = items + 1, first_leaf = min(first_leaf, excluded.first_leaf);
END;

CREATE TRIGGER item_keys_identity_removed AFTER DELETE ON item_keys WHEN OLD.kind = 1 AND OLD.serial <> '' BEGIN
  UPDATE identity_counts SET items = items - 1 WHERE gtin = OLD.gtin AND brand_id = OLD.brand_id AND lot = OLD.lot AND root = OLD.root;
  DELETE FROM identity_counts WHERE gtin = OLD.gtin AND brand_id = OLD.brand_id AND lot = OLD.lot AND root = OLD.root AND items <= 0;
END;

-- Trace events naming a lot, apart from the identity records' lot-level keys, which share their
-- range of the primary key (gtin, serial '', lot, kind …) one per item: the lots of a GTIN that
-- have events, and its lot recalls, without reading past a key per item.
CREATE INDEX item_keys_trace_lots ON item_keys (gtin, lot) WHERE kind = 2 AND serial = '';
