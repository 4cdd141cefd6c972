-- Digests' lookups on PostgreSQL.

-- A category matched case aside as SQLite's NOCASE does (ASCII letters only): lower() of
-- text in the "C" collation folds nothing else, whatever the server's locale.
CREATE INDEX events_by_category_nocase ON events (lower(category COLLATE "C"))
    WHERE category IS NOT NULL;

-- The runs still to finish (sending, or waiting for their retry): what a start and each
-- digest's turn look for.
CREATE INDEX digest_runs_unfinished ON digest_runs (digest_id, updated_at)
    WHERE status IN ('sending', 'retrying');
