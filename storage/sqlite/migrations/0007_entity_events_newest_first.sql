-- An entity's events newest first ("ORDER BY date DESC, event_id DESC": its profile, its
-- companions, a search filtered by it) read straight from this index. In (date DESC,
-- event_id) the ids ran the other way, so SQLite sorted every event of the entity to find
-- the newest ten: tens of thousands of rows for a popular one.
DROP INDEX event_entities_by_entity;
CREATE INDEX event_entities_by_entity ON event_entities(entity_id, date DESC, event_id DESC);
