-- An event's entity words in the full-text index (e12 e40) are its links, no more: until
-- now a link moved to another entity (an alias) or removed left its word behind, and the
-- word counted in the length bm25 ranks by. Indexed events holding more words than links are
-- indexed again with their links' words. Each event holds each word once, and every link's
-- word, so a count differing from the links' says which events to rewrite.
CREATE TEMP TABLE stale_entity_words AS
SELECT e.id FROM events e
WHERE e.searchable = 1
  AND (CASE WHEN e.search_entities = '' THEN 0
            ELSE length(e.search_entities) - length(replace(e.search_entities, ' ', '')) + 1 END)
      != (SELECT count(*) FROM event_entities l WHERE l.event_id = e.id);

INSERT INTO event_search(event_search, rowid, headline, summary, period, entities)
SELECT 'delete', id, segment(headline), segment(summary), period(date), search_entities
FROM events WHERE id IN (SELECT id FROM stale_entity_words);

UPDATE events SET search_entities = coalesce(
    (SELECT group_concat('e' || entity_id, ' ') FROM event_entities WHERE event_id = events.id), '')
WHERE id IN (SELECT id FROM stale_entity_words);

INSERT INTO event_search(rowid, headline, summary, period, entities)
SELECT id, segment(headline), segment(summary), period(date), search_entities
FROM events WHERE id IN (SELECT id FROM stale_entity_words);

DROP TABLE stale_entity_words;
