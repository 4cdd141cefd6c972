-- Search filters inside the full-text index. A common word has tens of thousands of matches
-- in a big archive; filtered by dates or by an entity afterwards, every match had to be
-- scored and then mostly dropped (a second at a million events), and ids do not follow
-- dates, so a range of ids could not narrow it. Two more columns hold words FTS5 can
-- intersect with the user's words instead:
--   period:   the event's year and month (period(), storage.textindex.period_tokens),
--             "y2017 m201706";
--   entities: its entities' ids, "e12 e345", as stored in events.search_entities (FTS5
--             needs the exact text again to delete a row of a contentless index).
-- Both are supersets: search still checks the exact dates and links. User text is matched
-- in {headline summary} only, and bm25 gives the two columns no weight.
--
-- The index is contentless, so it is built anew from the events (minutes for a million
-- events, once).
ALTER TABLE events ADD COLUMN search_entities TEXT NOT NULL DEFAULT '';

DROP TRIGGER events_search_insert;
DROP TRIGGER events_search_unindex;
DROP TRIGGER events_search_reindex;
DROP TRIGGER events_search_delete;
DROP TABLE event_search;

CREATE VIRTUAL TABLE event_search USING fts5(
    headline, summary, period, entities,
    content = '', tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);

CREATE TRIGGER events_search_insert AFTER INSERT ON events WHEN NEW.searchable = 1 BEGIN
    INSERT INTO event_search(rowid, headline, summary, period, entities)
    VALUES (NEW.id, segment(NEW.headline), segment(NEW.summary), period(NEW.date),
            NEW.search_entities);
END;
CREATE TRIGGER events_search_unindex AFTER UPDATE OF headline, summary, date, searchable
ON events WHEN OLD.searchable = 1 BEGIN
    INSERT INTO event_search(event_search, rowid, headline, summary, period, entities)
    VALUES ('delete', OLD.id, segment(OLD.headline), segment(OLD.summary), period(OLD.date),
            OLD.search_entities);
END;
CREATE TRIGGER events_search_reindex AFTER UPDATE OF headline, summary, date, searchable
ON events WHEN OLD.searchable = 1 AND NEW.searchable = 1 BEGIN
    INSERT INTO event_search(rowid, headline, summary, period, entities)
    VALUES (NEW.id, segment(NEW.headline), segment(NEW.summary), period(NEW.date),
            NEW.search_entities);
END;
CREATE TRIGGER events_search_delete AFTER DELETE ON events WHEN OLD.searchable = 1 BEGIN
    INSERT INTO event_search(event_search, rowid, headline, summary, period, entities)
    VALUES ('delete', OLD.id, segment(OLD.headline), segment(OLD.summary), period(OLD.date),
            OLD.search_entities);
END;
-- A link to an indexed event adds the entity's word to its row (an event still waiting to
-- be indexed, searchable = 0, gets all of them when it is). A removed link leaves its word:
-- the column only has to hold every entity the event has.
CREATE TRIGGER event_entities_search AFTER INSERT ON event_entities
WHEN (SELECT searchable = 1 AND instr(' ' || search_entities || ' ', ' e' || NEW.entity_id || ' ') = 0
      FROM events WHERE id = NEW.event_id)
BEGIN
    INSERT INTO event_search(event_search, rowid, headline, summary, period, entities)
    SELECT 'delete', id, segment(headline), segment(summary), period(date), search_entities
    FROM events WHERE id = NEW.event_id;
    UPDATE events SET search_entities = ltrim(search_entities || ' e' || NEW.entity_id)
    WHERE id = NEW.event_id;
    INSERT INTO event_search(rowid, headline, summary, period, entities)
    SELECT id, segment(headline), segment(summary), period(date), search_entities
    FROM events WHERE id = NEW.event_id;
END;

UPDATE events SET search_entities = coalesce(
    (SELECT group_concat('e' || entity_id, ' ') FROM event_entities WHERE event_id = events.id),
    '')
WHERE searchable = 1;
INSERT INTO event_search(rowid, headline, summary, period, entities)
SELECT id, segment(headline), segment(summary), period(date), search_entities
FROM events WHERE searchable = 1;
