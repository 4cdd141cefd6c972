"""A timezone stored earlier that this machine's zone database lacks (a zone newer than its
tzdata, set by a process with newer data on a shared PostgreSQL or in a database restored on
an older install; a name a tzdata release dropped, as 2020b dropped US/Pacific-New): that
digest alone waits, and says why; everything else runs."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest

from bot.scheduler import digest_job_id
from storage import Storage
from storage.models import PageRecord, SourceRecord
from tests.e2e.fixtures import make_standin_fixture
from tests.e2e.harness import FakeClock, embed_of, fire, running_bot
from tests.e2e.news_channels_support import MANAGER, digest_set
from tests.e2e.standin.constants import DEFAULT_GUILD_ID
from tests.e2e.standin.server import DiscordStandIn

GENERAL = DEFAULT_GUILD_ID + 10
NEWS = DEFAULT_GUILD_ID + 11
MISSING_ZONE = "America/Not_In_This_Tzdata"  # stands for a name this machine's tzdata lacks
NOW = dt.datetime(2026, 6, 16, 6, tzinfo=dt.UTC)


async def archive_and_digests(storage: Storage) -> None:
    await storage.events.import_batch(
        [
            PageRecord(
                key="2025/06/16/june-treaty-signed",
                date=dt.date(2025, 6, 16),
                headline="June treaty signed",
                sources=(SourceRecord("Example", "https://example.com/a"),),
            )
        ]
    )
    # Set earlier, when the zone was known (as /digest set and /settings stored them).
    for channel, zone in ((GENERAL, MISSING_ZONE), (NEWS, "Europe/Berlin")):
        await storage.digests.upsert(
            guild_id=DEFAULT_GUILD_ID,
            channel_id=channel,
            kind="onthisday",
            time=dt.time(9, 0),
            timezone=zone,
            created_by=1,
            now=NOW - dt.timedelta(days=30),
        )
    await storage.settings.set_timezone(DEFAULT_GUILD_ID, MISSING_ZONE)


async def archive_and_digests_in_berlin(storage: Storage) -> None:
    """As archive_and_digests, in a server whose timezone this machine knows."""
    await archive_and_digests(storage)
    await storage.settings.set_timezone(DEFAULT_GUILD_ID, "Europe/Berlin")


standin = make_standin_fixture(channels=["general", "news"])


async def test_one_digests_unknown_timezone_leaves_the_other_digests_and_the_polling_running(
    standin: DiscordStandIn, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The other channel's digest still posts at 09:00 Berlin, feeds are polled, alerts
    swept and ledgers pruned; the log names the digest that waits, and its zone."""
    caplog.set_level(logging.INFO, logger="bot")
    clock = FakeClock(NOW)
    async with running_bot(
        standin, tmp_path / "c.db", prepare=archive_and_digests, clock=clock
    ) as bot:
        digests = {d.channel_id: d for d in await bot.storage.digests.all()}
        jobs = {job.id for job in bot.chronicle_scheduler.apscheduler.get_jobs()}
        assert {"feeds", "alerts", "ledgers"} <= jobs, jobs
        assert digest_job_id(digests[GENERAL].id) not in jobs
        fired = await fire(bot, clock, digests[NEWS].id)
    assert fired == dt.datetime(2026, 6, 16, 7, tzinfo=dt.UTC)  # 09:00 in Berlin's summer
    (post,) = standin.requests_to("POST", rf"/channels/{NEWS}/messages")
    assert post.json["embeds"][0]["title"] == "On this day: June 16"
    assert not standin.requests_to("POST", rf"/channels/{GENERAL}/messages")
    (line,) = [r.getMessage() for r in caplog.records if MISSING_ZONE in r.getMessage()]
    assert f"digest {digests[GENERAL].id} (channel {GENERAL}) is not scheduled" in line
    assert "Traceback" not in caplog.text


