-- Entity names for autocomplete and "did you mean" (storage/postgres/entities.py), where
-- SQLite has its entity_search FTS5 index.
--
-- Names starting with what is typed: a range of folded names in byte order (COLLATE "C",
-- as SQLite compares text), whatever the database's collation.
CREATE INDEX entities_by_folded_bytes ON entities (folded COLLATE "C");

-- Canonical entities walked from the most events down, ties by name, when too many names
-- match to order them all.
CREATE INDEX entities_by_popularity ON entities (event_count DESC, folded COLLATE "C")
    WHERE canonical_id IS NULL;

-- Names holding a word that starts so: found by trigrams of the folded name (a superset,
-- checked word by word in Python). pg_trgm may already live in another schema (each archive
-- may be a schema of one database), so its operator class is named where it is. Without
-- the right to create the extension, names are still found, by reading them all.
DO $$
DECLARE
    trgm_schema name;
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN insufficient_privilege OR undefined_file THEN
        RAISE NOTICE 'pg_trgm unavailable (%): entity names are found without their index', SQLERRM;
    END;
    SELECT n.nspname INTO trgm_schema
    FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace
    WHERE x.extname = 'pg_trgm';
    IF trgm_schema IS NOT NULL THEN
        EXECUTE format(
            'CREATE INDEX entities_by_trigrams ON entities USING gin (folded %I.gin_trgm_ops)',
            trgm_schema
        );
    END IF;
END $$;
