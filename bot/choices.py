"""Autocomplete choices that several commands offer."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import discord
from discord import app_commands

from bot import render
from bot.failures import interaction_archive_failure
from bot.services.lookups import ENTITY_CHOICE_PREFIX
from bot.tree import describe
from storage import Storage

log = logging.getLogger(__name__)

# Discord drops an autocomplete answered late, and the member sees "Loading options failed":
# past this deadline the answer is no choices, well inside Discord's limit, so that the reply
# still arrives in time.
AUTOCOMPLETE_SECONDS = 2.0

Cog = TypeVar("Cog")
Choices = list[app_commands.Choice[str]]
ChoicesCallback = Callable[[Cog, discord.Interaction, str], Coroutine[Any, Any, Choices]]


def in_time(callback: ChoicesCallback[Cog]) -> ChoicesCallback[Cog]:
    """A cog's autocomplete that answers no choices, rather than none at all, when the
    archive is slow to answer (a long write, a busy database) or fails (its server gone):
    typing on asks again."""

    @functools.wraps(callback)
    async def answer(cog: Cog, interaction: discord.Interaction, current: str) -> Choices:
        try:
            async with asyncio.timeout(AUTOCOMPLETE_SECONDS):
                return await callback(cog, interaction, current)
        except TimeoutError:
            log.warning(
                "autocomplete answered no choices after %.1f s: %s, typed %r",
                AUTOCOMPLETE_SECONDS,
                describe(interaction),
                current,
            )
            return []
        except Exception as exc:
            problem = interaction_archive_failure(interaction, exc)
            if problem is None:
                raise
            log.warning(
                "autocomplete answered no choices, the archive's doing: %s; %s, typed %r",
                problem,
                describe(interaction),
                current,
            )
            return []

    return answer


async def entity_choices(storage: Storage, current: str) -> Choices:
    """Entities by what was typed, aliases showing their canonical name, with event counts.
    A name longer than a choice's value can hold is sent back as its entity's id
    (`entity:<id>`, which bot.services.lookups reads)."""
    names = await storage.entities.suggest(current, limit=render.CHOICES_LIMIT)
    choices = []
    for name in names:
        label = f"{name.name} → {name.canonical}" if name.is_alias else name.name
        label = render.cut(f"{label} ({name.event_count})", render.CHOICE_TEXT_LIMIT)
        value = name.name
        if len(name.name) > render.CHOICE_TEXT_LIMIT:
            found = await storage.entities.find(name.name)  # names this long are few
            if found is None:
                continue
            value = f"{ENTITY_CHOICE_PREFIX}{found[0]}"
        choices.append(app_commands.Choice(name=label, value=value))
    return choices
