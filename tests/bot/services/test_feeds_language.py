"""A feed item's language, end to end: a feed served over HTTP on 127.0.0.1, polled by the
feeds service into a real SQLite archive, and what a server of each language is shown of
it: the preview of a new-events digest (/digest preview) and /search."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.services.feeds.service import FeedService
from storage import Storage
from storage.models import DigestFilters, SearchFilter
from tests.bot.services.feeds_support import (
    MINUTE,
    NOW,
    Clock,
    clock_fixture,  # noqa: F401 -- a fixture, found by pytest as `clock`
    entry,
    server_fixture,  # noqa: F401 -- a fixture, found by pytest as `server`
    service_fixture,  # noqa: F401 -- a fixture, found by pytest as `service`
    session_fixture,  # noqa: F401 -- a fixture, found by pytest as `session`
)
from tests.support.feed_server import FeedServer

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "feed_languages"
OLD = entry("old-1", "Earlier story", link="https://w.example/old", date=NOW - 60 * MINUTE)


def declared_rss(language: str, *items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Wire</title><link>https://w.example/</link><language>{language}</language>"
        f"{''.join(items)}</channel></rss>"
    ).encode()


async def shown(storage: Storage, clock: Clock, language: str) -> list[str]:
    """The headlines /digest preview shows a server of this language."""
    preview = await storage.digests.new_events_for_preview(
        None, DigestFilters(), language=language, now=clock.now
    )
    return sorted(e.brief.headline for e in preview)


async def found(storage: Storage, words: str, language: str) -> list[str]:
    hits = await storage.search.search(SearchFilter(words, language=language))
    return [hit.event.headline for hit in hits]


async def poll(
    service: FeedService, server: FeedServer, clock: Clock, name: str, document: bytes
) -> None:
    """The feed, added with its old item as history, brings this document ten minutes on."""
    result = await service.add_feed(server.url(name))
    clock.now = NOW + 10 * MINUTE
    server.set_file(name, document)
    outcome = await service.poll_feed(result.feed, clock.now)
    assert outcome.error is None and outcome.announced


async def test_a_taiwanese_feed_declaring_zh_tw_is_chinese_news(
    storage: Storage, server: FeedServer, service: FeedService, clock: Clock
) -> None:
    """A headline mostly in Latin letters, product names around one word in characters, is
    Chinese news when its feed says so: a Chinese server's digest and search show it."""
    server.set_file("tw.xml", declared_rss("zh-tw", OLD))
    await poll(
        service,
        server,
        clock,
        "tw.xml",
        declared_rss(
            "zh-tw",
            entry("tw-1", "NVIDIA GTC 2024：Blackwell B200 GPU 發表", date=NOW + 5 * MINUTE),
            entry("tw-2", "台積電 2 奈米製程明年量產", date=NOW + 4 * MINUTE),
            OLD,
        ),
    )
    chinese = ["NVIDIA GTC 2024：Blackwell B200 GPU 發表", "台積電 2 奈米製程明年量產"]
    assert await shown(storage, clock, "zh") == chinese
    assert await shown(storage, clock, "en") == []
    assert await found(storage, "Blackwell", "zh") == [chinese[0]]
    assert await found(storage, "Blackwell", "en") == []


async def test_a_german_feed_is_an_english_servers_news_whatever_names_it_gives(
    storage: Storage, server: FeedServer, service: FeedService, clock: Clock
) -> None:
    """German is not an edition of the archive: a German feed's items are the English
    edition's, as a German server's locale is, even a headline that names a man in
    characters; a Chinese server is not shown them."""
    server.set_file("de.xml", declared_rss("de-DE", OLD))
    items = [
        entry("de-1", "Scholz trifft 习近平 in Peking", date=NOW + 5 * MINUTE),
        entry("de-2", "Bundestag beschließt den Haushalt", date=NOW + 4 * MINUTE),
    ]
    await poll(service, server, clock, "de.xml", declared_rss("de-DE", *items, OLD))
    german = ["Bundestag beschließt den Haushalt", "Scholz trifft 习近平 in Peking"]
    assert await shown(storage, clock, "en") == german
    assert await shown(storage, clock, "zh") == []
    assert await found(storage, "Scholz", "en") == [german[1]]


async def test_a_cms_default_en_us_on_a_chinese_and_japanese_blog_is_overruled_by_its_text(
    storage: Storage, server: FeedServer, service: FeedService, clock: Clock
) -> None:
    """A real WordPress feed that declares en-US over posts in Chinese, Japanese and
    English: the Chinese posts are Chinese news; the Japanese and English ones are not."""
    server.set_file("blog.xml", (SAMPLES / "1a23_studio_zh_ja_rss2.xml").read_bytes())
    added = await service.add_feed(server.url("blog.xml"), backfill=4)  # posts of 2020
    assert len(added.outcome.announced) == 4
    assert await shown(storage, clock, "zh") == ["塵土飛揚", "数字：「兆」与万位分隔符"]
    assert await shown(storage, clock, "en") == ["Plltxe", "『初音ミクの消失』に関するプチ考察"]


async def test_a_chinese_feeds_english_article_is_english_news(
    storage: Storage, server: FeedServer, service: FeedService, clock: Clock
) -> None:
    server.set_file("cn.xml", declared_rss("zh-CN", OLD))
    items = [
        entry(
            "cn-1",
            "Premier meets a trade delegation from Europe",
            text="The talks lasted two hours, the ministry said.",
            date=NOW + 5 * MINUTE,
        ),
        entry("cn-2", "iPhone 16 Pro", date=NOW + 4 * MINUTE),  # a product, in any language
    ]
    await poll(service, server, clock, "cn.xml", declared_rss("zh-CN", *items, OLD))
    assert await shown(storage, clock, "en") == ["Premier meets a trade delegation from Europe"]
    assert await shown(storage, clock, "zh") == ["iPhone 16 Pro"]


async def test_a_corrected_item_keeps_the_language_its_feed_declares(
    storage: Storage, server: FeedServer, service: FeedService, clock: Clock
) -> None:
    server.set_file("tw.xml", declared_rss("zh-TW", OLD))
    headline = "NVIDIA GTC 2024：Blackwell B200 GPU 發表"
    item = entry("tw-1", headline, date=NOW + 5 * MINUTE)
    await poll(service, server, clock, "tw.xml", declared_rss("zh-TW", item, OLD))
    (event_id,) = [hit.event.id for hit in await storage.search.search(SearchFilter("Blackwell"))]

    corrected = entry("tw-1", "NVIDIA GTC 2024：Blackwell B200 Ultra GPU 發表", date=NOW)
    server.set_file("tw.xml", declared_rss("zh-TW", corrected, OLD))
    feed = (await storage.feeds.list())[0]
    outcome = await service.poll_feed(feed, clock.now + dt.timedelta(minutes=10))
    assert outcome.error is None
    event = await storage.events.get(event_id)
    assert event is not None and "Ultra" in event.headline and event.lang == "zh"
    assert await found(storage, "Ultra", "zh") == [event.headline]
