"""One archive written by several processes at once, as the bot's processes (one per group of
shards) share one database: each opens it on its own, and two of them doing the same work at
the same moment (importing the bundled sample on an empty database at start, applying the
shipped aliases) make each event and each name once, and neither fails."""

from __future__ import annotations

import asyncio
import datetime as dt

from storage.keys import make_key
from storage.models import PageRecord, SourceRecord
from tests.storage.conftest import OpenArchive

DAY = dt.date(2026, 3, 4)


def _pages(count: int) -> list[PageRecord]:
    return [
        PageRecord(
            key=make_key(DAY - dt.timedelta(days=n % 7), f"shared-{n}"),
            date=DAY - dt.timedelta(days=n % 7),
            headline=f"Delegates of region {n} meet to discuss the shared river",
            sources=(SourceRecord("Example", f"https://example.com/{n}"),),
            entities=(f"Region {n}", "River Commission"),
        )
        for n in range(60)
    ][:count]


async def test_two_processes_importing_the_same_pages_make_each_event_once(
    open_archive: OpenArchive,
) -> None:
    first, second = await open_archive("shared"), await open_archive("shared")
    try:
        pages = _pages(60)
        outcomes = await asyncio.gather(
            first.events.import_batch(pages), second.events.import_batch(pages)
        )
        # One made the events; the other, in its turn, found them made.
        assert sorted(len(o.completed) for o in outcomes) == [0, 60]
        stats = await second.stats()
        assert (stats.events, stats.sources) == (60, 60)
        assert stats.entities == 61
        for page in pages:
            event = await first.events.get_by_key(page.key)
            assert event is not None and event.headline == page.headline
    finally:
        await first.close()
        await second.close()


async def test_two_processes_applying_one_alias_make_each_name_once(
    open_archive: OpenArchive,
) -> None:
    first, second = await open_archive("shared"), await open_archive("shared")
    try:
        await first.events.import_batch(_pages(3))
        # Names neither process knows yet (the canonical one made on the spot), and names
        # the archive knows.
        results = await asyncio.gather(
            first.entities.alias("Isle of Avalon", "Avalon"),
            second.entities.alias("Isle of Avalon", "Avalon"),
            first.entities.alias("The River Commission", "River Commission"),
            second.entities.alias("The River Commission", "River Commission"),
        )
        assert {(r.alias, r.canonical) for r in results} == {
            ("Isle of Avalon", "Avalon"),
            ("The River Commission", "River Commission"),
        }
        for name, canonical in (("Isle of Avalon", "Avalon"), ("Avalon", "Avalon")):
            found = await second.entities.find(name)
            assert found is not None and found[1] == canonical
        commission = await first.entities.find("the river commission")
        assert commission is not None and commission[1] == "River Commission"
        # The regions, the commission and Avalon: aliases are names, not entities.
        assert (await first.stats()).entities == 3 + 1 + 1
    finally:
        await first.close()
        await second.close()
