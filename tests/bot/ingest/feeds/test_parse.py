"""Parsing real feed files served over HTTP, and the documents that are not feeds.

The captured files in tests/data/feeds (and, when present, all of ../shared/data/feeds)
are served over HTTP and must each either parse into sane entries or be refused with
FeedError(kind="not_a_feed") and a clear reason.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import os
from pathlib import Path

import aiohttp
import pytest

from bot.ingest.feeds.entries import ParsedFeed
from bot.ingest.feeds.errors import FeedError
from bot.ingest.feeds.fetch import fetch_feed
from bot.ingest.feeds.parse import parse_feed
from tests.bot.ingest.feeds.helpers import (
    DATA_DIR,
    LOCAL,
    REPO_ROOT,
    assert_sane_entries,
    fetch_and_parse,
)
from tests.support.feed_server import FeedServer

# Same convention as tests/conftest.py: CHRONICLE_SHARED_DATA overrides ../shared/data.
SHARED_DIR = (
    Path(os.environ.get("CHRONICLE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data")) / "feeds"
)

# Files that must be refused, and a phrase the reason must contain.
EXPECTED_NOT_A_FEED = {
    "fp_illformed_unclosed_rss.xml": "broken XML",
    "frs_reuters_truncated_rss2.xml": "broken XML",
    "kagi_malformed_rss_namespaced.xml": "broken XML",
    "nb_empty_file_zero_bytes.xml": "empty",
    "rsa_egoist_fragment_not_feed.xml": "HTML page ('EGOIST v1-legacy')",
    "rssp_document_moved_html_fragment.xml": "HTML page ('Document Moved')",
    "rsa_maodoupi_account_suspended.html": "HTML page ('Account Suspended')",
    "rsa_v2ex_jsonfeed_syntax_error.json": "the JSON Feed is broken JSON (Expecting property",
}
# Well-formed (or repairable) feeds that legitimately yield no usable entries.
EXPECTED_EMPTY = {
    "atoma_broken_missing_id_atom.xml",  # valid Atom without entries
    "fp_bogus_declared_encoding.xml",  # <rss></rss>
    "fp_utf16le_bom.xml",  # <rss></rss> in UTF-16LE
    "mfx_windows1252_incorrect_prolog.xml",  # channel without items
    "sp_whitespace_before_xml_declaration.xml",  # Atom without entries (repaired)
    "rssp_incomplete_fields_atom.xml",  # entry without title, link or text
    "fp_encoding_mismatch_crash.xml",  # item without title or link
    "fp_illformed_corrupted_ampersands_rss.xml",  # item with a link but nothing to show
    "fp_illformed_incomplete_cdata_rss.xml",  # item without title or link
}
# Exact entry counts where the rules (dedupe, skipping) decide the number.
EXPECTED_COUNTS = {
    "fio_duplicate_guid_rss2.xml": 1,  # 3 items, one guid: first kept
    "fdr_nixos_news_rss2.xml": 99,  # no guid, one shared link: hashes keep all 99
    # 50 items, 2 repeated guids: one item repeated whole, and two posts (one titled, one
    # not) that share a guid and a link, told apart.
    "nnw_scriptingnews_rss.xml": 49,
    "rsa_vmware_blogs_ru_dupguid_rss2.xml": 11,  # 20 items, 9 repeated guids
    # 5 entries, 2 repeated ids, each time on an entry with a link of its own: all 5.
    "nb_items_without_titles_atom.xml": 5,
    "mfx_french_no_declared_encoding_iso88591.xml": 9,  # one item has no title, no link
    "nfp_compressed_gzip_body.xml.gz": 10,  # decompressed although served as raw gzip
    "sp_utf16be_nobom_rss2.xml": 1,  # UTF-16BE without BOM, decoded
    "kde_zeit_de_rss091_iso88591.xml": 3,
    "chfr_japantimes_nodates_rss2.xml": 118,
    "chronicle_jsonfeed_v1_1_world_wire.json": 6,  # 7 items, one with neither title nor url
}


def manifest(directory: Path) -> dict[str, dict[str, str]]:
    path = directory / "MANIFEST.tsv"
    if not path.exists():
        return {}
    with path.open(encoding="utf-8", newline="") as fh:
        return {row["file"]: row for row in csv.DictReader(fh, delimiter="\t")}


def feed_files(directory: Path) -> list[str]:
    if not directory.is_dir():
        return []
    skip = {"MANIFEST.tsv", "README.md"}
    return sorted(p.name for p in directory.iterdir() if p.is_file() and p.name not in skip)


async def check_file(
    session: aiohttp.ClientSession, srv: FeedServer, name: str
) -> tuple[ParsedFeed | None, FeedError | None]:
    """Fetch and parse one file; assert it is parsed sanely or refused as not_a_feed."""
    try:
        async with asyncio.timeout(20):
            _, parsed = await fetch_and_parse(session, srv.url(name))
    except FeedError as exc:
        assert exc.kind == "not_a_feed", f"{name}: {exc.kind}: {exc.reason}"
        assert len(exc.reason) > 15, f"{name}: vague reason {exc.reason!r}"
        return None, exc
    assert_sane_entries(parsed, name=name)
    return parsed, None


def test_local_data_is_complete_and_listed() -> None:
    files = feed_files(DATA_DIR)
    rows = manifest(DATA_DIR)
    assert len(files) >= 60
    assert set(files) == set(rows), "every test feed file has exactly one MANIFEST row"
    assert set(EXPECTED_NOT_A_FEED) <= set(files)
    assert set(files) >= EXPECTED_EMPTY and set(EXPECTED_COUNTS) <= set(files)
    assert sum((DATA_DIR / f).stat().st_size for f in files) < 1_500_000
    for name in files:  # byte-identical copies of the captured files
        assert hashlib.sha256((DATA_DIR / name).read_bytes()).hexdigest() == rows[name]["sha256"]


@pytest.mark.parametrize("name", feed_files(DATA_DIR))
async def test_every_local_file_parses_or_is_refused(
    name: str, server: FeedServer, session: aiohttp.ClientSession
) -> None:
    parsed, error = await check_file(session, server, name)
    if name in EXPECTED_NOT_A_FEED:
        assert error is not None, f"{name} should be refused"
        assert EXPECTED_NOT_A_FEED[name] in error.reason, error.reason
        return
    assert parsed is not None, f"{name} refused: {error}"
    if name in EXPECTED_EMPTY:
        assert parsed.entries == []
    else:
        assert parsed.entries, f"{name}: no entries"
    if name in EXPECTED_COUNTS:
        assert len(parsed.entries) == EXPECTED_COUNTS[name]


@pytest.mark.shared_data
async def test_every_shared_file_parses_or_is_refused(session: aiohttp.ClientSession) -> None:
    files = feed_files(SHARED_DIR)
    if not files:
        pytest.skip(f"shared feed data not found at {SHARED_DIR}")
    rows = manifest(SHARED_DIR)
    shared = FeedServer(SHARED_DIR)
    refused: dict[str, str] = {}
    async with shared:
        for name in files:
            parsed, error = await check_file(session, shared, name)
            row = rows.get(name, {})
            if error is not None:
                refused[name] = error.reason
                # A file feedparser reads cleanly with entries must never be refused.
                assert not (row.get("bozo") == "0" and int(row.get("entries") or 0) > 0), name
            else:
                assert parsed is not None
                usable = row.get("bozo") == "0" and int(row.get("entries") or 0) > 0
                if usable and name not in EXPECTED_EMPTY:
                    assert parsed.entries, f"{name}: entries lost"
    # The known non-feeds are refused; anything else refused must be a file feedparser
    # itself gets no entries from (checked per file above).
    assert {n for n in EXPECTED_NOT_A_FEED if n in files} <= set(refused), refused
    # JSON Feed, which feedparser cannot read, is read.
    assert "nnw_daringfireball_jsonfeed.json" not in refused


async def test_raw_gzip_file_without_content_encoding(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    _, parsed = await fetch_and_parse(session, server.url("nfp_compressed_gzip_body.xml.gz"))
    assert parsed.title and parsed.title.startswith("Новости Оренбурга")
    assert parsed.warning and "gzip" in parsed.warning


async def test_html_page_and_empty_body_refused(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    server.set_file("page.xml", b"<!DOCTYPE html><html><head><title>Login</title></head></html>")
    result = await fetch_feed(session, server.url("page.xml"), policy=LOCAL)
    with pytest.raises(FeedError) as info:
        await parse_feed(result.body or b"", url=result.final_url)
    assert info.value.kind == "not_a_feed"
    assert info.value.reason == (
        "the response is an HTML page ('Login'), not an RSS, Atom or JSON feed,"
        " and the page advertises no feed"
    )
    assert info.value.feed_links == ()

    server.set_file("nothing.xml", b"")
    result = await fetch_feed(session, server.url("nothing.xml"), policy=LOCAL)
    assert result.body == b""
    with pytest.raises(FeedError, match="empty") as info:
        await parse_feed(b"", url=result.final_url)
    assert info.value.kind == "not_a_feed"


async def test_bytes_are_never_treated_as_a_file_name() -> None:
    # feedparser.parse(b"/etc/hostname") would read that file; parse_feed must not.
    with pytest.raises(FeedError) as info:
        await parse_feed(b"/etc/hostname", url="https://example.org/feed")
    assert info.value.kind == "not_a_feed"
