-- Wikipedia's Current events portal, read live and backfilled: the day pages and the
-- revision last read of each, the items each page lists (and listed), link targets resolved
-- through redirects, and the live poll's health.

-- The portal's heading an event is filed under ("Armed conflicts and attacks").
ALTER TABLE events ADD COLUMN category TEXT;
-- Set when the item was removed from its page: the event is kept, marked, and no longer
-- offered to digests and alerts that have not posted it.
ALTER TABLE events ADD COLUMN removed_at TEXT;
-- Sources a portal item gave. Like a feed's (from_feed), they are the portal's, not the
-- archive page's: a new version of the page keeps them, and an edit of the item replaces
-- only them.
ALTER TABLE sources ADD COLUMN from_portal INTEGER NOT NULL DEFAULT 0;

-- One row per wiki (its language) and day page read.
CREATE TABLE portal_days (
    wiki         TEXT    NOT NULL,                 -- the portal's language: 'en'
    date         TEXT    NOT NULL,                 -- YYYY-MM-DD
    title        TEXT    NOT NULL,                 -- Portal:Current events/2017 May 5
    page_url     TEXT    NOT NULL,                 -- where people read it
    revision_id  INTEGER,                          -- the revision read; NULL: no such page
    revision_at  TEXT,                             -- when that revision was saved (UTC)
    items        INTEGER NOT NULL DEFAULT 0,       -- events the revision lists
    error        TEXT,                             -- the revision could not be read: why
    fetched_at   TEXT    NOT NULL,                 -- UTC, ISO 8601
    PRIMARY KEY (wiki, date)
) WITHOUT ROWID;

-- The events a day page lists or listed, with what the item said last (to tell an edit from
-- a new item in the next revision). An archive or feed event the page also lists is here
-- too: the page enriched it.
CREATE TABLE portal_items (
    wiki         TEXT    NOT NULL,
    event_id     INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    date         TEXT    NOT NULL,
    position     INTEGER NOT NULL,                 -- its place on the page, from 0
    headline     TEXT    NOT NULL,                 -- the item's text as the page gave it
    sources      TEXT    NOT NULL,                 -- JSON list of its source URLs
    entities     TEXT    NOT NULL,                 -- JSON list of the entities it linked
    content_hash TEXT    NOT NULL,                 -- of the item: unchanged items are skipped
    removed_at   TEXT,                             -- no longer on the page since
    PRIMARY KEY (wiki, event_id)
) WITHOUT ROWID;
CREATE INDEX portal_items_by_day ON portal_items(wiki, date);
-- An event's card links its day page; merging or deleting an event finds its rows.
CREATE INDEX portal_items_by_event ON portal_items(event_id);

-- Link targets as the wiki resolves them: a redirect's title maps to its target, any other
-- title to itself; resolved once.
CREATE TABLE portal_titles (
    wiki        TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    target      TEXT,                              -- NULL: not an article (interwiki, other
                                                   -- namespace): not an entity
    resolved_at TEXT    NOT NULL,
    PRIMARY KEY (wiki, title)
) WITHOUT ROWID;

-- The live poll of each wiki: when it ran, how it failed, when it runs next.
CREATE TABLE portal_polls (
    wiki                 TEXT    PRIMARY KEY,
    baseline_done        INTEGER NOT NULL DEFAULT 0,  -- 0 until a poll succeeds: the first
                                                      -- is history, not news
    last_attempt_at      TEXT,
    last_success_at      TEXT,
    last_error           TEXT,
    last_error_at        TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    next_poll_at         TEXT
) WITHOUT ROWID;
