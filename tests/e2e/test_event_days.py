"""An event's day through the real bot over the loopback Discord: a calendar day, the same
for every reader wherever they are, and counted back from the day asked for."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from storage import Storage
from storage.models import PageRecord, SourceRecord
from tests.e2e.harness import FakeClock, embed_of, running_bot
from tests.e2e.standin.server import DiscordStandIn


def page(date: dt.date, headline: str) -> PageRecord:
    return PageRecord(
        key=f"{date:%Y/%m}/{date.day}/{'-'.join(headline.lower().split())}",
        date=date,
        headline=headline,
        sources=(SourceRecord("Example", f"https://example.com/{date}"),),
    )


async def christmases(storage: Storage) -> None:
    await storage.events.import_batch(
        [
            page(dt.date(2025, 12, 25), "Christmas truce declared"),
            page(dt.date(2024, 12, 25), "Christmas storm hits coast"),
            page(dt.date(2025, 6, 16), "June treaty signed"),
        ]
    )


async def test_onthisday_of_a_day_later_in_the_year_counts_the_years_back_from_it(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """Asked in June 2026, /onthisday 12-25 heads 2025's events "1 year ago" (December 25
    is 2026's), never "This year"; 2024's are "2 years ago"."""
    clock = FakeClock(dt.datetime(2026, 6, 16, 12, tzinfo=dt.UTC))
    async with running_bot(standin, tmp_path / "c.db", prepare=christmases, clock=clock):
        handle = await standin.send_slash_command("onthisday", {"date": "12-25"})
        description = embed_of(await handle.response())["description"]
    assert description.splitlines() == [
        "**1 year ago — 2025**",
        "• [Christmas truce declared](https://example.com/2025-12-25)",
        "**2 years ago — 2024**",
        "• [Christmas storm hits coast](https://example.com/2024-12-25)",
    ]


async def test_an_events_day_is_written_out_the_same_for_every_reader(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """The card's Date and a search's lines give the day as text: a Discord timestamp shows
    each reader its instant in their own timezone, December 26 at UTC+14 (Kiribati's Line
    Islands) and December 24 at UTC-11 (American Samoa)."""
    async with running_bot(standin, tmp_path / "c.db", prepare=christmases):
        handle = await standin.send_slash_command("event", {"query": "Christmas truce declared"})
        card = embed_of(await handle.response())
        handle = await standin.send_slash_command("search", {"query": "Christmas"})
        found = embed_of(await handle.response())["description"]
    (date,) = [f["value"] for f in card["fields"] if f["name"] == "Date"]
    assert date == "December 25, 2025"
    assert "**1.** 2025-12-25 " in found and "**2.** 2024-12-25 " in found, found
    assert "<t:" not in found
