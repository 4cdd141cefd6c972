-- An entity counts the events it is linked to that are offered: not those taken off their
-- portal page (removed_at), which its page no longer lists (as SQLite's 0022). Removing an
-- event or putting it back counts its entities again (event_rows.recount_entities); this
-- index holds the removed events (few: FINDINGS, "Removed portal items"), which every count,
-- date and companion of an entity leaves out.
CREATE INDEX events_removed ON events(id) WHERE removed_at IS NOT NULL;

-- Entities counted before: those of removed events counted them.
UPDATE entities SET event_count = (
    SELECT count(*) FROM event_entities ee WHERE ee.entity_id = entities.id
    AND NOT EXISTS (SELECT 1 FROM events r WHERE r.id = ee.event_id AND r.removed_at IS NOT NULL)
)
WHERE id IN (
    SELECT ee.entity_id FROM events ev JOIN event_entities ee ON ee.event_id = ev.id
    WHERE ev.removed_at IS NOT NULL
);
