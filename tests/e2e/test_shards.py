"""A sharded bot end to end over the stand-in: one process running shards 0-1 of 2 serves
the servers of both; a process running shard 1 of 2 serves those of shard 1 only (its
digests, its alerts) and leaves the commands to the process of shard 0."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from storage import Storage
from storage.models import PageRecord, SourceRecord
from tests.e2e.fixtures import make_standin_fixture
from tests.e2e.harness import FakeClock, dms_to, fire, running_bot, sample
from tests.e2e.standin.model import UserSpec, make_guild
from tests.e2e.standin.server import DiscordStandIn

UTC = dt.UTC
MANAGE_GUILD = 1 << 5
# Two servers, one per shard of 2 ((id >> 22) % 2); channel i of each is its id + 10 + i.
ON_0 = 3_000 << 22
ON_1 = (3_001 << 22) + 100
ANNA = UserSpec(id=6001, username="anna")
BORIS = UserSpec(id=6002, username="boris")


def news(guild_id: int) -> int:
    return guild_id + 11


standin = make_standin_fixture(
    guilds=lambda: [
        make_guild(g, name=f"server {g}", channels=["general", "news"]) for g in (ON_0, ON_1)
    ],
    users=[ANNA, BORIS],
    recommended_shards=2,
)


def posts(standin: DiscordStandIn, channel_id: int) -> list[Any]:
    return [
        r
        for r in standin.requests_to("POST", rf"/channels/{channel_id}/messages")
        if r.status < 300
    ]


def identified_shards(standin: DiscordStandIn) -> list[Any]:
    return sorted(
        f.d["shard"] for f in standin.gateway_frames if f.op == 2 and isinstance(f.d, dict)
    )


async def test_one_process_of_both_shards_serves_both_servers_once(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    clock = FakeClock(dt.datetime(2026, 6, 16, 5, 0, tzinfo=UTC))
    async with running_bot(
        standin,
        tmp_path / "c.db",
        prepare=sample,
        clock=clock,
        guild_id=None,  # global commands, as a sharded bot has
        shard_count=2,
        shard_ids=(0, 1),
    ) as bot:
        assert identified_shards(standin) == [[0, 2], [1, 2]]
        assert {g.id for g in bot.guilds} == {ON_0, ON_1}
        assert standin.global_commands  # this process runs shard 0: it syncs the commands
        # Each server's interaction arrives on its shard's connection and is answered.
        for guild_id in (ON_0, ON_1):
            handle = await standin.send_slash_command(
                "digest set",
                {"kind": "onthisday", "channel": news(guild_id), "time": "10:30"},
                guild_id=guild_id,
                channel_id=guild_id + 10,
                member_permissions=MANAGE_GUILD | 0x400 | 0x800,
            )
            reply = (await handle.callback()).json["data"]
            assert "every day at 10:30" in reply["content"]
        digests = await bot.storage.digests.all()
        assert {d.guild_id for d in digests} == {ON_0, ON_1}
        for digest in digests:
            await fire(bot, clock, digest.id)
        for digest in digests:  # a repeated job finds the run claimed
            assert await bot.chronicle_scheduler.delivery.run(digest.id, "2026-06-16") == "already"
        for guild_id in (ON_0, ON_1):
            (post,) = posts(standin, news(guild_id))
            assert post.json["embeds"][0]["title"] == "On this day: June 16"
            assert post.json["allowed_mentions"] == {"parse": []}


async def test_a_process_of_one_shard_serves_its_servers_only(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    clock = FakeClock(dt.datetime(2026, 6, 16, 5, 0, tzinfo=UTC))

    async def prepare(storage: Storage) -> None:
        await sample(storage)
        await storage.events.import_batch([page("2026/06/15/atlantis-votes", "Atlantis votes")])
        found = await storage.entities.find("Atlantis")
        assert found is not None
        for guild_id, user in ((ON_0, ANNA), (ON_1, BORIS)):
            await storage.digests.upsert(
                guild_id=guild_id,
                channel_id=news(guild_id),
                kind="onthisday",
                time=dt.time(10, 30),
                timezone="UTC",
                created_by=user.id,
                now=clock(),
            )
            await storage.subscriptions.subscribe(
                guild_id=guild_id,
                user_id=user.id,
                entity_id=found[0],
                delivery="dm",
                channel_id=None,
            )

    async with running_bot(
        standin,
        tmp_path / "c.db",
        prepare=prepare,
        clock=clock,
        guild_id=None,
        shard_count=2,
        shard_ids=(1,),
    ) as bot:
        assert identified_shards(standin) == [[1, 2]]
        assert {g.id for g in bot.guilds} == {ON_1}
        # Commands are the bot's, synced by the process of shard 0, not by this one.
        assert not standin.requests_to("PUT", r"/applications/\d+/commands")
        assert not standin.global_commands
        # Only its server's digest is scheduled and posted.
        by_guild = {d.guild_id: d for d in await bot.storage.digests.all()}
        assert bot.chronicle_scheduler.next_run_time(by_guild[ON_0].id) is None
        await fire(bot, clock, by_guild[ON_1].id)
        assert len(posts(standin, news(ON_1))) == 1
        assert not posts(standin, news(ON_0))
        # Only its server's subscriber is alerted; the other's alert is left to its process.
        await bot.storage.events.import_batch(
            [page("2026/06/16/atlantis-elects", "Atlantis elects a president", announce=True)]
        )
        await bot.sweep()
        assert len(dms_to(standin, BORIS)) == 1
        assert not dms_to(standin, ANNA)
        state = bot.storage.subscriptions
        assert await state.state("alerts.after_event_id.shard-1-of-2") is not None
        assert await state.state("alerts.after_event_id.shard-0-of-2") is None
        # Polling is this process's on SQLite, where it is the only one.
        assert await bot.leads("feeds")


def page(
    key: str, headline: str, *, announce: bool = False, entities: tuple[str, ...] = ("Atlantis",)
) -> PageRecord:
    return PageRecord(
        key=key,
        date=dt.date.fromisoformat(key[:10].replace("/", "-")),
        headline=headline,
        sources=(SourceRecord("Example", f"https://example.com/{key}"),),
        entities=entities,
        announce=announce,
    )


async def test_a_member_following_in_servers_on_both_shards_gets_one_alert(
    standin: DiscordStandIn, postgres_url: str
) -> None:
    """Anna follows Atlantis in a server on shard 0 and Boreal in one on shard 1, by DM. Two
    processes, one per shard, sweep the same new events: each event reaches her once, in
    one message naming every entity of hers it involves, whichever process sweeps first."""
    clock = FakeClock(dt.datetime(2026, 6, 16, 5, 0, tzinfo=UTC))

    async def prepare(storage: Storage) -> None:
        await sample(storage)
        await storage.events.import_batch(
            [page("2026/06/15/atlantis-votes", "Atlantis votes", entities=("Atlantis", "Boreal"))]
        )
        for guild_id, name in ((ON_0, "Atlantis"), (ON_1, "Boreal")):
            found = await storage.entities.find(name)
            assert found is not None
            await storage.subscriptions.subscribe(
                guild_id=guild_id, user_id=ANNA.id, entity_id=found[0], delivery="dm",
                channel_id=None,
            )  # fmt: skip

    shard = {"clock": clock, "guild_id": None, "shard_count": 2}
    async with (
        running_bot(standin, postgres_url, prepare=prepare, shard_ids=(1,), **shard) as second,
        running_bot(standin, postgres_url, shard_ids=(0,), **shard) as first,
    ):
        await first.storage.events.import_batch(
            [
                page(
                    "2026/06/16/atlantis-and-boreal",
                    "Atlantis and Boreal sign a treaty",
                    entities=("Atlantis", "Boreal"),
                    announce=True,
                ),
                page(
                    "2026/06/17/boreal-votes", "Boreal votes", entities=("Boreal",), announce=True
                ),
            ]
        )
        await second.sweep()  # the process of the later server's shard first
        await first.sweep()
        await second.sweep()
        embeds = sorted(
            (d.json["embeds"][0] for d in dms_to(standin, ANNA)), key=lambda e: e["title"]
        )
        assert [e["title"] for e in embeds] == ["New events about Boreal", "New events you follow"]
        assert embeds[0]["description"].endswith(
            "[Boreal votes](https://example.com/2026/06/17/boreal-votes)"
        )
        treaty = embeds[1]["description"]
        assert "[Atlantis and Boreal sign a treaty](" in treaty
        assert treaty.endswith("\n  *Atlantis, Boreal*")  # both of hers, in one message
