"""Subscriptions end to end, when people or Chronicle leave a server: a member who left it
hears no more of it (neither by DM nor pinged in its channels), and a server Chronicle was
removed from leaves nothing behind that goes on (its members' DMs, its live digests). The
real bot over the loopback Discord, a real SQLite database, a real RSS feed on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from bot.alerts import MEMBER_CHECK_EVERY
from tests.e2e.fixtures import make_standin_fixture
from tests.e2e.harness import ANNA, BORIS, FakeClock, dms_to, running_bot, sample
from tests.e2e.news_channels_support import (
    GENERAL,
    NEWS,
    OLD,
    clock_fixture,  # noqa: F401 -- a fixture, found by pytest as `clock`
    digest_set,
    ingest,
    news_guild,
    posts,
    wire_fixture,  # noqa: F401 -- a fixture, found by pytest as `wire`
)
from tests.e2e.standin.constants import DEFAULT_GUILD_ID
from tests.e2e.standin.model import DEFAULT_USER, UserSpec, make_guild
from tests.e2e.standin.server import DiscordStandIn
from tests.support.feed_server import FeedServer

OTHER = DEFAULT_GUILD_ID + (1 << 22) * 7  # a second server Anna and Chronicle share
OTHER_GENERAL = OTHER + 10


standin = make_standin_fixture(
    guilds=lambda: [news_guild(), make_guild(OTHER, name="Other", channels=["general"])],
    users=[ANNA, BORIS],
)


async def subscribe(
    standin: DiscordStandIn, user: UserSpec, entity: str, *, guild_id: int, **options: Any
) -> str:
    handle = await standin.send_slash_command(
        "subscribe", {"entity": entity, **options}, user=user, guild_id=guild_id
    )
    content: str = (await handle.callback()).json["data"]["content"]
    assert "follow" in content, content
    return content


def about(message: Any) -> str:
    """What an alert is about, as its reader sees it: its title and its lines."""
    embed = message.json["embeds"][0]
    return f"{embed['title']}\n{embed['description']}"


async def test_a_member_who_left_a_server_hears_no_more_of_it(
    standin: DiscordStandIn,
    wire: FeedServer,
    clock: FakeClock,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await subscribe(standin, ANNA, "Russia", guild_id=DEFAULT_GUILD_ID)  # by DM
        await subscribe(standin, ANNA, "Syria", guild_id=DEFAULT_GUILD_ID, delivery="here")
        await subscribe(standin, ANNA, "Iraq", guild_id=OTHER)  # by DM, from the other server
        await subscribe(standin, BORIS, "Syria", guild_id=DEFAULT_GUILD_ID, delivery="here")
        await standin.remove_member(ANNA.id, guild_id=DEFAULT_GUILD_ID)  # she leaves

        caplog.set_level(logging.INFO, logger="bot.alerts")
        first = [
            ("x-1", "Russia and Syria sign a pact"),
            ("x-2", "Iraq holds a general election"),
            *OLD,
        ]
        await ingest(bot, clock, wire, first)
        # The other server's subscription still reaches her; the one she left does not,
        # and no one pings her in its #general. Boris, still a member, is pinged there.
        (dm,) = dms_to(standin, ANNA)
        assert "Iraq" in about(dm) and "Russia" not in about(dm) and "Syria" not in about(dm)
        (ping,) = posts(standin, GENERAL)
        assert ping["content"] == f"<@{BORIS.id}>"
        # Discord was asked once whether she is still there, although two of her alerts
        # (a DM and a ping) named that server.
        asked = standin.requests_to("GET", rf"/guilds/{DEFAULT_GUILD_ID}/members/{ANNA.id}")
        assert [r.status for r in asked] == [404]
        assert any(
            "user 5001 left guild" in r.getMessage()
            and "removed their 2 subscriptions" in r.getMessage()
            for r in caplog.records
        )

        # Later events of that server: nothing for her, and nobody asks Discord again; nor
        # about Boris, found there within the hour, whose alert goes out.
        later = [("x-3", "Russia recalls its ambassador"), ("x-4", "Syria reopens a border")]
        await ingest(bot, clock, wire, [*later, *first])
        assert len(dms_to(standin, ANNA)) == 1
        assert len(posts(standin, GENERAL)) == 2
        for member in (ANNA, BORIS):
            path = rf"/guilds/{DEFAULT_GUILD_ID}/members/{member.id}"
            assert len(standin.requests_to("GET", path)) == 1


async def test_a_server_chronicle_was_removed_from_stops_its_alerts_and_digests(
    standin: DiscordStandIn,
    wire: FeedServer,
    clock: FakeClock,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await subscribe(standin, ANNA, "Russia", guild_id=DEFAULT_GUILD_ID)  # by DM
        await subscribe(standin, ANNA, "Iraq", guild_id=OTHER)  # by DM
        reply = await digest_set(standin, kind="new", channel=NEWS, every="live", entity="Russia")
        assert "as new events arrive" in reply
        before = len(standin.requests)

        caplog.set_level(logging.INFO, logger="bot.client")
        await standin.remove_guild(DEFAULT_GUILD_ID)  # Chronicle is kicked from it
        for _ in range(200):
            if any("removed from guild" in r.getMessage() for r in caplog.records):
                break
            await asyncio.sleep(0.01)

        items = [("x-1", "Russia recalls its ambassador"), ("x-2", "Iraq holds an election"), *OLD]
        await ingest(bot, clock, wire, items)
        # Anna hears of the server she still shares with Chronicle only.
        (dm,) = dms_to(standin, ANNA)
        assert "Iraq" in about(dm) and "Russia" not in about(dm)
        # Nothing tries the server that is gone: no post in #news, no DM to the digest's
        # maker about a "deleted" channel.
        assert not [r for r in standin.requests[before:] if str(NEWS) in r.path]
        assert dms_to(standin, DEFAULT_USER) == []


async def test_members_found_are_forgotten_after_the_hour_and_with_their_server(
    standin: DiscordStandIn,
    wire: FeedServer,
    clock: FakeClock,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Members who followed Russia for one event and unsubscribed, an hour or more apart:
    Chronicle remembers finding in the server only those of the last hour (it asks again
    after that anyway: Anna, who follows throughout, is asked once an hour), and nobody of
    a server it was removed from. It used to remember every member it ever alerted."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await subscribe(standin, ANNA, "Russia", guild_id=DEFAULT_GUILD_ID)
        items = list(OLD)
        for wave in range(3):
            members = [
                UserSpec(id=900_000 + wave * 100 + n, username=f"m{wave}-{n}") for n in range(5)
            ]
            for member in members:
                await subscribe(standin, member, "Russia", guild_id=DEFAULT_GUILD_ID)
            items = [(f"w{wave}", f"Russia recalls its ambassador, wave {wave}"), *items]
            await ingest(bot, clock, wire, items)
            for member in members:
                assert len(dms_to(standin, member)) == 1
                handle = await standin.send_slash_command(
                    "unsubscribe", {"entity": "Russia"}, user=member, guild_id=DEFAULT_GUILD_ID
                )
                assert "no longer follow" in (await handle.callback()).json["data"]["content"]
            clock.set(clock() + MEMBER_CHECK_EVERY)
        assert len(dms_to(standin, ANNA)) == 3
        asked = standin.requests_to("GET", rf"/guilds/{DEFAULT_GUILD_ID}/members/{ANNA.id}")
        assert len(asked) == 3
        assert len(bot.alerts._members) <= 1 + len(members)

        caplog.set_level(logging.INFO, logger="bot.client")
        await standin.remove_guild(DEFAULT_GUILD_ID)
        for _ in range(200):
            if any("removed from guild" in r.getMessage() for r in caplog.records):
                break
            await asyncio.sleep(0.01)
        assert not [key for key in bot.alerts._members if key[0] == DEFAULT_GUILD_ID]
