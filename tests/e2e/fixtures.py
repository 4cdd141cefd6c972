"""The end-to-end tests' fixtures of the loopback Discord and the news wire, made to measure:
a test module names what its servers and members are, and gets the fixture.

    standin = make_standin_fixture(channels=["general", "news"], users=[ANNA, BORIS])

The servers are built afresh for each test, as the stand-in changes them (channels created,
permissions edited, members removed). tests/e2e/conftest.py holds the defaults, `standin`
(one server) and `wire` (the wire's one old item).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.standin.model import GuildSpec, UserSpec, make_guild
from tests.e2e.standin.server import DiscordStandIn
from tests.support.feed_server import FeedServer, wire_rss

# What a fixture function made here is, for pytest to find under a module's name.
Fixture = Any


def make_standin_fixture(
    *,
    channels: Sequence[str] | None = None,
    guilds: Callable[[], Sequence[GuildSpec]] | None = None,
    users: Sequence[UserSpec] = (),
    standin_class: type[DiscordStandIn] = DiscordStandIn,
    name: str = "standin",
    **options: Any,
) -> Fixture:
    """A fixture of the running stand-in, which must not have failed itself by the test's end.

    channels: one server (make_guild's) with these text channels; guilds: builds the servers
    instead (neither: the stand-in's default server); users: members besides the default
    user; options: the rest of DiscordStandIn's (valid_token, recommended_shards, ...).
    """
    assert channels is None or guilds is None, "give the channels or the servers, not both"

    def servers() -> Sequence[GuildSpec] | None:
        if guilds is not None:
            return guilds()
        if channels is not None:
            return [make_guild(channels=list(channels))]
        return None

    async def standin() -> AsyncIterator[DiscordStandIn]:
        async with standin_class(guilds=servers(), users=users, **options) as api:
            yield api
        assert not api.internal_errors, "the stand-in itself failed; see the log"

    return pytest.fixture(standin, name=name)


def make_wire_fixture(
    items: Sequence[tuple[str, str]], now: dt.datetime | None = None, *, name: str = "wire"
) -> Fixture:
    """A fixture of a news wire served on 127.0.0.1 whose wire.xml holds these (guid, title)
    items, dated just before `now` (the current time if None)."""

    async def wire(tmp_path: Path) -> AsyncIterator[FeedServer]:
        async with FeedServer(tmp_path / "feeds") as server:
            server.set_file("wire.xml", wire_rss(items, now))
            yield server

    return pytest.fixture(wire, name=name)
