"""Notices waiting for a member's next command (each kept until told, several taken as one
message within Discord's limit, kept by the migration that made them several), and the
subscriptions a refusal, a departure or a resume touches at once."""

from __future__ import annotations

import asyncio
from typing import Any

from storage import Storage
from tests.storage.conftest import BACKENDS, OpenArchive
from tests.storage.events_support import arrive
from tests.storage.test_subscriptions import (
    ALICE,
    BOB,
    CHANNEL,
    GUILD,
    OTHER_GUILD,
    news,
    subscribe,
)

DM_PAUSED = "Discord refused the direct message (your DMs are closed to Chronicle)"

# --- notices ----------------------------------------------------------------------------------


async def test_every_notice_is_kept_and_told_once_oldest_first(storage: Storage) -> None:
    notices = storage.subscriptions
    await notices.add_notice(ALICE, "Your DM subscriptions are paused.")
    await notices.add_notice(BOB, "For Bob")
    await notices.add_notice(ALICE, "Your alerts about Syria in #general are paused.")
    await notices.add_notice(ALICE, "Your alerts about Iraq in #news are paused.")
    assert await notices.take_notice(ALICE) == (
        "Your DM subscriptions are paused.\n\n"
        "Your alerts about Syria in #general are paused.\n\n"
        "Your alerts about Iraq in #news are paused."
    )
    assert await notices.take_notice(ALICE) is None
    assert await notices.take_notice(BOB) == "For Bob"


async def test_notices_beyond_one_message_wait_for_the_next_command(storage: Storage) -> None:
    notices = storage.subscriptions
    first, second, third = ("a" * 900, "b" * 900, "c" * 900)
    for text in (first, second, third):
        await notices.add_notice(ALICE, text)
    assert await notices.take_notice(ALICE) == f"{first}\n\n{second}"  # 1,802 characters
    assert await notices.take_notice(ALICE) == third
    assert await notices.take_notice(ALICE) is None
    # One notice longer than a message is told cut to it, not kept forever.
    await notices.add_notice(ALICE, "d" * 2500)
    told = await notices.take_notice(ALICE)
    assert told is not None and len(told) == 2000 and told.endswith("…")
    assert await notices.take_notice(ALICE) is None


async def test_of_two_processes_taking_at_once_each_notice_goes_to_one(
    storage: Storage, other: Storage
) -> None:
    await storage.subscriptions.add_notice(ALICE, "First")
    await storage.subscriptions.add_notice(ALICE, "Second")
    taken = await asyncio.gather(
        storage.subscriptions.take_notice(ALICE), other.subscriptions.take_notice(ALICE)
    )
    told = "\n\n".join(t for t in taken if t is not None).split("\n\n")
    assert sorted(told) == ["First", "Second"]


# The notices table as every Chronicle before the migration made it: one per member.
OLD_TABLE = {
    "sqlite": (
        "CREATE TABLE pending_notices (user_id INTEGER PRIMARY KEY, text TEXT NOT NULL,"
        " created_at TEXT NOT NULL)",
        "INSERT INTO pending_notices VALUES (?, ?, '2026-03-02T12:00:00Z')",
        16,
    ),
    "postgresql": (
        "CREATE TABLE pending_notices (user_id bigint PRIMARY KEY, text text NOT NULL,"
        " created_at timestamptz NOT NULL)",
        "INSERT INTO pending_notices VALUES (?, ?, now())",
        11,
    ),
}


async def test_an_archive_from_before_keeps_its_waiting_notices(
    open_archive: OpenArchive, backend: str
) -> None:
    run = BACKENDS[backend][1]
    create, insert, version = OLD_TABLE[backend]

    async def sql(storage: Storage, statement: str, *params: Any) -> None:
        await run(storage, statement, params)

    storage = await open_archive("upgraded")
    # Back to the schema before the migration, with a notice waiting for each of two members.
    await sql(storage, "DROP TABLE pending_notices")
    await sql(storage, create)
    await sql(storage, insert, ALICE, "Your DM subscriptions are paused.")
    await sql(storage, insert, BOB, "For Bob")
    await sql(storage, "DELETE FROM schema_migrations WHERE version = ?", version)
    await storage.close()
    async with await open_archive("upgraded") as storage:  # the migration runs
        await storage.subscriptions.add_notice(ALICE, "Your alerts in #general are paused.")
        assert await storage.subscriptions.take_notice(ALICE) == (
            "Your DM subscriptions are paused.\n\nYour alerts in #general are paused."
        )
        assert await storage.subscriptions.take_notice(BOB) == "For Bob"
        assert await storage.subscriptions.take_notice(BOB) is None


