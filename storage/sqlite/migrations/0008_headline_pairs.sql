-- Headlines as pairs of neighbouring words (storage.textindex.word_pairs: "Syria's Ministry
-- of Defence" -> "syria_s s_ministry ministry_of of_defence"). People looking for an event
-- type a run of words from its headline; found in event_search, words in a row mean
-- walking every event that holds each of them (20-30 ms for a few common words at a
-- million events), while here they are a phrase of pairs that are each in a handful of
-- headlines. Search and autocomplete put the headlines holding the words typed in a row
-- first and find them here.
--
-- Contentless like event_search: a row is deleted by giving its pairs again, which
-- word_pairs() recomputes from the old headline. '_' joins a pair into one token.
CREATE VIRTUAL TABLE headline_pairs USING fts5(
    pairs,
    content = '', columnsize = 0,
    tokenize = "unicode61 remove_diacritics 2 tokenchars '_'"
);

CREATE TRIGGER headline_pairs_insert AFTER INSERT ON events WHEN NEW.searchable = 1 BEGIN
    INSERT INTO headline_pairs(rowid, pairs) VALUES (NEW.id, word_pairs(NEW.headline));
END;
CREATE TRIGGER headline_pairs_unindex AFTER UPDATE OF headline, searchable ON events
WHEN OLD.searchable = 1 BEGIN
    INSERT INTO headline_pairs(headline_pairs, rowid, pairs)
    VALUES ('delete', OLD.id, word_pairs(OLD.headline));
END;
CREATE TRIGGER headline_pairs_reindex AFTER UPDATE OF headline, searchable ON events
WHEN OLD.searchable = 1 AND NEW.searchable = 1 BEGIN
    INSERT INTO headline_pairs(rowid, pairs) VALUES (NEW.id, word_pairs(NEW.headline));
END;
CREATE TRIGGER headline_pairs_delete AFTER DELETE ON events WHEN OLD.searchable = 1 BEGIN
    INSERT INTO headline_pairs(headline_pairs, rowid, pairs)
    VALUES ('delete', OLD.id, word_pairs(OLD.headline));
END;

-- Minutes for a million events, once.
INSERT INTO headline_pairs(rowid, pairs)
SELECT id, word_pairs(headline) FROM events WHERE searchable = 1;
