"""Adding and removing feeds: what an add refuses (private addresses, what cannot be a
feed, any failure at add), the feed a web page advertises discovered, and a disabled feed
added again or removed."""

from __future__ import annotations

import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.errors import InvalidInput, NotFound
from bot.ingest.feeds.addresses import FetchPolicy
from bot.ingest.feeds.fetch import make_session
from bot.services.feeds.service import FeedService
from storage import Storage
from tests.bot.services.feeds_support import (
    Clock,
    advert,
    clock_fixture,  # noqa: F401 -- a fixture, found by pytest as `clock`
    current,
    html_page,
    rss,
    server_fixture,  # noqa: F401 -- a fixture, found by pytest as `server`
    service_fixture,  # noqa: F401 -- a fixture, found by pytest as `service`
    session_fixture,  # noqa: F401 -- a fixture, found by pytest as `session`
    stories,
)
from tests.support.feed_server import FeedServer
from tests.support.local_server import free_port

# --- refusals --------------------------------------------------------------------------------


async def test_loopback_refused_when_private_addresses_are_not_allowed(
    storage: Storage, server: FeedServer
) -> None:
    strict = FetchPolicy()
    async with make_session(strict) as session:
        service = FeedService(storage, session, strict, clock=Clock())
        with pytest.raises(InvalidInput) as info:
            await service.add_feed(server.url("kde_zeit_de_rss091_iso88591.xml"))
        assert "127.0.0.1 is a loopback address" in info.value.message
        with pytest.raises(InvalidInput) as info:
            await service.add_feed(f"http://localhost:{server.port}/feed.xml")
        assert "localhost resolves to" in info.value.message
        assert info.value.message.endswith(
            "; set FEED_ALLOW_PRIVATE_ADDRESSES=true to allow feeds on private addresses"
        )
    assert await storage.feeds.list() == [] and sum(server.requests.values()) == 0


async def test_add_refuses_what_cannot_be_a_feed(
    storage: Storage, server: FeedServer, service: FeedService
) -> None:
    server.route("huge.xml", stream_bytes=6 * 1024 * 1024)
    server.set_status("gone.xml", 410)
    cases = {
        "ftp://example.org/feed.xml": "http:// or https://",
        "not a url": "http:// or https://",
        server.url("huge.xml"): "body exceeds 5 MB limit",
        server.url("rsa_egoist_fragment_not_feed.xml"): "HTML page",
        server.url("gone.xml"): "HTTP 410 Gone",
    }
    for url, phrase in cases.items():
        with pytest.raises(InvalidInput) as info:
            await service.add_feed(url)
        assert phrase in info.value.message, url
    assert await storage.feeds.list() == []
    await service.add_feed(server.url("kde_zeit_de_rss091_iso88591.xml"))
    with pytest.raises(InvalidInput, match="already feed 1"):
        await service.add_feed(server.url("kde_zeit_de_rss091_iso88591.xml"))
    with pytest.raises(InvalidInput):
        await service.add_feed(server.url("kde_zeit_de_rss091_iso88591.xml"), backfill=-1)


