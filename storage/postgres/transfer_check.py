"""Checking a copy made by storage.postgres.transfer against its SQLite original: every
table's rows counted on both sides, then lookups of a random sample of events, entities
and the bot's settings through the storage interface, compared answer for answer."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storage.api import Storage
from storage.models import EventBrief, SearchFilter
from storage.postgres import PostgresStorage
from storage.postgres.textsearch import index_tokens
from storage.postgres.transfer import TABLES, open_source, parse_date
from storage.query import parse_query


@dataclass
class Verification:
    checks: int = 0
    problems: list[str] = field(default_factory=list)
    # Searches that found the same events and ranked them otherwise: each engine ranks with
    # its own full-text index, so the copy is not in question.
    reordered: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def compare_found(self, what: str, theirs: Sequence[Any], ours: Sequence[Any]) -> None:
        """One check of what a search found on both: the same, the same in another order
        (noted), or not the same (a problem)."""
        self.checks += 1
        if list(theirs) == list(ours):
            return
        if sorted(theirs, key=repr) == sorted(ours, key=repr):
            self.reordered.append(what)
        else:
            self.problems.append(f"{what} differs")


async def verify(
    source_path: Path,
    source: Storage,
    target: PostgresStorage,
    *,
    sample: int = 50,
    seed: int | None = None,
) -> Verification:
    """Compare the copy with the original: every table's rows counted, then lookups of a
    random sample of events and entities through the storage interface on both."""
    result = Verification()
    reader = open_source(source_path)
    try:
        for table in TABLES:
            theirs = reader.execute(f'SELECT count(*) FROM "{table.name}"').fetchone()[0]
            ours = await target.db.fetchval(f"SELECT count(*) FROM {table.name}")
            result.checks += 1
            if theirs != ours:
                result.problems.append(f"{table.name}: {theirs} rows in SQLite, {ours} copied")
        chance = random.Random(seed)
        events = _sample(reader, "SELECT id, key, date, headline FROM events", sample, chance)
        entities = _sample(
            reader,
            "SELECT name, id FROM entities WHERE canonical_id IS NULL AND event_count > 0",
            max(1, sample // 5),
            chance,
        )
        aliases = _sample(
            reader, "SELECT name FROM entities WHERE canonical_id IS NOT NULL", 5, chance
        )
        members = _sample(
            reader, "SELECT DISTINCT guild_id, user_id FROM subscriptions", sample, chance
        )
        guilds = _sample(reader, "SELECT guild_id FROM guild_settings", sample, chance)
        states = _sample(reader, "SELECT name FROM bot_state", sample, chance)
        wikis = [r[0] for r in reader.execute("SELECT wiki FROM portal_polls UNION"
                                              " SELECT DISTINCT wiki FROM portal_days")]
    finally:
        reader.close()

    async def same(what: str, lookup: Lookup) -> None:
        result.checks += 1
        if await lookup(source) != await lookup(target):
            result.problems.append(f"{what} differs")

    async def same_events(what: str, lookup: Lookup) -> None:
        result.compare_found(what, await lookup(source), await lookup(target))

    await same("stats()", _call("stats"))
    for event_id, key, date, headline in events:
        day = parse_date(date)
        await same(f"events.get_by_key({key})", _call("events.get_by_key", key))
        await same(f"events.related({key})", _call("events.related", event_id, limit=10))
        await same(f"events.archive_related({key})", _call("events.archive_related", event_id))
        await same(
            f"events.on_this_day({day:%m-%d})",
            _call("events.on_this_day", day.month, day.day, limit=10),
        )
        words = " ".join(index_tokens(headline)[:2])
        if words and parse_query(words).problem() is None:
            await same_events(f"search.search({words})", _search(words))
    for name, entity_id in entities:
        await same(f"entities.find({name})", _call("entities.find", name))
        await same(f"entities.profile({name})", _call("entities.profile", entity_id))
    for (alias,) in aliases:
        await same(f"entities.find({alias})", _call("entities.find", alias))
    await same("feeds.list()", _call("feeds.list"))
    await same("digests.all()", _call("digests.all"))
    for guild_id, user_id in members:
        await same(
            f"subscriptions.for_member({guild_id}, {user_id})",
            _call("subscriptions.for_member", guild_id, user_id),
        )
    for (guild_id,) in guilds:
        await same(f"settings.get({guild_id})", _call("settings.get", guild_id))
    for (name,) in states:
        await same(f"subscriptions.state({name})", _call("subscriptions.state", name))
    for wiki in wikis:
        await same(f"portal.days({wiki})", _call("portal.days", wiki, limit=20))
        await same(f"portal.poll_state({wiki})", _call("portal.poll_state", wiki))
    return result


Lookup = Callable[[Storage], Awaitable[Any]]


def _call(method: str, *args: Any, **kwargs: Any) -> Lookup:
    """A lookup through the interface, `repository.method` (or a method of Storage)."""

    def lookup(storage: Storage) -> Awaitable[Any]:
        target: Any = storage
        for name in method.split("."):
            target = getattr(target, name)
        return target(*args, **kwargs)  # type: ignore[no-any-return]

    return lookup


def _search(words: str) -> Lookup:
    async def lookup(storage: Storage) -> list[EventBrief]:
        # The events found, in order: the snippets are each engine's own.
        hits = await storage.search.search(SearchFilter(text=words), limit=10)
        return [hit.event for hit in hits]

    return lookup


def _sample(
    reader: sqlite3.Connection, sql: str, size: int, chance: random.Random
) -> list[tuple[Any, ...]]:
    """Up to `size` rows of a query, drawn at random without reading them all into memory
    at once (reservoir sampling)."""
    kept: list[tuple[Any, ...]] = []
    for seen, row in enumerate(reader.execute(sql)):
        if seen < size:
            kept.append(tuple(row))
        elif (slot := chance.randrange(seen + 1)) < size:
            kept[slot] = tuple(row)
    return kept
