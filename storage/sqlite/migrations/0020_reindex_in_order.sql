-- An event whose text changed in place (a portal item edited on its page, a corrected feed
-- entry) was taken out of the full-text indexes after its new text went in: SQLite runs an
-- event's triggers newest first, so events_search_reindex (and headline_pairs_reindex) ran
-- before the matching unindex trigger. A contentless FTS5 table deletes a row by its text,
-- so that delete took out every word the old and new texts share: the event was no longer
-- found by them, and its new words led to "database disk image is malformed". One trigger
-- per index now takes the old text out, then puts the new one in.
DROP TRIGGER events_search_unindex;
DROP TRIGGER events_search_reindex;
DROP TRIGGER headline_pairs_unindex;
DROP TRIGGER headline_pairs_reindex;

CREATE TRIGGER events_search_update AFTER UPDATE OF headline, summary, date, searchable
ON events WHEN OLD.searchable = 1 BEGIN
    INSERT INTO event_search(event_search, rowid, headline, summary, period, entities)
    VALUES ('delete', OLD.id, segment(OLD.headline), segment(OLD.summary), period(OLD.date),
            OLD.search_entities);
    INSERT INTO event_search(rowid, headline, summary, period, entities)
    SELECT NEW.id, segment(NEW.headline), segment(NEW.summary), period(NEW.date),
           NEW.search_entities
    WHERE NEW.searchable = 1;
END;
CREATE TRIGGER headline_pairs_update AFTER UPDATE OF headline, searchable ON events
WHEN OLD.searchable = 1 BEGIN
    INSERT INTO headline_pairs(headline_pairs, rowid, pairs)
    VALUES ('delete', OLD.id, word_pairs(OLD.headline));
    INSERT INTO headline_pairs(rowid, pairs)
    SELECT NEW.id, word_pairs(NEW.headline) WHERE NEW.searchable = 1;
END;

-- Indexes an edit has already damaged are built again from the events, once (its time:
-- FINDINGS, "Rebuilding the full-text indexes on upgrade").
INSERT INTO event_search(event_search) VALUES ('delete-all');
INSERT INTO event_search(rowid, headline, summary, period, entities)
SELECT id, segment(headline), segment(summary), period(date), search_entities
FROM events WHERE searchable = 1;
INSERT INTO headline_pairs(headline_pairs) VALUES ('delete-all');
INSERT INTO headline_pairs(rowid, pairs)
SELECT id, word_pairs(headline) FROM events WHERE searchable = 1;
