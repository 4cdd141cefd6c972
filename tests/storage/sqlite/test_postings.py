"""The related-events rule, computed by storage, against the archive's own Related lists."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np

from storage import Storage
from storage.keys import make_key
from storage.models import PageRecord
from storage.postings import rank_shared


def _random_pages(rng: random.Random, numbers: range) -> list[PageRecord]:
    names = [f"Entity {n}" for n in range(40)]
    weights = [1 / (n + 1) ** 1.2 for n in range(40)]  # a long tail, a few very common
    pages = []
    for n in numbers:
        date = dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(60))  # ties on dates
        chosen = set(rng.choices(names, weights, k=rng.randint(1, 6)))
        pages.append(
            PageRecord(
                key=make_key(date, f"event-{n}"),
                date=date,
                headline=f"Event {n}",
                entities=tuple(sorted(chosen)),
            )
        )
    return pages


def _ranking_by_every_posting(db_path: Path) -> dict[int, list[tuple[int, int]]]:
    """Each event's related (id, shared count), by counting every link in plain SQL terms."""
    with closing(sqlite3.connect(db_path)) as db:
        links = db.execute("SELECT event_id, entity_id, date FROM event_entities").fetchall()
    entities_of: dict[int, set[int]] = {}
    date_of: dict[int, str] = {}
    for event_id, entity_id, date in links:
        entities_of.setdefault(event_id, set()).add(entity_id)
        date_of[event_id] = date
    expected = {}
    for event_id, mine in entities_of.items():
        ranked = sorted(
            (
                (len(mine & theirs), date_of[other], other)
                for other, theirs in entities_of.items()
                if other != event_id and mine & theirs
            ),
            reverse=True,
        )
        expected[event_id] = [(other, shared) for shared, _, other in ranked]
    return expected


def _packed(db_path: Path) -> set[int]:
    with closing(sqlite3.connect(db_path)) as db:
        return {row[0] for row in db.execute("SELECT entity_id FROM entity_postings")}


async def _check_sample(storage: Storage, rng: random.Random) -> None:
    expected = _ranking_by_every_posting(storage.db.path)
    for event_id in rng.sample(sorted(expected), 60):
        offset = rng.choice([0, 0, 7, 30])
        got = await storage.events.related(event_id, limit=10, offset=offset)
        assert [(r.event.id, len(r.shared)) for r in got] == expected[event_id][
            offset : offset + 10
        ], event_id


async def test_packed_and_unpacked_entities_give_the_exact_ranking(storage: Storage) -> None:
    """Popular entities' events are read from packed blobs, the others' from rows, and a
    blob is dropped as soon as its entity gains an event: in every state the ranking must
    be the one counting every posting (entities are "popular" here from 12 events, and many
    dates tie)."""
    rng = random.Random(7)
    storage.db.packed_postings_min = 12
    await storage.events.import_batch(_random_pages(rng, range(400)))
    await storage.events.pack_postings()
    packed = _packed(storage.db.path)
    assert 10 <= len(packed) < 40  # both kinds are in play
    await _check_sample(storage, rng)

    # New events name the most common entities: their blobs go, the rows are read instead.
    await storage.events.import_batch(_random_pages(rng, range(400, 430)))
    stale = packed - _packed(storage.db.path)
    assert len(stale) >= 5
    await _check_sample(storage, rng)

    assert await storage.events.pack_postings() >= len(stale)
    assert _packed(storage.db.path) >= packed
    await _check_sample(storage, rng)


def test_rank_shared_counts_keys_and_breaks_ties_by_newest() -> None:
    def key(date: str, event_id: int) -> int:
        return (int(date.replace("-", "")) << 32) | event_id

    keys = np.array(
        [
            key("2020-01-02", 5),  # shares 2 entities
            key("2020-01-02", 5),
            key("2019-12-31", 9),  # shares 1, older than 3 and 4
            key("2020-01-01", 3),
            key("2020-01-01", 4),  # same date as 3, newer id
            key("2020-01-03", 1),  # the event itself
            key("2020-01-03", 1),
        ],
        dtype="<i8",
    )
    assert rank_shared(keys, exclude=1, want=10) == [5, 4, 3, 9]
    assert rank_shared(keys, exclude=1, want=2) == [5, 4]
    assert rank_shared(keys, exclude=5, want=1) == [1]
    assert rank_shared(keys[:0], exclude=1, want=10) == []


async def test_an_alias_repacks_the_entity_it_joins(storage: Storage) -> None:
    """Naming one entity as another's alias moves its links, which drops the blob of the
    entity it joins: the alias writes it again at once, rather than leaving related() to
    read a popular entity's rows until the next import."""
    rng = random.Random(11)
    storage.db.packed_postings_min = 12
    await storage.events.import_batch(_random_pages(rng, range(400)))
    await storage.events.pack_postings()
    popular = await storage.entities.find("Entity 0")
    second = await storage.entities.find("Entity 1")
    assert popular and second and {popular[0], second[0]} <= _packed(storage.db.path)

    result = await storage.entities.merge("Entity 1", "Entity 0")
    assert result.moved_links > 0
    packed = _packed(storage.db.path)
    assert popular[0] in packed and second[0] not in packed
    await _check_sample(storage, rng)
