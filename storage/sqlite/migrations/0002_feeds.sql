-- Feeds: the operator's RSS/Atom feeds, their health and schedule, and every entry each
-- one has ever carried (so an entry seen once is never new again).

-- AUTOINCREMENT so a removed feed's id is never reused: log lines and reports that name
-- "feed 12" keep meaning one feed.
CREATE TABLE feeds (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    url                    TEXT    NOT NULL UNIQUE,
    name                   TEXT    NOT NULL,         -- publisher name on the events' sources
    added_at               TEXT    NOT NULL,         -- UTC, ISO 8601 (as everywhere)
    status                 TEXT    NOT NULL DEFAULT 'active'
                                   CHECK (status IN ('active', 'disabled')),
    disabled_reason        TEXT,
    disabled_at            TEXT,
    baseline_done          INTEGER NOT NULL DEFAULT 0, -- 0 until a fetch succeeds: that
                                                       -- first fetch is history, not news
    backfill               INTEGER NOT NULL DEFAULT 0, -- ... except its newest N entries
    etag                   TEXT,                     -- validators for conditional GET
    last_modified          TEXT,
    body_sha256            TEXT,                     -- of the last body read: the same
                                                     -- bytes again are not parsed again
    last_success_at        TEXT,                     -- NULL: never fetched successfully
    last_attempt_at        TEXT,
    last_error             TEXT,                     -- kept after recovery, for the record
    last_error_kind        TEXT,                     -- FeedError.kind (or 'internal')
    last_error_at          TEXT,
    consecutive_failures   INTEGER NOT NULL DEFAULT 0,
    first_parse_failure_at TEXT,                     -- start of the current run of failures
                                                     -- that began with "not a feed"
    next_poll_at           TEXT    NOT NULL,
    entries_seen           INTEGER NOT NULL DEFAULT 0,
    events_added           INTEGER NOT NULL DEFAULT 0  -- events this feed created
);
-- "Which feeds are due?" reads only active feeds, in due order, from this index.
CREATE INDEX feeds_due ON feeds(next_poll_at) WHERE status = 'active';

-- Every entry identity a feed has carried (GUID, else link, else a hash), and the event it
-- became or joined. The primary key answers "seen before?" for a whole document in one
-- indexed lookup per entry, however many millions of rows accumulate. A removed feed's
-- entries go with it; the events stay in the archive.
CREATE TABLE feed_entries (
    feed_id       INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    identity      TEXT    NOT NULL,
    event_id      INTEGER REFERENCES events(id) ON DELETE SET NULL,
    first_seen_at TEXT    NOT NULL,
    PRIMARY KEY (feed_id, identity)
) WITHOUT ROWID;
-- For the foreign key (deleting an event) and for "which feeds carried this event".
CREATE INDEX feed_entries_by_event ON feed_entries(event_id);
