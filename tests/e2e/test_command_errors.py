"""What members and the log see when a command cannot be done as asked (bot/tree.py): a thread
Discord offered but Chronicle cannot use is named, with what to do about it; an answer that
came after Discord stopped waiting is one line in the log, and is not tried again."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from tests.e2e.fixtures import make_standin_fixture
from tests.e2e.harness import running_bot, sample
from tests.e2e.news_channels_support import digest_set
from tests.e2e.standin.constants import DEFAULT_CHANNEL_ID, DEFAULT_GUILD_ID, DEFAULT_USER_ID
from tests.e2e.standin.model import make_guild, make_thread
from tests.e2e.standin.server import DiscordStandIn

ARCHIVED = DEFAULT_GUILD_ID + 14  # a thread under #general, archived
PRIVATE = DEFAULT_GUILD_ID + 15  # a private thread under #general Chronicle was never added to


def bot_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("bot.")]


standin = make_standin_fixture(
    guilds=lambda: [
        make_guild(
            channels=[
                "general",
                make_thread(DEFAULT_CHANNEL_ID, ARCHIVED, "old-talk", archived=True),
                make_thread(
                    DEFAULT_CHANNEL_ID, PRIVATE, "mods-only", private=True, bot_joined=False
                ),
            ]
        )
    ]
)


@pytest.mark.parametrize(
    ("thread", "told"),
    [
        (ARCHIVED, f"<#{ARCHIVED}> is archived, so Chronicle cannot use it: unarchive it"),
        (
            PRIVATE,
            f"<#{PRIVATE}> is a private thread Chronicle is not in: add Chronicle to it"
            " (mention it there), or give it the Manage Threads permission",
        ),
    ],
    ids=["archived", "private-not-joined"],
)
async def test_a_thread_chronicle_cannot_use_is_named_with_what_to_do(
    standin: DiscordStandIn, tmp_path: Path, thread: int, told: str
) -> None:
    """A manager picks, as /digest set's channel, an archived thread or a private thread
    Chronicle was never added to (Discord offers both). They read which thread it is and how
    to make it usable, not the repr of discord.py's object for it."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample) as bot:
        reply = await digest_set(standin, kind="new", channel=thread, every="live")
        assert reply == f"{told}, then try again.", reply
        assert await bot.storage.digests.all() == []


async def test_an_answer_discord_no_longer_takes_is_one_line_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Discord stopped waiting before the answer came (10062 Unknown interaction): the member
    saw "The application did not respond", and nothing can reach them through the
    interaction any more. The log says once, without a traceback, which command was answered
    too late and how late; the bot does not try again to tell the member of an error."""
    async with (
        DiscordStandIn(interaction_ack_timeout=0.0) as standin,  # every answer is late
        running_bot(standin, tmp_path / "c.db", prepare=sample),
    ):
        with caplog.at_level(logging.WARNING, logger="bot"):
            caplog.clear()  # the log of the bot's start
            handle = await standin.send_slash_command("about")
            async with asyncio.timeout(5):
                while not bot_lines(caplog):  # noqa: ASYNC110 -- the bot's task logs it
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # a second try, if any, would come now
        assert [r.status for r in handle.requests if r.route.endswith("/callback")] == [404]
        records = bot_lines(caplog)
        (line,) = [r.getMessage() for r in records]
        assert line.startswith(
            f"/about by user {DEFAULT_USER_ID} in guild {DEFAULT_GUILD_ID} channel"
        ), line
        assert " was answered too late, " in line and " s after it was sent " in line, line
        assert not any(r.exc_info for r in records)
        assert not standin.internal_errors
