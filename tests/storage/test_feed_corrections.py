"""A feed's correction of an event it alone told, as it changes what members follow: the
event's links become the names its new text mentions (a name dropped leaves the entity's
page, its count, its searches)."""

from __future__ import annotations

import datetime as dt

from bot.services.feeds.stories import same_story
from storage import Storage
from storage.models import EntryText, SearchFilter, StoredEntries
from tests.storage.conftest import RawSQL
from tests.storage.events_support import entity
from tests.storage.test_feeds import T0, item, store


def text(identity: str, headline: str, *entities: str) -> EntryText:
    return EntryText(identity, headline, f"Summary of {headline}", "en", entities)


async def correct(
    storage: Storage, feed_id: int, *texts: EntryText, at: dt.datetime = T0
) -> StoredEntries:
    """A poll (ten minutes after ``at``) that brings nothing new, only what entries seen
    before say now."""
    stored = await storage.feeds.record_success(
        feed_id,
        at=at + dt.timedelta(minutes=10),
        next_poll_at=at + dt.timedelta(minutes=20),
        etag=None,
        last_modified=None,
        same_story=same_story,
        corrections=texts,
    )
    assert stored is not None
    return stored


# --- links ------------------------------------------------------------------------------------


async def test_a_correction_s_links_are_the_names_its_new_text_mentions(
    storage: Storage, raw_sql: RawSQL
) -> None:
    """A wire corrects "Russia recalls its ambassador to Norway" to "Belarus recalls...":
    the event is Belarus's and Norway's, no longer Russia's (its page, its count, a search
    filtered on it), and its weight is counted again from its links."""
    feed = await storage.feeds.add("https://a.example/feed", "Wire", now=T0)
    headline = "Russia recalls its ambassador to Norway"
    (event_id,) = (
        await store(storage, feed.id, item("r1", headline, entities=("Russia", "Norway")))
    ).created
    russia = await entity(storage, "Russia")
    before = await storage.entities.profile(russia)
    assert [b.id for b in before.recent] == [event_id] and before.event_count == 1
    ((weight,),) = await raw_sql("SELECT weight FROM events WHERE id = ?", event_id)

    corrected = text("r1", "Belarus recalls its ambassador to Norway", "Belarus", "Norway")
    assert (await correct(storage, feed.id, corrected)).corrected == [event_id]
    event = await storage.events.get(event_id)
    assert event is not None and set(event.entities) == {"Belarus", "Norway"}
    after = await storage.entities.profile(russia)
    assert (after.recent, after.event_count) == ((), 0)
    belarus = await entity(storage, "Belarus")
    assert [b.id for b in (await storage.entities.profile(belarus)).recent] == [event_id]
    found = await storage.search.search(SearchFilter(text="ambassador", entity_ids=(russia,)))
    assert found == []
    found = await storage.search.search(SearchFilter(text="ambassador", entity_ids=(belarus,)))
    assert [h.event.id for h in found] == [event_id]
    assert await raw_sql("SELECT weight FROM events WHERE id = ?", event_id) == [(weight,)]

    # Corrected again to name Norway alone: one link fewer, and the weight says so.
    await correct(storage, feed.id, text("r1", "An ambassador to Norway is recalled", "Norway"))
    event = await storage.events.get(event_id)
    assert event is not None and event.entities == ("Norway",)
    assert (await storage.entities.profile(belarus)).event_count == 0
    assert await raw_sql("SELECT weight FROM events WHERE id = ?", event_id) == [(weight - 1,)]
