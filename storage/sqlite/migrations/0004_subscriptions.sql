-- Entities as people know them (one canonical name, any number of aliases), subscriptions
-- to them, and notices waiting for a member's next command.

-- An alias row keeps its own name (so it can be typed and matched in text) and points at
-- its canonical entity; events link only to canonical entities.
ALTER TABLE entities ADD COLUMN canonical_id INTEGER REFERENCES entities(id);
CREATE INDEX entities_by_canonical ON entities(canonical_id) WHERE canonical_id IS NOT NULL;

-- The 'entities' total counts what people see: canonical entities.
CREATE TRIGGER entities_count_alias AFTER UPDATE OF canonical_id ON entities
WHEN (OLD.canonical_id IS NULL) != (NEW.canonical_id IS NULL) BEGIN
    UPDATE counters SET value = value + (CASE WHEN NEW.canonical_id IS NULL THEN 1 ELSE -1 END)
    WHERE name = 'entities';
END;

CREATE TABLE subscriptions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id       INTEGER NOT NULL,
    user_id        INTEGER NOT NULL,
    entity_id      INTEGER NOT NULL REFERENCES entities(id),  -- canonical
    delivery       TEXT    NOT NULL CHECK (delivery IN ('dm', 'here')),
    channel_id     INTEGER,                                     -- for 'here'
    created_at     TEXT    NOT NULL,
    paused_reason  TEXT,
    UNIQUE (guild_id, user_id, entity_id)
);
CREATE INDEX subscriptions_by_entity ON subscriptions(entity_id) WHERE paused_reason IS NULL;
CREATE INDEX subscriptions_by_user ON subscriptions(user_id, guild_id);

-- Something to tell a member the next time they use a command (their DMs were closed).
CREATE TABLE pending_notices (
    user_id    INTEGER PRIMARY KEY,
    text       TEXT    NOT NULL,
    created_at TEXT    NOT NULL
);

-- Small named values the bot keeps between runs (e.g. the last event alerts covered).
CREATE TABLE bot_state (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
