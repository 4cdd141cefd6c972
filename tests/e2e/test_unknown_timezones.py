"""A timezone stored earlier that this machine's zone database lacks (a zone newer than its
tzdata, set by a process with newer data on a shared PostgreSQL or in a database restored on
an older install; a name a tzdata release dropped, as 2020b dropped US/Pacific-New): that
digest alone waits, and says why; everything else runs."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.scheduler import digest_job_id
from storage import Storage
from storage.models import PageRecord, SourceRecord
from tests.e2e.harness import FakeClock, embed_of, fire, running_bot
from tests.e2e.standin.constants import DEFAULT_GUILD_ID
from tests.e2e.standin.model import make_guild
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


@pytest.fixture
async def standin() -> AsyncIterator[DiscordStandIn]:
    async with DiscordStandIn(guilds=[make_guild(channels=["general", "news"])]) as api:
        yield api
    assert not api.internal_errors


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