# --- what one refusal, departure or resume touches ---------------------------------------------


async def test_a_channels_here_subscriptions_one_members_or_everyones(storage: Storage) -> None:
    await arrive(storage, news("Russia, Syria and Iraq meet", "Russia", "Syria", "Iraq"))
    russia = await subscribe(storage, ALICE, "Russia", delivery="here", channel=CHANNEL)
    syria = await subscribe(storage, ALICE, "Syria", delivery="here", channel=CHANNEL)
    await subscribe(storage, ALICE, "Iraq", delivery="here", channel=CHANNEL + 1)
    bobs = await subscribe(storage, BOB, "Iraq", delivery="here", channel=CHANNEL)
    paused = await subscribe(storage, BOB, "Syria", delivery="here", channel=CHANNEL)
    await storage.subscriptions.pause([paused.id], "lost the channel")
    await subscribe(storage, BOB, "Russia")  # by DM
    mine = await storage.subscriptions.here_subscriptions(CHANNEL, ALICE)
    assert {s.id for s in mine} == {russia.id, syria.id}
    everyone = await storage.subscriptions.here_subscriptions(CHANNEL)
    assert {s.id for s in everyone} == {russia.id, syria.id, bobs.id}


async def test_a_member_who_left_and_a_server_left_lose_only_theirs(storage: Storage) -> None:
    await arrive(storage, news("Russia and Syria meet", "Russia", "Syria"))
    await subscribe(storage, ALICE, "Russia")
    await subscribe(storage, ALICE, "Syria", delivery="here", channel=CHANNEL)
    kept = await subscribe(storage, ALICE, "Russia", guild=OTHER_GUILD)
    bobs = await subscribe(storage, BOB, "Russia")
    assert await storage.subscriptions.remove_member(GUILD, ALICE) == 2
    assert await storage.subscriptions.for_member(GUILD, ALICE) == []
    assert [s.id for s in await storage.subscriptions.for_member(OTHER_GUILD, ALICE)] == [kept.id]
    assert [s.id for s in await storage.subscriptions.for_member(GUILD, BOB)] == [bobs.id]
    assert await storage.subscriptions.remove_member(GUILD, ALICE) == 0
    assert await storage.subscriptions.remove_guild(GUILD) == 1
    assert await storage.subscriptions.for_member(GUILD, BOB) == []
    assert [s.id for s in await storage.subscriptions.for_member(OTHER_GUILD, ALICE)] == [kept.id]


async def test_resuming_closed_dms_resumes_every_servers_dm_subscriptions(
    storage: Storage,
) -> None:
    await arrive(storage, news("Russia, Syria and Iraq meet", "Russia", "Syria", "Iraq"))
    paused = [
        await subscribe(storage, ALICE, "Russia"),
        await subscribe(storage, ALICE, "Syria"),
        await subscribe(storage, ALICE, "Iraq", guild=OTHER_GUILD),
    ]
    here = await subscribe(storage, ALICE, "Iraq", delivery="here", channel=CHANNEL)
    bobs = await subscribe(storage, BOB, "Russia")
    await storage.subscriptions.pause([s.id for s in paused], DM_PAUSED)
    await storage.subscriptions.pause([here.id], "lost the channel")
    await storage.subscriptions.pause([bobs.id], DM_PAUSED)
    assert await storage.subscriptions.resume_dm(ALICE, DM_PAUSED) == 3
    alices = [
        *await storage.subscriptions.for_member(GUILD, ALICE),
        *await storage.subscriptions.for_member(OTHER_GUILD, ALICE),
    ]
    assert {s.id: s.paused_reason for s in alices} == {
        **{s.id: None for s in paused},
        here.id: "lost the channel",
    }
    (bob,) = await storage.subscriptions.for_member(GUILD, BOB)
    assert bob.paused_reason == DM_PAUSED
