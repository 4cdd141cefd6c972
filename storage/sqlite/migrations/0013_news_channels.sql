-- News channels: digests posted daily, hourly or live, filtered by entities, category, words
-- and language, with a role to mention and announcement posts published; several digests
-- per channel (one per kind and filters). A run belongs to a slot: a local day ('2026-12-07'),
-- a local hour ('2026-12-07T13') or, for live digests, the watermark it started from
-- ('after:1234'). Server settings gain a language; a server may set it without a timezone.

CREATE TABLE guild_settings_new (
    guild_id   INTEGER PRIMARY KEY,
    timezone   TEXT,                               -- IANA name; NULL: UTC
    language   TEXT CHECK (language IN ('en', 'zh', 'all')),  -- NULL: the server's locale
    updated_at TEXT    NOT NULL
);
INSERT INTO guild_settings_new(guild_id, timezone, updated_at)
SELECT guild_id, timezone, updated_at FROM guild_settings;
DROP TABLE guild_settings;
ALTER TABLE guild_settings_new RENAME TO guild_settings;

CREATE TABLE digests_new (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id       INTEGER NOT NULL,
    channel_id     INTEGER NOT NULL,
    kind           TEXT    NOT NULL CHECK (kind IN ('onthisday', 'new')),
    every          TEXT    NOT NULL DEFAULT 'daily' CHECK (every IN ('daily', 'hourly', 'live')),
    time           TEXT    NOT NULL,               -- HH:MM local (hourly: only MM counts)
    timezone       TEXT    NOT NULL,
    category       TEXT,                           -- filters; NULL: any
    words          TEXT,                           -- the search syntax of /search
    language       TEXT CHECK (language IN ('en', 'zh', 'all')),  -- NULL: the server's
    filter_key     TEXT    NOT NULL DEFAULT '',    -- the filters in one canonical text
    role_id        INTEGER,                        -- mentioned on each post
    publish        INTEGER NOT NULL DEFAULT 0,     -- crosspost in an announcement channel
    created_by     INTEGER NOT NULL,               -- told if delivery breaks
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    paused_reason  TEXT,                           -- set: no runs until /digest set again
    paused_at      TEXT,
    pause_notified INTEGER NOT NULL DEFAULT 0,
    last_event_id  INTEGER NOT NULL DEFAULT 0,     -- 'new': events up to this id were covered
    UNIQUE (channel_id, kind, filter_key)
);
INSERT INTO digests_new(id, guild_id, channel_id, kind, time, timezone, created_by, created_at,
                        updated_at, paused_reason, paused_at, pause_notified, last_event_id)
SELECT id, guild_id, channel_id, kind, time, timezone, created_by, created_at, updated_at,
       paused_reason, paused_at, pause_notified, last_event_id
FROM digests;

-- A digest's entities (canonical; their aliases' events carry the canonical one).
CREATE TABLE digest_entities (
    digest_id INTEGER NOT NULL REFERENCES digests_new(id) ON DELETE CASCADE,
    entity_id INTEGER NOT NULL REFERENCES entities(id),
    PRIMARY KEY (digest_id, entity_id)
) WITHOUT ROWID;
CREATE INDEX digest_entities_by_entity ON digest_entities(entity_id);

CREATE TABLE digest_runs_new (
    digest_id  INTEGER NOT NULL REFERENCES digests_new(id) ON DELETE CASCADE,
    slot       TEXT    NOT NULL,                   -- see above
    status     TEXT    NOT NULL,                   -- sending, sent, empty, skipped, retrying, failed
    parts      INTEGER NOT NULL DEFAULT 0,
    parts_sent INTEGER NOT NULL DEFAULT 0,
    attempts   INTEGER NOT NULL DEFAULT 0,
    items      TEXT,
    covers_to  INTEGER NOT NULL DEFAULT 0,         -- 'new': the watermark once it is sent
    thread_id  INTEGER,                            -- a forum's post the run is going into
    detail     TEXT,
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (digest_id, slot)
) WITHOUT ROWID;
INSERT INTO digest_runs_new(digest_id, slot, status, parts, parts_sent, attempts, items,
                            detail, updated_at)
SELECT digest_id, local_date, status, parts, parts_sent, attempts, items, detail, updated_at
FROM digest_runs;

DROP TABLE digest_runs;
DROP TABLE digests;
ALTER TABLE digests_new RENAME TO digests;
ALTER TABLE digest_runs_new RENAME TO digest_runs;
CREATE INDEX digests_by_guild ON digests(guild_id);
CREATE INDEX digests_live ON digests(every) WHERE every = 'live' AND paused_reason IS NULL;

-- A digest's category is looked up as typed (case aside), and offered by autocomplete.
CREATE INDEX events_by_category ON events(category COLLATE NOCASE) WHERE category IS NOT NULL;
