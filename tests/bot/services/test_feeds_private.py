"""Private feeds, added with a login or a token in their URL
(``https://alice:password@host/feed.xml``, ``…/feed.atom?token=…``): the login is sent with
every fetch, and never shown: not in the log, not in a stored failure reason, not in the
links of the feed's items that every member sees."""

from __future__ import annotations

import logging
from email.utils import format_datetime

import aiohttp
import pytest

from bot.errors import InvalidInput
from bot.ingest.feeds.addresses import FetchPolicy
from bot.render.embeds import source_lines
from bot.services.feeds.rules import FeedRules
from bot.services.feeds.service import FeedService
from storage import Storage
from tests.bot.services.feeds_support import (
    MINUTE,
    NOW,
    Clock,
    clock_fixture,  # noqa: F401 -- a fixture, found by pytest as `clock`
    current,
    entry,
    rss,
    server_fixture,  # noqa: F401 -- a fixture, found by pytest as `server`
    service_fixture,  # noqa: F401 -- a fixture, found by pytest as `service`
    session_fixture,  # noqa: F401 -- a fixture, found by pytest as `session`
)
from tests.support.feed_server import FeedServer

PASSWORD = "s3cretpw"
TOKEN = "t0ken5ecret"
BASE = entry(
    "base",
    "Ministers meet in Brussels to discuss the budget",
    link="https://wire.example/base",
    date=NOW,
)


def private(server: FeedServer, path: str) -> str:
    """The server's URL of ``path`` with a login and a token, as an operator adds it."""
    return server.url(path).replace("http://", f"http://alice:{PASSWORD}@") + f"?token={TOKEN}"


def leaks(text: str) -> bool:
    return PASSWORD in text or TOKEN in text


