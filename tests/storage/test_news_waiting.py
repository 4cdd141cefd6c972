"""A portal item waits to be told until a later poll has read its page again
(storage.news_rules): alerts and 'new' digests tell the events after it meanwhile, and keep
their watermark below it, so that it is told once it no longer waits, and not at all if it
was removed by then."""

from __future__ import annotations

import datetime as dt

from storage import Storage
from storage.news_rules import Announced
from tests.storage.conftest import RawSQL
from tests.storage.digests_support import SLOT, fresh, make_digest, news
from tests.storage.events_support import arrive

FOUND = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
# A literal both backends read as that time (SQLite's text, PostgreSQL's timestamptz).
FOUND_SQL = "'2026-12-07T12:00:00.000000Z'"
NEXT_POLL = FOUND + dt.timedelta(minutes=10)


async def found_by_a_poll(storage: Storage, raw_sql: RawSQL) -> tuple[int, int, int]:
    """Three news events: the second a portal item found by the poll at FOUND."""
    ids = await arrive(
        storage,
        news("Earthquake strikes Italy", "Italy"),
        news("Parliament of Italy dissolved", "Italy"),
        news("Floods in Italy close roads", "Italy"),
    )
    await raw_sql(
        f"UPDATE events SET origin = 'wikipedia', added_at = {FOUND_SQL} WHERE id = ?", ids[1]
    )
    first, portal, later = ids
    return first, portal, later


async def test_a_portal_item_waits_for_the_next_poll_and_what_follows_it_does_not(
    storage: Storage, raw_sql: RawSQL
) -> None:
    first, portal, later = await found_by_a_poll(storage, raw_sql)
    alerts = storage.subscriptions
    assert await alerts.announced_after(0, limit=10, waiting_since=FOUND) == Announced(
        ready=[first, later], read_through=later, settled_through=first
    )
    assert await alerts.announced_after(0, limit=10, waiting_since=NEXT_POLL) == Announced(
        ready=[first, portal, later], read_through=later, settled_through=later
    )
    # Not polling: nothing waits.
    assert (await alerts.announced_after(0, limit=10)).ready == [first, portal, later]

    # Removed (reverted) before the next poll: never told.
    await raw_sql("UPDATE events SET removed_at = added_at WHERE id = ?", portal)
    assert (await alerts.announced_after(first, limit=10, waiting_since=NEXT_POLL)).ready == [later]


async def test_a_new_digest_posts_what_follows_a_waiting_item_and_then_the_item(
    storage: Storage, raw_sql: RawSQL
) -> None:
    digest = await make_digest(storage, every="live")
    first, portal, later = await found_by_a_poll(storage, raw_sql)

    found = await storage.digests.new_events(digest, waiting_since=FOUND)
    assert [e.brief.id for e in found.events] == [first, later]
    assert found.covers_to == first
    run = await storage.digests.claim_run(
        digest.id, SLOT, parts=1, items=[first, later], covers_to=found.covers_to
    )
    assert run is not None
    await storage.digests.part_sent(digest.id, SLOT, event_ids=[first, later])
    await storage.digests.finish_run(digest.id, SLOT, "sent")
    digest = await fresh(storage, digest)
    assert digest.last_event_id == first  # not past the item that waits

    assert (await storage.digests.new_events(digest, waiting_since=FOUND)).events == []
    told = await storage.digests.new_events(digest, waiting_since=NEXT_POLL)
    assert [e.brief.id for e in told.events] == [portal]  # the others are not posted again
    assert told.covers_to == portal


async def test_a_preview_leaves_out_the_portal_item_that_waits_as_the_digest_does(
    storage: Storage, raw_sql: RawSQL
) -> None:
    """/digest preview shows what the digest would post now: not a portal item waiting for
    the next poll, whether the digest exists or not yet; after that poll, the item too."""
    digest = await make_digest(storage, every="live")
    first, portal, later = await found_by_a_poll(storage, raw_sql)
    # Found just before the poll: a digest not set yet previews the last day's events.
    before = "'2026-12-07T11:59:00.000000Z'"
    await raw_sql(f"UPDATE events SET added_at = {before} WHERE id <> ?", portal)
    now = FOUND + dt.timedelta(minutes=1)
    for existing in (digest, None):
        for since, shown in ((FOUND, [first, later]), (NEXT_POLL, [first, portal, later])):
            preview = await storage.digests.new_events_for_preview(
                existing, digest.filters, language="all", now=now, waiting_since=since
            )
            assert [e.brief.id for e in preview] == shown, (existing, since)
