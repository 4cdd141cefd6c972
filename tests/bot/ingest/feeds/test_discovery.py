"""HTML pages served instead of a feed: their title and the feeds they advertise."""

from __future__ import annotations

import aiohttp
import pytest

from bot.ingest.feeds.errors import FeedError
from bot.ingest.feeds.fetch import fetch_feed
from bot.ingest.feeds.parse import parse_feed
from tests.bot.ingest.feeds.helpers import (
    LOCAL,
)
from tests.support.feed_server import FeedServer

GBK_TITLE = "新浪首页 — 新闻中心"


@pytest.mark.parametrize(
    ("head", "content_type", "codec"),
    [
        ('<meta charset="gbk">', "text/html", "gbk"),
        (
            '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">',
            "text/html",
            "gbk",
        ),
        ("", "text/html; charset=GBK", "gbk"),
        ("<meta charset=Shift_JIS>", "text/html", "shift_jis"),
        ('<meta charset="windows-1251">', None, "windows-1251"),
    ],
)
async def test_html_page_title_is_decoded_with_the_page_charset(
    server: FeedServer,
    session: aiohttp.ClientSession,
    head: str,
    content_type: str | None,
    codec: str,
) -> None:
    title = {"gbk": GBK_TITLE, "shift_jis": "ようこそ ニュース", "windows-1251": "Главная"}[codec]
    page = (
        f"<!DOCTYPE html><html><head>{head}<title>{title}</title></head>"
        f"<body><p>{title}</p></body></html>"
    ).encode(codec)
    server.set_file("index.html", page, content_type=content_type)
    result = await fetch_feed(session, server.url("index.html"), policy=LOCAL)
    with pytest.raises(FeedError) as info:
        await parse_feed(result.body or b"", url=result.final_url, content_type=content_type)
    assert info.value.reason == (
        f"the response is an HTML page ({title!r}), not an RSS, Atom or JSON feed,"
        " and the page advertises no feed"
    )


async def test_html_page_carries_the_feeds_it_advertises(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    page = b"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Wire &amp; Co</title>
    <link rel="stylesheet" href="/style.css">
    <link rel="alternate" hreflang="de" href="/de/">
    <link rel="alternate" type="application/json" href="/wp-json/wp/v2/pages/7">
    <link rel="alternate stylesheet" type="text/css" href="/dark.css">
    <link rel="Alternate" type="application/rss+xml; charset=utf-8" href="feeds/top.xml">
    <link rel="alternate" type="application/atom+xml" href="https://other.example/atom">
    <link rel="alternate" type="application/feed+json" href="/feeds/top.json">
    <link rel="alternate" type="application/rss+xml" href="feeds/top.xml">
    <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
    </head><body>
    <a rel="alternate" type="application/rss+xml" href="/not-a-link-element.xml">RSS</a>
    </body></html>"""
    server.set_file("site/index.html", page)
    server.redirect("site/", "site/index.html")
    result = await fetch_feed(session, server.url("site/"), policy=LOCAL)
    with pytest.raises(FeedError) as info:
        await parse_feed(result.body or b"", url=result.final_url)
    base = server.base_url
    # Feed types in document order, relative links against the page's (final) URL, each
    # once; application/json last, since it also labels documents that are not feeds.
    assert info.value.feed_links == (
        f"{base}/site/feeds/top.xml",
        "https://other.example/atom",
        f"{base}/feeds/top.json",
        f"{base}/wp-json/wp/v2/pages/7",
    )
    assert info.value.reason == (
        "the response is an HTML page ('Wire & Co'), not a feed;"
        f" the page advertises the feed {base}/site/feeds/top.xml"
    )

    based = (
        b'<html><head><base href="https://cdn.example/x/"><title>B</title>'
        b'<link rel="alternate" type="application/atom+xml" href="atom.xml"></head></html>'
    )
    with pytest.raises(FeedError) as info:
        await parse_feed(based, url=server.url("b.html"))
    assert info.value.feed_links == ("https://cdn.example/x/atom.xml",)
