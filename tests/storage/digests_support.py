"""What the digest contract tests share (test_digests_filters.py, test_digests_runs.py,
test_digests_channels.py, test_digests_settings.py, and tests/storage/sqlite/test_migrations.py):
a day and its slot, one server and its channels, feed items that are news and archive pages
that are history, and helpers that import them, set a digest and read what it would post."""

from __future__ import annotations

import datetime as dt
import re

from storage import Storage
from storage.keys import make_key
from storage.models import Digest, DigestFilters, PageRecord

DAY = dt.date(2026, 12, 7)
NOW = dt.datetime(2026, 12, 7, 9, tzinfo=dt.UTC)
GUILD, CHANNEL, OTHER_CHANNEL, USER = 1, 10, 11, 100
SLOT = "2026-12-07"
EVERYTHING = DigestFilters()


def _slug(headline: str) -> str:
    return "-".join(re.sub(r"[^\w\s]", "", headline.lower()).split())


def news(
    headline: str, *entities: str, lang: str = "en", summary: str = "", date: dt.date = DAY
) -> PageRecord:
    """A feed's item: news to announce, its categories among its entities."""
    return PageRecord(
        key=make_key(date, _slug(headline)),
        date=date,
        headline=headline,
        summary=summary,
        lang=lang,
        entities=entities,
        origin="feed",
        announce=True,
    )


def history(headline: str, date: dt.date, *entities: str, lang: str = "en") -> PageRecord:
    """An archive page: history, never announced."""
    return PageRecord(
        key=make_key(date, _slug(headline)),
        date=date,
        headline=headline,
        lang=lang,
        entities=entities,
    )


async def make_digest(
    storage: Storage,
    filters: DigestFilters = EVERYTHING,
    *,
    channel: int = CHANNEL,
    kind: str = "new",
    every: str = "daily",
    time: dt.time = dt.time(9),
    role_id: int | None = None,
    publish: bool = False,
) -> Digest:
    digest, _ = await storage.digests.upsert(
        guild_id=GUILD,
        channel_id=channel,
        kind=kind,
        every=every,
        time=time,
        timezone="Europe/Berlin",
        filters=filters,
        role_id=role_id,
        publish=publish,
        created_by=USER,
        now=NOW,
    )
    return digest


async def fresh(storage: Storage, digest: Digest) -> Digest:
    again = await storage.digests.get(digest.id)
    assert again is not None
    return again


async def headlines(storage: Storage, digest: Digest, *, language: str = "all") -> list[str]:
    """What the digest would post now (read as stored: its watermark may have moved)."""
    found = await storage.digests.new_events(await fresh(storage, digest), language=language)
    return [e.brief.headline for e in found.events]
