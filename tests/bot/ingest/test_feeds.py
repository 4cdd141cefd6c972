"""Feed fetching and parsing against a real HTTP server on 127.0.0.1 and real feed files.

The captured files in tests/data/feeds (and, when present, all of ../shared/data/feeds)
are served over HTTP and must each either parse into sane entries or be refused with
FeedError(kind="not_a_feed") and a clear reason.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import os
import pickle
import re
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.ingest.feeds import (
    FeedEntry,
    FeedError,
    FetchPolicy,
    FetchResult,
    ParsedFeed,
    cut_at_sentence,
    entry_identity,
    fetch_feed,
    html_to_text,
    is_public_address,
    make_session,
    parse_feed,
)
from tests.support.feed_server import FeedServer

REPO_ROOT = Path(__file__).resolve().parents[3]
DATA_DIR = REPO_ROOT / "tests" / "data" / "feeds"
# Same convention as tests/conftest.py: CHRONICLE_SHARED_DATA overrides ../shared/data.
SHARED_DIR = (
    Path(os.environ.get("CHRONICLE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data")) / "feeds"
)

# Tests talk to 127.0.0.1, so most of them need private addresses allowed.
LOCAL = FetchPolicy(allow_private_addresses=True, timeout_s=10.0)
MB = 1024 * 1024

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
    "nnw_scriptingnews_rss.xml": 48,  # 50 items, 2 repeated guids
    "rsa_vmware_blogs_ru_dupguid_rss2.xml": 11,  # 20 items, 9 repeated guids
    "nb_items_without_titles_atom.xml": 3,  # 5 entries, 2 repeated ids
    "mfx_french_no_declared_encoding_iso88591.xml": 9,  # one item has no title, no link
    "nfp_compressed_gzip_body.xml.gz": 10,  # decompressed although served as raw gzip
    "sp_utf16be_nobom_rss2.xml": 1,  # UTF-16BE without BOM, decoded
    "kde_zeit_de_rss091_iso88591.xml": 3,
    "chfr_japantimes_nodates_rss2.xml": 118,
    "chronicle_jsonfeed_v1_1_world_wire.json": 6,  # 7 items, one with neither title nor url
}

HTML_TAG = re.compile(r"</?(?:p|b|i|a|div|span|br|img|script|style|em|strong)\b[^>]*>", re.I)


# --------------------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------------------


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer(DATA_DIR) as srv:
        yield srv


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with make_session(LOCAL) as sess:
        yield sess


class StubResolver(AbstractResolver):
    """DNS answers from a table, counting lookups per name."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: Counter[str] = Counter()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.calls[host] += 1
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            ResolveResult(
                hostname=host,
                host=ip,
                port=port,
                family=socket.AF_INET6 if ":" in ip else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for ip in self.table[host]
        ]

    async def close(self) -> None:
        return None


def rss(items: str, *, channel_extra: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>Test channel</title><link>/</link>{channel_extra}{items}</channel></rss>"
    ).encode()


async def fetch_and_parse(
    session: aiohttp.ClientSession, url: str, policy: FetchPolicy = LOCAL
) -> tuple[FetchResult, ParsedFeed]:
    result = await fetch_feed(session, url, policy=policy)
    assert result.body is not None
    parsed = await parse_feed(result.body, url=result.final_url, content_type=result.content_type)
    return result, parsed


def assert_sane_entries(parsed: ParsedFeed, *, name: str) -> None:
    identities = [entry.identity for entry in parsed.entries]
    assert len(identities) == len(set(identities)), f"{name}: duplicate identities"
    for entry in parsed.entries:
        assert isinstance(entry, FeedEntry)
        assert entry.identity.strip() == entry.identity and entry.identity, name
        assert entry.title and entry.title == entry.title.strip(), f"{name}: empty title"
        assert "  " not in entry.title and "\n" not in entry.title, f"{name}: {entry.title!r}"
        assert not HTML_TAG.search(entry.title), f"{name}: markup in {entry.title!r}"
        assert len(entry.summary) <= 600, f"{name}: summary of {len(entry.summary)} chars"
        assert not HTML_TAG.search(entry.summary), f"{name}: markup in summary"
        assert "\n" not in entry.summary and "  " not in entry.summary, name
        if entry.link is not None:
            assert re.match(r"https?://[^/\s]+", entry.link), f"{name}: link {entry.link!r}"
        if entry.published is not None:
            assert entry.published.tzinfo is not None, name
            assert entry.published.utcoffset() == timedelta(0), name
        folded = [c.casefold() for c in entry.categories]
        assert len(folded) == len(set(folded)) and all(c.strip() for c in entry.categories)
    if parsed.link is not None:
        assert parsed.link.startswith(("http://", "https://")), name


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


# --------------------------------------------------------------------------------------
# Every captured file
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# Fetching: conditional GET, redirects, limits, errors
# --------------------------------------------------------------------------------------


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


SETTING_HINT = "; set FEED_ALLOW_PRIVATE_ADDRESSES=true to allow feeds on private addresses"


