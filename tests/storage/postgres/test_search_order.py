"""PostgreSQL's search gives SQLite's answers in SQLite's order: the same archive in both,
searched, autocompleted and suggested for alike (bm25 as FTS5 computes it, entities counted
in an event's length as SQLite's index counts them)."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from storage import open_storage
from storage.keys import make_key
from storage.models import PageRecord, SearchFilter

WORDS = "flood vote quake the summit strike river north army talks rain storm russia syria of in"
NAMES = ["Alpha", "Beta", "Gamma", "Delta", "Epsilon"]
SEARCHES = [
    "flood",
    "river flood",
    "storm OR rain",
    "syria -russia",
    "rus*",
    '"north army"',
    "the",
    "of the",
    "talks summit strike",
    "sum* vote",
    "quake rain river",
]


def _pages(count: int, seed: int = 5) -> list[PageRecord]:
    rng = random.Random(seed)
    words = WORDS.split()
    pages = []
    for n in range(count):
        date = dt.date(2019, 1, 1) + dt.timedelta(days=rng.randrange(900))
        headline = " ".join(rng.choice(words) for _ in range(rng.randint(2, 7)))
        summary = " ".join(rng.choice(words) for _ in range(rng.randint(0, 20)))
        pages.append(
            PageRecord(
                key=make_key(date, f"e-{n}"),
                date=date,
                headline=f"{headline.capitalize()} {n}",
                summary=summary,
                entities=tuple(rng.sample(NAMES, rng.randint(0, 3))),
            )
        )
    return pages


async def test_search_orders_as_sqlite_does(tmp_path: Path, target_url: str) -> None:
    pg = await open_storage(target_url)
    sqlite = await open_storage(tmp_path / "chronicle.db")
    try:
        pages = _pages(600)
        for store in (pg, sqlite):
            await store.events.import_batch(pages)
        for text in SEARCHES:
            query = SearchFilter(text=text)
            expected = [h.event.key for h in await sqlite.search.search(query, limit=40)]
            assert [h.event.key for h in await pg.search.search(query, limit=40)] == (
                expected
            ), text
        # Date ranges, old ones and those reaching the newest events (read by the
        # dates' index or by walking the newest events: the same answers).
        for text, since, until in [
            ("flood", dt.date(2019, 3, 1), dt.date(2019, 9, 1)),
            ("the", dt.date(2019, 1, 1), dt.date(2019, 6, 30)),
            ("river flood", dt.date(2020, 1, 1), None),
            ("rus*", None, dt.date(2020, 6, 1)),
        ]:
            query = SearchFilter(text=text, since=since, until=until)
            expected = [h.event.key for h in await sqlite.search.search(query, limit=40)]
            assert [h.event.key for h in await pg.search.search(query, limit=40)] == (
                expected
            ), (text, since, until)
        for typed in ["flood ri", "river", "north a", "syr"]:
            expected = [b.key for b in await sqlite.search.suggest_headlines(typed)]
            assert [b.key for b in await pg.search.suggest_headlines(typed)] == expected
        for typed in ["floood river", "riverr", "stormy talks", "zzz"]:
            expected = [b.key for b in await sqlite.search.closest(typed)]
            assert [b.key for b in await pg.search.closest(typed)] == expected, typed
    finally:
        await pg.close()
        await sqlite.close()
