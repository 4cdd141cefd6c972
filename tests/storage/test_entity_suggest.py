"""Entity-name autocomplete: names starting with what is typed, the entities with the most
events first, whether the names are few enough to order or the popularity index is walked."""

from __future__ import annotations

import datetime as dt

from storage import Storage
from storage.keys import make_key
from storage.models import PageRecord


async def _archive(storage: Storage) -> None:
    """Sea Shepherd (alias "Shepherds of the Sea") in 45 events, Saint k in k + 1 (k < 40),
    Tallinn and Le Saint in a few."""
    pages = []
    for n in range(45):
        date = dt.date(2021, 1, 1) + dt.timedelta(days=n)
        named = ["Sea Shepherd", *(f"Saint {k}" for k in range(n, 40))]
        named += ["Tallinn", "Le Saint"] if n % 9 == 0 else []
        pages.append(PageRecord(make_key(date, f"e{n}"), date, f"Event {n}", entities=tuple(named)))
    await storage.events.import_batch(pages)
    await storage.entities.alias("Shepherds of the Sea", "Sea Shepherd")


async def test_a_last_letter_alone_is_not_looked_up_as_a_word(storage: Storage) -> None:
    await _archive(storage)
    got = await storage.entities.suggest("le s")  # "Le Saint" starts so
    assert [n.name for n in got] == ["Le Saint"]
    got = await storage.entities.suggest("Tallinn S")  # no name starts so; "Tallinn" does
    assert [n.name for n in got] == ["Tallinn"]
