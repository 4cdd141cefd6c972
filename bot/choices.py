"""Autocomplete choices that several commands offer."""

from __future__ import annotations

from discord import app_commands

from bot import render
from storage import Storage


async def entity_choices(storage: Storage, current: str) -> list[app_commands.Choice[str]]:
    """Entities by what was typed, aliases showing their canonical name, with event counts.
    A name longer than a choice's value can hold is left out (it could not be sent back)."""
    names = await storage.entities.suggest(current, limit=render.CHOICES_LIMIT)
    choices = []
    for name in names:
        label = f"{name.name} → {name.canonical}" if name.is_alias else name.name
        label = render.cut(f"{label} ({name.event_count})", render.CHOICE_TEXT_LIMIT)
        if len(name.name) <= render.CHOICE_TEXT_LIMIT:
            choices.append(app_commands.Choice(name=label, value=name.name))
    return choices
