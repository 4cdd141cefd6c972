"""February 29 seen through the real bot over the loopback Discord: in a year without one,
the daily onthisday digest of February 28 and /onthisday on February 28 show the leap days'
events (as a leap-day birthday is kept on February 28), the digest under their own date;
March 1 and a leap year's February 28 do not; February 29 asked for shows its own."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from storage import Storage
from storage.models import PageRecord, SourceRecord
from tests.e2e.fixtures import make_standin_fixture
from tests.e2e.harness import FakeClock, fire, only_digest, running_bot
from tests.e2e.standin.constants import DEFAULT_GUILD_ID
from tests.e2e.standin.server import DiscordStandIn

NEWS = DEFAULT_GUILD_ID + 11
MANAGER: dict[str, Any] = {"member_permissions": (1 << 5) | 0x400 | 0x800}


def page(date: dt.date, headline: str) -> PageRecord:
    return PageRecord(
        key=f"{date:%Y/%m}/{date.day}/{'-'.join(headline.lower().split())}",
        date=date,
        headline=headline,
        sources=(SourceRecord("Example", f"https://example.com/{date}"),),
    )


async def leap_days(storage: Storage) -> None:
    await storage.events.import_batch(
        [
            page(dt.date(2024, 2, 29), "Leap day summit"),
            page(dt.date(2020, 2, 29), "Leap day storm"),
            page(dt.date(2016, 2, 28), "February 28 treaty"),
            page(dt.date(2015, 3, 1), "March 1 march"),
        ]
    )


def posted(standin: DiscordStandIn) -> dict[str, str]:
    """The onthisday digests the channel got: title -> what a reader sees under it."""
    messages = [
        r.json for r in standin.requests_to("POST", rf"/channels/{NEWS}/messages") if r.status < 300
    ]
    return {m["embeds"][0]["title"]: m["embeds"][0]["description"] for m in messages}


def lines(description: str) -> list[str]:
    """A digest's lines, each item's link reduced to its headline."""
    return [line.split("](")[0].replace("• [", "• ") for line in description.splitlines()]


async def run_digest(standin: DiscordStandIn, database: Path | str, start: dt.datetime) -> dict:
    """A daily onthisday digest at 09:00 UTC, run on the three days from `start`."""
    clock = FakeClock(start)
    async with running_bot(standin, database, prepare=leap_days, clock=clock) as bot:
        handle = await standin.send_slash_command(
            "digest set", {"kind": "onthisday", "channel": NEWS, "time": "09:00"}, **MANAGER
        )
        assert "every day at 09:00" in (await handle.callback()).json["data"]["content"]
        digest_id = await only_digest(bot)
        for _ in range(3):
            await fire(bot, clock, digest_id)
    return posted(standin)


standin = make_standin_fixture(channels=["general", "news"])


def assert_a_common_years_digests(shown: dict[str, str]) -> None:
    assert lines(shown["On this day: February 28"]) == [
        "**3 years ago — 2024 (February 29)**",
        "• Leap day summit",
        "**7 years ago — 2020 (February 29)**",
        "• Leap day storm",
        "**11 years ago — 2016**",
        "• February 28 treaty",
    ]
    assert lines(shown["On this day: March 1"]) == ["**12 years ago — 2015**", "• March 1 march"]
    assert "On this day: February 27" not in shown  # nothing that day: no post


COMMON_YEAR = dt.datetime(2027, 2, 26, 12, tzinfo=dt.UTC)  # runs Feb 27, Feb 28, Mar 1


async def test_onthisday_digest_of_a_common_years_february_28_shows_the_leap_days(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    assert_a_common_years_digests(await run_digest(standin, tmp_path / "c.db", COMMON_YEAR))


async def test_onthisday_digest_of_a_common_years_february_28_on_postgresql(
    standin: DiscordStandIn, postgres_url: str
) -> None:
    assert_a_common_years_digests(await run_digest(standin, postgres_url, COMMON_YEAR))


async def test_onthisday_digest_of_a_leap_year_shows_february_29_on_its_day(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    shown = await run_digest(
        standin, tmp_path / "c.db", dt.datetime(2028, 2, 27, 12, tzinfo=dt.UTC)
    )
    assert lines(shown["On this day: February 28"]) == [
        "**12 years ago — 2016**",
        "• February 28 treaty",
    ]
    assert lines(shown["On this day: February 29"]) == [
        "**4 years ago — 2024**",
        "• Leap day summit",
        "**8 years ago — 2020**",
        "• Leap day storm",
    ]
    assert lines(shown["On this day: March 1"]) == ["**13 years ago — 2015**", "• March 1 march"]


async def test_slash_onthisday_on_a_common_years_february_28_shows_the_leap_days(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    clock = FakeClock(dt.datetime(2027, 2, 28, 12, tzinfo=dt.UTC))
    async with running_bot(standin, tmp_path / "c.db", prepare=leap_days, clock=clock):

        async def onthisday(**options: str) -> dict[str, Any]:
            message = await (await standin.send_slash_command("onthisday", options)).response()
            embed: dict[str, Any] = message["embeds"][0]
            return embed

        leap_and_28 = ["Leap day summit", "Leap day storm", "February 28 treaty"]
        for options in ({}, {"date": "02-28"}, {"date": "2027-02-28"}):
            embed = await onthisday(**options)
            assert embed["title"] == "On this day: February 28", options
            found = [h for h in leap_and_28 if f"[{h}](" in embed["description"]]
            assert found == leap_and_28, options  # newest year first
            assert "— 2024 (February 29)**\n• [Leap day summit](" in embed["description"]
        # A leap year's February 28 has its own February 29: only its February 28 shows.
        embed = await onthisday(date="2024-02-28")
        assert "February 28 treaty" in embed["description"]
        assert "Leap day" not in embed["description"]
        # February 29 asked for shows its own events only.
        embed = await onthisday(date="02-29")
        assert embed["title"] == "On this day: February 29"
        assert "Leap day summit" in embed["description"]
        assert "Leap day storm" in embed["description"]
        assert "February 28 treaty" not in embed["description"]
        embed = await onthisday(date="03-01")
        assert "March 1 march" in embed["description"] and "Leap day" not in embed["description"]
