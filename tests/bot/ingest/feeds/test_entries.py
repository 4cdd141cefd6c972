"""Entry rules: identities, titles, summaries, categories and dates of parsed entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.ingest.feeds.entries import entry_identity
from bot.ingest.feeds.parse import parse_feed
from tests.bot.ingest.feeds.helpers import (
    DATA_DIR,
    LONG_TEXT,
    rss,
)
from tests.support.feed_server import FeedServer


async def test_entity_html_cleanup_and_summary_cut() -> None:
    body = rss(
        "<item><guid>g1</guid><title>Tom &amp;amp; Jerry &lt;b&gt;bold&lt;/b&gt;\n   spaced</title>"
        "<link>https://example.org/1</link>"
        "<description><![CDATA[<p>First&nbsp;paragraph.</p><script>evil()</script>"
        "<p>Second &#8220;quoted&#8221; paragraph.<br/>Third&hellip;</p>]]></description>"
        "<category>World</category><category> world </category>"
        "<category>Politics &amp;amp; Law</category><category></category>"
        "<pubDate>Sat, 07 Jan 2017 14:39:39 +0100</pubDate></item>"
        f"<item><guid>g2</guid><title>Long</title><description>{LONG_TEXT}</description>"
        "<pubDate>not a date at all</pubDate></item>"
        "<item><guid>g3</guid><title>Why x&lt;y matters</title></item>"
    )
    parsed = await parse_feed(body, url="https://example.org/feed.xml")
    first, long, plain = parsed.entries
    assert first.title == "Tom & Jerry bold spaced"
    assert first.summary == "First paragraph. Second “quoted” paragraph. Third…"
    assert first.categories == ["World", "Politics & Law"]
    assert first.published == datetime(2017, 1, 7, 13, 39, 39, tzinfo=UTC)

    assert len(long.summary) <= 600 and len(long.summary) > 450
    assert long.summary.endswith("in question.") and LONG_TEXT.startswith(long.summary)
    assert long.published is None

    assert plain.title == "Why x<y matters" and plain.summary == ""


@pytest.mark.parametrize("tag", ["script", "style", "iframe", "noscript", "template"])
async def test_a_script_in_a_title_is_not_the_headline(tag: str) -> None:
    """`<title><![CDATA[<b>Headline</b>]]></title>` is read "Headline"; so is a title that
    holds a script (or a style, an iframe…) before it: what such elements hold is never
    a headline members read."""
    body = rss(
        f"<item><guid>g1</guid><title><![CDATA[<{tag}>alert(1)</{tag}>Headline]]></title></item>"
    )
    parsed = await parse_feed(body, url="https://example.org/feed.xml")
    assert [entry.title for entry in parsed.entries] == ["Headline"]


# A billion laughs: nine levels of entities, each ten of the one below.
LAUGHS = "".join(
    f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
    for i in range(1, 10)
)


async def test_an_entity_the_parser_drops_is_no_raw_reference_in_a_headline() -> None:
    """A document declaring a billion laughs is read safely (the entities are dropped);
    the headline that used one reads "Hello world", not "Hello &lol9; world", while text
    that means an ampersand keeps it."""
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<!DOCTYPE rss [<!ENTITY lol "lol">{LAUGHS}]><rss version="2.0"><channel>'
        "<title>Wire</title><link>https://example.org/</link>"
        "<item><guid>g1</guid><title>Hello &lol9; world</title></item>"
        "<item><guid>g2</guid><title>AT&amp;T; Tom &amp;amp; Jerry &amp;amp;quot;</title></item>"
        "</channel></rss>"
    ).encode()
    parsed = await parse_feed(body, url="https://example.org/feed.xml")
    assert [entry.title for entry in parsed.entries] == [
        "Hello world",
        "AT&T; Tom & Jerry &quot;",
    ]


async def test_identity_rules_in_a_document() -> None:
    body = rss(
        "<item><guid>urn:one</guid><title>With guid</title><link>https://e.org/a</link></item>"
        "<item><title>Link only</title><link>https://e.org/b</link></item>"
        "<item><title>Neither</title><pubDate>Mon, 02 Jan 2017 10:00:00 GMT</pubDate></item>"
        "<item><title>Shared A</title><link>https://e.org/news.html</link></item>"
        "<item><title>Shared B</title><link>https://e.org/news.html</link></item>"
        "<item><guid>urn:one</guid><title>With guid</title><link>https://e.org/a</link></item>"
        "<item><description>No title and no link.</description></item>"
        "<item><link>https://e.org/micro</link><description>Just a thought about feeds. "
        "And more.</description></item>"
    )
    parsed = await parse_feed(body, url="https://e.org/feed")
    by_title = {e.title: e for e in parsed.entries}
    assert list(by_title) == [
        "With guid",
        "Link only",
        "Neither",
        "Shared A",
        "Shared B",
        "Just a thought about feeds. And more.",
    ]
    assert by_title["With guid"].identity == "urn:one"
    assert by_title["Link only"].identity == "https://e.org/b"
    neither = by_title["Neither"].identity
    assert neither.startswith("sha256:") and len(neither) == len("sha256:") + 64
    assert neither == entry_identity(
        guid=None,
        link=None,
        title="Neither",
        published=datetime(2017, 1, 2, 10, tzinfo=UTC),
    )
    shared = {by_title["Shared A"].identity, by_title["Shared B"].identity}
    assert len(shared) == 2 and all(i.startswith("sha256:") for i in shared)
    assert by_title["Just a thought about feeds. And more."].identity == "https://e.org/micro"


async def test_a_guid_that_differing_entries_share_identifies_none_of_them() -> None:
    """A CMS that puts the site's address in every <guid>: each item, with its own title
    and link, is an entry of its own (by its link; by a hash where the link is shared
    too: two items, or one repeated whole, which stays one), and the document's warning
    says so. A GUID that is one item's own stays its identity, repeated or not."""
    body = rss(
        "<item><guid>https://site.example/</guid><title>Harbour</title>"
        "<link>https://site.example/news/1</link></item>"
        "<item><guid>https://site.example/</guid><title>Senate</title>"
        "<link>https://site.example/news/2</link></item>"
        "<item><guid>https://site.example/</guid><title>Glacier one</title>"
        "<link>https://site.example/news/glacier</link></item>"
        "<item><guid>https://site.example/</guid><title>Glacier two</title>"
        "<link>https://site.example/news/glacier</link></item>"
        "<item><guid>https://site.example/</guid><title>Senate</title>"
        "<link>https://site.example/news/2</link></item>"
        "<item><guid>urn:own</guid><title>Own guid</title><link>https://e.org/o</link></item>"
        "<item><guid>urn:own</guid><title>Own guid</title><link>https://e.org/o</link></item>"
    )
    parsed = await parse_feed(body, url="https://site.example/feed")
    identities = {e.title: e.identity for e in parsed.entries}
    assert list(identities) == ["Harbour", "Senate", "Glacier one", "Glacier two", "Own guid"]
    assert identities["Harbour"] == "https://site.example/news/1"
    hashed = {identities[title] for title in ("Senate", "Glacier one", "Glacier two")}
    assert len(hashed) == 3 and all(i.startswith("sha256:") for i in hashed)
    assert identities["Own guid"] == "urn:own"
    assert parsed.warning == (
        "5 entries that differ share the GUID 'https://site.example/'; told apart by their links"
    )


