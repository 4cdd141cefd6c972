"""The language a feed declares for its items, read from RSS, Atom and JSON Feed documents
(captured real feeds and small ones built to order), and which edition it makes an item."""

from __future__ import annotations

import json

import aiohttp
import pytest

from bot.ingest.language import declared_edition, detected_language, item_language
from tests.bot.ingest.feeds.helpers import fetch_and_parse
from tests.support.feed_server import FeedServer


async def languages(server: FeedServer, session: aiohttp.ClientSession, name: str) -> list[str]:
    _, parsed = await fetch_and_parse(session, server.url(name))
    assert parsed.entries
    return [entry.language or "" for entry in parsed.entries]


@pytest.mark.parametrize(
    ("name", "declared"),
    [
        ("chfr_faz_de_rss2.xml", "de-de"),  # RSS 2.0 <channel><language>
        ("chfr_orf_at_rss1_rdf.xml", "de"),  # RSS 1.0 <dc:language>
        ("fdr_theguardian_world_rss2.xml", "en-gb"),
        ("frs_ilmessaggero_it_rss2.xml", "IT-it"),
        ("r2e_bbc_chinese_atom.xml", "zh-Hans"),  # xml:lang on each entry's title
        ("rsa_v2ex_no_id_no_summary_no_url.xml", "en"),  # xml:lang on the content
        ("r2e_nodejs_blog_v1_rss2.xml", "English"),  # a name, not a tag
        ("nnw_kc0011_gb2312_rss.xml", "zh-cn"),
    ],
)
async def test_real_feeds_declarations_reach_their_entries(
    server: FeedServer, session: aiohttp.ClientSession, name: str, declared: str
) -> None:
    assert set(await languages(server, session, name)) == {declared}


async def test_a_feed_that_declares_nothing_leaves_its_entries_undeclared(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    assert set(await languages(server, session, "chfr_lemonde_fr_rss2.xml")) == {""}


async def test_an_items_own_language_comes_before_its_channels(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    server.set_file(
        "mixed.xml",
        b'<?xml version="1.0" encoding="utf-8"?>'
        b'<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        b"<title>Mixed</title><link>https://m.example/</link><language>de-de</language>"
        b"<item><guid>a</guid><title>Regierung tritt zurueck</title></item>"
        b"<item><guid>b</guid><title>Government resigns</title>"
        b"<dc:language>en-GB</dc:language></item>"
        b"</channel></rss>",
    )
    assert await languages(server, session, "mixed.xml") == ["de-de", "en-GB"]


async def test_atom_xml_lang_of_an_entry_comes_before_the_feeds(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    server.set_file(
        "lang.atom",
        '<?xml version="1.0" encoding="utf-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en-us">'
        "<title>Wire</title><id>urn:wire</id><updated>2024-05-01T00:00:00Z</updated>"
        "<entry><id>urn:1</id><title>Talks resume</title>"
        "<updated>2024-05-01T00:00:00Z</updated></entry>"
        '<entry xml:lang="zh-TW"><id>urn:2</id><title>會談恢復</title>'
        "<updated>2024-05-01T00:00:00Z</updated></entry>"
        "</feed>".encode(),
    )
    assert await languages(server, session, "lang.atom") == ["en-us", "zh-TW"]


async def test_json_feed_languages_of_the_feed_and_its_items(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Wire",
        "language": "zh-Hant",
        "items": [
            {"id": "1", "url": "https://w.example/1", "title": "會談恢復"},
            {"id": "2", "url": "https://w.example/2", "title": "Talks", "language": "en"},
        ],
    }
    server.set_file("wire.json", json.dumps(doc).encode())
    assert await languages(server, session, "wire.json") == ["zh-Hant", "en"]


@pytest.mark.parametrize(
    ("declared", "edition"),
    [
        ("zh", "zh"),
        ("zh-TW", "zh"),
        ("zh-Hant", "zh"),
        ("zh_CN", "zh"),
        ("ZH-cn", "zh"),
        ("zh-Hant-HK", "zh"),
        ("yue", "zh"),
        ("cmn-Hans-CN", "zh"),
        ("Chinese", "zh"),
        ("中文", "zh"),
        ("en", "en"),
        ("en-GB", "en"),
        ("English", "en"),
        ("de-de", "en"),  # every language not Chinese is the English edition's
        ("IT-it", "en"),
        ("ja", "en"),
        ("es-419", "en"),
        ("", None),
        ("  ", None),
        ("{language}", None),
        (None, None),
    ],
)
def test_a_declared_language_is_mapped_onto_the_editions(
    declared: str | None, edition: str | None
) -> None:
    assert declared_edition(declared) == edition


@pytest.mark.parametrize(
    ("title", "summary", "declared", "edition"),
    [
        # A Chinese feed's headline mostly in Latin letters is still Chinese news...
        ("NVIDIA GTC 2024：Blackwell B200 GPU 發表", "", "zh-tw", "zh"),
        ("iPhone 16 Pro", "", "zh-CN", "zh"),
        # ... unless its text has no Chinese at all: a Chinese site's English article.
        ("Premier meets delegation from Europe", "The talks lasted two hours.", "zh-cn", "en"),
        # An English feed's headline with a word or two in characters stays English...
        ("Apple CEO Tim Cook访华", "", "en-us", "en"),
        ("Scholz trifft 习近平 in Peking", "", "de", "en"),
        # ... but a CMS's "en-us" left on Chinese text does not make it English.
        ("最近看异步 IO，发现 curio 真是好", "", "en-us", "zh"),
        ("塵土飛揚", "時代中的一粒灰，落在個人那裡，可能就是一座山。", "en-US", "zh"),
        # Japanese writes Chinese characters too, with kana: it is not Chinese.
        ("NLP を使わず簡単に中国語と日本語を仕分ける方法", "", "en-US", "en"),
        ("『初音ミクの消失』に関するプチ考察", "", "zh-CN", "en"),
        ("日本銀行総裁会見", "", "ja", "en"),
        # A Chinese headline that names a Japanese title in its quotes is Chinese.
        ("《初音ミク》演唱会在上海举行", "", "en", "zh"),
    ],
)
def test_the_declaration_decides_unless_the_text_plainly_says_otherwise(
    title: str, summary: str, declared: str, edition: str
) -> None:
    assert item_language(title, summary, declared) == edition


@pytest.mark.parametrize(
    "title",
    [
        "China names Li Qiang (李强) as premier",
        "Apple CEO Tim Cook访华",
        "OpenAI发布GPT-5 Turbo",
        "Floods close the main road",
        "南方多地遭遇洪水",
    ],
)
def test_without_a_declaration_the_text_decides(title: str) -> None:
    assert item_language(title, "", None) == detected_language(title, "")
    assert item_language(title, "", "{lang}") == detected_language(title, "")
