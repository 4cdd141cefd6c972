"""Scheduled digests end to end, with a controlled clock and the loopback Discord:
local times across DST, restarts, downtime, refusals, retries and permissions."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.services.imports import import_archive
from storage import Storage
from storage.models import PageRecord, SourceRecord
from storage.sqlite import SQLiteStorage
from tests.conftest import SAMPLE_NEWS
from tests.e2e.fixtures import make_standin_fixture
from tests.e2e.harness import FakeClock, fire, only_digest, running_bot, sample
from tests.e2e.standin.constants import DEFAULT_GUILD_ID, DEFAULT_USER_ID, SEND_MESSAGES
from tests.e2e.standin.model import GuildSpec, make_guild
from tests.e2e.standin.records import Errors
from tests.e2e.standin.server import DiscordStandIn
from tests.support.tcp_proxy import TcpProxy

UTC = dt.UTC
GENERAL = DEFAULT_GUILD_ID + 10
NEWS = DEFAULT_GUILD_ID + 11
LOCKED = DEFAULT_GUILD_ID + 12
MANAGE_GUILD = 1 << 5
EPHEMERAL = 64


def guild(system_channel: bool = False) -> GuildSpec:
    spec = make_guild(channels=["general", "news", "locked"], deny_bot={"locked": SEND_MESSAGES})
    if system_channel:
        spec.system_channel_id = GENERAL
    return spec


standin = make_standin_fixture(guilds=lambda: [guild()])


def posts(standin: DiscordStandIn, channel_id: int) -> list[Any]:
    return [
        r
        for r in standin.requests_to("POST", rf"/channels/{channel_id}/messages")
        if r.status < 300
    ]


def manager() -> dict[str, Any]:
    return {"member_permissions": MANAGE_GUILD | 0x400 | 0x800}


async def set_digest(
    standin: DiscordStandIn, kind: str, channel: int, time: str, zone: str | None = None
) -> dict:
    options: dict[str, Any] = {"kind": kind, "channel": channel, "time": time}
    if zone:
        options["timezone"] = zone
    handle = await standin.send_slash_command("digest set", options, **manager())
    callback = await handle.callback()
    return callback.json["data"]


async def test_digest_fires_at_its_local_time_in_two_timezones(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    clock = FakeClock(dt.datetime(2026, 6, 16, 5, 0, tzinfo=UTC))
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        reply = await set_digest(standin, "onthisday", NEWS, "10:30", "Europe/Berlin")
        assert reply["flags"] & EPHEMERAL
        assert "every day at 10:30 (Europe/Berlin)" in reply["content"]
        digest_id = await only_digest(bot)
        when = await fire(bot, clock, digest_id)
        assert when == dt.datetime(2026, 6, 16, 8, 30, tzinfo=UTC)  # 10:30 CEST
        (post,) = posts(standin, NEWS)
        embed = post.json["embeds"][0]
        assert embed["title"] == "On this day: June 16"
        assert embed["description"].startswith("**9 years ago — 2017**\n• ")
        assert post.json["allowed_mentions"] == {"parse": []}
        # The next run is tomorrow at the same local time.
        assert bot.chronicle_scheduler.next_run_time(digest_id) == dt.datetime(
            2026, 6, 17, 8, 30, tzinfo=UTC
        )


async def test_new_york_digest_follows_the_dst_change(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    clock = FakeClock(dt.datetime(2026, 10, 30, 14, 0, tzinfo=UTC))  # 10:00 EDT

    async def prepare(storage: Storage) -> None:
        await import_archive(storage, [SAMPLE_NEWS])
        pages = [
            PageRecord(
                key=f"2015/{d:%m}/{d.day}/event-{d.day}",
                date=d,
                headline=f"Something happened on {d}",
                sources=(SourceRecord("Example", f"https://example.com/{d}"),),
            )
            for d in (dt.date(2015, 10, 31), dt.date(2015, 11, 1))
        ]
        await storage.events.import_batch(pages)

    async with running_bot(standin, tmp_path / "c.db", prepare=prepare, clock=clock) as bot:
        await set_digest(standin, "onthisday", NEWS, "09:00", "America/New_York")
        digest_id = await only_digest(bot)
        first = await fire(bot, clock, digest_id)
        assert first == dt.datetime(2026, 10, 31, 13, 0, tzinfo=UTC)  # EDT, UTC-4
        second = await fire(bot, clock, digest_id)
        assert second == dt.datetime(2026, 11, 1, 14, 0, tzinfo=UTC)  # EST, UTC-5
        titles = [p.json["embeds"][0]["title"] for p in posts(standin, NEWS)]
        assert titles == ["On this day: October 31", "On this day: November 1"]


async def test_restart_between_runs_posts_nothing_twice(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    db = tmp_path / "c.db"
    clock = FakeClock(dt.datetime(2026, 6, 16, 5, 0, tzinfo=UTC))
    async with running_bot(standin, db, prepare=sample, clock=clock) as bot:
        await set_digest(standin, "onthisday", NEWS, "09:00", "UTC")
        digest_id = await only_digest(bot)
        await fire(bot, clock, digest_id)
        # The same day's run again (a late duplicate timer) posts nothing.
        assert await bot.chronicle_scheduler.delivery.run(digest_id, "2026-06-16") == "already"
    assert len(posts(standin, NEWS)) == 1

    clock.set(dt.datetime(2026, 6, 16, 12, 0, tzinfo=UTC))  # restart later the same day
    async with running_bot(standin, db, clock=clock) as bot:
        await standin.wait_until(
            lambda: bot.chronicle_scheduler.next_run_time(digest_id) is not None,
            timeout=5,
            what="digest rescheduled",
        )
        assert bot.chronicle_scheduler.next_run_time(digest_id) == dt.datetime(
            2026, 6, 17, 9, 0, tzinfo=UTC
        )
    assert len(posts(standin, NEWS)) == 1


async def test_downtime_posts_once_the_same_day_and_not_the_next(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    db = tmp_path / "c.db"
    clock = FakeClock(dt.datetime(2026, 6, 15, 12, 0, tzinfo=UTC))
    async with running_bot(standin, db, prepare=sample, clock=clock):
        await set_digest(standin, "onthisday", NEWS, "09:00", "UTC")
    # Down over 2026-06-16 09:00; back at 11:00 the same day: posted once, on start.
    clock.set(dt.datetime(2026, 6, 16, 11, 0, tzinfo=UTC))
    async with running_bot(standin, db, clock=clock):
        await standin.wait_for_request_to("POST", rf"/channels/{NEWS}/messages", timeout=5)
    assert [p.json["embeds"][0]["title"] for p in posts(standin, NEWS)] == ["On this day: June 16"]
    # Started again the same day: nothing more.
    async with running_bot(standin, db, clock=clock) as bot:
        await standin.wait_until(
            lambda: bot.chronicle_scheduler.next_run_time(1) is not None,
            timeout=5,
            what="scheduled",
        )
    assert len(posts(standin, NEWS)) == 1
    # Down over 2026-09-27 09:00 and back the next morning before 09:00: skipped, logged.
    clock.set(dt.datetime(2026, 9, 28, 8, 0, tzinfo=UTC))
    async with running_bot(standin, db, clock=clock) as bot:
        await standin.wait_until(
            lambda: bot.chronicle_scheduler.next_run_time(1) is not None,
            timeout=5,
            what="scheduled",
        )
        assert len(posts(standin, NEWS)) == 1
        runs = await bot.storage.digests.runs_for(1)
        assert (runs[0].slot, runs[0].status) == ("2026-09-27", "skipped")
        # ... and today's runs at its time.
        await fire(bot, clock, 1)
    assert [p.json["embeds"][0]["title"] for p in posts(standin, NEWS)][
        -1
    ] == "On this day: September 28"


async def test_a_run_left_unfinished_the_day_before_does_not_hide_todays_missed_run(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    async def days(storage: Storage) -> None:
        await storage.events.import_batch(
            [
                PageRecord(
                    key=f"2015/06/{day}/event-{day}",
                    date=dt.date(2015, 6, day),
                    headline=f"Something happened on June {day}, 2015",
                    sources=(SourceRecord("Example", f"https://example.com/{day}"),),
                )
                for day in (15, 16)
            ]
        )

    db = tmp_path / "c.db"
    clock = FakeClock(dt.datetime(2026, 6, 15, 5, 0, tzinfo=UTC))
    async with running_bot(standin, db, prepare=days, clock=clock) as bot:
        await set_digest(standin, "onthisday", NEWS, "09:00", "UTC")
        digest_id = await only_digest(bot)
        standin.fail("POST", rf"/channels/{NEWS}/messages", 503, 0, "Service Unavailable")
        await fire(bot, clock, digest_id)
        assert (await bot.storage.digests.run(digest_id, "2026-06-15")).status == "retrying"
    # Stopped before the retry, down over June 16 09:00, back at 11:00 that day.
    standin.clear_faults()
    clock.set(dt.datetime(2026, 6, 16, 11, 0, tzinfo=UTC))
    async with running_bot(standin, db, clock=clock) as bot:
        await standin.wait_for_request_to("POST", rf"/channels/{NEWS}/messages", timeout=5)
        runs = {r.slot: r.status for r in await bot.storage.digests.runs_for(digest_id)}
    assert runs == {"2026-06-15": "skipped", "2026-06-16": "sent"}
    assert [p.json["embeds"][0]["title"] for p in posts(standin, NEWS)] == ["On this day: June 16"]


@pytest.mark.parametrize("dms_open", [True, False])
async def test_403_pauses_the_digest_and_tells_its_creator_once(
    tmp_path: Path, dms_open: bool
) -> None:
    async with DiscordStandIn(guilds=[guild(system_channel=True)]) as standin:
        if not dms_open:
            standin.block_dms(DEFAULT_USER_ID)
        clock = FakeClock(dt.datetime(2026, 6, 16, 5, 0, tzinfo=UTC))
        async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
            await set_digest(standin, "onthisday", NEWS, "09:00", "UTC")
            digest_id = await only_digest(bot)
            standin.fail("POST", rf"/channels/{NEWS}/messages", *Errors.MISSING_PERMISSIONS)
            await fire(bot, clock, digest_id)
            digest = await bot.storage.digests.get(digest_id)
            assert digest is not None and digest.paused and "403" in (digest.paused_reason or "")
            assert bot.chronicle_scheduler.next_run_time(digest_id) is None  # no retry loop

            notices = [
                r
                for r in standin.requests_to("POST", r"/channels/\d+/messages")
                if r.status < 300 and "paused" in (r.json.get("content") or "")
            ]
            assert len(notices) == 1
            (notice,) = notices
            assert (
                f"<#{NEWS}>" in notice.json["content"] and "/digest set" in notice.json["content"]
            )
            if dms_open:  # by DM, pinging nobody
                assert notice.path != f"/channels/{GENERAL}/messages"
                assert notice.json["allowed_mentions"] == {"parse": []}
            else:  # DMs closed: in the system channel, naming its creator alone
                assert notice.path == f"/channels/{GENERAL}/messages"
                assert notice.json["content"].startswith(f"<@{DEFAULT_USER_ID}> ")
                assert notice.json["allowed_mentions"] == {"parse": [], "users": [DEFAULT_USER_ID]}

            # Running it again changes nothing and tells nobody again.
            await bot.chronicle_scheduler.delivery.run(digest_id, "2026-06-16")
            handle = await standin.send_slash_command("digest list", **manager())
            listing = (await handle.callback()).json["data"]["embeds"][0]["description"]
            assert "paused: Discord answered 403" in listing and " since <t:" in listing

            # /digest set resumes it.
            standin.clear_faults()
            await set_digest(standin, "onthisday", NEWS, "09:00", "UTC")
            assert bot.chronicle_scheduler.next_run_time(digest_id) == dt.datetime(
                2026, 6, 17, 9, 0, tzinfo=UTC
            )
        paused_notices = [
            r
            for r in standin.requests_to("POST", r"/channels/\d+/messages")
            if "paused" in (r.json.get("content") or "")
        ]
        assert len(paused_notices) == 1 + (0 if dms_open else 1)  # a refused DM, then one


async def test_5xx_is_retried_a_bounded_number_of_times(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    clock = FakeClock(dt.datetime(2026, 6, 16, 5, 0, tzinfo=UTC))
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await set_digest(standin, "onthisday", NEWS, "09:00", "UTC")
        digest_id = await only_digest(bot)
        standin.fail("POST", rf"/channels/{NEWS}/messages", 503, 0, "Service Unavailable", times=1)
        await fire(bot, clock, digest_id)
        assert (await bot.storage.digests.run(digest_id, "2026-06-16")).status == "retrying"
        retry = bot.chronicle_scheduler.apscheduler.get_job(f"digest-retry:{digest_id}:2026-06-16")
        assert retry is not None and retry.trigger.run_date == clock() + dt.timedelta(seconds=60)
        await retry.func(*retry.args)
        assert len(posts(standin, NEWS)) == 1

        # Always failing: four attempts in all, then it stops.
        standin.fail("POST", rf"/channels/{NEWS}/messages", 503, 0, "Service Unavailable")
        await fire(bot, clock, digest_id)
        for _ in range(3):
            job = bot.chronicle_scheduler.apscheduler.get_job(
                f"digest-retry:{digest_id}:2026-06-17"
            )
            await job.func(*job.args)
        run = await bot.storage.digests.run(digest_id, "2026-06-17")
        assert (run.status, run.attempts) == ("failed", 4)
        assert len(standin.requests_to("POST", rf"/channels/{NEWS}/messages")) == 2 + 4


async def test_a_run_the_archive_refuses_is_tried_again_and_posted_once(
    standin: DiscordStandIn, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Another process holds the archive's write lock past what a write waits when the run
    is due: the run is tried again 5 minutes later, and posted then, once."""
    clock = FakeClock(dt.datetime(2026, 6, 16, 5, 0, tzinfo=UTC))
    database = tmp_path / "c.db"
    async with running_bot(standin, database, prepare=sample, clock=clock) as bot:
        await set_digest(standin, "onthisday", NEWS, "09:00", "UTC")
        digest_id = await only_digest(bot)
        assert isinstance(bot.storage, SQLiteStorage)
        await bot.storage.db.writer.execute("PRAGMA busy_timeout = 200")  # far longer as shipped
        importer = sqlite3.connect(database, isolation_level=None)
        importer.execute("BEGIN IMMEDIATE")
        try:
            with caplog.at_level(logging.ERROR, logger="bot.scheduler"):
                await fire(bot, clock, digest_id)
        finally:
            importer.rollback()
            importer.close()
        assert posts(standin, NEWS) == []
        (line,) = [
            r for r in caplog.records if r.name == "bot.scheduler" and r.levelno >= logging.ERROR
        ]
        assert not line.exc_info
        assert line.getMessage().startswith(
            f"the digest {digest_id} run of 2026-06-16 failed, the archive's doing: the database"
        )
        assert line.getMessage().endswith("; tried again in 5 minutes")
        retry = bot.chronicle_scheduler.apscheduler.get_job(f"digest-retry:{digest_id}:2026-06-16")
        assert retry is not None and retry.trigger.run_date == clock() + dt.timedelta(minutes=5)

        clock.set(retry.trigger.run_date)
        await retry.func(*retry.args)
        (post,) = posts(standin, NEWS)
        assert post.json["embeds"][0]["title"] == "On this day: June 16"
        assert (await bot.storage.digests.run(digest_id, "2026-06-16")).status == "sent"


