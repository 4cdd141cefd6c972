"""What the news channels end-to-end tests share (test_news_channels.py,
test_news_channels_delivery.py, test_news_channels_permissions.py): the loopback Discord
with a server of text, announcement and forum channels, a thread and two roles; an RSS wire
served over HTTP on 127.0.0.1; a fake clock; and helpers that run /digest commands as a
manager, have the bot poll the feeds, and read back what the people in the server see.

The fixtures are `standin`, `wire` and `clock`; a test module imports their functions
(`standin_fixture`, `wire_fixture`, `clock_fixture`) for pytest to find them by those names.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from bot.client import ChronicleBot
from tests.e2e.fixtures import make_standin_fixture, make_wire_fixture
from tests.e2e.harness import FakeClock
from tests.e2e.standin.constants import (
    DEFAULT_GUILD_ID,
    GUILD_ANNOUNCEMENT,
    GUILD_FORUM,
    MENTION_EVERYONE,
)
from tests.e2e.standin.model import ChannelSpec, GuildSpec, RoleSpec, make_guild, make_thread
from tests.e2e.standin.server import DiscordStandIn
from tests.support.feed_server import FeedServer, wire_rss

UTC = dt.UTC
EPHEMERAL = 64
MANAGE_GUILD = 1 << 5
MANAGER = {"member_permissions": MANAGE_GUILD | 0x400 | 0x800}
# A manager who may ping every role, as a digest's role that is not mentionable needs.
PINGING_MANAGER = {"member_permissions": MANAGER["member_permissions"] | MENTION_EVERYONE}

GENERAL = DEFAULT_GUILD_ID + 10
NEWS = DEFAULT_GUILD_ID + 11
ANNOUNCEMENTS = DEFAULT_GUILD_ID + 12
PRESS = DEFAULT_GUILD_ID + 13
FORUM = DEFAULT_GUILD_ID + 14
THREAD = DEFAULT_GUILD_ID + 15
NEWS_ROLE = DEFAULT_GUILD_ID + 60
QUIET_ROLE = DEFAULT_GUILD_ID + 61

START = dt.datetime(2026, 6, 16, 12, 0, tzinfo=UTC)
POLL_GAP = dt.timedelta(minutes=11)  # feeds are polled every 10 minutes
LINK = re.compile(r"\]\(https://wire\.example/([\w-]+)\)")

Item = tuple[str, str]  # (guid, title)
OLD: list[Item] = [("old-1", "Ministers meet in Brussels to discuss the budget")]


def news_guild(guild_id: int = DEFAULT_GUILD_ID) -> GuildSpec:
    """#general (the system channel), #news, two announcement channels, a forum, a thread
    under #general, and a mentionable and a non-mentionable role."""
    spec = make_guild(
        guild_id,
        channels=[
            "general",
            "news",
            ChannelSpec(guild_id + 12, "announcements", type=GUILD_ANNOUNCEMENT, position=2),
            ChannelSpec(guild_id + 13, "press", type=GUILD_ANNOUNCEMENT, position=3),
            ChannelSpec(guild_id + 14, "digests", type=GUILD_FORUM, position=4),
            make_thread(guild_id + 10, guild_id + 15, "world-news"),
        ],
        roles=[
            RoleSpec(guild_id + 60, "news", position=2, mentionable=True),
            RoleSpec(guild_id + 61, "quiet", position=3, mentionable=False),
        ],
    )
    spec.system_channel_id = guild_id + 10
    return spec


standin_fixture = make_standin_fixture(guilds=lambda: [news_guild()])
wire_fixture = make_wire_fixture(OLD, START)


@pytest.fixture(name="clock")
def clock_fixture() -> FakeClock:
    return FakeClock(START)


async def digest_set(
    standin: DiscordStandIn,
    *,
    guild_id: int = DEFAULT_GUILD_ID,
    member: Mapping[str, Any] = MANAGER,
    **options: Any,
) -> str:
    """A manager (by default one with Manage Server alone) runs /digest set in a server; its
    (ephemeral) reply."""
    handle = await standin.send_slash_command("digest set", options, guild_id=guild_id, **member)
    data = (await handle.callback()).json["data"]
    assert data["flags"] & EPHEMERAL
    return str(data["content"])


async def digest_list(standin: DiscordStandIn, guild_id: int = DEFAULT_GUILD_ID) -> str:
    handle = await standin.send_slash_command("digest list", guild_id=guild_id, **MANAGER)
    data = (await handle.callback()).json["data"]
    assert data["flags"] & EPHEMERAL
    return str(data["embeds"][0]["description"])


async def ingest(
    bot: ChronicleBot,
    clock: FakeClock,
    wire: FeedServer,
    items: Sequence[Item] | Mapping[str, Sequence[Item]],
) -> None:
    """The feeds now hold these items (wire.xml's, or by feed file); ten minutes on, the
    bot's feed job polls them and live digests post what they brought."""
    clock.set(clock() + POLL_GAP)
    feeds = items if isinstance(items, Mapping) else {"wire.xml": items}
    for path, listed in feeds.items():
        wire.set_file(path, wire_rss(listed, clock()))
    await bot.poll_feeds()
    await bot.chronicle_scheduler.live.wait()


WORDS = [
    "ministers",
    "officials",
    "observers",
    "talks",
    "border",
    "ceasefire",
    "villages",
    "river",
    "bridge",
    "convoy",
    "harvest",
    "prices",
    "fuel",
    "shortage",
    "protest",
    "capital",
    "coalition",
    "parliament",
    "budget",
    "inquiry",
    "report",
    "tribunal",
    "airport",
    "flights",
    "storm",
    "coast",
    "rescue",
    "volunteers",
    "hospital",
    "vaccine",
    "schools",
    "teachers",
    "strike",
    "union",
    "wages",
    "factory",
    "exports",
    "imports",
    "currency",
    "markets",
    "bank",
    "election",
    "ballots",
    "turnout",
    "candidates",
    "debate",
    "governor",
    "mayor",
    "police",
    "court",
    "verdict",
    "appeal",
    "reform",
    "pension",
    "housing",
    "rents",
    "drought",
    "wildfire",
    "evacuation",
    "shelters",
    "aid",
]


def long_items(prefix: str, count: int) -> list[Item]:
    """Items with long (about 250 characters), distinct headlines: no two the same story."""
    items = []
    for n in range(count):
        words = random.Random(f"{prefix}-{n}").sample(WORDS, 30)
        items.append((f"{prefix}-{n:02d}", f"Report {prefix} {n:02d}: {' '.join(words)}"))
    return items


def posts(standin: DiscordStandIn, channel_id: int) -> list[dict[str, Any]]:
    """The messages everyone sees in a channel or thread (not the ephemeral replies)."""
    return [m for m in standin.messages_in(channel_id) if not m["flags"] & EPHEMERAL]


def descriptions(message: dict[str, Any]) -> str:
    return "\n".join(e.get("description") or "" for e in message["embeds"])


def guids(messages: Sequence[dict[str, Any]]) -> list[str]:
    """The feed items the messages list, in order (each item links to its page)."""
    return [g for m in messages for g in LINK.findall(descriptions(m))]
