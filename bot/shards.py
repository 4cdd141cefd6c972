"""Sharding: which servers a bot process serves when several processes share the bot.

Discord splits a bot's servers into shards, a server belonging to shard
``(guild_id >> 22) % shard_count``; each gateway connection carries one shard. A process runs
the shards it is given (all of them by default) and does the per-server work (digests,
alerts) only for the servers on those shards, so that every server is served exactly once.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard a server belongs to (Discord's rule)."""
    return (guild_id >> 22) % shard_count


def owns_guild(guild_id: int, shard_ids: Collection[int] | None, shard_count: int | None) -> bool:
    """Whether a process running ``shard_ids`` of ``shard_count`` serves this server. None
    for either means the process runs every shard, so it serves every server."""
    if shard_ids is None or shard_count is None:
        return True
    return shard_of(guild_id, shard_count) in shard_ids


# More shards than any bot runs (Discord gives about one per 1,000 servers): a count or id
# beyond it is a typo, refused before anything is sized by it.
MAX_SHARD_COUNT = 100_000
TOO_MANY_SHARDS = (
    f"is more shards than a bot runs (at most {MAX_SHARD_COUNT}, about one per 1,000 servers)"
)


def parse_shard_ids(raw: str) -> tuple[int, ...]:
    """Shard ids written as ranges and single ids, comma-separated: "0-3", "0,2", "0-1,4".
    Sorted, each once. Raises ValueError saying what is wrong (not naming the setting)."""
    ids: set[int] = set()
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            raise ValueError("has an empty item; write ranges and ids like 0-3 or 0,2")
        first, dash, last = (s.strip() for s in part.partition("-"))
        if not first.isdigit() or (dash and not last.isdigit()):
            raise ValueError(
                f"has {part!r}, which is neither a shard id nor a range A-B (digits only)"
            )
        low, high = int(first), int(last) if dash else int(first)
        if high >= MAX_SHARD_COUNT:
            raise ValueError(
                f"has {part!r}: shard ids go up to {MAX_SHARD_COUNT - 1} at most (a bot has about"
                " one shard per 1,000 servers)"
            )
        if low > high:
            raise ValueError(f"has the range {part!r}, which runs backwards: write {high}-{low}")
        if ids & set(range(low, high + 1)):
            raise ValueError(f"names a shard twice ({part!r} overlaps an earlier item)")
        ids.update(range(low, high + 1))
    return tuple(sorted(ids))


def shard_problems(
    count: int | None, ids: tuple[int, ...] | None, *, count_name: str, ids_name: str
) -> list[str]:
    """What is wrong with a shard count and shard ids given together."""
    if ids is None:
        return []
    if count is None:
        return [f"{ids_name} needs {count_name} too: the total number of shards over all processes"]
    outside = [i for i in ids if i >= count]
    if outside:
        shown = ", ".join(map(str, outside[:5])) + (", ..." if len(outside) > 5 else "")
        return [
            f"{ids_name} names shard {shown}, but with {count_name}={count} the shards are"
            f" 0-{count - 1}"
        ]
    return []


def describe_shards(ids: Collection[int] | None, count: int | None) -> str:
    """For logs and messages: "shards 0-1 of 4", "shard 2 of 4", "every shard"."""
    if ids is None or count is None:
        return "every shard" if count is None else f"all {count} shards"
    ordered = sorted(ids)
    runs: list[str] = []
    start = prev = ordered[0]
    for shard in [*ordered[1:], None]:
        if shard is not None and shard == prev + 1:
            prev = shard
            continue
        runs.append(str(start) if start == prev else f"{start}-{prev}")
        if shard is not None:
            start = prev = shard
    noun = "shard" if len(ordered) == 1 else "shards"
    return f"{noun} {','.join(runs)} of {count}"


SQLITE_SHARDS = """\
chronicle: {what} runs this process as one of several sharing the bot, but its database is a \
SQLite file, which several processes cannot share safely for this (one writer at a time, no \
lock between machines, no way to agree which process polls the feeds). Give every process one \
PostgreSQL database with CHRONICLE_DATABASE_URL=postgresql://user@host/database (see "Running \
at scale" in README.md), or run every shard in this one process: leave {what} unset \
(DISCORD_SHARD_COUNT alone is fine)."""


def sqlite_refusal(
    database: Path | str, shard_ids: tuple[int, ...] | None, shard_count: int | None, what: str
) -> str | None:
    """Why a process given some of the shards cannot run on this database, or None if it
    can. Given every shard (0-1 of 2, say), it is the bot's one process, as without."""
    if shard_ids is None or _postgresql(database):
        return None
    # Sorted and each once (parse_shard_ids): every shard when there are as many as the count.
    if shard_count is not None and len(shard_ids) == shard_count and shard_ids[-1] < shard_count:
        return None
    return SQLITE_SHARDS.format(what=what)


def _postgresql(database: Path | str) -> bool:
    # The settings keep a PostgreSQL database as its URL, a SQLite one as a path.
    return isinstance(database, str) and database.lower().startswith(
        ("postgresql://", "postgres://")
    )
