"""What the portal's storage remembers of each day page read (``revisions``): the revision
held and, for one that could not be read, why; on every backend."""

from __future__ import annotations

import datetime as dt

from storage import Storage
from storage.models import PortalItemRecord, PortalRevision, SourceRecord

WIKI = "en"
MISSING = dt.date(2024, 1, 6)
BROKEN = dt.date(2024, 1, 7)
READ = dt.date(2024, 1, 8)
NEVER = dt.date(2024, 1, 9)
NOW = dt.datetime(2024, 1, 9, 12, tzinfo=dt.UTC)
WHY = "no news items: neither the marker nor a {{Current events}} template"


def revision(date: dt.date, revision_id: int, *headlines: str) -> PortalRevision:
    title = f"Portal:Current events/{date:%Y %B} {date.day}"
    items = tuple(
        PortalItemRecord(
            key=f"{date:%Y/%m}/{date.day}/{headline.lower().replace(' ', '-')}",
            date=date,
            headline=headline,
            category="Disasters and accidents",
            topics=(),
            entities=("Peru",),
            sources=(SourceRecord("e.org", f"https://e.org/{revision_id}/{n}"),),
            position=n,
        )
        for n, headline in enumerate(headlines)
    )
    url = "https://en.wikipedia.org/wiki/" + title.replace(" ", "_")
    return PortalRevision(date, title, url, revision_id, NOW - dt.timedelta(hours=1), items)


async def test_revisions_hold_each_day_s_revision_and_why_it_could_not_be_read(
    storage: Storage,
) -> None:
    await storage.portal.record_missing(
        WIKI, MISSING, "Portal:Current events/2024 January 6", "https://w/6", now=NOW
    )
    await storage.portal.record_unreadable(WIKI, revision(BROKEN, 1002), WHY, now=NOW)
    await storage.portal.apply_day(
        WIKI,
        revision(READ, 1001, "A bus crash in Peru kills nine people"),
        announce=False,
        now=NOW,
    )

    held = await storage.portal.revisions(WIKI, [MISSING, BROKEN, READ, NEVER])

    assert sorted(held) == [MISSING, BROKEN, READ]  # a day never read is not held
    assert (held[MISSING].revision_id, held[MISSING].error) == (None, None)
    assert (held[BROKEN].revision_id, held[BROKEN].error) == (1002, WHY)
    assert (held[READ].revision_id, held[READ].error) == (1001, None)
    assert held[READ].items == 1 and held[READ].date == READ


async def test_a_readable_revision_after_an_unreadable_one_clears_why(storage: Storage) -> None:
    await storage.portal.record_unreadable(WIKI, revision(BROKEN, 1002), WHY, now=NOW)
    await storage.portal.apply_day(
        WIKI,
        revision(BROKEN, 1003, "A train crash in Peru kills two people"),
        announce=False,
        now=NOW,
    )
    held = await storage.portal.revisions(WIKI, [BROKEN])
    assert (held[BROKEN].revision_id, held[BROKEN].error) == (1003, None)


async def test_revisions_of_many_days_at_once(storage: Storage) -> None:
    """More days than one SQL statement's parameters: all are looked up."""
    days = [dt.date(2020, 1, 1) + dt.timedelta(days=n) for n in range(1200)]
    for n in (0, 600, 1199):
        await storage.portal.record_unreadable(WIKI, revision(days[n], 5000 + n), WHY, now=NOW)
    held = await storage.portal.revisions(WIKI, days)
    assert {d: (h.revision_id, h.error) for d, h in held.items()} == {
        days[0]: (5000, WHY),
        days[600]: (5600, WHY),
        days[1199]: (6199, WHY),
    }
