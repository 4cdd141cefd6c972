-- An entity counts the events it is linked to that are offered: not those taken off their
-- portal page (removed_at), which its page no longer lists. Removing an event or putting it
-- back counts its entities again (event_rows.recount_entities), reading the links of the
-- removed events through this index (few: FINDINGS, "Removed portal items") rather than
-- every link of a popular entity.
CREATE INDEX events_removed ON events(id) WHERE removed_at IS NOT NULL;

-- Entities counted before: those of removed events counted them.
WITH removed AS (
    SELECT ee.entity_id AS id, COUNT(*) AS links
    FROM events ev INDEXED BY events_removed CROSS JOIN event_entities ee ON ee.event_id = ev.id
    WHERE ev.removed_at IS NOT NULL GROUP BY ee.entity_id
)
UPDATE entities
SET event_count = (SELECT COUNT(*) FROM event_entities WHERE entity_id = entities.id) - removed.links
FROM removed WHERE entities.id = removed.id;
