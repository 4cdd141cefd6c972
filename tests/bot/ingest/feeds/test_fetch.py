"""Fetching against a real HTTP server on 127.0.0.1: conditional GET, redirects, limits, errors."""

from __future__ import annotations

import asyncio
import socket
import time

import aiohttp
import pytest

from bot.ingest.feeds.addresses import FetchPolicy
from bot.ingest.feeds.errors import FeedError
from bot.ingest.feeds.fetch import fetch_feed, make_session
from bot.ingest.feeds.parse import parse_feed
from tests.bot.ingest.feeds.helpers import (
    DATA_DIR,
    LOCAL,
    StubResolver,
    fetch_and_parse,
    rss,
)
from tests.support.feed_server import FeedServer

MB = 1024 * 1024


async def test_conditional_get_and_changing_content(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    v1 = (DATA_DIR / "r2e_nodejs_blog_v1_rss2.xml").read_bytes()
    v2 = (DATA_DIR / "r2e_nodejs_blog_v2_rss2.xml").read_bytes()
    server.set_file("node.xml", v1)
    url = server.url("node.xml")

    first = await fetch_feed(session, url, policy=LOCAL)
    assert not first.not_modified and first.status == 200 and first.body == v1
    assert first.etag and first.last_modified
    assert server.last_headers("node.xml")["User-Agent"].startswith("Chronicle/")

    again = await fetch_feed(
        session, url, etag=first.etag, last_modified=first.last_modified, policy=LOCAL
    )
    assert again.not_modified and again.status == 304 and again.body is None
    assert again.etag == first.etag and again.last_modified == first.last_modified
    assert server.last_headers("node.xml")["If-None-Match"] == first.etag

    by_date = await fetch_feed(session, url, last_modified=first.last_modified, policy=LOCAL)
    assert by_date.not_modified

    server.set_file("node.xml", v2)  # the feed changed: the old validators no longer match
    changed = await fetch_feed(session, url, etag=first.etag, policy=LOCAL)
    assert not changed.not_modified and changed.body == v2 and changed.etag != first.etag
    changed_by_date = await fetch_feed(
        session, url, last_modified=first.last_modified, policy=LOCAL
    )
    assert not changed_by_date.not_modified and changed_by_date.body == v2
    assert changed_by_date.last_modified != first.last_modified
    assert server.request_count("node.xml") == 5

    old = await parse_feed(v1, url=url)
    new = await parse_feed(changed.body, url=url)
    # Same guid -> same identity, so storage sees an update, not a new event.
    assert [e.identity for e in old.entries] == [e.identity for e in new.entries]
    assert old.entries[0].published != new.entries[0].published


async def test_five_redirects_are_followed(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    server.redirect_chain("moved.xml", hops=5, target="kde_zeit_de_rss091_iso88591.xml")
    result = await fetch_feed(session, server.url("moved.xml"), policy=LOCAL)
    assert result.status == 200
    assert result.final_url == server.url("kde_zeit_de_rss091_iso88591.xml")
    assert sum(server.requests.values()) == 6


async def test_six_redirects_are_too_many(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    server.redirect_chain("loop.xml", hops=6, target="kde_zeit_de_rss091_iso88591.xml", status=301)
    with pytest.raises(FeedError) as info:
        await fetch_feed(session, server.url("loop.xml"), policy=LOCAL)
    assert info.value.kind == "too_many_redirects"
    assert "more than 5 redirects" in info.value.reason
    assert server.request_count("kde_zeit_de_rss091_iso88591.xml") == 0


@pytest.mark.parametrize(
    ("statuses", "moved"),
    [
        ((301,), True),
        ((308,), True),
        ((301, 308), True),
        ((302,), False),
        ((307,), False),
        ((303,), False),
        ((301, 302), False),  # a temporary hop on the way: the feed has not moved
        ((), False),
    ],
)
async def test_a_feed_moved_for_good_says_where(
    server: FeedServer, session: aiohttp.ClientSession, statuses: tuple[int, ...], moved: bool
) -> None:
    """Every redirect permanent (301, 308): the result says where the feed now is."""
    names = [f"hop{i}.xml" for i in range(len(statuses))] + ["kde_zeit_de_rss091_iso88591.xml"]
    for name, target, status in zip(names, names[1:], statuses, strict=False):
        server.redirect(name, target, status=status)
    result = await fetch_feed(session, server.url(names[0]), policy=LOCAL)
    assert result.status == 200 and result.final_url == server.url(names[-1])
    assert result.moved_to == (server.url(names[-1]) if moved else None)
    # The same on a 304 after the move: the new address answered.
    again = await fetch_feed(
        session,
        server.url(names[0]),
        etag=result.etag,
        last_modified=result.last_modified,
        policy=LOCAL,
    )
    assert again.not_modified and again.moved_to == result.moved_to


async def test_a_login_follows_a_redirect_to_its_host_only(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    """A private feed's login goes with a redirect on its own host (it is the site's), and
    not to another host, which must not see it."""
    login = "http://alice:s3cretpw@"
    server.set_file("new.xml", rss("<item><title>T</title><link>/a</link></item>"))
    server.redirect("old.xml", server.url("new.xml"), status=301)
    other_host = server.url("new.xml").replace("127.0.0.1", "localhost")
    server.redirect("away.xml", other_host, status=301)

    result = await fetch_feed(
        session, server.url("old.xml").replace("http://", login), policy=LOCAL
    )
    assert server.last_headers("new.xml")["Authorization"].startswith("Basic ")
    assert result.moved_to == server.url("new.xml").replace("http://", login)
    result = await fetch_feed(
        session, server.url("away.xml").replace("http://", login), policy=LOCAL
    )
    assert "Authorization" not in server.last_headers("new.xml")
    assert result.moved_to == other_host


async def test_redirect_without_location(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    server.route("noloc.xml", status=302, body=b"")
    with pytest.raises(FeedError) as info:
        await fetch_feed(session, server.url("noloc.xml"), policy=LOCAL)
    assert info.value.kind == "http_status" and "without a Location" in info.value.reason


async def test_relative_links_resolve_against_final_url(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    server.set_file(
        "news/feed.xml",
        rss(
            "<item><title>Path-relative</title><link>story/1.html</link></item>"
            "<item><title>Root-relative</title><link>/world/2.html</link></item>"
            "<item><title>Absolute</title><link>https://example.org/3</link></item>"
            "<item><title>Script</title><link>javascript:alert(1)</link></item>"
        ),
    )
    server.redirect("old/feed.xml", "news/feed.xml", status=301)
    result, parsed = await fetch_and_parse(session, server.url("old/feed.xml"))
    assert result.final_url == server.url("news/feed.xml")
    links = {e.title: e.link for e in parsed.entries}
    assert links == {
        "Path-relative": f"{server.base_url}/news/story/1.html",
        "Root-relative": f"{server.base_url}/world/2.html",
        "Absolute": "https://example.org/3",
        "Script": None,
    }
    assert parsed.link == f"{server.base_url}/"

    # A captured feed whose entry links are all relative (no xml:base).
    _, qemu = await fetch_and_parse(session, server.url("nnw_qemu_atom.xml"))
    assert qemu.entries and all(
        e.link and e.link.startswith(server.base_url + "/") for e in qemu.entries
    )
    # And one that relies on xml:base.
    _, based = await fetch_and_parse(session, server.url("frs_xml_base_atom.xml"))
    assert based.entries[0].link == "https://numi.st/post/2022/travel-uke"


async def test_a_login_in_the_fetched_url_is_in_no_link(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    """A private feed fetched as http://alice:password@host/...: its login is sent (Basic
    auth), and its items' links, resolved against that URL, are shown to every member, so
    they never carry it: relative links, xml:base, JSON Feed, and a login in a link itself."""
    server.set_file(
        "private/feed.xml",
        rss(
            "<item><title>Root-relative</title><link>/news/harbour-strike</link></item>"
            "<item><title>Path-relative</title><link>story/1.html</link></item>"
            "<item><title>Own login</title><link>https://bob:pw2@example.org/3</link></item>"
        ),
    )
    login = server.url("private/feed.xml").replace("http://", "http://alice:s3cretpw@")
    _, parsed = await fetch_and_parse(session, login)
    assert server.last_headers("private/feed.xml")["Authorization"].startswith("Basic ")
    assert {e.title: e.link for e in parsed.entries} == {
        "Root-relative": f"{server.base_url}/news/harbour-strike",
        "Path-relative": f"{server.base_url}/private/story/1.html",
        "Own login": "https://example.org/3",
    }
    # Atom resolved by its xml:base, and a JSON Feed's relative URLs.
    atom = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xml:base="/a/">'
        b"<title>T</title><entry><id>urn:1</id><title>Based</title>"
        b'<link href="x.html"/></entry></feed>'
    )
    based = await parse_feed(atom, url="https://alice:s3cretpw@h.example/private/feed.atom")
    assert based.entries[0].link == "https://h.example/a/x.html"
    json_feed = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "J", "home_page_url": "/",'
        b' "items": [{"id": "1", "title": "Relative", "url": "/j/1"}]}'
    )
    parsed_json = await parse_feed(json_feed, url="https://alice:s3cretpw@h.example/feed.json")
    assert parsed_json.entries[0].link == "https://h.example/j/1"
    assert parsed_json.link == "https://h.example/"


async def test_unknown_host_is_a_network_error() -> None:
    stub = StubResolver({})
    async with make_session(FetchPolicy(), resolver=stub) as guarded:
        with pytest.raises(FeedError) as info:
            await fetch_feed(guarded, "https://no-such-host.test/feed")
    assert info.value.kind == "network" and "could not resolve no-such-host.test" in str(info.value)


async def test_streamed_body_over_limit_is_cut_off(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    # 6 MB, chunked, no Content-Length: the limit must be enforced while reading.
    server.route("huge.xml", stream_bytes=6 * MB)
    with pytest.raises(FeedError) as info:
        await fetch_feed(session, server.url("huge.xml"), policy=LOCAL)
    assert info.value.kind == "too_large"
    assert "body exceeds 5 MB limit" in info.value.reason


async def test_endless_body_is_abandoned(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    server.route("endless.xml", endless=True)
    started = time.monotonic()
    with pytest.raises(FeedError) as info:
        await fetch_feed(session, server.url("endless.xml"), policy=LOCAL)
    assert info.value.kind == "too_large"
    assert time.monotonic() - started < 5
    await asyncio.sleep(0.2)  # let the server notice the hang-up
    assert not server.stream_stats("endless.xml").completed


async def test_content_length_over_limit_refused_before_reading(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    server.set_file("big.xml", b" " * (2 * MB))
    policy = FetchPolicy(allow_private_addresses=True, max_bytes=1 * MB)
    with pytest.raises(FeedError) as info:
        await fetch_feed(session, server.url("big.xml"), policy=policy)
    assert info.value.kind == "too_large"
    assert "Content-Length 2 MB" in info.value.reason and "1 MB limit" in info.value.reason


async def test_gzip_bomb_counted_after_decompression(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    server.set_file("bomb.xml", b"<rss>" + b" " * (6 * MB))
    server.route("bomb.xml", gzip=True)  # ~6 KB on the wire
    with pytest.raises(FeedError) as info:
        await fetch_feed(session, server.url("bomb.xml"), policy=LOCAL)
    assert info.value.kind == "too_large"


async def test_slow_server_times_out(server: FeedServer, session: aiohttp.ClientSession) -> None:
    server.route("slow.xml", delay_s=3)
    policy = FetchPolicy(allow_private_addresses=True, timeout_s=0.3)
    started = time.monotonic()
    with pytest.raises(FeedError) as info:
        await fetch_feed(session, server.url("slow.xml"), policy=policy)
    assert info.value.kind == "timeout"
    assert info.value.reason.startswith("timed out after 0.3 s")
    assert time.monotonic() - started < 2


async def test_timeout_is_total_not_per_read(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    # Headers come at once, then the body drips: every read is quick, the whole is not.
    server.route("kde_zeit_de_rss091_iso88591.xml", drip_delay_s=0.02)
    policy = FetchPolicy(allow_private_addresses=True, timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(FeedError) as info:
        await fetch_feed(session, server.url("kde_zeit_de_rss091_iso88591.xml"), policy=policy)
    assert info.value.kind == "timeout"
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("status", "phrase"),
    [(404, "HTTP 404 Not Found"), (500, "HTTP 500 Internal Server Error"), (410, "HTTP 410 Gone")],
)
async def test_http_error_statuses(
    server: FeedServer, session: aiohttp.ClientSession, status: int, phrase: str
) -> None:
    if status != 404:
        server.set_status("broken.xml", status, b"oops")
    url = server.url("broken.xml")
    with pytest.raises(FeedError) as info:
        await fetch_feed(session, url, policy=LOCAL)
    assert info.value.kind == "http_status" and info.value.http_status == status
    assert info.value.reason == f"{phrase} from {url}"


async def test_connection_refused_is_a_network_error(session: aiohttp.ClientSession) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nobody listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FeedError) as info:
        await fetch_feed(session, f"http://127.0.0.1:{port}/feed.xml", policy=LOCAL)
    assert info.value.kind == "network" and "could not connect" in info.value.reason


async def test_gzip_content_encoding(server: FeedServer, session: aiohttp.ClientSession) -> None:
    name = "mfx_ibash_ru_windows1251_rss2.xml"
    server.route(name, gzip=True)
    result, parsed = await fetch_and_parse(session, server.url(name))
    assert result.body == (DATA_DIR / name).read_bytes()
    assert "gzip" in server.last_headers(name)["Accept-Encoding"]
    assert len(parsed.entries) == 50 and parsed.entries[0].title.startswith("Цитата")
