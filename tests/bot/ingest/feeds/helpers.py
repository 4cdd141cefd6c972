"""What the feed tests share: the captured feed files, a stub resolver, small feeds."""

from __future__ import annotations

import re
import socket
from collections import Counter
from datetime import timedelta
from pathlib import Path

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.ingest.feeds.addresses import FetchPolicy
from bot.ingest.feeds.entries import FeedEntry, ParsedFeed
from bot.ingest.feeds.fetch import FetchResult, fetch_feed
from bot.ingest.feeds.parse import parse_feed

REPO_ROOT = Path(__file__).resolve().parents[4]
DATA_DIR = REPO_ROOT / "tests" / "data" / "feeds"

# Tests talk to 127.0.0.1, so most of them need private addresses allowed.
LOCAL = FetchPolicy(allow_private_addresses=True, timeout_s=10.0)

HTML_TAG = re.compile(r"</?(?:p|b|i|a|div|span|br|img|script|style|em|strong)\b[^>]*>", re.I)

LONG_TEXT = " ".join(
    f"Sentence number {i} tells the reader something about the event in question."
    for i in range(30)
)


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
            offset = entry.published.utcoffset()  # the feed's own, whose day the item is of
            assert offset is not None and abs(offset) < timedelta(days=1), name
        folded = [c.casefold() for c in entry.categories]
        assert len(folded) == len(set(folded)) and all(c.strip() for c in entry.categories)
    if parsed.link is not None:
        assert parsed.link.startswith(("http://", "https://")), name