async def test_a_run_while_the_database_server_is_gone_is_posted_once_it_is_back(
    standin: DiscordStandIn, postgres_url: str
) -> None:
    """PostgreSQL gone when the run is due: neither the run nor the digest's next run can
    be read. The run is tried again 5 minutes later, posted once the server is back, and
    the next day's run is scheduled then."""
    clock = FakeClock(dt.datetime(2026, 6, 16, 5, 0, tzinfo=UTC))
    server = TcpProxy.before(postgres_url)
    async with (
        server,
        running_bot(standin, server.through(postgres_url), prepare=sample, clock=clock) as bot,
    ):
        await set_digest(standin, "onthisday", NEWS, "09:00", "UTC")
        digest_id = await only_digest(bot)
        await server.cut()
        await fire(bot, clock, digest_id)
        assert posts(standin, NEWS) == []
        tomorrow = dt.datetime(2026, 6, 17, 9, 0, tzinfo=UTC)
        assert bot.chronicle_scheduler.next_run_time(digest_id) != tomorrow  # not known yet
        retry = bot.chronicle_scheduler.apscheduler.get_job(f"digest-retry:{digest_id}:2026-06-16")
        assert retry is not None and retry.trigger.run_date == clock() + dt.timedelta(minutes=5)

        await server.start()
        clock.set(retry.trigger.run_date)
        await retry.func(*retry.args)
        (post,) = posts(standin, NEWS)
        assert post.json["embeds"][0]["title"] == "On this day: June 16"
        assert bot.chronicle_scheduler.next_run_time(digest_id) == tomorrow


