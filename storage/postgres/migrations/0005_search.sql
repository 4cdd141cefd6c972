-- Search ranks as SQLite's FTS5 does, by bm25 (storage/postgres/search.py), which needs the
-- average length of a searched text: the tokens of every vector, kept as counters by
-- triggers (as the row counts are), so that a search reads a few rows, not every vector.
-- SQLite's index also holds an event's entities as words (e12), which bm25 weighs at 0 but
-- counts in a text's length: an event's links are counted in its length here too, and
-- their total is a counter ('entity_links').

-- A vector's words: its headline's word pairs (storage/postgres/textsearch.py), which hold an
-- underscore as no word does, are SQLite's headline_pairs, another index, not counted.
CREATE FUNCTION chronicle_tokens(v tsvector) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(sum(cardinality(positions)), 0)::bigint FROM unnest(v)
    WHERE position('_' in lexeme) = 0
$$;

INSERT INTO counters(name, value) VALUES
    ('event_tokens', (SELECT coalesce(sum(chronicle_tokens(search)), 0) FROM events)),
    ('article_tokens', (SELECT coalesce(sum(chronicle_tokens(search)), 0) FROM articles)),
    ('entity_links', (SELECT count(*) FROM event_entities));

CREATE FUNCTION chronicle_count_tokens() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        delta := chronicle_tokens(NEW.search);
    ELSIF TG_OP = 'DELETE' THEN
        delta := -chronicle_tokens(OLD.search);
    ELSE
        delta := chronicle_tokens(NEW.search) - chronicle_tokens(OLD.search);
    END IF;
    IF delta <> 0 THEN
        UPDATE counters SET value = value + delta WHERE name = TG_ARGV[0];
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER events_count_tokens AFTER INSERT OR DELETE OR UPDATE OF search ON events
    FOR EACH ROW EXECUTE FUNCTION chronicle_count_tokens('event_tokens');
CREATE TRIGGER articles_count_tokens AFTER INSERT OR DELETE OR UPDATE OF search ON articles
    FOR EACH ROW EXECUTE FUNCTION chronicle_count_tokens('article_tokens');

-- Links are written many to a statement: counted once per statement.
CREATE FUNCTION chronicle_count_links() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE counters SET value = value + (SELECT count(*) FROM added)
        WHERE name = 'entity_links';
    ELSE
        UPDATE counters SET value = value - (SELECT count(*) FROM removed)
        WHERE name = 'entity_links';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER event_entities_count_added AFTER INSERT ON event_entities
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION chronicle_count_links();
CREATE TRIGGER event_entities_count_removed AFTER DELETE ON event_entities
    REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION chronicle_count_links();
