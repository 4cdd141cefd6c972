-- Scheduled digests, their runs, and the delivery ledger that makes every post exactly once.

CREATE TABLE guild_settings (
    guild_id   INTEGER PRIMARY KEY,
    timezone   TEXT    NOT NULL,                   -- IANA name, e.g. Europe/Berlin
    updated_at TEXT    NOT NULL
);

CREATE TABLE digests (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id       INTEGER NOT NULL,
    channel_id     INTEGER NOT NULL,
    kind           TEXT    NOT NULL CHECK (kind IN ('onthisday', 'new')),
    time           TEXT    NOT NULL,               -- HH:MM, local to timezone
    timezone       TEXT    NOT NULL,
    created_by     INTEGER NOT NULL,               -- told by DM if the channel goes away
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    paused_reason  TEXT,                           -- set: no runs until /digest set again
    paused_at      TEXT,
    pause_notified INTEGER NOT NULL DEFAULT 0,
    last_event_id  INTEGER NOT NULL DEFAULT 0,     -- 'new': events up to this id were covered
    UNIQUE (channel_id, kind)
);
CREATE INDEX digests_by_guild ON digests(guild_id);

-- One row per digest and local day: a run is claimed before anything is posted, so a
-- restart, a late timer or a second process never posts the same day twice.
CREATE TABLE digest_runs (
    digest_id  INTEGER NOT NULL REFERENCES digests(id) ON DELETE CASCADE,
    local_date TEXT    NOT NULL,                   -- YYYY-MM-DD in the digest's timezone
    status     TEXT    NOT NULL,                   -- sending, sent, empty, skipped, retrying, failed
    parts      INTEGER NOT NULL DEFAULT 0,         -- messages the run is made of
    parts_sent INTEGER NOT NULL DEFAULT 0,         -- a retry resumes after these
    attempts   INTEGER NOT NULL DEFAULT 0,
    items      TEXT,                               -- JSON event ids the run covers
    detail     TEXT,
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (digest_id, local_date)
) WITHOUT ROWID;

-- What was delivered where, per event: 'digest:<id>', 'user:<id>'.
CREATE TABLE deliveries (
    target       TEXT    NOT NULL,
    event_id     INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    delivered_at TEXT    NOT NULL,
    PRIMARY KEY (target, event_id)
) WITHOUT ROWID;
CREATE INDEX deliveries_by_event ON deliveries(event_id);

-- Events worth announcing, in the order they arrived: what a 'new' digest reads.
CREATE INDEX events_announced ON events(id) WHERE announce = 1;
