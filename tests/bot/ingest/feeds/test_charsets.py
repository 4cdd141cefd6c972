"""Encodings: the HTTP charset, the XML declaration, and declarations that are wrong."""

from __future__ import annotations

import aiohttp
import pytest

from bot.ingest.feeds.parse import parse_feed
from tests.bot.ingest.feeds.helpers import (
    DATA_DIR,
    fetch_and_parse,
)
from tests.support.feed_server import FeedServer


async def test_charset_from_content_type_is_honoured(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    # These files declare no encoding; only the HTTP header can tell.
    cases = {
        "fp_chardet_koi8r_no_decl_rss.xml": ("koi8-r", "Как пережить новогоднюю ночь"),
        "fp_chardet_gb2312_no_decl_rss.xml": ("gb2312", "不归移民漫画系列：专业工作"),
        "fp_chardet_shift_jis_no_decl_atom.xml": (
            "shift_jis",
            "DrecomRSSに記事投稿が反映されない…",
        ),
        "fp_chardet_euckr_no_decl_rss.xml": ("euc-kr", "EUC-KR 에서 TypeKey 한글닉네임 표시하기"),
    }
    for name, (charset, title) in cases.items():
        server.route(name, content_type=f"application/rss+xml; charset={charset}")
        _, parsed = await fetch_and_parse(session, server.url(name))
        assert [e.title for e in parsed.entries] == [title]


async def test_text_xml_without_charset_uses_xml_declaration(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    # RFC 3023 would make this US-ASCII; real servers mean "look at the document".
    name = "kde_zeit_de_rss091_iso88591.xml"
    server.route(name, content_type="text/xml")
    _, parsed = await fetch_and_parse(session, server.url(name))
    assert parsed.warning is None
    assert "Daniel Cohn-Bendit hält" in parsed.entries[0].summary
    # The relative item link resolves against the URL the feed was fetched from.
    assert parsed.entries[2].link == f"{server.base_url}/wissen/bildung/index"


def cyrillic_rss(declaration: str) -> bytes:
    """A small Russian feed written as UTF-8, whatever ``declaration`` says."""
    return (
        f'<?xml version="1.0" {declaration}?>\n<rss version="2.0"><channel>'
        "<title>Новости</title><item><guid>ru-1</guid><title>Привет, мир — новости дня</title>"
        "<link>https://news.example/1</link><description>Текст «новости».</description></item>"
        "</channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    ("declaration", "content_type", "warning"),
    [
        (
            'encoding="windows-1251"',
            "application/rss+xml",
            "the XML declaration says windows-1251, but the bytes are UTF-8; read them as UTF-8",
        ),
        (
            'encoding="koi8-r"',
            "text/xml",
            "the XML declaration says koi8-r, but the bytes are UTF-8; read them as UTF-8",
        ),
        (
            'encoding="utf-8"',
            "application/rss+xml; charset=ISO-8859-1",
            "the HTTP header says ISO-8859-1, but the bytes are UTF-8; read them as UTF-8",
        ),
        (
            # .NET's XmlWriter over a string writes this on documents then saved as UTF-8.
            'encoding="utf-16"',
            "application/xml",
            "the XML declaration says utf-16, but the document is in an ASCII-based"
            " encoding; read it as UTF-8",
        ),
        (
            'encoding="utf-8"',
            "application/rss+xml; charset=utf-16",
            "the HTTP header says utf-16, but the document is in an ASCII-based encoding;"
            " read it as UTF-8",
        ),
    ],
)
async def test_declared_encoding_that_disagrees_with_the_bytes_is_read(
    server: FeedServer,
    session: aiohttp.ClientSession,
    declaration: str,
    content_type: str,
    warning: str,
) -> None:
    server.set_file("ru.xml", cyrillic_rss(declaration), content_type=content_type)
    _, parsed = await fetch_and_parse(session, server.url("ru.xml"))
    assert parsed.title == "Новости"
    assert [(e.title, e.summary) for e in parsed.entries] == [
        ("Привет, мир — новости дня", "Текст «новости».")
    ]
    assert parsed.warning == warning


async def test_captured_feeds_with_a_wrong_declaration_are_read(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    # Declared windows-1252, written as UTF-8.
    _, euro = await fetch_and_parse(session, server.url("mfx_windows1252_incorrect_prolog.xml"))
    assert euro.title == "Euro €"
    assert euro.warning == (
        "the XML declaration says windows-1252, but the bytes are UTF-8; read them as UTF-8"
    )
    # Declared UTF-8, written as windows-1252: feedparser falls back and says so.
    _, uol = await fetch_and_parse(session, server.url("rssp_uol_noticias_br_wrong_encoding.xml"))
    assert uol.warning == (
        "CharacterEncodingOverride: document declared as utf-8, but parsed as windows-1252"
    )
    assert len(uol.entries) == 15 and "simulações de 2º turno" in uol.entries[0].title
    # A UTF-8 byte order mark outranks a declaration that says otherwise.
    original = (DATA_DIR / "chfr_orf_at_rss1_rdf.xml").read_bytes()
    assert original.startswith(b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>')
    server.set_file("orf.xml", original.replace(b'encoding="UTF-8"', b'encoding="windows-1252"', 1))
    _, orf = await fetch_and_parse(session, server.url("orf.xml"))
    expected = await parse_feed(original, url=server.url("orf.xml"))
    assert [e.title for e in orf.entries] == [e.title for e in expected.entries]
    assert any("ä" in e.title or "ü" in e.title or "ö" in e.title for e in orf.entries)
    assert orf.warning == (
        "the byte order mark says utf-8, but the XML declaration says windows-1252;"
        " read it as utf-8"
    )


def news_with_one_cut_character(declaration: str = 'encoding="utf-8"') -> bytes:
    """A UTF-8 feed whose last title was cut inside its last character (as a CMS cutting
    at N bytes does): one invalid byte in an otherwise UTF-8 document."""
    titles = [
        "Café owners in Zürich protest new rules".encode(),
        "Ministerpräsident besucht Köln".encode(),
        "São Paulo floods: “worst in decades”".encode(),
        "Łódź city council votes on budź".encode()[:-1],  # b"...bud\xc5"
    ]
    items = b"".join(
        b"<item><guid>u%d</guid><link>https://news.example/%d</link><title>%s</title></item>"
        % (i, i, title)
        for i, title in enumerate(titles)
    )
    return (
        (
            f'<?xml version="1.0" {declaration}?><rss version="2.0"><channel><title>News</title>'
            "<link>https://news.example/</link>"
        ).encode()
        + items
        + b"</channel></rss>"
    )


EXPECTED_TITLES = [
    "Café owners in Zürich protest new rules",
    "Ministerpräsident besucht Köln",
    "São Paulo floods: “worst in decades”",
    "Łódź city council votes on bud\N{REPLACEMENT CHARACTER}",
]


@pytest.mark.parametrize(
    "content_type", ["application/rss+xml; charset=utf-8", "application/rss+xml"]
)
async def test_one_invalid_byte_in_a_utf8_feed_costs_one_character(
    server: FeedServer, session: aiohttp.ClientSession, content_type: str
) -> None:
    body = news_with_one_cut_character()
    server.set_file("cut.xml", body, content_type=content_type)
    _, parsed = await fetch_and_parse(session, server.url("cut.xml"))
    assert [e.title for e in parsed.entries] == EXPECTED_TITLES
    offset = body.index(b"bud\xc5") + 3
    assert parsed.warning == f"1 invalid UTF-8 sequence (at byte {offset:,}) replaced with U+FFFD"


async def test_a_legacy_declaration_on_utf8_with_one_invalid_byte_is_read_as_utf8(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    body = news_with_one_cut_character('encoding="windows-1252"')
    server.set_file("cut1252.xml", body, content_type="application/rss+xml")
    _, parsed = await fetch_and_parse(session, server.url("cut1252.xml"))
    assert [e.title for e in parsed.entries] == EXPECTED_TITLES
    assert parsed.warning == (
        "the XML declaration says windows-1252, but the bytes are UTF-8; read them as UTF-8; "
        f"1 invalid UTF-8 sequence (at byte {body.index(b'bud') + 3:,}) replaced with U+FFFD"
    )


async def test_legacy_text_is_not_taken_for_damaged_utf8() -> None:
    # Every accented letter of a windows-1252 document is an invalid UTF-8 sequence, and
    # a few chance pairs that are valid UTF-8 do not make it UTF-8.
    title = "Café Zürich: naïve Â© rôle, déjà vu"
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>F</title>'
        f"<item><guid>1</guid><title>{title}</title></item></channel></rss>"
    ).encode("windows-1252")
    parsed = await parse_feed(body, url="https://a.example/feed")
    assert [e.title for e in parsed.entries] == [title]
    assert parsed.warning == (
        "CharacterEncodingOverride: document declared as utf-8, but parsed as windows-1252"
    )


def big5_rss(declaration: str, title: str) -> bytes:
    """A Taiwan feed as its server writes it: Big5 as the web reads it (cp950)."""
    return (
        f'<?xml version="1.0" {declaration}?>\n<rss version="2.0"><channel>'
        f"<title>台灣新聞</title><item><guid>tw-1</guid><title>{title}</title>"
        "<link>https://news.example.tw/1</link></item></channel></rss>"
    ).encode("cp950")


@pytest.mark.parametrize(
    ("declaration", "content_type"),
    [
        ('encoding="big5"', "application/rss+xml"),
        ("", "application/rss+xml; charset=Big5"),
        ('encoding="big5-tw"', "text/xml"),
    ],
)
async def test_big5_is_read_as_the_web_reads_it(
    server: FeedServer, session: aiohttp.ClientSession, declaration: str, content_type: str
) -> None:
    """Characters Python's strict big5 lacks but every Taiwan feed writes (裏, 恒 of 恒生指數,
    碁) had made the whole feed, its name too, read as windows-1252: mojibake, for good."""
    title = "恒生指數收市 裏約熱內盧圍棋（碁）大賽"
    server.set_file("tw.xml", big5_rss(declaration, title), content_type=content_type)
    _, parsed = await fetch_and_parse(session, server.url("tw.xml"))
    assert parsed.title == "台灣新聞" and [e.title for e in parsed.entries] == [title]
    assert parsed.warning is None