async def test_onthisday_in_a_server_whose_timezone_is_unknown_answers_for_utcs_day(
    standin: DiscordStandIn, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """/onthisday answers with UTC's day (not "Something went wrong"), and the log says the
    zone is unknown and UTC is used."""
    clock = FakeClock(dt.datetime(2026, 6, 16, 23, 30, tzinfo=dt.UTC))
    async with running_bot(standin, tmp_path / "c.db", prepare=archive_and_digests, clock=clock):
        handle = await standin.send_slash_command("onthisday", {})
        embed = embed_of(await handle.response())
    assert embed["title"] == "On this day: June 16"
    assert "June treaty signed" in embed["description"]
    assert any(
        MISSING_ZONE in r.getMessage() and "UTC is used" in r.getMessage() for r in caplog.records
    )


async def test_setting_the_digest_again_without_a_timezone_gives_it_the_servers(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """The log said to set the digest's timezone again; a manager runs /digest set with a
    new time and no timezone. The reply says the zone is unknown here and the server's is
    used, and the digest posts at 10:00 in Berlin (it kept the zone and never posted)."""
    clock = FakeClock(NOW)
    async with running_bot(
        standin, tmp_path / "c.db", prepare=archive_and_digests_in_berlin, clock=clock
    ) as bot:
        reply = await digest_set(standin, kind="onthisday", channel=GENERAL, time="10:00")
        digests = {d.channel_id: d for d in await bot.storage.digests.all()}
        fired = await fire(bot, clock, digests[GENERAL].id)
    assert "every day at 10:00 (Europe/Berlin)" in reply
    unknown = MISSING_ZONE.replace("_", "\\_")
    assert f"The timezone {unknown} is unknown to this machine's timezone data" in reply
    assert "so Europe/Berlin is used instead." in reply
    assert fired == dt.datetime(2026, 6, 16, 8, tzinfo=dt.UTC)
    (post,) = standin.requests_to("POST", rf"/channels/{GENERAL}/messages")
    assert post.json["embeds"][0]["title"] == "On this day: June 16"


async def test_setting_a_digest_in_a_server_whose_timezone_is_unknown_uses_utc(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """Neither the digest's zone nor the server's is known here: the digest is set in UTC,
    the reply says so, and it is scheduled."""
    clock = FakeClock(NOW)
    async with running_bot(
        standin, tmp_path / "c.db", prepare=archive_and_digests, clock=clock
    ) as bot:
        reply = await digest_set(standin, kind="onthisday", channel=GENERAL, time="10:00")
        digests = {d.channel_id: d for d in await bot.storage.digests.all()}
        jobs = {job.id for job in bot.chronicle_scheduler.apscheduler.get_jobs()}
    assert "every day at 10:00 (UTC)" in reply and "so UTC is used instead." in reply
    assert digests[GENERAL].timezone == "UTC"
    assert digest_job_id(digests[GENERAL].id) in jobs


async def test_the_preview_of_a_digest_whose_timezone_is_unknown_is_of_the_servers_day(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """At 23:30 UTC it is already June 17 in Berlin, the server's timezone: /digest preview
    of the digest in the unknown zone shows June 17 (none of the archive's events), and
    says whose day it took (it showed UTC's June 16)."""
    clock = FakeClock(dt.datetime(2026, 6, 16, 23, 30, tzinfo=dt.UTC))
    async with running_bot(
        standin, tmp_path / "c.db", prepare=archive_and_digests_in_berlin, clock=clock
    ) as bot:
        (general, _) = sorted(await bot.storage.digests.all(), key=lambda d: d.id)
        assert general.timezone == MISSING_ZONE  # the digest a preview of its kind shows
        handle = await standin.send_slash_command(
            "digest preview", {"kind": "onthisday"}, **MANAGER
        )
        data = (await handle.callback()).json["data"]
    said, note = data["content"].split("\n")
    assert said == "Nothing would be posted now: On this day: June 17: nothing to post."
    assert note.endswith("so Europe/Berlin is used instead.")
