-- Chinese in one script. Names and index tokens are now compared in simplified characters
-- (storage.textindex.simplified, OpenCC): 蘋果公司 and 苹果公司 are one entity, and a search
-- in either script finds both. Entities whose names now fold alike become one (the one with
-- no canonical entity, else the oldest, is kept; the others' links, subscriptions and
-- aliases move to it), every entity's folded name is written again, and the full-text
-- indexes, contentless, are built anew from the stored text (minutes for a million events,
-- once).

CREATE TEMP TABLE refolded AS
SELECT id, canonical_id, chronicle_fold(name) AS folded FROM entities;

CREATE TEMP TABLE kept AS
SELECT folded,
       (SELECT r.id FROM refolded r WHERE r.folded = g.folded
        ORDER BY r.canonical_id IS NOT NULL, r.id LIMIT 1) AS id
FROM refolded g GROUP BY folded HAVING COUNT(*) > 1;

-- Each entity that goes, and the canonical entity of the one kept in its place.
CREATE TEMP TABLE folded_into AS
SELECT r.id AS old,
       COALESCE((SELECT canonical_id FROM entities WHERE id = k.id), k.id) AS new
FROM refolded r JOIN kept k ON k.folded = r.folded
WHERE r.id != k.id;
DELETE FROM folded_into WHERE new = old;

INSERT OR IGNORE INTO event_entities(event_id, entity_id, date)
SELECT ee.event_id, f.new, ee.date
FROM event_entities ee JOIN folded_into f ON f.old = ee.entity_id;
DELETE FROM event_entities WHERE entity_id IN (SELECT old FROM folded_into);

UPDATE OR IGNORE subscriptions
SET entity_id = (SELECT new FROM folded_into WHERE old = subscriptions.entity_id)
WHERE entity_id IN (SELECT old FROM folded_into);
DELETE FROM subscriptions WHERE entity_id IN (SELECT old FROM folded_into);

UPDATE entities SET canonical_id = (SELECT new FROM folded_into WHERE old = entities.canonical_id)
WHERE canonical_id IN (SELECT old FROM folded_into);
DELETE FROM entities WHERE id IN (SELECT old FROM folded_into);

UPDATE entities SET folded = chronicle_fold(name);
UPDATE entities SET event_count = (SELECT COUNT(*) FROM event_entities WHERE entity_id = entities.id);
UPDATE counters SET value = (SELECT COUNT(*) FROM entities WHERE canonical_id IS NULL)
WHERE name = 'entities';
DELETE FROM entity_postings;  -- packed again at the next ingest or start

DROP TABLE folded_into;
DROP TABLE kept;
DROP TABLE refolded;

INSERT INTO event_search(event_search) VALUES ('delete-all');
INSERT INTO event_search(rowid, headline, summary, period, entities)
SELECT id, segment(headline), segment(summary), period(date), search_entities
FROM events WHERE searchable = 1;
INSERT INTO entity_search(entity_search) VALUES ('delete-all');
INSERT INTO entity_search(rowid, name) SELECT id, segment(name) FROM entities;
INSERT INTO article_search(article_search) VALUES ('delete-all');
INSERT INTO article_search(rowid, title, text) SELECT id, segment(title), segment(text) FROM articles;