async def test_an_item_repeated_whole_is_one_entry_with_its_guid() -> None:
    """The captured fio_duplicate_guid_rss2.xml: one item three times (only its date
    differs), one GUID: one entry, identified by that GUID, and nothing to warn of."""
    body = (DATA_DIR / "fio_duplicate_guid_rss2.xml").read_bytes()
    parsed = await parse_feed(body, url="http://www.someexamplerssdomain.com/feed")
    (only,) = parsed.entries
    assert only.title == "Example entry" and only.identity.endswith("/unique string per item")
    assert parsed.warning is None


def test_entry_identity_unit() -> None:
    when = datetime(2020, 5, 1, 12, tzinfo=UTC)
    assert entry_identity(guid=" g ", link="https://x/1", title="t", published=when) == "g"
    assert entry_identity(guid="", link="https://x/1", title="t", published=when) == "https://x/1"
    hashed = entry_identity(guid=None, link=None, title="t", published=when)
    assert hashed == entry_identity(guid=None, link=None, title="t", published=when)
    assert hashed != entry_identity(guid=None, link=None, title="t", published=None)
    assert hashed != entry_identity(guid=None, link=None, title="u", published=when)
    shared = entry_identity(
        guid=None, link="https://x/1", title="t", published=when, link_is_shared=True
    )
    assert shared.startswith("sha256:") and shared != hashed


