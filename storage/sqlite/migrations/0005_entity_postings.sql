-- The events of a popular entity packed into one blob, for related(): an event whose entities
-- are in tens of thousands of events must rank every one of them, and reading that many
-- rows costs hundreds of milliseconds where reading a few blobs costs one.
--
-- keys: little-endian 64-bit integers, ascending, one per event of the entity:
-- (YYYYMMDD << 32) | event id, so that ordering keys orders by date, then id.
-- Only entities with more than EventRepository.packed_postings_min events have a row.
CREATE TABLE entity_postings (
    entity_id INTEGER PRIMARY KEY REFERENCES entities(id) ON DELETE CASCADE,
    keys      BLOB    NOT NULL
);

-- A blob that no longer matches event_entities is dropped at once, whatever wrote the links
-- (imports, feeds, merges, a date correction through events_date_change): a missing blob
-- only makes related() read that entity's rows instead, so a stale one is never read.
-- EventRepository.pack_postings() writes the missing ones again after each ingest.
CREATE TRIGGER event_entities_insert_postings AFTER INSERT ON event_entities BEGIN
    DELETE FROM entity_postings WHERE entity_id = NEW.entity_id;
END;
CREATE TRIGGER event_entities_delete_postings AFTER DELETE ON event_entities BEGIN
    DELETE FROM entity_postings WHERE entity_id = OLD.entity_id;
END;
CREATE TRIGGER event_entities_update_postings AFTER UPDATE ON event_entities BEGIN
    DELETE FROM entity_postings WHERE entity_id IN (OLD.entity_id, NEW.entity_id);
END;
