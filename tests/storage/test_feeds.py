"""FeedRepository against a real database, a feed as a row: added, listed, due, moved,
disabled, failing and removed; links stored before kept without logins."""

from __future__ import annotations

import datetime as dt

import pytest

from storage import Storage
from storage.models import FeedExistsError
from tests.storage.conftest import BACKENDS, OpenArchive
from tests.storage.feeds_support import T0, item, sources, store

# --- feeds ----------------------------------------------------------------------------------


async def test_add_list_due_and_remove(storage: Storage) -> None:
    a = await storage.feeds.add("https://a.example/feed", "A", now=T0)
    b = await storage.feeds.add(
        "https://b.example/rss", "B", now=T0, next_poll_at=T0 - dt.timedelta(minutes=1)
    )
    assert a.active and a.next_poll_at == T0 and a.added_at == T0 and not a.baseline_done
    assert [f.id for f in await storage.feeds.list()] == [a.id, b.id]
    # Longest waiting first; not yet due feeds are left out.
    assert [f.id for f in await storage.feeds.due(T0)] == [b.id, a.id]
    assert [f.id for f in await storage.feeds.due(T0, limit=1)] == [b.id]
    assert await storage.feeds.due(T0 - dt.timedelta(minutes=2)) == []
    assert (await storage.feeds.get_by_url("https://b.example/rss")) == b

    with pytest.raises(FeedExistsError) as info:
        await storage.feeds.add("https://a.example/feed", "again", now=T0)
    assert info.value.feed.id == a.id

    stored = await store(storage, a.id, item("guid-1", link="https://a.example/1"))
    assert await storage.feeds.remove(a.id)
    assert not await storage.feeds.remove(a.id)
    assert await storage.feeds.get(a.id) is None
    # Its entries are forgotten, its event stays in the archive.
    assert await storage.feeds.event_feeds(stored.created[0]) == []
    assert await storage.events.get(stored.created[0]) is not None


async def test_a_feed_moves_to_a_new_url_or_is_disabled(storage: Storage) -> None:
    """A feed that moved for good takes its new URL (not one another feed has); one
    disabled for a reason of the caller's says so."""
    a = await storage.feeds.add("http://a.example/feed", "A", now=T0)
    b = await storage.feeds.add("https://b.example/feed", "B", now=T0)
    moved = await storage.feeds.move(a.id, "https://a.example/feed")
    assert moved is not None and moved.url == "https://a.example/feed"
    assert await storage.feeds.get_by_url("https://a.example/feed") == moved
    assert await storage.feeds.get_by_url("http://a.example/feed") is None
    with pytest.raises(FeedExistsError) as taken:
        await storage.feeds.move(a.id, b.url)
    assert taken.value.feed == b
    assert (await storage.feeds.get(a.id)) == moved  # unchanged

    disabled = await storage.feeds.disable(a.id, at=T0, reason="moved onto feed 2")
    assert disabled is not None and not disabled.active
    assert (disabled.disabled_reason, disabled.disabled_at) == ("moved onto feed 2", T0)
    assert [f.id for f in await storage.feeds.active()] == [b.id]
    await storage.feeds.remove(a.id)
    assert await storage.feeds.move(a.id, "https://c.example/feed") is None
    assert await storage.feeds.disable(a.id, at=T0, reason="gone") is None


async def test_record_failure_and_counts(storage: Storage) -> None:
    feed = await storage.feeds.add("https://a.example/feed", "A", now=T0)
    await storage.feeds.add("https://b.example/feed", "B", now=T0)
    assert await storage.feeds.counts() == {"feeds": 2, "feeds_failing": 0}
    failed = await storage.feeds.record_failure(
        feed.id,
        at=T0,
        kind="http_status",
        reason="HTTP 503 Service Unavailable from https://a.example/feed",
        consecutive_failures=1,
        first_parse_failure_at=None,
        next_poll_at=T0 + dt.timedelta(minutes=5),
    )
    assert failed is not None and failed.active and failed.consecutive_failures == 1
    assert failed.last_error_kind == "http_status" and failed.last_error_at == T0
    assert await storage.feeds.counts() == {"feeds": 2, "feeds_failing": 1}
    disabled = await storage.feeds.record_failure(
        feed.id,
        at=T0,
        kind="not_a_feed",
        reason="an HTML page",
        consecutive_failures=2,
        first_parse_failure_at=T0,
        next_poll_at=T0 + dt.timedelta(minutes=10),
        disabled_reason="not a feed for more than a day",
    )
    assert disabled is not None and not disabled.active
    assert disabled.disabled_reason == "not a feed for more than a day"
    assert disabled.first_parse_failure_at == T0 and disabled.disabled_at == T0
    assert [f.url for f in await storage.feeds.due(T0 + dt.timedelta(days=9))] == [
        "https://b.example/feed"
    ]
    assert await storage.feeds.counts() == {"feeds": 2, "feeds_failing": 1}

    again = await storage.feeds.reactivate(feed.id, now=T0, backfill=3)
    assert again is not None and again.active and again.consecutive_failures == 0
    assert not again.baseline_done and again.backfill == 3
    assert again.last_error == "an HTML page"  # the record stays


# The migration that takes the login out of the links private feeds' items got before.
LINKS_WITHOUT_LOGINS = {"sqlite": 19, "postgresql": 14}


async def test_an_archive_from_before_keeps_no_feed_login_in_its_links(
    open_archive: OpenArchive, backend: str
) -> None:
    """Before, a private feed's relative item links carried the feed's login
    (http://alice:password@host/news/...), shown on every card: an upgrade takes it out,
    and a link the event already has without it is not kept twice."""
    run = BACKENDS[backend][1]
    storage = await open_archive("upgraded")
    feed = await storage.feeds.add("https://alice:pw@a.example/feed", "Private", now=T0)
    stored = await store(
        storage,
        feed.id,
        item("g1", link="https://alice:pw@a.example/news/1"),
        item("g2", "Earthquake strikes off the coast of Chile", link="http://a.example/2"),
    )
    one, two = stored.created
    await run(
        storage,
        "INSERT INTO sources(event_id, position, name, url, from_feed)"
        " VALUES (?, 1, 'Private', ?, ?), (?, 2, 'Elsewhere', ?, ?), (?, 3, 'Private', ?, ?),"
        " (?, 1, 'Private', ?, ?)",
        (
            one,
            "https://alice:p@ss@a.example/news/1?page=1",
            True,
            one,
            "https://bob:x@b.example/kept-as-given",
            False,
            one,
            "HTTPS://alice:pw@a.example/news/3#top",
            True,
            two,
            "http://alice:pw@a.example/2",
            True,
        ),
    )
    await run(
        storage, "DELETE FROM schema_migrations WHERE version = ?", (LINKS_WITHOUT_LOGINS[backend],)
    )
    await storage.close()
    async with await open_archive("upgraded") as storage:  # the migration runs
        assert await sources(storage, one) == [
            ("Private", "https://a.example/news/1"),
            ("Private", "https://a.example/news/1?page=1"),
            ("Elsewhere", "https://bob:x@b.example/kept-as-given"),  # not a feed's
            ("Private", "HTTPS://a.example/news/3#top"),
        ]
        assert await sources(storage, two) == [("Private", "http://a.example/2")]
        # The feed's own URL keeps its login: the fetch needs it.
        assert (await storage.feeds.list())[0].url == "https://alice:pw@a.example/feed"
