"""A busy day: a 'new' digest reads every event after its watermark, however many arrived,
a batch at a time; none is left for the next run, and how far it may move its watermark
holds across batches."""

from __future__ import annotations

from storage import Storage
from storage.times import utc_now
from tests.storage.conftest import RawSQL
from tests.storage.digests_support import fresh, make_digest, news
from tests.storage.events_support import arrive
from tests.storage.test_news_waiting import FOUND, FOUND_SQL, NEXT_POLL

BUSY_DAY = 5100  # more than one read took before


async def test_a_digest_covers_every_event_of_a_busy_day_and_none_again(storage: Storage) -> None:
    digest = await make_digest(storage)
    await storage.events.import_batch(
        [news(f"Wire report {n} on the talks") for n in range(BUSY_DAY)]
    )
    (newest,) = await arrive(storage, news("Wire report 5100 on the talks"))

    found = await storage.digests.new_events(digest)
    assert len(found.events) == BUSY_DAY + 1
    assert found.covers_to == newest
    await storage.digests.advance(digest.id, found.covers_to)
    after = await storage.digests.new_events(await fresh(storage, digest))
    assert after.events == [] and after.covers_to == newest


async def test_batches_tell_what_follows_a_waiting_item_and_keep_the_watermark_below_it(
    storage: Storage, raw_sql: RawSQL
) -> None:
    digest = await make_digest(storage, every="live")
    ids = await arrive(storage, *(news(f"Wire report {n} on the talks") for n in range(7)))
    # No digest yet: a preview reads the last day's events, three at a time too.
    preview = [
        len(events)
        async for events in storage.digests.preview_batches(
            None, digest.filters, language="all", now=utc_now(), batch=3
        )
    ]
    assert preview == [3, 3, 1]
    await raw_sql(
        f"UPDATE events SET origin = 'wikipedia', added_at = {FOUND_SQL} WHERE id = ?", ids[3]
    )

    batches = [
        ([e.brief.id for e in found.events], found.covers_to)
        async for found in storage.digests.new_event_batches(digest, waiting_since=FOUND, batch=3)
    ]
    # Read three at a time; the portal item waits, and holds the watermark in later batches.
    assert batches == [(ids[0:3], ids[2]), ([ids[4], ids[5]], ids[2]), ([ids[6]], ids[2])]
    told = [
        [e.brief.id for e in found.events]
        async for found in storage.digests.new_event_batches(
            digest, waiting_since=NEXT_POLL, batch=3
        )
    ]
    assert told == [ids[0:3], ids[3:6], [ids[6]]]
