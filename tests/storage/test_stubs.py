"""Events known only from links under an old slug are folded into the event they are: one
event, listed once."""

from __future__ import annotations

import datetime as dt

from storage import Storage
from storage.models import PageRecord, RelatedRecord

OLD_SLUG = (
    "2017/09/9/the-syrian-army-breaks-the-islamic-states-nine-month-long-siege-of-the-deir-ez-zor"
    "-airport"
)
NEW_SLUG = (
    "2017/09/9/the-syrian-army-breaks-the-nine-month-long-siege-of-the-deir-ez-zor-airport-by-isil"
    "-militants"
)
LISTING = (
    "2017/09/5/the-syrian-army-lifts-the-28-month-long-siege-of-deir-ez-zor-by-the-islamic-state"
    "-of-iraq-and-the-levant"
)


async def test_the_airport_event_linked_under_an_old_slug_is_one_event(
    sample_storage: Storage,
) -> None:
    """data/README.md: 2017/09/5 (and 2017/09/4) link an older slug of the 2017-09-9 airport
    event. The old slug finds the event, and the related events of 2017/09/5 list it once."""
    event = await sample_storage.events.get_by_key(NEW_SLUG)
    old = await sample_storage.events.get_by_key(OLD_SLUG)
    assert event is not None and event.complete
    assert old is not None and old.id == event.id
    listing = await sample_storage.events.get_by_key(LISTING)
    assert listing is not None
    related = await sample_storage.events.related(listing.id, limit=100)
    siege = [r.event.key for r in related if "nine month long siege" in r.event.headline]
    assert siege == [NEW_SLUG]


async def test_a_different_event_of_the_day_is_not_folded_by_shared_words(
    storage: Storage,
) -> None:
    """Two events of one day that share most words and a couple of entities, but not enough
    words (a place and a number differ), stay two."""
    day = dt.date(2019, 5, 1)
    page = PageRecord(
        key="2019/05/2/follow-up",
        date=dt.date(2019, 5, 2),
        headline="A follow-up",
        related=(
            RelatedRecord(
                "2019/05/1/at-least-12-people-are-killed-in-a-bombing-in-kandahar",
                day,
                "At least 12 people are killed in a bombing in Kandahar.",
                ("Taliban", "War in Afghanistan", "Kandahar"),
            ),
        ),
    )
    complete = PageRecord(
        key="2019/05/1/at-least-10-people-are-killed-in-a-bombing-in-kabul",
        date=day,
        headline="At least 10 people are killed in a bombing in Kabul.",
        entities=("Taliban", "War in Afghanistan", "Kabul"),
    )
    await storage.events.import_batch([complete, page])
    stub = await storage.events.get_by_key(page.related[0].key)
    assert stub is not None and not stub.complete
    assert await storage.events.reconcile_stubs([stub.id]) == 0
