-- The event archive: events, their sources, entities, the archive's own Related lists,
-- attached articles, and the full-text indexes over them.

-- AUTOINCREMENT so an id is never reused: "events added since id N" stays true forever.
CREATE TABLE events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    key          TEXT    NOT NULL UNIQUE,          -- 2017/06/16/<slug>, as the archive path gives
    date         TEXT    NOT NULL,                 -- YYYY-MM-DD
    month_day    TEXT    NOT NULL GENERATED ALWAYS AS (substr(date, 6, 5)) STORED,
    headline     TEXT    NOT NULL,
    summary      TEXT    NOT NULL DEFAULT '',
    story        TEXT,
    lang         TEXT    NOT NULL DEFAULT 'en',
    complete     INTEGER NOT NULL DEFAULT 0,       -- 0: known only from a link or an index
    origin       TEXT    NOT NULL DEFAULT 'archive',
    announce     INTEGER NOT NULL DEFAULT 0,       -- 1: news to announce (digests, alerts);
                                                   -- 0: history (archive imports, a feed's
                                                   -- entries from before it was added)
    content_hash TEXT,                             -- of the page last imported
    weight       INTEGER NOT NULL DEFAULT 0,       -- how much the archive says of it:
                                                   -- sources + related links + entities
    searchable   INTEGER NOT NULL DEFAULT 1,       -- 0: not yet in the full-text index (bulk
                                                   -- imports index a whole batch at once)
    added_at     TEXT    NOT NULL,                 -- UTC, ISO 8601
    updated_at   TEXT    NOT NULL
);
CREATE INDEX events_by_date ON events(date DESC, id DESC);
CREATE INDEX events_by_month_day ON events(month_day, date DESC);
CREATE INDEX events_to_index ON events(id) WHERE searchable = 0;
-- "On this day", the events the archive says most about: an index range, however many.
CREATE INDEX events_by_month_day_weight ON events(month_day, weight DESC, date DESC);

