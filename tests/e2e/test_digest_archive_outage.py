"""The database goes away while a digest is being posted (Discord took a message, Chronicle
could not record it) and comes back: the retry the log promises posts the rest, once, and
a live digest goes on posting what arrives."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from storage import Storage
from storage.models import PageRecord, SourceRecord
from tests.e2e.harness import FakeClock, fire, running_bot, sample
from tests.e2e.standin.constants import DEFAULT_GUILD_ID
from tests.e2e.standin.model import make_guild
from tests.e2e.standin.server import DiscordStandIn
from tests.support.tcp_proxy import TcpProxy

NEWS = DEFAULT_GUILD_ID + 11  # the guild's second channel, "news"
DAY = dt.date(2026, 6, 16)


class OutageAfterAPost(DiscordStandIn):
    """Once armed, the database server goes away as Discord takes a post in #news."""

    server: TcpProxy | None = None

    async def _create_channel_message(self, call: Any) -> Any:
        answer = await super()._create_channel_message(call)
        if self.server is not None and int(call.params["channel_id"]) == NEWS:
            server, self.server = self.server, None
            await server.cut()
        return answer

    def posts(self) -> list[dict[str, Any]]:
        """The messages in #news, in order (a post sent again with its nonce is one)."""
        return self.messages_in(NEWS)

    def posted(self) -> list[str]:
        """The text of the embeds in #news."""
        return [embed.get("description", "") for m in self.posts() for embed in m["embeds"]]


def news(count: int, *, start: int = 0, long: bool = False) -> list[PageRecord]:
    """Announced events of one story; long ones fill a digest message in about ten."""
    padding = " about the talks, the ceasefire and what comes next" * 3 if long else ""
    return [
        PageRecord(
            key=f"2026/06/16/atlantis-news-{n}",
            date=DAY,
            headline=f"Atlantis news number {n}{padding}",
            sources=(SourceRecord("Example", f"https://example.com/{n}/{'x' * 150}"),),
            entities=("Atlantis",),
            announce=True,
        )
        for n in range(start, start + count)
    ]


def listed(lines: list[str]) -> list[int]:
    """The numbers of the events the posts list, each time it is listed."""
    return sorted(int(n) for text in lines for n in re.findall(r"Atlantis news number (\d+)", text))


async def new_events_digest(storage: Storage, every: str, now: dt.datetime) -> None:
    """The sample archive, and a digest of new events in #news."""
    await sample(storage)
    await storage.digests.upsert(
        guild_id=DEFAULT_GUILD_ID,
        channel_id=NEWS,
        kind="new",
        every=every,
        time=dt.time(10, 30),
        timezone="UTC",
        created_by=1,
        now=now,
    )


async def test_a_daily_digest_cut_short_is_finished_by_its_retry(postgres_url: str) -> None:
    server = TcpProxy.before(postgres_url)
    clock = FakeClock(dt.datetime(2026, 6, 16, 5, 0, tzinfo=dt.UTC))
    api = OutageAfterAPost(guilds=[make_guild(DEFAULT_GUILD_ID, channels=["general", "news"])])

    async def prepare(storage: Storage) -> None:
        await new_events_digest(storage, "daily", clock())
        await storage.events.import_batch(news(25, long=True))

    async with api, server:
        url = server.through(postgres_url)
        async with running_bot(api, url, prepare=prepare, clock=clock) as bot:
            (digest,) = await bot.storage.digests.all()
            api.server = server
            await fire(bot, clock, digest.id)
            assert len(api.posts()) == 1  # then the database went away
            await server.start()
            retry = bot.chronicle_scheduler.apscheduler.get_job(f"digest-retry:{digest.id}:{DAY}")
            assert retry is not None
            clock.set(clock() + dt.timedelta(minutes=5))
            await retry.func(*retry.args)
            run = await bot.storage.digests.run(digest.id, DAY.isoformat())
            assert run is not None and run.status == "sent" and run.parts == len(api.posts()) > 1
            assert listed(api.posted()) == list(range(25))  # each event once


async def test_a_live_digest_goes_on_after_the_database_came_back(postgres_url: str) -> None:
    server = TcpProxy.before(postgres_url)
    api = OutageAfterAPost(guilds=[make_guild(DEFAULT_GUILD_ID, channels=["general", "news"])])

    async def prepare(storage: Storage) -> None:
        await new_events_digest(storage, "live", dt.datetime.now(dt.UTC))

    async with api, server:
        url = server.through(postgres_url)
        async with running_bot(api, url, prepare=prepare) as bot:
            live = bot.chronicle_scheduler.live
            await live.wait()
            api.server = server
            await bot.storage.events.import_batch(news(2))
            try:
                await bot.announce()
            except Exception as exc:  # the alert sweep beside the post may meet the cut too
                assert bot.storage.explain(exc) is not None, exc  # the archive's: logged so
            await live.wait()
            assert listed(api.posted()) == [0, 1]
            await server.start()
            await bot.storage.events.import_batch(news(1, start=2))
            await bot.announce()
            await live.wait()
            assert listed(api.posted()) == [0, 1, 2]
