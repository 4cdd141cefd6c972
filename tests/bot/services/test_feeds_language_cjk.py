"""Japanese and Korean are not Chinese: a feed item written in kana or hangul is the English
edition's (every language that is not Chinese is, as for a server's locale), whether its
feed declares a language or not, while a Chinese headline that gives a Japanese title or a
Korean name in brackets, quotes or beside its Chinese one is still Chinese.

The rule (bot.ingest.language) on its own, then end to end: a feed served over HTTP
on 127.0.0.1, polled by the feeds service into a real SQLite archive, and what a server of
each language is shown of it (/digest preview, /search)."""

from __future__ import annotations

import pytest

from bot.ingest.language import item_language
from bot.services.feeds.service import FeedService
from storage import Storage
from tests.bot.services.feeds_support import (
    MINUTE,
    NOW,
    Clock,
    clock_fixture,  # noqa: F401 -- a fixture, found by pytest as `clock`
    entry,
    rss,
    server_fixture,  # noqa: F401 -- a fixture, found by pytest as `server`
    service_fixture,  # noqa: F401 -- a fixture, found by pytest as `service`
    session_fixture,  # noqa: F401 -- a fixture, found by pytest as `session`
)
from tests.bot.services.test_feeds_language import OLD, declared_rss, found, poll, shown
from tests.support.feed_server import FeedServer

JAPANESE = "NLP を使わず簡単に中国語と日本語を仕分ける方法"
JAPANESE_KANJI_HEAVY = "岸田首相が辞任を表明"  # two kana among seven Chinese characters
KOREAN = "윤석열 대통령 국회 연설"
KOREAN_WITH_HANJA = "文 대통령, 日 수출규제 대응"
# Chinese headlines that write Japanese or Korean: a title in brackets, a name in quotes,
# an agency's Korean name beside its Chinese one (news-zh/2019/11/11 of the archive).
CHINESE_QUOTING_JAPANESE = "宫崎骏新作《君たちはどう生きるか》在华上映"
CHINESE_QUOTING_JAPANESE_CORNERS = "新海诚「すずめの戸締まり」票房破亿"
CHINESE_QUOTING_KOREAN = "在濟州失聯的漁船「海豚號」（돌고래호）已被證實10死8失蹤"
CHINESE_BESIDE_KOREAN = "大韩民国大检察厅 대검찰청"
CHINESE_BORROWING_NO = "我の日常：小城生活记录"  # one "の", as a slogan borrows it


@pytest.mark.parametrize("declared", [None, "", "zh-CN", "zh-Hant", "en-us", "ja", "ko"])
@pytest.mark.parametrize(
    "headline", [JAPANESE, JAPANESE_KANJI_HEAVY, KOREAN, KOREAN_WITH_HANJA], ids=repr
)
def test_japanese_and_korean_are_never_chinese(headline: str, declared: str | None) -> None:
    assert item_language(headline, "", declared) == "en"


@pytest.mark.parametrize("declared", [None, "zh-TW", "en-US"])
@pytest.mark.parametrize(
    "headline",
    [
        CHINESE_QUOTING_JAPANESE,
        CHINESE_QUOTING_JAPANESE_CORNERS,
        CHINESE_QUOTING_KOREAN,
        CHINESE_BESIDE_KOREAN,
        CHINESE_BORROWING_NO,
    ],
    ids=repr,
)
def test_chinese_that_writes_a_japanese_or_korean_name_is_chinese(
    headline: str, declared: str | None
) -> None:
    """Undeclared, declared Chinese, or declared English by a CMS's default: the text is
    plainly Chinese, what it quotes set aside."""
    assert item_language(headline, "", declared) == "zh"


def test_a_japanese_summary_makes_a_chinese_looking_headline_japanese() -> None:
    """A headline all in Chinese characters, as a Japanese one may be, is Japanese news
    when its summary writes kana; the same headline over a Chinese summary is Chinese."""
    headline = "日本首相官邸声明"
    assert item_language(headline, "政府は本日、新たな経済対策を発表した。", None) == "en"
    assert item_language(headline, "日本政府今天宣布了新的经济措施。", None) == "zh"


def test_a_mixed_chinese_and_japanese_text_is_not_chinese() -> None:
    """Kana outside brackets and quotes, however much Chinese is around them, is Japanese."""
    assert item_language("東京オリンピック 開幕式 観客 無し 決定 政府 発表", "", None) == "en"
    assert item_language("ソニーが新型 PlayStation を発表", "", "zh-CN") == "en"


async def test_japanese_and_korean_items_of_a_feed_declaring_nothing_reach_english_servers(
    storage: Storage, server: FeedServer, service: FeedService, clock: Clock
) -> None:
    """A feed without a language, carrying Chinese, Japanese and Korean items: the Japanese
    and Korean ones reach English servers' digests and searches and no Chinese server's;
    the Chinese ones, even those that quote a Japanese title or a Korean name, the other
    way round."""
    server.set_file("asia.xml", rss(OLD))
    items = [
        entry("ja-1", JAPANESE, date=NOW + 5 * MINUTE),
        entry("ko-1", KOREAN, date=NOW + 4 * MINUTE),
        entry("zh-1", CHINESE_QUOTING_JAPANESE, date=NOW + 3 * MINUTE),
        entry("zh-2", CHINESE_BESIDE_KOREAN, date=NOW + 2 * MINUTE),
    ]
    await poll(service, server, clock, "asia.xml", rss(*items, OLD))
    assert await shown(storage, clock, "en") == sorted([JAPANESE, KOREAN])
    assert await shown(storage, clock, "zh") == sorted(
        [CHINESE_QUOTING_JAPANESE, CHINESE_BESIDE_KOREAN]
    )
    assert await found(storage, "日本語", "en") == [JAPANESE]
    assert await found(storage, "日本語", "zh") == []
    assert await found(storage, "使わず", "en") == [JAPANESE]  # kana typed, as written
    assert await found(storage, "대통령", "en") == [KOREAN]
    assert await found(storage, "대통령", "zh") == []
    assert await found(storage, "宫崎骏", "zh") == [CHINESE_QUOTING_JAPANESE]


async def test_a_chinese_feeds_japanese_item_reaches_english_servers(
    storage: Storage, server: FeedServer, service: FeedService, clock: Clock
) -> None:
    """One rule for a declared language and none: a Japanese item of a feed declaring
    zh-CN is not Chinese either, and its Chinese item that gives a Korean name beside its
    Chinese one stays Chinese."""
    server.set_file("cn.xml", declared_rss("zh-CN", OLD))
    items = [
        entry("cn-1", JAPANESE_KANJI_HEAVY, date=NOW + 5 * MINUTE),
        entry("cn-2", CHINESE_BESIDE_KOREAN, date=NOW + 4 * MINUTE),
    ]
    await poll(service, server, clock, "cn.xml", declared_rss("zh-CN", *items, OLD))
    assert await shown(storage, clock, "en") == [JAPANESE_KANJI_HEAVY]
    assert await shown(storage, clock, "zh") == [CHINESE_BESIDE_KOREAN]
