-- The full-text indexes hold text folded as PostgreSQL's does (storage.textindex.fold_text,
-- in segment()): fullwidth forms (５名, ＧＤＰ), Greek accents and final sigma, ß (strasse)
-- are found as typed either way, and no word is longer than MAX_TOKEN_CHARS. fold_text
-- keeps Hangul as syllables now: names folded as letters (jamo) are folded again, but for
-- one whose new form another name holds already (entities are not merged here).
CREATE TEMP TABLE hangul_refold AS
SELECT id, refolded AS folded
FROM (SELECT id, folded, chronicle_fold(name) AS refolded FROM entities)
WHERE refolded != folded;

UPDATE entities
SET folded = (SELECT r.folded FROM hangul_refold r WHERE r.id = entities.id)
WHERE id IN (
    SELECT r.id FROM hangul_refold r
    WHERE (SELECT COUNT(*) FROM hangul_refold s WHERE s.folded = r.folded) = 1
      AND NOT EXISTS (SELECT 1 FROM entities o WHERE o.folded = r.folded)
);

DROP TABLE hangul_refold;

-- Every full-text index built again from the stored text, once (its time: FINDINGS,
-- "Rebuilding the full-text indexes on upgrade").
INSERT INTO event_search(event_search) VALUES ('delete-all');
INSERT INTO event_search(rowid, headline, summary, period, entities)
SELECT id, segment(headline), segment(summary), period(date), search_entities
FROM events WHERE searchable = 1;
INSERT INTO headline_pairs(headline_pairs) VALUES ('delete-all');
INSERT INTO headline_pairs(rowid, pairs)
SELECT id, word_pairs(headline) FROM events WHERE searchable = 1;
INSERT INTO entity_search(entity_search) VALUES ('delete-all');
INSERT INTO entity_search(rowid, name) SELECT id, segment(name) FROM entities;
INSERT INTO article_search(article_search) VALUES ('delete-all');
INSERT INTO article_search(rowid, title, text) SELECT id, segment(title), segment(text) FROM articles;
