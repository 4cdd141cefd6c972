"""Digests set up and changed over months, end to end: the real ChronicleBot over the
loopback Discord, a real SQLite database and a fake clock.

The hour the clocks go back twice; a digest whose time or timezone is changed on a day it
has already posted (the "Next:" it promises, and a restart after it); a digest set again,
keeping what was left out; a long /digest list; timezones typed as people write a city or
an offset, and zones whose names count the other way.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from storage.models import PageRecord, SourceRecord
from tests.e2e.harness import FakeClock, data, fire, only_digest, running_bot, sample
from tests.e2e.news_channels_support import (
    ANNOUNCEMENTS,
    GENERAL,
    MANAGER,
    NEWS,
    NEWS_ROLE,
    UTC,
    clock_fixture,  # noqa: F401 -- a fixture, found by pytest as `clock`
    digest_list,
    digest_set,
    posts,
    standin_fixture,  # noqa: F401 -- a fixture, found by pytest as `standin`
)
from tests.e2e.standin.constants import DEFAULT_GUILD_ID
from tests.e2e.standin.server import DiscordStandIn

NEXT = re.compile(r"Next: <t:(\d+):F>")
MINUS = "\u2212"  # offsets are printed with a true minus sign


def offset_now(zone: str) -> dt.timedelta | None:
    return dt.datetime.now(UTC).astimezone(ZoneInfo(zone)).utcoffset()


def offered(content: str) -> list[str]:
    """The zones a refusal offers under "Did you mean:"."""
    _, _, tail = content.partition("Did you mean:")
    return [
        line.removeprefix("• ").replace("\\", "")
        for line in tail.splitlines()
        if line.startswith("• ")
    ]


async def settings_timezone(standin: DiscordStandIn, typed: str) -> str:
    handle = await standin.send_slash_command("settings timezone", {"timezone": typed}, **MANAGER)
    return str(data(await handle.callback())["content"])


async def timezone_choices(standin: DiscordStandIn, typed: str) -> list[dict[str, Any]]:
    handle = await standin.send_autocomplete(
        "settings timezone", {"timezone": typed}, focused="timezone", **MANAGER
    )
    choices: list[dict[str, Any]] = data(await handle.callback())["choices"]
    return choices


def fresh(tag: str, count: int) -> list[PageRecord]:
    return [
        PageRecord(
            key=f"2026/11/01/{tag}-{i}",
            date=dt.date(2026, 11, 1),
            headline=f"Fresh story {tag} number {i}",
            origin="feed",
            announce=True,
            sources=(SourceRecord("Wire", f"https://example.com/{tag}/{i}"),),
        )
        for i in range(count)
    ]


async def test_an_hourly_digest_posts_in_the_hour_the_clocks_go_back(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """New York, 2026-11-01: 01:00-02:00 comes twice (EDT, then EST). What arrived in the
    first 01:xx is posted at the second 01:00 (06:00 UTC), as every other hour's news is
    posted at the top of the next hour, not an hour late with the next hour's."""
    clock = FakeClock(dt.datetime(2026, 11, 1, 4, 30, tzinfo=UTC))
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await digest_set(
            standin,
            kind="new",
            channel=NEWS,
            every="hourly",
            time="00",
            timezone="America/New_York",
        )
        digest_id = await only_digest(bot)
        await bot.storage.events.import_batch(fresh("a", 2))
        assert await fire(bot, clock, digest_id) == dt.datetime(2026, 11, 1, 5, tzinfo=UTC)
        assert len(posts(standin, NEWS)) == 1
        clock.set(dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC))
        await bot.storage.events.import_batch(fresh("b", 2))
        assert await fire(bot, clock, digest_id) == dt.datetime(2026, 11, 1, 6, tzinfo=UTC)
        second = posts(standin, NEWS)[1]["embeds"][0]["description"]
        assert "Fresh story b number 0" in second and "Fresh story a" not in second


