"""Run the real ChronicleBot against the loopback Discord stand-in."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.client import ChronicleBot
from bot.config import Settings
from bot.scheduler import digest_job_id
from bot.services.imports import import_archive
from storage import Storage, open_storage
from tests.conftest import SAMPLE_NEWS, SEED_PAGES
from tests.e2e.standin.constants import DEFAULT_GUILD_ID, DEFAULT_TOKEN
from tests.e2e.standin.model import UserSpec
from tests.e2e.standin.records import RecordedRequest
from tests.e2e.standin.server import DiscordStandIn, connected_client
from tests.support.templates import new_sqlite_archive

Prepare = Callable[[Storage], Awaitable[Any]]

# Members the tests follow (besides the stand-in's default user).
ANNA = UserSpec(id=5001, username="anna")
BORIS = UserSpec(id=5002, username="boris")
CHLOE = UserSpec(id=5003, username="chloe")


class FakeClock:
    """A clock the test moves by hand (timezone-aware UTC)."""

    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, now: dt.datetime) -> None:
        self.now = now


def settings_for(standin: DiscordStandIn, database: Path | str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "discord_token": DEFAULT_TOKEN,
        "database": database,
        "api_base": standin.api_base,
        "gateway_url": standin.gateway_url,
        "guild_id": DEFAULT_GUILD_ID,
        "feed_allow_private_addresses": True,
        "log_level": "DEBUG",
        "wikipedia_poll_minutes": 0,  # a test that polls the portal gives its stand-in
    }
    values.update(overrides)
    return Settings(**values)


async def prepare_database(database: Path | str, prepare: Prepare | None) -> None:
    if prepare is None:
        return
    storage = await open_storage(database)
    try:
        await prepare(storage)
    finally:
        await storage.close()


@asynccontextmanager
async def running_bot(
    standin: DiscordStandIn,
    database: Path | str,  # a SQLite file, or a postgresql:// URL
    *,
    prepare: Prepare | None = None,
    view_timeout: float = 30.0,
    clock: FakeClock | None = None,
    **settings: Any,
) -> AsyncIterator[ChronicleBot]:
    """A ChronicleBot connected to the stand-in, its commands synced, its database ready.

    With a clock, the scheduler is paused: the test fires jobs itself at the clock's times.
    """
    if isinstance(database, Path):
        await new_sqlite_archive(database)
    await prepare_database(database, prepare)
    extra: dict[str, Any] = {"clock": clock, "scheduler_paused": True} if clock else {}
    bot = ChronicleBot(
        settings_for(standin, database, **settings),
        view_timeout=view_timeout,
        identify_wait=0.0,  # the stand-in does not limit IDENTIFYs as Discord does
        **extra,
    )
    async with connected_client(bot, standin) as client:
        assert isinstance(client, ChronicleBot)
        await asyncio.wait_for(client.wait_until_working(), 10)
        yield client


def dms_to(standin: DiscordStandIn, user: UserSpec) -> list[Any]:
    """The messages the bot sent a user by direct message: the request that made each (a
    create Discord answered with an earlier message, by its nonce, made none)."""
    channels = {
        int(r.response["id"])
        for r in standin.requests_to("POST", "/users/@me/channels")
        if r.status < 300 and int(r.json["recipient_id"]) == user.id
    }
    made: dict[str, Any] = {}
    for r in standin.requests_to("POST", r"/channels/\d+/messages"):
        if r.status < 300 and int(r.params["channel_id"]) in channels:
            made.setdefault(r.response["id"], r)
    return list(made.values())


def button(message: dict[str, Any], label: str) -> str:
    """The custom id of the message's button of that label."""
    return next(
        c["custom_id"]
        for row in message["components"]
        for c in row["components"]
        if c.get("label") == label
    )


async def sample(storage: Storage) -> None:
    """prepare= for running_bot: the bundled sample archive."""
    await import_archive(storage, [SAMPLE_NEWS])


async def sample_with_seeds(storage: Storage) -> None:
    """prepare= for running_bot: the sample archive and the seed pages (newer versions of
    some of its pages)."""
    await import_archive(storage, [SAMPLE_NEWS, *SEED_PAGES])


EPHEMERAL = 64  # an interaction response's flag: only its member sees it


def data(request: RecordedRequest) -> dict[str, Any]:
    """An interaction response's data."""
    return request.json.get("data") or {}


def embed_of(message: dict[str, Any]) -> dict[str, Any]:
    """A message's first embed, which it must have."""
    assert message["embeds"], message
    embed: dict[str, Any] = message["embeds"][0]
    return embed


async def fire(bot: ChronicleBot, clock: FakeClock, digest_id: int) -> dt.datetime:
    """Move the clock to the digest's next run and run the job the scheduler would run."""
    job = bot.chronicle_scheduler.apscheduler.get_job(digest_job_id(digest_id))
    assert job is not None
    when: dt.datetime = job.trigger.run_date
    clock.set(when)
    await job.func(*job.args)
    return when


async def only_digest(bot: ChronicleBot) -> int:
    """The id of the one digest the bot has."""
    (digest,) = await bot.storage.digests.all()
    return digest.id
