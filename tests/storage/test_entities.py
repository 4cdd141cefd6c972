"""Entities folded together: what the archive says of their events stays counted right."""

from __future__ import annotations

import datetime as dt

from storage import Storage
from storage.keys import make_key
from storage.models import PageRecord


def _page(date: dt.date, headline: str, entities: tuple[str, ...]) -> PageRecord:
    return PageRecord(
        key=make_key(date, headline.lower().replace(" ", "-")),
        date=date,
        headline=headline,
        entities=entities,
    )


async def test_an_alias_recounts_events_that_named_both(storage: Storage) -> None:
    """An event naming an entity both ways had two links and now has one: "on this day"
    weighs it as an event naming two entities, below one naming three."""
    await storage.events.import_batch(
        [
            _page(dt.date(2017, 6, 16), "Both spellings", ("ISIL", "Islamic State", "Syria")),
            _page(dt.date(2016, 6, 16), "Three entities", ("Iraq", "Syria", "Baghdad")),
        ]
    )
    best = await storage.digests.on_this_day_best(6, 16, before_year=2020, limit=2)
    assert [e.headline for e in best] == ["Both spellings", "Three entities"]  # newer wins a tie

    result = await storage.entities.alias("ISIL", "Islamic State")
    assert result.moved_links == 0  # the one event already named the canonical entity
    best = await storage.digests.on_this_day_best(6, 16, before_year=2020, limit=2)
    assert [e.headline for e in best] == ["Three entities", "Both spellings"]
