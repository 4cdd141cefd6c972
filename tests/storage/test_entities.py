"""Folding entities or events together: what the archive says of an event stays counted."""

from __future__ import annotations

import datetime as dt

from storage import Storage
from storage.keys import make_key
from storage.models import PageRecord, RelatedRecord


def _key(date: dt.date, headline: str) -> str:
    return make_key(date, headline.lower().replace(" ", "-"))


def _page(date: dt.date, headline: str, entities: tuple[str, ...]) -> PageRecord:
    return PageRecord(
        key=_key(date, headline),
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


async def test_a_stub_folded_into_its_event_adds_its_entities_to_the_weight(
    storage: Storage,
) -> None:
    """A Related link names an event under an older slug; folding that stub into the event
    brings the stub's entities, and "on this day" weighs the event with them."""
    day = dt.date(2017, 6, 16)
    event = _page(day, "Two injured Russian soldiers are evacuated from Deir ez-Zor", ("Russia",))
    rival = _page(dt.date(2016, 6, 16), "An older event naming two", ("Iraq", "Baghdad"))
    older_slug = "Two alleged Russian soldiers are evacuated from Deir ez-Zor"
    linking = PageRecord(
        key=_key(dt.date(2017, 7, 1), "A later event"),
        date=dt.date(2017, 7, 1),
        headline="A later event",
        entities=("Syria",),
        related=(
            RelatedRecord(
                key=_key(day, older_slug),
                date=day,
                headline=older_slug,
                shared=("Syria",),
            ),
        ),
    )
    outcome = await storage.events.import_batch([event, rival, linking])
    best = await storage.digests.on_this_day_best(6, 16, before_year=2020, limit=3)
    assert [e.headline for e in best][:2] == [rival.headline, event.headline]

    assert await storage.events.reconcile_stubs(outcome.created_incomplete) == 1
    best = await storage.digests.on_this_day_best(6, 16, before_year=2020, limit=3)
    assert [e.headline for e in best] == [event.headline, rival.headline]  # newer wins a tie