async def test_dates_are_aware_utc_or_none(server: FeedServer) -> None:
    invalid = await parse_feed(
        (DATA_DIR / "fj_invalid_date_format_rss2.xml").read_bytes(), url=server.url("x")
    )
    assert invalid.warning and "no element found" in invalid.warning
    assert all(e.published is None or e.published.tzinfo is UTC for e in invalid.entries)
    nodates = await parse_feed(
        (DATA_DIR / "kde_tagesschau_rss090_iso88591.xml").read_bytes(), url=server.url("x")
    )
    assert nodates.entries and all(e.published is None for e in nodates.entries)


async def test_titles_from_summary_when_missing() -> None:
    parsed = await parse_feed(
        (DATA_DIR / "nnw_scriptingnews_rss.xml").read_bytes(), url="http://scripting.com/rss"
    )
    assert len(parsed.entries) == 49  # 50 items, one repeated whole
    assert all(e.title and len(e.title) <= 300 for e in parsed.entries)


async def test_a_date_keeps_the_offset_its_feed_wrote() -> None:
    """The same instant, at the feed's own offset (RSS and Atom alike): its day is the
    feed's. A date without an offset, or one feedparser read otherwise, stays in UTC."""
    body = rss(
        "<item><guid>nz</guid><title>NZ</title>"
        "<pubDate>Sun, 06 Dec 2026 08:00:00 +1300</pubDate></item>"
        "<item><guid>gmt</guid><title>GMT</title>"
        "<pubDate>Sun, 06 Dec 2026 08:00:00 GMT</pubDate></item>"
        "<item><guid>none</guid><title>None</title>"
        "<pubDate>Sun, 06 Dec 2026 08:00:00 -0000</pubDate></item>"
    )
    nz, gmt, unknown = (await parse_feed(body, url="https://e.org/feed")).entries
    assert nz.published == datetime(2026, 12, 5, 19, tzinfo=UTC)  # the same instant
    assert nz.published is not None and nz.published.utcoffset() == timedelta(hours=13)
    assert nz.published.date().isoformat() == "2026-12-06"
    assert gmt.published == datetime(2026, 12, 6, 8, tzinfo=UTC)
    assert unknown.published is not None and unknown.published.utcoffset() == timedelta(0)
    # The identity of a GUID-less entry hashes the instant, as before: the same entries.
    assert entry_identity(
        guid=None, link=None, title="NZ", published=nz.published
    ) == entry_identity(
        guid=None, link=None, title="NZ", published=datetime(2026, 12, 5, 19, tzinfo=UTC)
    )
    atom = (
        b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        b"<title>Wire</title><id>urn:wire</id><updated>2026-12-06T08:00:00+13:00</updated>"
        b"<entry><id>urn:a</id><title>Samoa</title><link href='https://e.org/a'/>"
        b"<updated>2026-12-05T20:00:00-11:00</updated></entry></feed>"
    )
    (samoa,) = (await parse_feed(atom, url="https://e.org/atom")).entries
    assert samoa.published == datetime(2026, 12, 6, 7, tzinfo=UTC)
    assert samoa.published is not None
    assert samoa.published.tzinfo is not None
    assert samoa.published.utcoffset() == timezone(timedelta(hours=-11)).utcoffset(None)