class NoSuchHost(AbstractResolver):
    """DNS that knows no name (literal addresses never reach a resolver)."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async def close(self) -> None:
        return None


TRY_LATER = "check the address, or try again later"


@pytest.mark.parametrize("failure", ["dns", "timeout", "refused", "503", "429", "404"])
async def test_any_failure_at_add_adds_nothing(
    failure: str, storage: Storage, server: FeedServer
) -> None:
    # A short timeout only where it is the failure (a loaded machine may be slower).
    timeout_s = 0.5 if failure == "timeout" else 30.0
    policy = FetchPolicy(allow_private_addresses=True, timeout_s=timeout_s)
    url = server.url(f"{failure}.xml")
    if failure == "dns":
        url = "http://feeds.example/world.rss"
        expected = f"could not resolve feeds.example: Name or service not known; {TRY_LATER}"
    elif failure == "timeout":
        server.route(f"{failure}.xml", delay_s=5)
        expected = f"timed out after 0.5 s fetching {url}; {TRY_LATER}"
    elif failure == "refused":
        port = free_port()
        url = f"http://127.0.0.1:{port}/feed.xml"
        expected = f"could not connect to 127.0.0.1:{port}: "
    elif failure == "404":
        expected = f"HTTP 404 Not Found from {url}; check the address"
    else:
        server.set_status(f"{failure}.xml", int(failure), b"busy")
        phrase = {"503": "Service Unavailable", "429": "Too Many Requests"}[failure]
        expected = f"HTTP {failure} {phrase} from {url}; try again later"
    async with make_session(policy, resolver=NoSuchHost()) as session:
        service = FeedService(storage, session, policy, clock=Clock())
        with pytest.raises(InvalidInput) as info:
            await service.add_feed(url, backfill=1)
    assert info.value.message.startswith(f"Not added: {expected}"), info.value.message
    if failure == "refused":
        assert info.value.message.endswith(f"; {TRY_LATER}")
    # The operator tries again later; nothing was stored meanwhile.
    assert await storage.feeds.list() == [] and (await storage.stats()).events == 0


async def test_re_adding_a_disabled_feed_follows_the_same_rule(
    storage: Storage, server: FeedServer, service: FeedService
) -> None:
    server.set_file("r.xml", rss(*stories("r", 2)))
    url = server.url("r.xml")
    added = await service.add_feed(url)
    async with storage.db.transaction() as conn:  # as if it had been disabled
        await conn.execute(
            "UPDATE feeds SET status = 'disabled', disabled_reason = 'gone for a week',"
            " consecutive_failures = 11"
        )
    server.set_status("r.xml", 503)
    with pytest.raises(InvalidInput) as info:
        await service.add_feed(url)
    assert info.value.message == (
        f"Not added: HTTP 503 Service Unavailable from {url}; try again later"
    )
    row = await current(storage, added.feed)
    assert not row.active and row.disabled_reason == "gone for a week"
    assert row.consecutive_failures == 11


# --- discovery ------------------------------------------------------------------------------


async def test_add_discovers_the_feed_a_page_advertises(
    storage: Storage, server: FeedServer, service: FeedService
) -> None:
    server.set_file("site/world/feed.xml", rss(*stories("world", 3), title="Wire World"))
    server.set_file(
        "site/index.html",
        html_page(advert("world/feed.xml"), advert("/elsewhere.atom", "application/atom+xml")),
    )
    page_url, feed_url = server.url("site/index.html"), server.url("site/world/feed.xml")
    result = await service.add_feed(page_url, backfill=1)
    assert result.discovered_from == page_url
    assert (result.feed.id, result.feed.url, result.feed.name) == (1, feed_url, "Wire World")
    assert len(result.outcome.created) == 3 and len(result.outcome.announced) == 1
    assert [f.url for f in await storage.feeds.list()] == [feed_url]
    assert server.request_count("elsewhere.atom") == 0  # the first advertised feed only

    # The page again: its feed is already there.
    with pytest.raises(InvalidInput) as info:
        await service.add_feed(page_url)
    assert info.value.message == (
        f"{feed_url} (advertised by {page_url}) is already feed 1 (Wire World)."
    )
    # A feed's own URL is not "discovered".
    server.set_file("plain.xml", rss(*stories("plain", 1)))
    assert (await service.add_feed(server.url("plain.xml"))).discovered_from is None


async def test_discovery_refusals(
    storage: Storage, server: FeedServer, service: FeedService
) -> None:
    blank = server.url("blank/index.html")
    server.set_file("blank/index.html", html_page(title="Blank"))
    missing = server.url("missing/index.html")
    server.set_file("missing/index.html", html_page(advert("feed.xml")))
    server.set_file("loop/index.html", html_page(advert("../blank/index.html")))
    cases = {
        blank: "Not added: the response is an HTML page ('Blank'), not an RSS, Atom or JSON"
        " feed, and the page advertises no feed",
        missing: f"Not added: {missing} advertises the feed {server.url('missing/feed.xml')},"
        f" which failed: HTTP 404 Not Found from {server.url('missing/feed.xml')};"
        " check the address",
        # One step only: an advertised page is not searched for feeds in turn.
        server.url("loop/index.html"): f"Not added: {server.url('loop/index.html')} advertises"
        f" the feed {blank}, which failed: the response is an HTML page ('Blank')",
    }
    for url, message in cases.items():
        with pytest.raises(InvalidInput) as info:
            await service.add_feed(url)
        assert info.value.message.startswith(message), info.value.message
    assert await storage.feeds.list() == []


async def test_an_advertised_feed_goes_through_the_address_guard(
    storage: Storage, server: FeedServer
) -> None:
    # Only the server's own address is allowed; the page points somewhere else on loopback.
    policy = FetchPolicy(allowed_networks=("127.0.0.1/32",), timeout_s=5)
    target = f"http://127.0.0.2:{server.port}/feed.xml"
    page_url = server.url("index.html")
    server.set_file("index.html", html_page(advert(target)))
    async with make_session(policy) as session:
        service = FeedService(storage, session, policy, clock=Clock())
        with pytest.raises(InvalidInput) as info:
            await service.add_feed(page_url)
    assert info.value.message == (
        f"Not added: {page_url} advertises the feed {target}, which failed: refused:"
        f" 127.0.0.2 is a loopback address ({target}); set FEED_ALLOW_PRIVATE_ADDRESSES=true"
        " to allow feeds on private addresses"
    )
    assert await storage.feeds.list() == [] and server.request_count("feed.xml") == 0


# --- removing and adding again --------------------------------------------------------------


async def test_remove_and_re_add_a_disabled_feed(
    storage: Storage, server: FeedServer, service: FeedService
) -> None:
    server.set_file("r.xml", rss(*stories("r", 2)))
    added = await service.add_feed(server.url("r.xml"))
    async with storage.db.transaction() as conn:  # as if it had been disabled
        await conn.execute("UPDATE feeds SET status = 'disabled', disabled_reason = 'x'")
    server.set_file("r.xml", rss(*stories("again", 2), *stories("r", 2)))
    again = await service.add_feed(server.url("r.xml"))
    assert again.reactivated and again.feed.id == added.feed.id and again.feed.active
    # Seen entries stay seen; what came meanwhile is history.
    assert again.outcome.unseen == 2 and again.outcome.announced == []

    removed = await service.remove_feed(str(added.feed.id))
    assert removed.id == added.feed.id and await storage.feeds.list() == []
    assert (await storage.stats()).events == 4  # events stay
    with pytest.raises(NotFound):
        await service.remove_feed(server.url("r.xml"))
