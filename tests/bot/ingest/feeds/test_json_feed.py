"""JSON Feed 1.0 and 1.1, and JSON that is not a JSON Feed."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import aiohttp
import pytest

from bot.ingest.feeds.entries import FeedEntry
from bot.ingest.feeds.errors import FeedError
from bot.ingest.feeds.parse import parse_feed
from tests.bot.ingest.feeds.helpers import (
    assert_sane_entries,
    fetch_and_parse,
)
from tests.support.feed_server import FeedServer

JSON_SAMPLE = "chronicle_jsonfeed_v1_1_world_wire.json"


async def test_json_feed_1_1_is_read_into_the_same_records(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    server.route(JSON_SAMPLE, content_type="application/feed+json")
    _, parsed = await fetch_and_parse(session, server.url(JSON_SAMPLE))
    assert "application/feed+json" in server.last_headers(JSON_SAMPLE)["Accept"]
    assert (parsed.title, parsed.link, parsed.warning) == (
        "World Wire — Top Stories",
        "https://wire.example.org/",
        None,
    )
    assert_sane_entries(parsed, name=JSON_SAMPLE)
    by_id = {entry.identity: entry for entry in parsed.entries}
    # The item with neither a title nor a url is skipped, as in RSS.
    assert list(by_id) == [
        "https://wire.example.org/2024/05/01/rotterdam-dock-strike",
        "wire-2024-05-01-0412",
        "wire-2024-05-01-0398",
        "wire-2024-04-30-live-0231",
        "wire-2024-04-30-0377",
        "wire-2024-04-30-0371",
    ]
    # summary wins over content_html; the date is date_published, in UTC; tags are categories.
    assert by_id["https://wire.example.org/2024/05/01/rotterdam-dock-strike"] == FeedEntry(
        identity="https://wire.example.org/2024/05/01/rotterdam-dock-strike",
        title="Dock workers strike at the port of Rotterdam",
        summary="Thousands of dock workers walked out on Wednesday over pay, halting container"
        " traffic at Europe's largest port.",
        link="https://wire.example.org/2024/05/01/rotterdam-dock-strike",
        published=datetime(2024, 5, 1, 7, 30, tzinfo=UTC),
        categories=["Netherlands", "Labour", "Port of Rotterdam"],
        language="en-GB",
    )
    # content_html: markup and scripts go, entities are decoded.
    floods = by_id["wire-2024-05-01-0412"]
    assert floods.summary == (
        "Heavy rain has flooded towns across São Paulo state & closed two motorways."
        " Civil defence officials said more rain is expected."
    )
    assert floods.categories == ["Brazil", "Floods", "São Paulo"]
    # content_text; fractional seconds.
    glacier = by_id["wire-2024-05-01-0398"]
    assert glacier.summary.startswith("A section of glacier collapsed above the Val Ferret road")
    assert glacier.published == datetime(2024, 4, 30, 22, 47, tzinfo=UTC)
    # No title: the first sentence(s) of the text, as for title-less RSS items.
    live = by_id["wire-2024-04-30-live-0231"]
    assert live.title == (
        "Update: the election commission says turnout reached 61 percent, the highest since"
        " 1994. Counting continues overnight."
    )
    assert live.link == "https://wire.example.org/live/2024/04/30#post-231"
    # external_url when there is no url.
    assert by_id["wire-2024-04-30-0377"].link == (
        "https://www.example.com/science/2024/apr/30/deep-sea-cable-repair"
    )
    # date_modified when there is no date_published; a long text is cut at a sentence.
    senate = by_id["wire-2024-04-30-0371"]
    assert senate.published == datetime(2024, 4, 30, 12, 15, tzinfo=UTC)
    assert 300 < len(senate.summary) <= 600 and senate.summary.endswith("within days.")


async def test_json_feed_1_0_and_loose_items() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1",
        "title": "Old &amp; loose",
        "home_page_url": "/",
        "author": {"name": "Someone"},  # 1.0's author, 1.1's authors: neither matters
        "items": [
            {
                "id": 1042,  # the spec: a reader coerces a numeric id to a string
                "url": "/posts/1042",
                "title": "Numeric id",
                "content_text": "Plain text, not <b>markup</b>: x<y.",
                "date_published": "2017-06-27T00:54:17-07:00",
            },
            {"id": "b", "url": "https://old.example/b", "title": "Bad date", "date_published": "?"},
            {
                "id": "c",
                "url": "https://old.example/c",
                "title": "RFC 822 date",
                "date_published": "Tue, 27 Jun 2017 07:54:17 GMT",
            },
            "not an object",
            {"id": "b", "url": "https://old.example/b2", "title": "Same id again"},
            {"url": "https://old.example/d", "title": "No id"},
            {"id": "e", "title": "No link, no text"},
        ],
    }
    parsed = await parse_feed(json.dumps(doc).encode(), url="https://old.example/feed.json")
    assert (parsed.title, parsed.link) == ("Old & loose", "https://old.example/")
    assert parsed.warning == (
        "skipped 1 of the 7 items: not a JSON object; 2 entries that differ share the GUID"
        " 'b'; told apart by their links"
    )
    assert [(e.identity, e.title, e.link) for e in parsed.entries] == [
        ("1042", "Numeric id", "https://old.example/posts/1042"),
        ("https://old.example/b", "Bad date", "https://old.example/b"),
        ("c", "RFC 822 date", "https://old.example/c"),
        ("https://old.example/b2", "Same id again", "https://old.example/b2"),
        ("https://old.example/d", "No id", "https://old.example/d"),
        ("e", "No link, no text", None),
    ]
    first, bad_date, rfc822 = parsed.entries[:3]
    assert first.summary == "Plain text, not markup: x<y."
    assert first.published == rfc822.published == datetime(2017, 6, 27, 7, 54, 17, tzinfo=UTC)
    assert bad_date.published is None

    empty = {"version": "https://jsonfeed.org/version/1.1", "title": "Quiet", "items": []}
    quiet = await parse_feed(json.dumps(empty).encode(), url="https://old.example/feed.json")
    assert quiet.title == "Quiet" and quiet.entries == []


NOT_A_JSON_FEED = (
    'the response is JSON but not a JSON Feed (it has no "version" starting with'
    " https://jsonfeed.org/version/)"
)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            b'{"version": "https://jsonfeed.org/version/1.1", "items": [',
            "the JSON Feed is broken JSON (Expecting value: line 1 column 59 (char 58))"
            " and cannot be read",
        ),
        (b'{"data": [1, 2', "the response is broken JSON (Expecting"),
        (b'{"data": [1, 2, 3]}', NOT_A_JSON_FEED),
        (b'[{"version": "https://jsonfeed.org/version/1.1", "items": []}]', NOT_A_JSON_FEED),
        (b'{"version": "https://example.org/feed/v1", "items": []}', NOT_A_JSON_FEED),
        (
            b'{"version": "https://jsonfeed.org/version/1.1", "title": "No items"}',
            'the JSON Feed (https://jsonfeed.org/version/1.1) has no "items" list',
        ),
        (
            b'{"version": "https://jsonfeed.org/version/1", "items": {"id": "1"}}',
            'the JSON Feed (https://jsonfeed.org/version/1) has no "items" list',
        ),
        (b"[" * 100_000 + b"]" * 100_000, "the response is JSON nested too deeply to read"),
    ],
)
async def test_json_that_is_not_a_json_feed_is_refused(body: bytes, reason: str) -> None:
    with pytest.raises(FeedError) as info:
        await parse_feed(body, url="https://example.org/feed.json")
    assert info.value.kind == "not_a_feed"
    assert info.value.reason.startswith(reason), info.value.reason
