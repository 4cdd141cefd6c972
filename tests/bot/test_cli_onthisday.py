"""`chronicle onthisday` and `chronicle digest preview onthisday` around February 29: a
common year's February 28 shows the leap days' events, under headings that name their day."""

from __future__ import annotations

import asyncio
import calendar
import datetime as dt
from pathlib import Path

import pytest

from storage import open_storage
from storage.models import PageRecord, SourceRecord
from tests.bot.test_cli import Cli

PAGES = [
    (dt.date(2024, 2, 29), "Leap day summit"),
    (dt.date(2020, 2, 29), "Leap day storm"),
    (dt.date(2016, 2, 28), "February 28 treaty"),
    (dt.date(2015, 3, 1), "March 1 march"),
]
LEAP_DAYS = ["Leap day summit", "Leap day storm"]


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.chdir(tmp_path)  # no developer .env leaks in
    for name in ("CHRONICLE_DB", "DISCORD_TOKEN", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)

    async def prepare() -> None:
        storage = await open_storage(tmp_path / "chronicle.db")
        try:
            await storage.events.import_batch(
                [
                    PageRecord(
                        key=f"{day:%Y/%m}/{day.day}/{'-'.join(headline.lower().split())}",
                        date=day,
                        headline=headline,
                        sources=(SourceRecord("Example", f"https://example.com/{day}"),),
                    )
                    for day, headline in PAGES
                ]
            )
        finally:
            await storage.close()

    asyncio.run(prepare())
    return Cli(tmp_path / "chronicle.db", capsys)


def headlines(events: object) -> list[str]:
    assert isinstance(events, list)
    return [e["headline"] for e in events]


def test_onthisday_of_a_common_years_february_28_shows_the_leap_days(cli: Cli) -> None:
    assert headlines(cli.json("onthisday", "2027-02-28")) == [*LEAP_DAYS, "February 28 treaty"]
    code, out, _ = cli("onthisday", "2027-02-28")
    assert code == 0
    # Newest year first, the leap days' under headings that name their day (how many years
    # ago is counted from the real today).
    headings = [line.partition(" — ")[2] for line in out.splitlines() if " — " in line]
    assert out.startswith("On this day, February 28, up to 2027:\n")
    assert headings == ["2024 (February 29)", "2020 (February 29)", "2016"]
    assert out.endswith(" — 2016\n  • February 28 treaty\n")


def test_onthisday_of_a_leap_years_february_28_or_of_february_29_shows_their_own(
    cli: Cli,
) -> None:
    assert headlines(cli.json("onthisday", "2028-02-28")) == ["February 28 treaty"]
    assert headlines(cli.json("onthisday", "02-29")) == LEAP_DAYS
    assert headlines(cli.json("onthisday", "2027-03-01")) == ["March 1 march"]
    code, out, _ = cli("onthisday", "02-29")
    assert code == 0 and out.startswith("On this day, February 29:\n")
    assert "On this day, February 28" not in out


def test_onthisday_without_a_year_takes_this_years_february_28(cli: Cli) -> None:
    """02-28 with no year: this year's (today's, as `onthisday` without a day) decides."""
    common = not calendar.isleap(dt.date.today().year)
    expected = [*LEAP_DAYS, "February 28 treaty"] if common else ["February 28 treaty"]
    assert headlines(cli.json("onthisday", "02-28")) == expected


def test_digest_preview_labels_the_leap_days(cli: Cli) -> None:
    code, out, _ = cli("digest", "preview", "onthisday", "--date", "2027-02-28")
    assert code == 0
    assert out.splitlines()[:8] == [
        "On this day: February 28",
        "",
        "3 years ago — 2024 (February 29)",
        "  • Leap day summit",
        "",
        "7 years ago — 2020 (February 29)",
        "  • Leap day storm",
        "",
    ]
    assert "11 years ago — 2016\n  • February 28 treaty" in out
