-- Search within dates: a common word in one year has tens of thousands of matches in a big
-- archive, and ids do not follow dates, so every match had to be scored and then dropped
-- by the date filter (a second at a million events). A third column holds each event's
-- year and month as words (period(), storage.textindex.period_tokens): the date range
-- becomes part of the MATCH, and FTS5 intersects the word's doclist with the months'.
-- User text is matched in {headline summary} only, and bm25 gives `period` no weight.
--
-- The index is contentless, so it is built anew from the events (a minute or two for a
-- million events, once).
DROP TRIGGER events_search_insert;
DROP TRIGGER events_search_unindex;
DROP TRIGGER events_search_reindex;
DROP TRIGGER events_search_delete;
DROP TABLE event_search;

CREATE VIRTUAL TABLE event_search USING fts5(
    headline, summary, period,
    content = '', tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);

CREATE TRIGGER events_search_insert AFTER INSERT ON events WHEN NEW.searchable = 1 BEGIN
    INSERT INTO event_search(rowid, headline, summary, period)
    VALUES (NEW.id, segment(NEW.headline), segment(NEW.summary), period(NEW.date));
END;
CREATE TRIGGER events_search_unindex AFTER UPDATE OF headline, summary, date, searchable
ON events WHEN OLD.searchable = 1 BEGIN
    INSERT INTO event_search(event_search, rowid, headline, summary, period)
    VALUES ('delete', OLD.id, segment(OLD.headline), segment(OLD.summary), period(OLD.date));
END;
CREATE TRIGGER events_search_reindex AFTER UPDATE OF headline, summary, date, searchable
ON events WHEN OLD.searchable = 1 AND NEW.searchable = 1 BEGIN
    INSERT INTO event_search(rowid, headline, summary, period)
    VALUES (NEW.id, segment(NEW.headline), segment(NEW.summary), period(NEW.date));
END;
CREATE TRIGGER events_search_delete AFTER DELETE ON events WHEN OLD.searchable = 1 BEGIN
    INSERT INTO event_search(event_search, rowid, headline, summary, period)
    VALUES ('delete', OLD.id, segment(OLD.headline), segment(OLD.summary), period(OLD.date));
END;

INSERT INTO event_search(rowid, headline, summary, period)
SELECT id, segment(headline), segment(summary), period(date) FROM events WHERE searchable = 1;