@pytest.mark.parametrize(
    ("time", "zone"),
    [("20:00", "UTC"), ("08:00", "America/Los_Angeles")],
    ids=["later-time", "zone-behind"],
)
async def test_the_next_post_promised_after_a_change_is_the_next_post(
    standin: DiscordStandIn, tmp_path: Path, time: str, zone: str
) -> None:
    """An onthisday digest posted today at 08:00 UTC; the manager then moves it to 20:00
    (or to 08:00 Los Angeles, still ahead there). Today's is posted already, so the "Next:"
    of the reply and of /digest list is tomorrow's, and that is when the channel next gets
    a post."""
    clock = FakeClock(dt.datetime(2026, 12, 7, 5, 0, tzinfo=UTC))
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await digest_set(standin, kind="onthisday", channel=NEWS, time="08:00", timezone="UTC")
        digest_id = await only_digest(bot)
        await fire(bot, clock, digest_id)
        assert len(posts(standin, NEWS)) == 1
        clock.set(dt.datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
        reply = await digest_set(standin, kind="onthisday", channel=NEWS, time=time, timezone=zone)
        match = NEXT.search(reply)
        assert match, reply
        promised = dt.datetime.fromtimestamp(int(match[1]), UTC)
        assert promised.date() == dt.date(2026, 12, 8)
        assert f"<t:{match[1]}:F>" in await digest_list(standin)
        posted_at = await fire(bot, clock, digest_id)
        assert len(posts(standin, NEWS)) == 2
        assert posted_at == promised


async def test_a_restart_after_moving_the_time_earlier_posts_nothing_today(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """A digest set a week ago for 18:00; at 10:00 today the manager moves it to 09:00, and
    is told "Next:" tomorrow 09:00. A restart at 10:30 (an upgrade) does not take today's
    09:00 for a run missed while the bot was down."""
    db = tmp_path / "c.db"
    clock = FakeClock(dt.datetime(2026, 12, 1, 5, 0, tzinfo=UTC))
    async with running_bot(standin, db, prepare=sample, clock=clock):
        await digest_set(standin, kind="onthisday", channel=NEWS, time="18:00", timezone="UTC")
    clock.set(dt.datetime(2026, 12, 7, 10, 0, tzinfo=UTC))
    async with running_bot(standin, db, clock=clock):
        reply = await digest_set(
            standin, kind="onthisday", channel=NEWS, time="09:00", timezone="UTC"
        )
        tomorrow = int(dt.datetime(2026, 12, 8, 9, tzinfo=UTC).timestamp())
        assert f"Next: <t:{tomorrow}:F>" in reply
    clock.set(dt.datetime(2026, 12, 7, 10, 30, tzinfo=UTC))
    async with running_bot(standin, db, clock=clock) as bot:
        await standin.wait_until(
            lambda: bot.chronicle_scheduler.next_run_time(1) is not None,
            timeout=5,
            what="the digest scheduled",
        )
        assert bot.chronicle_scheduler.next_run_time(1) == dt.datetime(2026, 12, 8, 9, tzinfo=UTC)
    assert posts(standin, NEWS) == []


async def test_a_long_digest_list_counts_what_it_cannot_show(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """40 topic digests do not fit one embed: /digest list shows whole lines, then says how
    many more there are and how to find them."""
    clock = FakeClock(dt.datetime(2026, 12, 7, 5, 0, tzinfo=UTC))
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        for n in range(40):
            await digest_set(
                standin, kind="new", channel=NEWS, every="hourly", time="00", words=f"topic{n:02d}"
            )
        assert len(await bot.storage.digests.all()) == 40
        listing = await digest_list(standin)
    shown = sum(f"“topic{n:02d}”" in listing for n in range(40))
    assert 0 < shown < 40
    assert listing.count("  next: <t:") == shown  # each digest shown whole
    assert listing.splitlines()[-1] == (
        f"… and {40 - shown} more: type a channel, kind or word in /digest remove to find one"
    )


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("new york", "America/New_York"),
        ("Los Angeles", "America/Los_Angeles"),
        ("sao paulo", "America/Sao_Paulo"),
    ],
)
async def test_a_timezone_typed_as_a_city_is_offered(
    standin: DiscordStandIn, tmp_path: Path, typed: str, zone: str
) -> None:
    """Zone names spell a city's spaces as underscores; what people type has spaces."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample):
        handle = await standin.send_autocomplete(
            "digest set",
            {"kind": "onthisday", "channel": NEWS, "time": "09:00", "timezone": typed},
            focused="timezone",
            **MANAGER,
        )
        choices = (await handle.callback()).json["data"]["choices"]
    assert zone in [c["value"] for c in choices]


async def test_a_digests_timezone_becomes_the_servers_only_when_it_has_none(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """A server without a timezone takes the first one a digest names, and the reply says
    so; a Berlin server keeps Berlin when one digest is set on Tokyo time for its Japanese
    readers, and the next digest set without a timezone is on Berlin time."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample) as bot:
        reply = await digest_set(
            standin, kind="onthisday", channel=NEWS, time="08:00", timezone="Europe/Berlin"
        )
        assert reply.endswith(
            "The server's timezone is now Europe/Berlin too (`/settings timezone` changes it)."
        )
        reply = await digest_set(
            standin, kind="onthisday", channel=NEWS, time="08:00", timezone="Asia/Tokyo"
        )
        assert "every day at 08:00 (Asia/Tokyo)" in reply and "server" not in reply
        assert (await bot.storage.settings.get(DEFAULT_GUILD_ID)).timezone == "Europe/Berlin"
        later = await digest_set(standin, kind="onthisday", channel=GENERAL, time="08:00")
        assert "every day at 08:00 (Europe/Berlin)" in later and "server" not in later


@pytest.mark.parametrize("typed", ["UTC+5", "GMT+5", "gmt +05:00"])
async def test_an_offset_typed_as_a_timezone_is_answered_with_the_zones_at_it(
    standin: DiscordStandIn, tmp_path: Path, typed: str
) -> None:
    """A manager in Pakistan types the offset they know. Autocomplete offers the zones five
    hours ahead of UTC, each with its offset, and the offset sent as it is is refused with
    those zones: never Etc/GMT+5, which the POSIX sign puts five hours behind."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample):
        choices = await timezone_choices(standin, typed)
        assert choices[0] == {"name": "Asia/Karachi (UTC+05:00)", "value": "Asia/Karachi"}
        assert {offset_now(c["value"]) for c in choices} == {dt.timedelta(hours=5)}
        assert "Etc/GMT-5" in [c["value"] for c in choices]
        reply = await digest_set(
            standin, kind="onthisday", channel=NEWS, time="08:00", timezone=typed
        )
        assert reply.startswith("UTC+05:00 is an offset, not a timezone"), reply
        zones = offered(reply)
        assert zones[0] == "Asia/Karachi" and "Etc/GMT-5" in zones, zones
        assert {offset_now(z) for z in zones} == {dt.timedelta(hours=5)}
        refused = await settings_timezone(standin, typed)
        assert offered(refused) == zones


async def test_an_etc_gmt_zone_is_shown_with_its_real_offset(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """Etc/GMT+5 is five hours behind UTC, its name's sign the other way round. Wherever a
    manager meets it (a choice, the replies, /digest list) it says UTC−05:00."""
    behind = f"UTC{MINUS}05:00"
    async with running_bot(standin, tmp_path / "c.db", prepare=sample):
        choices = await timezone_choices(standin, "etc/gmt+5")
        assert choices[0] == {"name": f"Etc/GMT+5 ({behind})", "value": "Etc/GMT+5"}
        reply = await settings_timezone(standin, "Etc/GMT+5")
        assert reply.startswith(f"This server's timezone is now **Etc/GMT+5 ({behind})**")
        reply = await digest_set(standin, kind="onthisday", channel=NEWS, time="09:00")
        assert f"every day at 09:00 (Etc/GMT+5 = {behind})" in reply
        assert f"every day at 09:00 (Etc/GMT+5 = {behind})" in await digest_list(standin)


async def test_an_hourly_digest_says_whose_hour_its_minutes_are(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """Kolkata is five and a half hours ahead of UTC: an hourly digest at :00 there posts at
    half past on a UTC clock. The reply and /digest list name the zone, as a daily one's do."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample):
        reply = await digest_set(
            standin, kind="new", channel=NEWS, every="hourly", time="00", timezone="Asia/Kolkata"
        )
        assert "every hour at :00 (Asia/Kolkata)." in reply
        assert "every hour at :00 (Asia/Kolkata)" in await digest_list(standin)


async def test_a_digest_set_again_keeps_what_was_left_out(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """The server keeps Berlin's time. #announcements' "new" digest posts at 08:00 Tokyo
    time, mentioning @news, each post published. A manager sets it again with a time alone:
    it stays on Tokyo time, mentioning @news and published, and the reply says so. no_role
    stops the mentions, and the rest stays again; a role and no_role together are refused."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample):
        await settings_timezone(standin, "Europe/Berlin")
        await digest_set(
            standin,
            kind="new",
            channel=ANNOUNCEMENTS,
            time="08:00",
            timezone="Asia/Tokyo",
            role=NEWS_ROLE,
            publish=True,
        )
        reply = await digest_set(standin, kind="new", channel=ANNOUNCEMENTS, time="09:00")
        assert (
            f"is now posted in <#{ANNOUNCEMENTS}> every day at 09:00 (Asia/Tokyo), mentioning"
            f" <@&{NEWS_ROLE}> and published to following servers." in reply
        ), reply
        listed = await digest_list(standin)
        assert "09:00 (Asia/Tokyo)" in listed and f"mentions <@&{NEWS_ROLE}> · published" in listed
        reply = await digest_set(standin, kind="new", channel=ANNOUNCEMENTS, no_role=True)
        assert "every day at 09:00 (Asia/Tokyo), published to following servers." in reply
        assert "mention" not in await digest_list(standin)
        reply = await digest_set(
            standin, kind="new", channel=ANNOUNCEMENTS, role=NEWS_ROLE, no_role=True
        )
        assert "not both" in reply
        assert "mention" not in await digest_list(standin)
