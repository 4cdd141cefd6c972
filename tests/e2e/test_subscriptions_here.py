"""/subscribe delivery:here, where the member's alerts may go: a channel or thread they may
not post in themselves is refused (their alerts would be posts made for them, pinging them),
and a voice channel's text chat takes them like any channel. The real bot over the loopback
Discord, a real SQLite database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from bot.client import ChronicleBot
from storage.models import PageRecord, SourceRecord
from tests.e2e.fixtures import make_standin_fixture
from tests.e2e.harness import ANNA, EPHEMERAL, running_bot, sample
from tests.e2e.standin.constants import (
    BOT_USER_ID,
    DEFAULT_GUILD_ID,
    GUILD_VOICE,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
)
from tests.e2e.standin.model import ChannelSpec, GuildSpec, Overwrite, make_guild, make_thread
from tests.e2e.standin.server import DiscordStandIn

GENERAL = DEFAULT_GUILD_ID + 10
RULES = DEFAULT_GUILD_ID + 11  # members read it and talk in its threads; staff post
RULES_QUESTIONS = DEFAULT_GUILD_ID + 12  # a thread under #rules
MINUTES = DEFAULT_GUILD_ID + 13  # members read it and its threads; staff post in both
MINUTES_THREAD = DEFAULT_GUILD_ID + 14  # a thread under #minutes
LOUNGE = DEFAULT_GUILD_ID + 15  # a voice channel, with its text chat


def read_only(channel_id: int, name: str, denied: int) -> ChannelSpec:
    """A channel where members may not do ``denied`` and Chronicle may."""
    return ChannelSpec(
        channel_id,
        name,
        overwrites=[
            Overwrite.role(DEFAULT_GUILD_ID, deny=denied),
            Overwrite.member(BOT_USER_ID, allow=denied),
        ],
    )


def guild() -> GuildSpec:
    return make_guild(
        channels=[
            "general",
            read_only(RULES, "rules", SEND_MESSAGES),
            make_thread(RULES, RULES_QUESTIONS, "questions"),
            read_only(MINUTES, "minutes", SEND_MESSAGES | SEND_MESSAGES_IN_THREADS),
            make_thread(MINUTES, MINUTES_THREAD, "march"),
            ChannelSpec(LOUNGE, "lounge", type=GUILD_VOICE),
        ]
    )


standin = make_standin_fixture(guilds=lambda: [guild()], users=[ANNA])


async def subscribe_here(standin: DiscordStandIn, channel_id: int) -> dict[str, Any]:
    handle = await standin.send_slash_command(
        "subscribe", {"entity": "Russia", "delivery": "here"}, user=ANNA, channel_id=channel_id
    )
    return dict((await handle.callback()).json["data"])


async def news_about_russia(bot: ChronicleBot) -> None:
    """A feed's item naming Russia arrives, and the alert sweep runs."""
    await bot.storage.events.import_batch(
        [
            PageRecord(
                key="2026/06/16/russia-recalls-its-ambassador",
                date=dt.date(2026, 6, 16),
                headline="Russia recalls its ambassador",
                entities=("Russia",),
                origin="feed",
                announce=True,
                sources=(SourceRecord("Wire", "https://example.com/recall"),),
            )
        ]
    )
    await bot.alerts.sweep()


def posts(standin: DiscordStandIn, channel_id: int) -> list[dict[str, Any]]:
    return [m for m in standin.messages_in(channel_id) if not m["flags"] & EPHEMERAL]


@pytest.mark.parametrize(
    "channel_id", [RULES, MINUTES_THREAD], ids=["read-only channel", "read-only thread"]
)
async def test_here_is_refused_where_the_member_may_not_post(
    standin: DiscordStandIn, tmp_path: Path, channel_id: int
) -> None:
    """Anna may read #rules (or a thread of #minutes) but not post there; Chronicle may.
    /subscribe Russia delivery:here there tells her she cannot post there, so neither can her
    alerts; she follows nothing, and news of Russia posts nothing there."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample) as bot:
        await bot.alerts.sweep()  # the first sweep: what the archive holds is history
        reply = await subscribe_here(standin, channel_id)
        assert reply["flags"] & EPHEMERAL
        assert reply["content"] == (
            f"You cannot post in <#{channel_id}>, so your alerts cannot go there either. "
            "Run /subscribe in a channel you can post in, or choose delivery: dm."
        )
        assert await bot.storage.subscriptions.for_member(DEFAULT_GUILD_ID, ANNA.id) == []
        await news_about_russia(bot)
        assert posts(standin, channel_id) == []


async def test_here_works_in_a_thread_the_member_may_post_in_under_a_read_only_channel(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """Members may not post in #rules but may talk in its threads: in one of them, Anna's
    /subscribe Russia delivery:here is taken, and the alert pings her there."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample) as bot:
        await bot.alerts.sweep()
        reply = await subscribe_here(standin, RULES_QUESTIONS)
        assert "You now follow **Russia**" in reply["content"], reply["content"]
        await news_about_russia(bot)
        (alert,) = posts(standin, RULES_QUESTIONS)
        assert alert["content"] == f"<@{ANNA.id}>"


async def test_here_works_in_a_voice_channels_text_chat(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """In the text chat of the voice channel #lounge, Anna's /subscribe Russia delivery:here
    is taken as in any channel, and news of Russia posts her alert there, pinging her."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample) as bot:
        await bot.alerts.sweep()
        reply = await subscribe_here(standin, LOUNGE)
        assert reply["content"].startswith("You now follow **Russia**"), reply["content"]
        assert f"in <#{LOUNGE}>, mentioning you" in reply["content"]
        await news_about_russia(bot)
        (alert,) = posts(standin, LOUNGE)
        assert alert["content"] == f"<@{ANNA.id}>"
        assert "Russia recalls its ambassador" in alert["embeds"][0]["description"]