async def test_429_is_waited_out(standin: DiscordStandIn, tmp_path: Path) -> None:
    clock = FakeClock(dt.datetime(2026, 6, 16, 5, 0, tzinfo=UTC))
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await set_digest(standin, "onthisday", NEWS, "09:00", "UTC")
        standin.rate_limit("POST", rf"/channels/{NEWS}/messages", retry_after=0.05)
        await fire(bot, clock, await only_digest(bot))
        assert len(posts(standin, NEWS)) == 1


async def test_new_digest_announces_news_once(standin: DiscordStandIn, tmp_path: Path) -> None:
    clock = FakeClock(dt.datetime(2026, 11, 21, 12, 0, tzinfo=UTC))
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await set_digest(standin, "new", NEWS, "18:00", "UTC")
        digest_id = await only_digest(bot)
        news = [
            PageRecord(
                key=f"2026/11/21/news-{n}",
                date=dt.date(2026, 11, 21),
                headline=f"Fresh story number {n}",
                story="Elections" if n % 2 else None,
                entities=("Ukraine",),
                origin="feed",
                announce=True,
                sources=(SourceRecord("Wire", f"https://example.com/{n}"),),
            )
            for n in range(30)
        ]
        await bot.storage.events.import_batch(news)
        await fire(bot, clock, digest_id)
        (post,) = posts(standin, NEWS)
        description = post.json["embeds"][0]["description"]
        assert description.count("• ") == 25
        # The story cut short counts its own; the search lists them all.
        assert description.endswith(
            "… and 5 more about Ukraine\nAll of them: `/search query:* since:2026-11-21`"
        )
        assert {"**Elections**", "**Ukraine**"} <= set(description.splitlines())
        # Nothing new by the next day: no post.
        await fire(bot, clock, digest_id)
        assert len(posts(standin, NEWS)) == 1
        assert (await bot.storage.digests.run(digest_id, "2026-11-22")).status == "empty"


