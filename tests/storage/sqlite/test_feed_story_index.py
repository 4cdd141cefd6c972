"""The SQLite feed repository's day index of headlines: the candidates it offers the
same-story decision, and how it mends itself from the rows."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Any

from bot.services.feeds import stories
from storage import Storage, open_storage
from storage.keys import make_key
from storage.models import (
    PageRecord,
    SourceRecord,
)
from storage.sqlite import SQLiteStorage
from storage.sqlite import feeds as sqlite_feeds
from storage.sqlite.db import connect_plain
from tests.storage.feeds_support import DAY, HEADLINE, T0, item, store
from tests.support.archives import archive_at_schema


def test_the_day_index_offers_every_headline_the_decision_compares() -> None:
    assert sqlite_feeds.MIN_HEADLINE_TOKENS <= stories.MIN_HEADLINE_TOKENS


async def test_a_headline_rewritten_since_it_was_cached_is_read_from_its_row(
    storage: SQLiteStorage,
) -> None:
    a = await storage.feeds.add("https://a.example/feed", "A", now=T0)
    b = await storage.feeds.add("https://b.example/feed", "B", now=T0)
    first = await store(storage, a.id, item("a-1", link="https://a.example/1"))
    rewritten = "Glacier collapse blocks a valley road in the Alps"
    async with storage.db.transaction() as conn:  # e.g. an archive import rewrote it
        await conn.execute(
            "UPDATE events SET headline = ? WHERE id = ?", (rewritten, first.created[0])
        )
    # The cached headline is the old one: the row says it is another story now.
    second = await store(storage, b.id, item("b-1", link="https://b.example/1"))
    assert len(second.created) == 1 and second.merged == []
    # And it is found by the headline it has now.
    c = await storage.feeds.add("https://c.example/feed", "C", now=T0)
    third = await store(storage, c.id, item("c-1", rewritten, link="https://c.example/1"))
    assert third.created == [] and third.merged == first.created


def archive_page(key_slug: str = "archive-story", *urls: str, **fields: Any) -> PageRecord:
    return PageRecord(
        key=make_key(DAY, key_slug),
        date=DAY,
        headline=HEADLINE,
        sources=tuple(SourceRecord(url.split("/")[2], url) for url in urls),
        **fields,
    )


async def test_feed_sources_from_before_migration_0009_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    key = make_key(DAY, "archive-story")
    archive_at_schema(path, 8, [(key, DAY.isoformat(), HEADLINE)])
    with closing(connect_plain(path)) as db:
        db.execute(
            "INSERT INTO feeds(url, name, added_at, next_poll_at) VALUES ('https://a.example/f',"
            " 'A', 'x', 'x')"
        )
        db.execute("INSERT INTO feed_entries VALUES (1, 'a-1', 1, 'x')")
        db.executemany(
            "INSERT INTO sources(event_id, position, name, url) VALUES (1, ?, ?, ?)",
            [(0, "ind.example", "https://ind.example/a"), (1, "A", "https://a.example/1")],
        )
    async with await open_storage(path) as storage:
        await storage.events.import_batch([archive_page("archive-story", "https://bbc.example/b")])
        rows = await storage.db.fetchall(
            "SELECT name, url FROM sources WHERE event_id = 1 ORDER BY position"
        )
    assert [tuple(row) for row in rows] == [
        ("bbc.example", "https://bbc.example/b"),
        ("A", "https://a.example/1"),
    ]


async def test_stale_cache_never_merges_into_a_deleted_event(storage: Storage) -> None:
    a = await storage.feeds.add("https://a.example/feed", "A", now=T0)
    b = await storage.feeds.add("https://b.example/feed", "B", now=T0)
    first = await store(storage, a.id, item("a-1", link="https://a.example/1"))
    async with storage.db.transaction() as conn:  # e.g. an archive merge removed it
        await conn.execute("DELETE FROM events WHERE id = ?", (first.created[0],))
    second = await store(storage, b.id, item("b-1", link="https://b.example/1"))
    assert len(second.created) == 1 and second.merged == []


async def test_queries_use_their_indexes(storage: Storage) -> None:
    plans = {
        "due": (
            "SELECT id FROM feeds WHERE status = 'active' AND next_poll_at <= ?"
            " ORDER BY next_poll_at, id",
            ("x",),
            "feeds_due",
        ),
        "seen": (
            "SELECT identity FROM feed_entries WHERE feed_id = ? AND identity IN (?, ?)",
            (1, "a", "b"),
            "PRIMARY KEY",
        ),
        "link": (
            "SELECT event_id FROM sources WHERE url = ? AND is_image = 0 ORDER BY event_id LIMIT 1",
            ("u",),
            "sources_by_url",
        ),
        "day": (
            "SELECT id, headline FROM events WHERE date = ? AND id > ? AND complete = 1",
            ("2024-05-01", 0),
            "events_by_date",
        ),
    }
    for name, (sql, params, index) in plans.items():
        rows = await storage.db.fetchall("EXPLAIN QUERY PLAN " + sql, params)
        detail = " ".join(row[3] for row in rows)
        assert index in detail and "SCAN" not in detail.replace("SCAN CONSTANT", ""), (
            name,
            detail,
        )