async def test_loopback_url_refused_by_default_policy(server: FeedServer) -> None:
    url = server.url("kde_zeit_de_rss091_iso88591.xml")
    async with make_session(FetchPolicy()) as strict:
        with pytest.raises(FeedError) as info:
            await fetch_feed(strict, url)
        assert info.value.kind == "refused_address"
        # The refusal names the setting that allows it.
        assert info.value.reason == (
            f"refused: 127.0.0.1 is a loopback address ({url})" + SETTING_HINT
        )

        # A host *name* that resolves to loopback is refused by the connector's resolver.
        with pytest.raises(FeedError) as info:
            await fetch_feed(strict, f"http://localhost:{server.port}/x.xml")
        assert info.value.kind == "refused_address"
        assert "localhost resolves to" in info.value.reason
        assert info.value.reason.endswith(SETTING_HINT)
    assert sum(server.requests.values()) == 0  # nothing ever reached the server


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5/feed",
        "http://172.16.3.4/feed",
        "http://192.168.1.1/feed",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/feed",
        "http://[fe80::1]/feed",
        "http://[::ffff:127.0.0.1]/feed",
        "http://0.0.0.0/feed",
        "http://2130706433/feed",  # 127.0.0.1 as one decimal number
        "http://127.1/feed",
        "http://100.64.0.1/feed",
    ],
)
async def test_private_literal_addresses_refused(url: str) -> None:
    async with make_session(FetchPolicy()) as strict:
        with pytest.raises(FeedError) as info:
            await fetch_feed(strict, url, policy=FetchPolicy(timeout_s=2))
    assert info.value.kind == "refused_address", info.value.reason
    assert info.value.reason.startswith("refused: ")
    assert info.value.reason.endswith(SETTING_HINT)


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.2:{port}/feed.xml",
        "http://10.0.0.5/feed.xml",
        "http://[::ffff:127.0.0.2]:{port}/feed.xml",
        "http://intranet.test:{port}/feed.xml",
    ],
)
async def test_redirect_to_private_address_refused(server: FeedServer, target: str) -> None:
    # Only the test server itself is allowed; the redirect target must be checked again.
    policy = FetchPolicy(allowed_networks=("127.0.0.1/32",), timeout_s=5)
    stub = StubResolver({"intranet.test": ["10.0.0.5"]})
    server.redirect("hop.xml", target.format(port=server.port))
    async with make_session(policy, resolver=stub) as guarded:
        with pytest.raises(FeedError) as info:
            await fetch_feed(guarded, server.url("hop.xml"), policy=policy)
    assert info.value.kind == "refused_address", info.value.reason
    assert server.request_count("hop.xml") == 1
    if "intranet" in target:
        assert "intranet.test resolves to 10.0.0.5, a private address" in info.value.reason
    assert info.value.reason.endswith(SETTING_HINT)


async def test_resolver_answer_is_what_gets_connected(server: FeedServer) -> None:
    # Mixed answers keep only allowed addresses, and the connector uses that same answer:
    # one lookup per name, no separate "check" lookup that a rebinding DNS could game.
    policy = FetchPolicy(allowed_networks=("127.0.0.1/32",), timeout_s=5)
    stub = StubResolver({"feeds.test": ["10.0.0.5", "127.0.0.1"]})
    async with make_session(policy, resolver=stub) as guarded:
        result = await fetch_feed(
            guarded,
            f"http://feeds.test:{server.port}/kde_zeit_de_rss091_iso88591.xml",
            policy=policy,
        )
    assert result.status == 200
    assert stub.calls["feeds.test"] == 1


async def test_unknown_host_is_a_network_error() -> None:
    stub = StubResolver({})
    async with make_session(FetchPolicy(), resolver=stub) as guarded:
        with pytest.raises(FeedError) as info:
            await fetch_feed(guarded, "https://no-such-host.test/feed")
    assert info.value.kind == "network" and "could not resolve no-such-host.test" in str(info.value)


async def test_unguarded_session_rejected_for_strict_policy() -> None:
    async with aiohttp.ClientSession() as plain:
        with pytest.raises(ValueError, match="make_session"):
            await fetch_feed(plain, "https://example.org/feed")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/feed.xml",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "feed.xml",
        "",
        "http:///nohost",
    ],
)
async def test_non_http_urls_refused(url: str, session: aiohttp.ClientSession) -> None:
    with pytest.raises(FeedError) as info:
        await fetch_feed(session, url, policy=LOCAL)
    assert info.value.kind == "invalid_url", info.value.reason