-- Older keys of an event (slugs change between versions; Changes lists name them).
CREATE TABLE event_keys (
    key      TEXT    PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX event_keys_by_event ON event_keys(event_id);

-- Page versions seen but no longer current (the current one's hash is on the event):
-- importing any version again, in any order, changes nothing.
CREATE TABLE page_versions (
    content_hash TEXT    PRIMARY KEY,
    event_id     INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX page_versions_by_event ON page_versions(event_id);

CREATE TABLE sources (
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name     TEXT    NOT NULL,
    url      TEXT    NOT NULL,
    is_image INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, position)
) WITHOUT ROWID;
CREATE INDEX sources_by_url ON sources(url);

CREATE TABLE entities (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    folded      TEXT    NOT NULL UNIQUE,           -- case- and accent-folded name
    event_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX entities_by_count ON entities(event_count DESC);

-- The date is copied here so that an entity's events can be read newest first, and its
-- first and last date found, from the index alone, however many events it has.
CREATE TABLE event_entities (
    event_id  INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    entity_id INTEGER NOT NULL REFERENCES entities(id) ON DELETE CASCADE,
    date      TEXT    NOT NULL,
    PRIMARY KEY (event_id, entity_id)
) WITHOUT ROWID;
CREATE INDEX event_entities_by_entity ON event_entities(entity_id, date DESC, event_id);

-- The archive's own Related list of an event, as given: [[target key, [shared names]], ...]
-- as zlib-compressed JSON, one row an event (the rule recomputes the list; this keeps what
-- the archive said, links to events we have not seen included). Headlines are not kept
-- here: the linked event holds its own.
CREATE TABLE archive_related (
    event_id INTEGER PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,
    items    INTEGER NOT NULL,                     -- how many
    links    BLOB    NOT NULL
);

CREATE TABLE articles (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    title        TEXT    NOT NULL,
    text         TEXT    NOT NULL,
    publisher    TEXT,
    published    TEXT,                             -- YYYY-MM-DD when the text gives it
    file_name    TEXT,
    score        REAL,                             -- match score when attached automatically
    content_hash TEXT    NOT NULL UNIQUE,
    attached_at  TEXT    NOT NULL
);
CREATE INDEX articles_by_event ON articles(event_id);

-- Running totals, so that /about and `chronicle stats` never count a million rows.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counters(name, value) VALUES
    ('events', 0), ('incomplete', 0), ('sources', 0), ('entities', 0), ('articles', 0);

CREATE TRIGGER events_count_insert AFTER INSERT ON events BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'events';
    UPDATE counters SET value = value + 1 WHERE name = 'incomplete' AND NEW.complete = 0;
END;
CREATE TRIGGER events_count_delete AFTER DELETE ON events BEGIN
    UPDATE counters SET value = value - 1 WHERE name = 'events';
    UPDATE counters SET value = value - 1 WHERE name = 'incomplete' AND OLD.complete = 0;
END;
CREATE TRIGGER events_count_complete AFTER UPDATE OF complete ON events
WHEN OLD.complete != NEW.complete BEGIN
    UPDATE counters SET value = value + (OLD.complete - NEW.complete) WHERE name = 'incomplete';
END;
CREATE TRIGGER sources_count_insert AFTER INSERT ON sources BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'sources';
END;
CREATE TRIGGER sources_count_delete AFTER DELETE ON sources BEGIN
    UPDATE counters SET value = value - 1 WHERE name = 'sources';
END;
CREATE TRIGGER entities_count_insert AFTER INSERT ON entities BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'entities';
END;
CREATE TRIGGER entities_count_delete AFTER DELETE ON entities BEGIN
    UPDATE counters SET value = value - 1 WHERE name = 'entities';
END;
CREATE TRIGGER articles_count_insert AFTER INSERT ON articles BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'articles';
END;
CREATE TRIGGER articles_count_delete AFTER DELETE ON articles BEGIN
    UPDATE counters SET value = value - 1 WHERE name = 'articles';
END;

-- event_count: links are added in bulk (EventRepository._link_entities adds the counts per
-- entity, a trigger per row would cost more than the insert); removals are rare and counted
-- here.
CREATE TRIGGER event_entities_delete AFTER DELETE ON event_entities BEGIN
    UPDATE entities SET event_count = event_count - 1 WHERE id = OLD.entity_id;
END;
CREATE TRIGGER events_date_change AFTER UPDATE OF date ON events
WHEN OLD.date != NEW.date BEGIN
    UPDATE event_entities SET date = NEW.date WHERE event_id = NEW.id;
END;

-- Full-text search. Contentless: the text lives in events/articles once, not twice. The
-- segment() function (registered on every connection by storage.db) splits Chinese and
-- Japanese into bigrams; triggers pass it the old values so deletes remove exactly what
-- was indexed.
-- prefix: two- and three-letter prefixes indexed, so autocomplete's "ru*" is a lookup, not a
-- walk over every word that starts so (about 200 times faster to ask, at the cost of a
-- larger index that takes longer to fill).
CREATE VIRTUAL TABLE event_search USING fts5(
    headline, summary, content = '', tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
CREATE VIRTUAL TABLE entity_search USING fts5(
    name, content = '', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE article_search USING fts5(
    title, text, content = '', tokenize = 'unicode61 remove_diacritics 2'
);

-- Rows with searchable = 1 are in event_search. A bulk import writes rows with 0, indexes
-- them in one INSERT ... SELECT (twice as fast as row by row), then sets 1: a change from
-- 0 to 1 alone indexes nothing, a change of an indexed row's text re-indexes it.
CREATE TRIGGER events_search_insert AFTER INSERT ON events WHEN NEW.searchable = 1 BEGIN
    INSERT INTO event_search(rowid, headline, summary)
    VALUES (NEW.id, segment(NEW.headline), segment(NEW.summary));
END;
CREATE TRIGGER events_search_unindex AFTER UPDATE OF headline, summary, searchable ON events
WHEN OLD.searchable = 1 BEGIN
    INSERT INTO event_search(event_search, rowid, headline, summary)
    VALUES ('delete', OLD.id, segment(OLD.headline), segment(OLD.summary));
END;
CREATE TRIGGER events_search_reindex AFTER UPDATE OF headline, summary, searchable ON events
WHEN OLD.searchable = 1 AND NEW.searchable = 1 BEGIN
    INSERT INTO event_search(rowid, headline, summary)
    VALUES (NEW.id, segment(NEW.headline), segment(NEW.summary));
END;
CREATE TRIGGER events_search_delete AFTER DELETE ON events WHEN OLD.searchable = 1 BEGIN
    INSERT INTO event_search(event_search, rowid, headline, summary)
    VALUES ('delete', OLD.id, segment(OLD.headline), segment(OLD.summary));
END;
CREATE TRIGGER articles_search_insert AFTER INSERT ON articles BEGIN
    INSERT INTO article_search(rowid, title, text)
    VALUES (NEW.id, segment(NEW.title), segment(NEW.text));
END;
CREATE TRIGGER articles_search_update AFTER UPDATE OF title, text ON articles BEGIN
    INSERT INTO article_search(article_search, rowid, title, text)
    VALUES ('delete', OLD.id, segment(OLD.title), segment(OLD.text));
    INSERT INTO article_search(rowid, title, text)
    VALUES (NEW.id, segment(NEW.title), segment(NEW.text));
END;
CREATE TRIGGER articles_search_delete AFTER DELETE ON articles BEGIN
    INSERT INTO article_search(article_search, rowid, title, text)
    VALUES ('delete', OLD.id, segment(OLD.title), segment(OLD.text));
END;
CREATE TRIGGER entities_search_insert AFTER INSERT ON entities BEGIN
    INSERT INTO entity_search(rowid, name) VALUES (NEW.id, segment(NEW.name));
END;
CREATE TRIGGER entities_search_update AFTER UPDATE OF name ON entities BEGIN
    INSERT INTO entity_search(entity_search, rowid, name) VALUES ('delete', OLD.id, segment(OLD.name));
    INSERT INTO entity_search(rowid, name) VALUES (NEW.id, segment(NEW.name));
END;
CREATE TRIGGER entities_search_delete AFTER DELETE ON entities BEGIN
    INSERT INTO entity_search(entity_search, rowid, name) VALUES ('delete', OLD.id, segment(OLD.name));
END;