async def test_a_private_feed_s_login_is_sent_but_never_logged_nor_stored_in_its_failures(
    storage: Storage,
    server: FeedServer,
    session: aiohttp.ClientSession,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The bot logs every feed it adds, every poll that brings entries and every failure;
    a failure's reason is stored and `feeds list` shows it, and a feed that fails for good
    is disabled with it. Each names the feed's URL, with its password and token masked."""
    service = FeedService(
        storage,
        session,
        FetchPolicy(allow_private_addresses=True, timeout_s=5.0),
        poll_minutes=10,
        rules=FeedRules(disable_after_failures=2),
        clock=clock,
    )
    caplog.set_level(logging.DEBUG)
    server.set_file("f.xml", rss(BASE))
    added = await service.add_feed(private(server, "f.xml"))
    # The login is what the fetch sends (Basic auth), and the token is in the request.
    assert server.last_headers("f.xml")["Authorization"].startswith("Basic ")
    clock.now = NOW + 11 * MINUTE
    server.set_file("f.xml", rss(entry("n1", "Harbour strike ends", date=clock.now), BASE))
    await service.poll_feed(await current(storage, added.feed))
    server.set_status("f.xml", 404)
    for minutes in (22, 60):
        clock.now = NOW + minutes * MINUTE
        outcome = await service.poll_feed(await current(storage, added.feed))

    # (The test server's own access log is not the bot's.)
    said = [r.getMessage() for r in caplog.records if r.name.startswith("bot.")]
    assert not [line for line in said if leaks(line)]
    # What is said still names the feed: its URL, masked.
    assert any("added: http://alice:***@127.0.0.1:" in line for line in said), said
    assert any("token=***" in line and "1 unseen" in line for line in said), said
    feed = await current(storage, added.feed)
    assert feed.status == "disabled"
    assert feed.last_error is not None and feed.disabled_reason is not None
    assert "HTTP 404 Not Found from http://alice:***@127.0.0.1:" in feed.last_error
    assert feed.last_error.endswith("/f.xml?token=***")
    assert not leaks(feed.last_error) and not leaks(feed.disabled_reason)
    assert not leaks(outcome.url) and not leaks(outcome.error or "")


async def test_a_private_feed_s_items_link_to_their_pages_without_its_login(
    storage: Storage, server: FeedServer, service: FeedService
) -> None:
    """Items that link relatively (`<link>/news/...</link>`) resolve against the feed's
    URL; their sources, shown on the event card, in alerts and digests to every member,
    name the page without the operator's login."""
    item = (
        "<item><guid>g1</guid><title>Harbour strike ends after three weeks of talks</title>"
        f"<link>/news/harbour-strike</link><pubDate>{format_datetime(NOW)}</pubDate></item>"
    )
    server.set_file("private/feed.xml", rss(item))
    added = await service.add_feed(private(server, "private/feed.xml"), backfill=1)
    (event_id,) = added.outcome.created
    event = await storage.events.get(event_id)
    assert event is not None
    assert event.brief.url == f"{server.base_url}/news/harbour-strike"
    shown = "\n".join(source_lines(event))
    assert f"[Test Wire]({server.base_url}/news/harbour-strike)" in shown
    assert "alice" not in shown and not leaks(shown)


ATOM = (
    b"<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
    b"<title>Members' wire</title><id>urn:wire</id><updated>2024-05-01T12:00:00Z</updated>"
    b"<entry><id>urn:a1</id><title>Harbour strike ends after three weeks of talks</title>"
    b"<link href='#harbour'/><updated>2024-05-01T12:00:00Z</updated></entry>"
    b"<entry><id>urn:a2</id><title>Senate passes the railway budget after a long night</title>"
    b"<link href=''/><updated>2024-05-01T11:00:00Z</updated></entry>"
    b"</feed>"
)


@pytest.mark.parametrize("kind", ["rss", "atom"])
async def test_items_linking_to_an_anchor_of_the_feed_show_no_token(
    kind: str, storage: Storage, server: FeedServer, service: FeedService
) -> None:
    """Items whose link is only a fragment (`#harbour`) or empty (Atom's `<link href=''/>`)
    point at the feed's own URL: their sources, shown to every member, name it without the
    operator's login and token, and with the query parameters that are no secret."""
    if kind == "rss":
        body = rss(
            *(
                f"<item><guid>g{n}</guid><title>{title}</title><link>{link}</link>"
                f"<pubDate>{format_datetime(NOW)}</pubDate></item>"
                for n, title, link in (
                    (1, "Harbour strike ends after three weeks of talks", "#harbour"),
                    (2, "Senate passes the railway budget after a long night", "#"),
                )
            )
        )
        path = "private/feed.xml"
    else:
        body, path = ATOM, "private/feed.atom"
    server.set_file(path, body)
    added = await service.add_feed(private(server, path) + "&edition=uk", backfill=2)
    links = []
    for event_id in added.outcome.created:
        event = await storage.events.get(event_id)
        assert event is not None
        shown = "\n".join(source_lines(event))
        assert "alice" not in shown and not leaks(shown), shown
        links.append(event.brief.url)
    feed_url = f"{server.url(path)}?edition=uk"
    assert sorted(links) == sorted([f"{feed_url}#harbour", feed_url]), links


async def test_items_whose_links_carry_the_feed_s_token_show_none(
    storage: Storage, server: FeedServer, service: FeedService
) -> None:
    """A private feed that writes its reader's token into every item's link (as private
    podcast and paywall feeds do): the links shown to every member keep the rest of their
    address, not the token."""
    body = rss(
        f"<item><guid>g1</guid><title>Harbour strike ends after three weeks of talks</title>"
        f"<link>{server.url('story/1')}?token={TOKEN}&amp;ref=feed</link>"
        f"<pubDate>{format_datetime(NOW)}</pubDate></item>"
    )
    server.set_file("private/feed.xml", body)
    added = await service.add_feed(private(server, "private/feed.xml"), backfill=1)
    (event_id,) = added.outcome.created
    event = await storage.events.get(event_id)
    assert event is not None
    assert event.brief.url == f"{server.url('story/1')}?ref=feed"
    assert not leaks("\n".join(source_lines(event)))


@pytest.mark.parametrize("password", ["Zx/9+ab", "pa#ss", "pa?ss"], ids=["slash", "hash", "q"])
async def test_a_login_that_breaks_the_url_is_refused_unshown_saying_how_to_write_it(
    password: str, storage: Storage, service: FeedService
) -> None:
    """A generated password holding a '/', '#' or '?', typed as is, breaks the URL: the
    refusal, often pasted into a chat or an issue, shows none of the login, and says how
    such a character is written."""
    with pytest.raises(InvalidInput) as info:
        await service.add_feed(f"https://alice:{password}@feeds.example/private.xml")
    assert info.value.message == (
        "'https://***@feeds.example/private.xml' is not a valid URL: a '/', '#' or '?' in a"
        " user name or password must be written %2F, %23 or %3F."
    )
    assert await storage.feeds.list() == []
