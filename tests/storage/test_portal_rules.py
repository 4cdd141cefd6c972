"""The portal's pure decisions (storage/portal_rules.py): what an item does to the event it
was matched to, and which events a revision no longer lists. The repositories that apply
them are tested on both backends in test_portal.py."""

from __future__ import annotations

import dataclasses
import datetime as dt

from storage.models import PortalItemRecord, SourceRecord
from storage.portal_rules import Change, DayEvent, Listed, change, unlisted

DAY = dt.date(2024, 1, 8)
ITEM = PortalItemRecord(
    key="2024/01/8/gunmen-storm-a-tv-studio",
    date=DAY,
    headline="Gunmen storm a TV studio",
    category="Armed conflicts and attacks",
    topics=("Ecuadorian security crisis",),
    entities=("Ecuador",),
    sources=(SourceRecord("apnews.com", "https://apnews.com/a"),),
    position=0,
)
LISTED = Listed(
    date=DAY,
    headline=ITEM.headline,
    entities=ITEM.entities,
    content_hash=ITEM.content_hash,
    removed=False,
)


def event(origin: str = "wikipedia", *, listing: Listed | None = LISTED) -> DayEvent:
    return DayEvent(
        key=ITEM.key, date=DAY, headline=ITEM.headline, origin=origin, complete=True,
        listing=listing,
    )  # fmt: skip


def test_an_archive_or_feed_event_is_enriched_whatever_the_page_says() -> None:
    assert change(event("archive"), ITEM) is Change.ENRICH
    assert change(event("feed", listing=None), ITEM) is Change.ENRICH


def test_the_portals_event_is_rewritten_only_when_the_item_changed() -> None:
    assert change(event(), ITEM) is Change.UNCHANGED
    edited = dataclasses.replace(ITEM, headline="Gunmen storm a TV studio in Guayaquil")
    assert change(event(), edited) is Change.REWRITE
    moved = dataclasses.replace(ITEM, date=DAY + dt.timedelta(days=1))
    assert change(event(), moved) is Change.REWRITE
    assert change(event(listing=None), ITEM) is Change.REWRITE  # never listed by this wiki
    stub = dataclasses.replace(event("archive"), complete=False)  # the portal completes it
    assert change(stub, ITEM) is Change.UNCHANGED


def test_unlisted_are_the_days_listed_events_the_revision_lost() -> None:
    removed = dataclasses.replace(LISTED, removed=True)
    other_day = dataclasses.replace(LISTED, date=DAY - dt.timedelta(days=1))
    events = {
        1: event(),  # listed, still on the page
        2: event(),  # listed, gone from the page
        3: event(listing=removed),  # already taken off by an earlier revision
        4: event(listing=other_day),  # the previous day's page lists it
        5: event("archive", listing=None),  # never listed
    }
    assert unlisted(events, {1}, DAY) == [2]
    assert event(listing=removed).restored and not event().restored
