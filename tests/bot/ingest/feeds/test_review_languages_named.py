"""A feed that declares Japanese or Korean by its name ("Japanese", "日本語", "Korean",
"한국어") rather than its tag: its headlines written in Chinese characters alone, as
Japanese and Korean headlines often are, stay in the English edition, as under "ja" or
"ko"; names of Chinese are read as Chinese, so names of these are read as what they are."""

from __future__ import annotations

import aiohttp
import pytest

from bot.ingest.language import item_language
from tests.bot.ingest.feeds.helpers import fetch_and_parse
from tests.support.feed_server import FeedServer

KANJI_ONLY = "日本銀行総裁会見"  # "Bank of Japan governor's press conference"
HANJA_ONLY = "國會議長選出"  # a Korean headline in hanja


@pytest.mark.parametrize(
    ("declared", "headline"),
    [
        ("ja", KANJI_ONLY),
        ("Japanese", KANJI_ONLY),
        ("japanese", KANJI_ONLY),
        ("日本語", KANJI_ONLY),
        ("ko", HANJA_ONLY),
        ("Korean", HANJA_ONLY),
        ("한국어", HANJA_ONLY),
    ],
)
async def test_a_feed_declaring_japanese_or_korean_by_name_is_not_chinese(
    server: FeedServer, session: aiohttp.ClientSession, declared: str, headline: str
) -> None:
    server.set_file(
        "named.xml",
        (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>News</title><link>https://n.example/</link><language>{declared}</language>"
            f"<item><guid>a</guid><title>{headline}</title>"
            "<link>https://n.example/a</link></item></channel></rss>"
        ).encode(),
    )
    _, parsed = await fetch_and_parse(session, server.url("named.xml"))
    (entry,) = parsed.entries
    assert entry.language == declared
    assert item_language(entry.title, entry.summary, entry.language) == "en"


def test_a_chinese_headline_declared_chinese_by_name_is_still_chinese() -> None:
    assert item_language(KANJI_ONLY, "", "中文") == "zh"
    assert item_language(KANJI_ONLY, "", "Chinese") == "zh"
