"""Migrations that put right what an archive written before them holds."""

from __future__ import annotations

import datetime as dt
import unicodedata

import asyncpg

from storage import open_storage
from storage.keys import make_key
from storage.models import PageRecord, PortalItemRecord, PortalRevision, SearchFilter

DAY = dt.date(2024, 1, 8)
NOW = dt.datetime(2024, 1, 9, 18, tzinfo=dt.UTC)


def _item(headline: str, position: int, *entities: str) -> PortalItemRecord:
    return PortalItemRecord(
        key=f"2024/01/8/{headline.lower().replace(' ', '-')}",
        date=DAY,
        headline=headline,
        category="Politics and elections",
        topics=(),
        entities=entities,
        sources=(),
        position=position,
    )


def _page(number: int, *items: PortalItemRecord) -> PortalRevision:
    return PortalRevision(
        DAY, "Portal:Current events/2024 January 8", "https://w/8", number, NOW, items
    )


async def test_entities_counted_with_removed_portal_items_are_counted_again(
    target_url: str,
) -> None:
    """Before 0016 an entity counted the events taken off their portal page: Vandor said
    "2 events" over one, and Qelmara, named only by the removed item, "1 event". Upgraded,
    each counts the events its page lists."""
    border = _item("Vandor closes its border with Qelmara", 0, "Vandor", "Qelmara")
    election = _item("Vandor holds an election", 1, "Vandor", "Elections in Vandor")
    async with await open_storage(target_url) as storage:
        await storage.portal.apply_day("en", _page(1, border, election), announce=True, now=NOW)
        await storage.portal.apply_day("en", _page(2, election), announce=True, now=NOW)
    # The archive as Chronicle left it before: every link counted, no index of removals.
    conn = await asyncpg.connect(target_url)
    try:
        await conn.execute(
            "UPDATE entities SET event_count ="
            " (SELECT count(*) FROM event_entities WHERE entity_id = entities.id)"
        )
        await conn.execute("DROP INDEX events_removed")
        await conn.execute("DELETE FROM schema_migrations WHERE version = 16")
    finally:
        await conn.close()

    async with await open_storage(target_url) as storage:
        counts = {}
        for name in ("Vandor", "Qelmara", "Elections in Vandor"):
            found = await storage.entities.find(name)
            assert found is not None
            counts[name] = (await storage.entities.profile(found[0])).event_count
        assert counts == {"Vandor": 1, "Qelmara": 0, "Elections in Vandor": 1}


async def test_korean_words_indexed_as_letters_are_found_after_the_upgrade(
    target_url: str,
) -> None:
    """Before 0017 folding split Hangul into letters (jamo), and the events' vectors held
    those: 대검찰청 was not found. Upgraded, the events holding Hangul are indexed again."""
    prosecutors = PageRecord(
        key=make_key(dt.date(2019, 11, 11), "prosecutors"),
        date=dt.date(2019, 11, 11),
        headline="大韩民国大检察厅 대검찰청",
        lang="zh",
        entities=("韩国",),
    )
    async with await open_storage(target_url) as storage:
        await storage.events.import_batch([prosecutors])
    # The vectors as Chronicle wrote them before: the syllables' letters, one word.
    letters = unicodedata.normalize("NFKD", "대검찰청")
    conn = await asyncpg.connect(target_url)
    try:
        await conn.execute(
            "UPDATE events SET search = to_tsvector('simple', $1) WHERE key = $2",
            letters,
            prosecutors.key,
        )
        await conn.execute("DELETE FROM schema_migrations WHERE version = 17")
    finally:
        await conn.close()

    async with await open_storage(target_url) as storage:
        hits = await storage.search.search(SearchFilter(text="대검찰청"))
        assert [hit.event.key for hit in hits] == [prosecutors.key]
