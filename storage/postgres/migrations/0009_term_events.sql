-- An event's tokens (chronicle_tokens: bm25's length of its text), kept with the row: a
-- search reads it for each event it ranks, where counting meant unnesting the vector.
ALTER TABLE events ADD COLUMN search_tokens bigint
    GENERATED ALWAYS AS (chronicle_tokens(search)) STORED;

-- How many events hold each word in their text (a lexeme with a headline or summary
-- position, weights A and B) and each pair of words in a row in their headline (C), kept by
-- triggers as the counters are. A search tells a rare word from a common one, bm25 gets a
-- word's IDF, and a lookup knows how many events it may find, by reading one row, where
-- counting meant reading the vector of every event holding the word
-- (storage/postgres/search.py). Keyed in byte order (COLLATE "C"), as SQLite compares text:
-- the words starting with a prefix are a range of the key.
CREATE TABLE term_events (
    lexeme text COLLATE "C" PRIMARY KEY,
    events bigint NOT NULL
);

-- The words of a vector that are counted: those of its text (A, B) and its headline's word
-- pairs (C), not the period words (D). A pair holds an underscore as no word does, and is
-- kept under '_' || pair: apart from the words starting as it does (the words starting
-- "syr" are a range of a few, not one with every pair "syria_...").
CREATE FUNCTION chronicle_counted_lexemes(v tsvector) RETURNS SETOF text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN position('_' in lexeme) > 0 THEN '_' || lexeme ELSE lexeme END
    FROM unnest(v) WHERE weights && ARRAY['A', 'B', 'C']
$$;

-- Every count made again from the vectors: here, and by chronicle migrate after a copy.
CREATE FUNCTION chronicle_recount_terms() RETURNS void LANGUAGE sql AS $$
    TRUNCATE term_events;
    INSERT INTO term_events (lexeme, events)
    SELECT w, count(*) FROM events, chronicle_counted_lexemes(events.search) AS w GROUP BY w;
$$;

SELECT chronicle_recount_terms();

-- Per statement, with the rows it changed: an import writes thousands of events in one
-- statement, and their words are counted together. Words are written in key order, so
-- that two writers lock their rows in the same order.
CREATE FUNCTION chronicle_count_terms() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO term_events AS t (lexeme, events)
        SELECT w, count(*) FROM added, chronicle_counted_lexemes(added.search) AS w
        GROUP BY w ORDER BY w
        ON CONFLICT (lexeme) DO UPDATE SET events = t.events + EXCLUDED.events;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE term_events AS t SET events = t.events - d.n
        FROM (
            SELECT w, count(*) AS n FROM removed, chronicle_counted_lexemes(removed.search) AS w
            GROUP BY w ORDER BY w
        ) AS d
        WHERE t.lexeme = d.w;
    ELSE
        INSERT INTO term_events AS t (lexeme, events)
        SELECT w, sum(n) FROM (
            SELECT w, 1 AS n FROM added JOIN removed USING (id),
                chronicle_counted_lexemes(added.search) AS w
            WHERE added.search IS DISTINCT FROM removed.search
            UNION ALL
            SELECT w, -1 FROM added JOIN removed USING (id),
                chronicle_counted_lexemes(removed.search) AS w
            WHERE added.search IS DISTINCT FROM removed.search
        ) AS changed
        GROUP BY w HAVING sum(n) <> 0 ORDER BY w
        ON CONFLICT (lexeme) DO UPDATE SET events = t.events + EXCLUDED.events;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER events_count_terms_added AFTER INSERT ON events
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION chronicle_count_terms();
CREATE TRIGGER events_count_terms_removed AFTER DELETE ON events
    REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION chronicle_count_terms();
CREATE TRIGGER events_count_terms_changed AFTER UPDATE ON events
    REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION chronicle_count_terms();
