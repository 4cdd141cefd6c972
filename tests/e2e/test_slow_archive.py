"""Autocomplete while the archive is slow to answer: Discord drops an autocomplete answered
after 3 s, and the member sees "Loading options failed". The bot answers no choices in time
instead, logs what was asked, and answers as before once the archive is back.

The archive is made slow for real: another PostgreSQL session holds the events table locked,
as a long migration or a manual maintenance statement would."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from bot.choices import AUTOCOMPLETE_SECONDS
from bot.services.imports import import_archive
from storage import Storage
from tests.conftest import SAMPLE_NEWS
from tests.e2e.harness import running_bot
from tests.e2e.standin.interactions import InteractionHandle
from tests.e2e.standin.server import DiscordStandIn


async def sample(storage: Storage) -> None:
    await import_archive(storage, [SAMPLE_NEWS])


@pytest.fixture
async def standin() -> AsyncIterator[DiscordStandIn]:
    async with DiscordStandIn() as api:  # answers later than 3 s get 404 Unknown interaction
        yield api
    assert not api.internal_errors


async def choices(handle: InteractionHandle) -> list[dict[str, Any]]:
    callback = await handle.callback(timeout=AUTOCOMPLETE_SECONDS + 3)
    assert callback.status < 300, callback.response  # within Discord's 3 s
    assert callback.json["type"] == 8  # APPLICATION_COMMAND_AUTOCOMPLETE_RESULT
    result: list[dict[str, Any]] = callback.json["data"]["choices"]
    return result


async def test_autocomplete_answers_no_choices_in_time_while_the_archive_is_locked(
    standin: DiscordStandIn, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    typed = {"query": "russian ministry of def"}
    async with running_bot(standin, postgres_url, prepare=sample):
        before = await choices(await standin.send_autocomplete("event", typed, focused="query"))
        assert before[0]["name"].startswith("2017-06-16 · The Russian Ministry of Defence")

        maintenance = await asyncpg.connect(postgres_url)
        try:
            locked = maintenance.transaction()
            await locked.start()
            await maintenance.execute("LOCK TABLE events, entities IN ACCESS EXCLUSIVE MODE")
            with caplog.at_level(logging.WARNING, logger="bot.choices"):
                during = await choices(
                    await standin.send_autocomplete("event", typed, focused="query")
                )
                names = await choices(
                    await standin.send_autocomplete("entity", {"name": "abu"}, focused="name")
                )
            assert during == [] and names == []
            said = [r.getMessage() for r in caplog.records if r.name == "bot.choices"]
            assert len(said) == 2
            assert said[0].startswith("autocomplete answered no choices after 2.0 s: /event by")
            assert "typed 'russian ministry of def'" in said[0]
            assert said[1].startswith("autocomplete answered no choices after 2.0 s: /entity by")
            await locked.rollback()
        finally:
            await maintenance.close()

        # The waits given up left no connection of the pool behind: answers as before.
        after = await choices(await standin.send_autocomplete("event", typed, focused="query"))
        assert after == before
        names = await choices(
            await standin.send_autocomplete("entity", {"name": "abu"}, focused="name")
        )
        assert names and all("abu" in n["name"].casefold() for n in names)
