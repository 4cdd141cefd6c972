-- A feed's correction of an event that names an entity the event did not name ("Heavy snow
-- closes mountain passes" corrected to "... in Russia"): the event and the entity it gained,
-- kept for the alert sweep, which reads them after a watermark of its own (as it reads new
-- events after its own) and alerts that entity's subscribers (storage.subscription_rules).
-- AUTOINCREMENT: an id is never handed out twice, so no watermark passes over a new row.
CREATE TABLE corrected_links (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id  INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    entity_id INTEGER NOT NULL,
    linked_at TEXT    NOT NULL                  -- UTC, ISO 8601
);
CREATE INDEX corrected_links_event ON corrected_links(event_id);