async def test_set_checks_channel_permissions_and_input(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample) as bot:
        reply = await set_digest(standin, "onthisday", LOCKED, "09:00")
        assert reply["flags"] & EPHEMERAL
        assert "missing Send Messages" in reply["content"] and f"<#{LOCKED}>" in reply["content"]
        reply = await set_digest(standin, "onthisday", NEWS, "25:00")
        assert "HH:MM" in reply["content"]
        reply = await set_digest(standin, "onthisday", NEWS, "09:00", "Europe/Berln")
        assert "not a timezone" in reply["content"] and "Europe/Berlin" in reply["content"]
        handle = await standin.send_autocomplete(
            "digest set",
            {"kind": "new", "channel": NEWS, "time": "09:00", "timezone": "europe/be"},
            focused="timezone",
            **manager(),
        )
        choices = (await handle.callback()).json["data"]["choices"]
        assert [c["value"] for c in choices][:2] == ["Europe/Belfast", "Europe/Belgrade"]
        # The same kind for the same channel again replaces it.
        await set_digest(standin, "onthisday", NEWS, "09:00", "Asia/Tokyo")
        reply = await set_digest(standin, "onthisday", NEWS, "07:15")  # server's saved zone
        assert "07:15 (Asia/Tokyo)" in reply["content"]
        handle = await standin.send_slash_command("digest list", **manager())
        listing = (await handle.callback()).json["data"]["embeds"][0]["description"]
        assert (
            listing.count("**onthisday**") == 1
            and "07:15 (Asia/Tokyo)" in listing
            and "<t:" in listing
        )
        handle = await standin.send_slash_command(
            "digest preview", {"kind": "onthisday"}, **manager()
        )
        assert (await handle.callback()).json["data"]["flags"] & EPHEMERAL
        (digest,) = await bot.storage.digests.all()
        handle = await standin.send_slash_command(
            "digest remove", {"digest": str(digest.id)}, **manager()
        )
        assert (
            "Removed the daily onthisday in #news digest."
            in ((await handle.callback()).json["data"]["content"])
        )
        assert await bot.storage.digests.all() == []