async def test_redirect_to_file_scheme_refused(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    server.redirect("sneaky.xml", "file:///etc/passwd")
    with pytest.raises(FeedError) as info:
        await fetch_feed(session, server.url("sneaky.xml"), policy=LOCAL)
    assert info.value.kind == "invalid_url" and "'file'" in info.value.reason


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


async def test_raw_gzip_file_without_content_encoding(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    _, parsed = await fetch_and_parse(session, server.url("nfp_compressed_gzip_body.xml.gz"))
    assert parsed.title and parsed.title.startswith("Новости Оренбурга")
    assert parsed.warning and "gzip" in parsed.warning


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


# --------------------------------------------------------------------------------------
# JSON Feed
# --------------------------------------------------------------------------------------

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
    assert parsed.warning == "skipped 1 of the 7 items: not a JSON object"
    assert [(e.identity, e.title, e.link) for e in parsed.entries] == [
        ("1042", "Numeric id", "https://old.example/posts/1042"),
        ("b", "Bad date", "https://old.example/b"),
        ("c", "RFC 822 date", "https://old.example/c"),
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


# --------------------------------------------------------------------------------------
# Declared encodings that disagree with the bytes
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# Parsing rules
# --------------------------------------------------------------------------------------

LONG_TEXT = " ".join(
    f"Sentence number {i} tells the reader something about the event in question."
    for i in range(30)
)


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


async def test_identity_rules_in_a_document() -> None:
    body = rss(
        "<item><guid>urn:one</guid><title>With guid</title><link>https://e.org/a</link></item>"
        "<item><title>Link only</title><link>https://e.org/b</link></item>"
        "<item><title>Neither</title><pubDate>Mon, 02 Jan 2017 10:00:00 GMT</pubDate></item>"
        "<item><title>Shared A</title><link>https://e.org/news.html</link></item>"
        "<item><title>Shared B</title><link>https://e.org/news.html</link></item>"
        "<item><guid>urn:one</guid><title>Duplicate guid</title></item>"
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
    assert len(parsed.entries) == 48
    assert all(e.title and len(e.title) <= 300 for e in parsed.entries)


def test_html_to_text() -> None:
    assert html_to_text("") == ""
    assert html_to_text("plain   text\n here") == "plain text here"
    assert html_to_text("<p>One</p><p>Two</p>") == "One Two"
    assert html_to_text("a<b>b</b>c") == "abc"
    assert html_to_text("x<style>p{}</style>y<script>z()</script>") == "xy"
    assert html_to_text("&lt;tag&gt; &amp; &#x263A; &eacute;") == "<tag> & ☺ é"
    assert html_to_text("soft\xadhyphen zero\u200bwidth") == "softhyphen zerowidth"
    assert html_to_text("line<br>break<br/>again") == "line break again"
    long_html = "<p>" + "word " * 100_000 + "</p>"
    assert len(html_to_text(long_html, max_chars=600)) < 20_000


def test_cut_at_sentence() -> None:
    assert cut_at_sentence("Short. Text.") == "Short. Text."
    cut = cut_at_sentence(LONG_TEXT)
    assert len(cut) <= 600 and cut.endswith(".") and LONG_TEXT.startswith(cut)
    words = "lorem ipsum dolor " * 60
    cut = cut_at_sentence(words)
    assert len(cut) <= 600 and cut.endswith("…")
    assert words.startswith(cut[:-1]) and words[len(cut) - 1] == " "  # ends on a whole word
    # "e.g. lower" is not a sentence end; only the real one counts.
    tricky = "See e.g. this example of things. " + "More words " * 80
    assert cut_at_sentence(tricky, 60) == "See e.g. this example of things."
    cjk = "这是一个句子。" * 120
    assert cut_at_sentence(cjk).endswith("。") and len(cut_at_sentence(cjk)) <= 600
    assert len(cut_at_sentence("x" * 700)) == 600


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("172.31.255.255", False),
        ("192.168.1.1", False),
        ("127.0.0.1", False),
        ("127.8.9.10", False),
        ("::1", False),
        ("fe80::1", False),
        ("fe80::1%eth0", False),
        ("169.254.169.254", False),
        ("224.0.0.1", False),
        ("ff02::1", False),
        ("0.0.0.0", False),
        ("::", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("2002:7f00:1::", False),  # 6to4 wrapping 127.0.0.1
        ("64:ff9b::a00:1", False),  # NAT64 wrapping 10.0.0.1
        ("fc00::1", False),
        ("240.0.0.1", False),
        ("192.0.2.10", False),  # documentation range
        ("100.64.0.1", False),  # shared address space (RFC 6598): refused by decision
        ("100.127.255.254", False),
        ("not an address", False),
        ("8.8.8.8", True),
        ("93.184.215.14", True),
        ("100.128.0.1", True),  # just outside 100.64/10
        ("2606:4700:4700::1111", True),
        ("::ffff:8.8.8.8", True),
    ],
)
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(address) is public


def test_feed_error_shape() -> None:
    error = FeedError(
        "http_status", "HTTP 503 Service Unavailable from https://x/feed", http_status=503
    )
    assert str(error) == error.reason and error.kind == "http_status" and error.http_status == 503
    with pytest.raises(ValueError):
        FeedError("nope", "typo in kind")  # type: ignore[arg-type]
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.kind, copy.reason, copy.http_status) == (error.kind, error.reason, 503)
    page = FeedError("not_a_feed", "an HTML page", feed_links=("https://x/feed.xml",))
    assert pickle.loads(pickle.dumps(page)).feed_links == ("https://x/feed.xml",)


def test_policy_is_validated_when_built() -> None:
    assert FetchPolicy().user_agent.startswith("Chronicle/")
    with pytest.raises(ValueError):
        FetchPolicy(allowed_networks=("not-a-network",))
    with pytest.raises(ValueError):
        FetchPolicy(timeout_s=0)
