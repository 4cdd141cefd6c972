-- An event merged into another (its page's newer version under a new key, a stub folded
-- into the event it linked to) leaves its id behind: in the buttons of cards already posted,
-- in a value autocomplete offered. Each such id names the event it now is.
CREATE TABLE merged_events (
    old_id   bigint PRIMARY KEY,
    event_id bigint NOT NULL REFERENCES events(id) ON DELETE CASCADE
);
CREATE INDEX merged_events_event ON merged_events (event_id);