async def test_non_manager_cannot_set_a_digest(standin: DiscordStandIn, tmp_path: Path) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample) as bot:
        command = next(c for c in standin.guild_commands[DEFAULT_GUILD_ID] if c["name"] == "digest")
        assert int(command["default_member_permissions"]) == MANAGE_GUILD  # hidden by Discord
        with pytest.raises(PermissionError):
            await standin.send_slash_command(
                "digest set",
                {"kind": "new", "channel": NEWS, "time": "09:00"},
                member_permissions=0x400 | 0x800,
            )
        # A server that overrides Discord's default still meets the bot's own check.
        handle = await standin.send_slash_command(
            "digest set",
            {"kind": "new", "channel": NEWS, "time": "09:00"},
            member_permissions=0x400 | 0x800,
            enforce_command_permissions=False,
        )
        reply = (await handle.callback()).json["data"]
        assert reply["flags"] & EPHEMERAL and "Manage Server permission" in reply["content"]
        assert await bot.storage.digests.all() == []


async def test_a_new_run_part_posted_before_midnight_is_finished_after_it(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """Its retry comes after local midnight: the rest goes out, nothing is posted twice,
    and the next day's run does not list those events again."""
    clock = FakeClock(dt.datetime(2026, 6, 16, 20, 0, tzinfo=UTC))
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await set_digest(standin, "new", NEWS, "23:50", "UTC")
        digest_id = await only_digest(bot)
        long_news = [
            PageRecord(
                key=f"2026/06/16/long-{n}",
                date=dt.date(2026, 6, 16),
                headline=f"Story {n:02d}: " + "a long account of what happened " * 8,
                origin="feed",
                announce=True,
                sources=(SourceRecord("Wire", f"https://example.com/long/{n}"),),
            )
            for n in range(25)
        ]
        await bot.storage.events.import_batch(long_news)
        standin.fail("POST", rf"/channels/{NEWS}/messages", 503, 0, "Service Unavailable")
        await fire(bot, clock, digest_id)  # 23:50: the first attempt fails...
        run = await bot.storage.digests.run(digest_id, "2026-06-16")
        assert run is not None and run.status == "retrying" and run.parts >= 2
        standin.clear_faults()
        # ... as if its first message had gone out before a stop, and the retry came late.
        await bot.storage.digests.claim_run(digest_id, "2026-06-16", parts=run.parts, items=())
        await bot.storage.digests.part_sent(digest_id, "2026-06-16")
        await bot.storage.digests.finish_run(digest_id, "2026-06-16", "retrying", "stopped")
        clock.set(dt.datetime(2026, 6, 17, 0, 5, tzinfo=UTC))
        assert await bot.chronicle_scheduler.delivery.run(digest_id, "2026-06-16") == "sent"
        sent = posts(standin, NEWS)
        assert len(sent) == run.parts - 1
        assert sent[0].json["embeds"][0]["title"] == "New events (continued)"
        # The day after: those events were delivered, so nothing is listed again.
        await fire(bot, clock, digest_id)
        assert len(posts(standin, NEWS)) == run.parts - 1


@pytest.mark.parametrize(
    ("command", "options", "expected"),
    [
        ("digest remove", {"digest": "99999999999999999999"}, "There is no such digest here"),
        ("digest remove", {"digest": "²"}, "There is no such digest here"),
        (
            "digest set",
            {"kind": "new", "channel": NEWS, "every": "hourly", "time": "²"},
            "is not a minute",
        ),
    ],
)
async def test_numbers_no_id_or_minute_can_be_are_told_as_such(
    standin: DiscordStandIn,
    tmp_path: Path,
    command: str,
    options: dict[str, Any],
    expected: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample):
        handle = await standin.send_slash_command(command, options, **manager())
        reply = (await handle.callback()).json["data"]
    assert expected in reply["content"] and reply["flags"] & EPHEMERAL
    assert "unexpected error" not in caplog.text


async def test_the_words_of_a_digest_are_repeated_as_text(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample):
        options = {"kind": "new", "channel": NEWS, "time": "08:00", "words": "**Russia** `Syria"}
        handle = await standin.send_slash_command("digest set", options, **manager())
        content = (await handle.callback()).json["data"]["content"]
    assert "(matching “\\*\\*Russia\\*\\* \\`Syria”)" in content
