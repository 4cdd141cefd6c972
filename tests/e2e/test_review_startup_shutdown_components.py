"""Stopping the bot while a member's button or menu (not a slash command) is under way, over
the loopback Discord and a real PostgreSQL whose events table another session holds locked.
A component's work reads the archive as a command's does: it is stopped before the archive
closes under it, the member asked to try again, with no traceback in the log; one clicked
once the shutdown has begun is refused the same way."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bot.tree import RESTARTING
from tests.e2e.harness import running_bot, sample
from tests.e2e.standin.server import DiscordStandIn
from tests.e2e.test_resilience_shutdown import events_locked

DEFERRED_UPDATE = 6
DEFERRED_CHANNEL_MESSAGE = 5


def select_of(message: dict[str, Any]) -> dict[str, Any]:
    return next(c for row in message["components"] for c in row["components"] if c["type"] == 3)


def calm(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not bad, caplog.text
    assert "pool is closing" not in caplog.text and "Session is closed" not in caplog.text


async def test_a_menu_pick_past_the_grace_is_stopped_calmly_and_its_member_told(
    standin: DiscordStandIn, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running_bot(standin, postgres_url, prepare=sample) as bot:
        bot.command_grace = 0.5
        search = await (await standin.send_slash_command("search", {"query": "Russia"})).response()
        menu = select_of(search)
        async with events_locked(postgres_url, seconds=4.0):
            opened = await standin.send_component(
                search, menu["custom_id"], values=[menu["options"][0]["value"]]
            )
            assert (await opened.callback()).json["type"] == DEFERRED_CHANNEL_MESSAGE
            await bot.close()
            answer = await opened.response(timeout=5)
    assert answer["content"] == RESTARTING
    calm(caplog)
    said = [r.getMessage() for r in caplog.records if r.name == "bot.tree"]
    assert len(said) == 1, said
    assert said[0].startswith("component 'chronicle:open-event' by user")
    assert said[0].endswith("stopped by the shutdown after 0.5 s; the member is asked to try again")


async def test_a_button_clicked_once_the_shutdown_has_begun_is_refused(
    standin: DiscordStandIn, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running_bot(standin, postgres_url, prepare=sample) as bot:
        bot.command_grace = 3.0
        card = await (await standin.send_slash_command("event", {"query": "Russia"})).response()
        related = next(
            c["custom_id"]
            for row in card["components"]
            for c in row["components"]
            if c.get("label") == "Related"
        )
        async with events_locked(postgres_url, seconds=5.0):
            # A command under way keeps the shutdown waiting, the connection still open.
            search = await standin.send_slash_command("search", {"query": "Russia"})
            assert (await search.callback()).json["type"] == DEFERRED_CHANNEL_MESSAGE
            closing = asyncio.create_task(bot.close())
            await asyncio.sleep(0.3)
            clicked = await standin.click(card, related)
            refused = await clicked.response(timeout=2)
            await closing
    assert refused["content"] == RESTARTING
    calm(caplog)
