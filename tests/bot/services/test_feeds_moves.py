"""A feed that moved: for good (301, 308) it is followed to its new address, which becomes
the feed's (`feeds list` shows it, the log says so, the old one is not asked again); for a
while (302, 307) it keeps its address. A move onto another feed's address is settled."""

from __future__ import annotations

import logging

import pytest

from bot.errors import InvalidInput
from bot.services.feeds.service import FeedService
from storage import Storage
from tests.bot.services.feeds_support import (
    MINUTE,
    NOW,
    Clock,
    clock_fixture,  # noqa: F401 -- a fixture, found by pytest as `clock`
    current,
    entry,
    html_page,
    rss,
    server_fixture,  # noqa: F401 -- a fixture, found by pytest as `server`
    service_fixture,  # noqa: F401 -- a fixture, found by pytest as `service`
    session_fixture,  # noqa: F401 -- a fixture, found by pytest as `session`
    stories,
)
from tests.support.feed_server import FeedServer

BASE = entry(
    "base",
    "Ministers meet in Brussels to discuss the budget",
    link="https://wire.example/base",
    date=NOW,
)


@pytest.mark.parametrize("status", [301, 308])
async def test_a_feed_moved_for_good_is_followed_at_its_new_address(
    storage: Storage,
    server: FeedServer,
    service: FeedService,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    """The site moves its feed for good. The feed's address becomes the new one (what
    `feeds list` shows), the log says so, and the old address, which will go away, is
    not asked again; what the feed brings meanwhile is news as before."""
    server.set_file("new.xml", rss(BASE))
    added = await service.add_feed(server.url("new.xml"))
    server.redirect("new.xml", "newer.xml", status=status)
    server.set_file("newer.xml", rss(BASE))
    caplog.set_level(logging.INFO)
    clock.now = NOW + 11 * MINUTE
    moved = await service.poll_feed(added.feed)

    (feed,) = await storage.feeds.list()
    assert feed.url == server.url("newer.xml") and feed.active
    assert moved.status == "not_modified" and moved.url == server.url("newer.xml")
    assert any(
        f"feed {feed.id} moved for good (a permanent redirect) from {server.url('new.xml')}"
        f" to {server.url('newer.xml')}" in r.getMessage()
        for r in caplog.records
    )
    server.set_status("new.xml", 404)  # the old address goes away
    clock.now = NOW + 22 * MINUTE
    server.set_file("newer.xml", rss(entry("n1", "Harbour strike ends", date=clock.now), BASE))
    polled = await service.poll_feed(await current(storage, feed))
    assert polled.ok and len(polled.announced) == 1
    assert server.request_count("new.xml") == 2  # the add and the poll that found the move


@pytest.mark.parametrize("status", [302, 307])
async def test_a_feed_moved_for_a_while_keeps_its_address(
    storage: Storage, server: FeedServer, service: FeedService, clock: Clock, status: int
) -> None:
    server.set_file("f.xml", rss(BASE))
    added = await service.add_feed(server.url("f.xml"))
    server.redirect("f.xml", "elsewhere.xml", status=status)
    server.set_file("elsewhere.xml", rss(BASE))
    clock.now = NOW + 11 * MINUTE
    assert (await service.poll_feed(added.feed)).ok
    assert (await current(storage, added.feed)).url == server.url("f.xml")


async def test_a_feed_added_at_an_address_it_left_is_added_at_its_new_one(
    storage: Storage, server: FeedServer, service: FeedService
) -> None:
    """`feeds add` of an old address: the feed is added where it is now, and says so; an
    address that leads to a feed already followed is refused, naming both."""
    server.set_file("new.xml", rss(BASE))
    server.redirect("old.xml", "new.xml", status=301)
    added = await service.add_feed(server.url("old.xml"))
    assert added.feed.url == server.url("new.xml")
    assert added.moved_from == server.url("old.xml")
    server.redirect("older.xml", "new.xml", status=308)
    with pytest.raises(InvalidInput) as refused:
        await service.add_feed(server.url("older.xml"))
    assert str(refused.value) == (
        f"{server.url('new.xml')} (where {server.url('older.xml')} moved for good) is already"
        f" feed {added.feed.id} (Test Wire)."
    )


async def test_a_feed_moved_onto_a_feed_already_followed_is_disabled_saying_so(
    storage: Storage, server: FeedServer, service: FeedService, clock: Clock
) -> None:
    """The operator follows a site at two addresses; one now moves to the other for good.
    The one polled there goes on; the other is disabled, and `feeds list` says why and
    what to do, rather than both polling one document."""
    server.set_file("a.xml", rss(BASE))
    server.set_file("b.xml", rss(BASE))
    a = await service.add_feed(server.url("a.xml"), name="Old address")
    b = await service.add_feed(server.url("b.xml"), name="New address")
    server.redirect("a.xml", "b.xml", status=301)
    clock.now = NOW + 11 * MINUTE
    outcome = await service.poll_feed(a.feed)

    assert outcome.status == "disabled"
    old, new = await storage.feeds.list()
    assert not old.active and old.url == server.url("a.xml")
    assert old.disabled_reason == (
        f"moved for good to {server.url('b.xml')}, which feed {b.feed.id} (New address) polls"
        f" already; remove this one: chronicle feeds remove {a.feed.id}"
    )
    assert new.active and new.url == server.url("b.xml")


async def test_a_feed_moved_onto_a_disabled_feed_s_address_takes_it(
    storage: Storage, server: FeedServer, service: FeedService, clock: Clock
) -> None:
    """The address it moves to is a feed disabled long ago: that one gives it up (removed,
    its events stay), and the feed moves there."""
    server.set_file("a.xml", rss(BASE))
    server.set_file("b.xml", rss(*stories("gone", 2)))
    a = await service.add_feed(server.url("a.xml"))
    b = await service.add_feed(server.url("b.xml"))
    await storage.feeds.disable(b.feed.id, at=NOW, reason="11 consecutive failures")
    server.redirect("a.xml", "b.xml", status=308)
    server.set_file("b.xml", rss(BASE))
    clock.now = NOW + 11 * MINUTE
    assert (await service.poll_feed(a.feed)).ok

    (feed,) = await storage.feeds.list()
    assert feed.id == a.feed.id and feed.url == server.url("b.xml") and feed.active
    for event_id in b.outcome.created:
        assert await storage.events.get(event_id) is not None


async def test_a_permanent_redirect_to_a_page_that_is_no_feed_moves_nothing(
    storage: Storage, server: FeedServer, service: FeedService, clock: Clock
) -> None:
    """Sites that drop a feed send it to their home page for good: that is a failure of
    the feed, recorded as any other, and its address stays what the operator gave."""
    server.set_file("f.xml", rss(BASE))
    added = await service.add_feed(server.url("f.xml"))
    server.set_file("home.html", html_page(title="Welcome"), content_type="text/html")
    server.redirect("f.xml", "home.html", status=301)
    clock.now = NOW + 11 * MINUTE
    outcome = await service.poll_feed(added.feed)
    assert outcome.status == "failed" and outcome.error_kind == "not_a_feed"
    assert (await current(storage, added.feed)).url == server.url("f.xml")


async def test_a_private_feed_moved_on_its_own_site_keeps_its_login(
    storage: Storage, server: FeedServer, service: FeedService, clock: Clock
) -> None:
    """The login goes with the feed to its new address on the same site: fetched with it,
    stored with it, and shown masked."""
    login = "http://alice:s3cretpw@"
    server.set_file("old.xml", rss(BASE))
    added = await service.add_feed(server.url("old.xml").replace("http://", login))
    server.redirect("old.xml", server.url("new.xml"), status=301)
    server.set_file("new.xml", rss(BASE))
    clock.now = NOW + 11 * MINUTE
    outcome = await service.poll_feed(added.feed)
    assert (await current(storage, added.feed)).url == server.url("new.xml").replace(
        "http://", login
    )
    assert server.last_headers("new.xml")["Authorization"].startswith("Basic ")
    assert outcome.url == server.url("new.xml").replace("http://", "http://alice:***@")
