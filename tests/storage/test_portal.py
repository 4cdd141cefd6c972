"""The portal's rule for telling an edit from a new item (match_items), and storing day
pages' revisions on a real SQLite file: events made, edited in place, enriched, removed."""

from __future__ import annotations

import datetime as dt

from storage import Storage
from storage.models import (
    FeedItem,
    PageRecord,
    PortalItemRecord,
    PortalRevision,
    RelatedRecord,
    SourceRecord,
)
from storage.portal_match import Candidate, Listing, match_items

DAY = dt.date(2024, 1, 8)
NOW = dt.datetime(2024, 1, 8, 18, tzinfo=dt.UTC)
HEADLINE = "Ecuador declares a state of emergency after a gang leader escapes from prison"


def item(
    headline: str,
    position: int = 0,
    *,
    key: str | None = None,
    urls: tuple[str, ...] = (),
    entities: tuple[str, ...] = (),
) -> PortalItemRecord:
    return PortalItemRecord(
        key=key or f"2024/01/8/{headline.lower().replace(' ', '-')}",
        date=DAY,
        headline=headline,
        category="Armed conflicts and attacks",
        topics=("Ecuadorian security crisis",),
        entities=entities,
        sources=tuple(SourceRecord(url.split("/")[2], url) for url in urls),
        position=position,
    )


def candidate(
    event_id: int,
    text: str,
    *,
    keys: tuple[str, ...] = (),
    urls: tuple[str, ...] = (),
    listed: bool = True,
    from_feed: bool = False,
    date: dt.date = DAY,
    on_its_page: bool = False,
) -> Candidate:
    return Candidate(
        event_id, date, frozenset(keys), text, frozenset(urls), listed, from_feed, on_its_page
    )


def listing(*items: PortalItemRecord) -> list[Listing]:
    return [Listing(i.key, i.date, i.headline, frozenset(s.url for s in i.sources)) for i in items]


def match(items: list[PortalItemRecord], candidates: list[Candidate]) -> dict[int, int]:
    return match_items(listing(*items), candidates)


# --- the rule ---------------------------------------------------------------------------------


def test_the_same_key_is_the_same_event() -> None:
    mine = item(HEADLINE, key="2024/01/8/k")
    assert match([mine], [candidate(7, "Something else entirely", keys=("2024/01/8/k",))]) == {0: 7}


def test_a_shared_source_beats_a_similar_headline_and_the_most_shared_wins() -> None:
    items = [
        item(
            "Totally rewritten by an editor today",
            urls=("https://a.example/1", "https://b.example/2"),
        )
    ]
    candidates = [
        candidate(1, "Totally rewritten by an editor yesterday"),  # similar text only
        candidate(2, "Unrelated words", urls=("https://a.example/1",)),
        candidate(3, "Other words", urls=("https://a.example/1", "https://b.example/2")),
    ]
    assert match(items, candidates) == {0: 3}


def test_an_edit_is_matched_down_to_the_similarity_bar_and_no_further() -> None:
    before = "police in quito arrest five men over the attack on the tv station"
    # 12 distinct words each, 9 shared: Jaccard 9/15, exactly the bar (3/5).
    edited = "police in guayaquil detain five suspects over the attack on the tv station"
    assert match([item(edited)], [candidate(9, before)]) == {0: 9}
    # One more word: 9/16, just below: a new item (and the old one removed).
    assert match([item(edited + " today")], [candidate(9, before)]) == {}


def test_a_feed_event_needs_the_same_story_bar_unless_the_page_listed_it() -> None:
    feed_text = "police in quito arrest five men over the attack on the tv station"
    edited = "police in guayaquil detain five suspects over the attack on the tv station"
    assert match([item(edited)], [candidate(4, feed_text, listed=False, from_feed=True)]) == {}
    assert match([item(edited)], [candidate(4, feed_text, listed=True, from_feed=True)]) == {0: 4}


def test_each_event_is_matched_once_best_pairs_first() -> None:
    a = "gunmen storm a television studio in guayaquil during a live broadcast"
    b = "gunmen storm a television studio in guayaquil during a live news broadcast"
    items = [item(a, 0), item(b, 1)]
    # Only one event to be: the item more like it gets it, the other is new.
    assert match(items, [candidate(5, b)]) == {1: 5}


def test_a_source_several_items_cite_tells_nothing() -> None:
    """Two items citing one live blog: neither is the event that cites it too, by that."""
    blog = "https://live.example/ecuador"
    items = [
        item("Gunmen storm a television studio in Guayaquil", urls=(blog,)),
        item("The army is deployed to the streets of Quito tonight", 1, urls=(blog,)),
    ]
    assert match(items, [candidate(3, "Markets in Ecuador fall sharply", urls=(blog,))]) == {}
    # Alone on the page, the shared link is the event's.
    assert match(items[:1], [candidate(3, "Markets in Ecuador fall sharply", urls=(blog,))]) == {
        0: 3
    }


def test_between_events_sharing_as_many_sources_the_more_similar_wins() -> None:
    url = "https://apnews.com/1"
    edited = item("Gunmen storm a television studio in Guayaquil during a broadcast", urls=(url,))
    candidates = [
        candidate(1, "Ecuador's president declares an internal armed conflict", urls=(url,)),
        candidate(2, "Gunmen storm a television studio in Guayaquil", urls=(url,)),
    ]
    assert match([edited], candidates) == {0: 2}


def test_an_item_moved_to_the_next_day_needs_the_same_story_bar() -> None:
    yesterday = DAY - dt.timedelta(days=1)
    url = "https://apnews.com/1"
    moved = item(HEADLINE, urls=(url,))
    # The same words on yesterday's page: the same item, moved.
    assert match([moved], [candidate(6, HEADLINE, date=yesterday)]) == {0: 6}
    # A shared source alone does not move an item of another day (a story told over days).
    assert (
        match(
            [moved], [candidate(6, "A curfew is announced in Quito", urls=(url,), date=yesterday)]
        )
        == {}
    )
    # An edit-sized difference (12 of 16 words: 3/4) is an edit on the same day, not
    # across days.
    edit = item(
        "Ecuador declares a 60-day state of emergency after gang leader Fito escapes"
        " from a Guayaquil prison"
    )
    assert match([edit], [candidate(6, HEADLINE, date=yesterday)]) == {}
    assert match([edit], [candidate(6, HEADLINE)]) == {0: 6}


def test_a_source_one_item_cites_finds_a_feed_s_event_of_the_day_either_side() -> None:
    """A feed dates the story it tells at its own offset, the page at the portal's: the
    article the feed's event cites is the item's, a day apart, told in other words. A
    live blog cited for another story of the day either side is not: an unrelated feed
    event would have taken the item in, and its story never been told."""
    url = "https://apnews.com/ecuador-conflict"
    cites = item("Daniel Noboa says Ecuador is in an internal armed conflict", urls=(url,))
    feed_text = "Ecuador's president declares an internal armed conflict against 22 gangs"
    for date in (DAY - dt.timedelta(days=1), DAY + dt.timedelta(days=1)):
        feed = candidate(8, feed_text, urls=(url,), listed=False, from_feed=True, date=date)
        assert match([cites], [feed]) == {0: 8}
        # Two days apart, or a source other items of the page cite too, names nothing.
        blog = item("The army is deployed to the streets of Quito", 1, urls=(url,))
        assert match([cites, blog], [feed]) == {}
    far = DAY + dt.timedelta(days=2)
    feed = candidate(8, feed_text, urls=(url,), listed=False, from_feed=True, date=far)
    assert match([cites], [feed]) == {}
    live = "https://www.bbc.com/news/live/world"
    quake = "Rescuers search the rubble after a strong earthquake strikes western Japan"
    next_day = DAY + dt.timedelta(days=1)
    feed = candidate(9, quake, urls=(live,), listed=False, from_feed=True, date=next_day)
    assert match([item(HEADLINE, urls=(live,))], [feed]) == {}


TOLL = "The death toll from the 2023 Turkey–Syria earthquakes rises to {}."


def test_a_like_item_its_own_page_still_lists_is_that_day_s_news() -> None:
    yesterday = DAY - dt.timedelta(days=1)
    today = item(TOLL.format("44,000"))
    # Yesterday's page, as last read, lists its own count: today's is news of today.
    still = candidate(6, TOLL.format("41,000"), date=yesterday, on_its_page=True)
    assert match([today], [still]) == {}
    # The same words: moved, though yesterday's page was not read again since.
    assert match([item(TOLL.format("41,000"))], [still]) == {0: 6}
    # Taken off yesterday's page: moved, and reworded on the way.
    gone = candidate(6, TOLL.format("41,000"), date=yesterday)
    assert match([today], [gone]) == {0: 6}


def test_short_headlines_are_not_matched_by_words() -> None:
    assert match([item("Markets fall")], [candidate(1, "Markets fall")]) == {}


# --- storing revisions ------------------------------------------------------------------------


def revision(number: int, *items: PortalItemRecord) -> PortalRevision:
    return PortalRevision(
        DAY,
        "Portal:Current events/2024 January 8",
        "https://en.wikipedia.org/wiki/Portal:Current_events/2024_January_8",
        number,
        NOW,
        items,
    )


async def test_a_day_s_items_become_events_and_a_repeat_changes_nothing(storage: Storage) -> None:
    first = item(HEADLINE, urls=("https://apnews.com/1",), entities=("Ecuador", "Daniel Noboa"))
    second = item("Uncited: a curfew is announced in Quito tonight", 1, entities=("Quito",))
    outcome = await storage.portal.apply_day(
        "en", revision(1, first, second), announce=True, now=NOW
    )
    assert len(outcome.created) == 2 and outcome.announced == outcome.created
    event = await storage.events.get(outcome.created[0])
    assert event is not None and event.key == first.key and event.category == first.category
    assert event.story == "Ecuadorian security crisis" and set(event.entities) == {
        "Ecuador",
        "Daniel Noboa",
    }
    uncited = await storage.events.get(outcome.created[1])
    assert uncited is not None and uncited.sources == ()
    again = await storage.portal.apply_day("en", revision(2, first, second), announce=True, now=NOW)
    assert again.created == [] and again.updated == [] and again.unchanged == 2


async def test_an_edit_keeps_the_event_and_its_old_key(storage: Storage) -> None:
    first = item(HEADLINE, urls=("https://apnews.com/1",), entities=("Ecuador", "Prison"))
    (event_id,) = (
        await storage.portal.apply_day("en", revision(1, first), announce=True, now=NOW)
    ).created
    edited = item(
        HEADLINE.replace("a gang leader", "gang leader Fito"),
        urls=("https://apnews.com/1", "https://reuters.com/2"),
        entities=("Ecuador", "Adolfo Macías Villamar"),
    )
    outcome = await storage.portal.apply_day("en", revision(2, edited), announce=True, now=NOW)
    assert outcome.updated == [event_id] and outcome.created == [] and outcome.announced == []
    event = await storage.events.get(event_id)
    assert event is not None and event.headline == edited.headline and event.key == edited.key
    assert [s.url for s in event.sources] == ["https://apnews.com/1", "https://reuters.com/2"]
    # A link the editor removed goes; the new one comes.
    assert set(event.entities) == {"Ecuador", "Adolfo Macías Villamar"}
    old = await storage.events.get_by_key(first.key)
    assert old is not None and old.id == event_id


async def test_an_archive_event_is_enriched_not_rewritten(storage: Storage) -> None:
    page = PageRecord(
        key="2024/01/8/ecuador-declares",
        date=DAY,
        headline="Ecuador declares a 60-day state of emergency.",
        summary="The archive's summary.",
        sources=(SourceRecord("AP", "https://apnews.com/1"),),
        entities=("Ecuador",),
    )
    await storage.events.import_batch([page])
    portal_item = item(
        "President Noboa declares a 60-day state of emergency",
        urls=("https://apnews.com/1", "https://bbc.com/3"),
        entities=("Daniel Noboa", "Ecuador"),
    )
    outcome = await storage.portal.apply_day("en", revision(1, portal_item), announce=True, now=NOW)
    assert outcome.created == [] and len(outcome.updated) == 1
    event = await storage.events.get_by_key("2024/01/8/ecuador-declares")
    assert event is not None and event.headline == page.headline and event.summary == page.summary
    assert [s.url for s in event.sources] == ["https://apnews.com/1", "https://bbc.com/3"]
    assert set(event.entities) == {"Ecuador", "Daniel Noboa"}
    # The portal's key finds it too.
    by_portal_key = await storage.events.get_by_key(portal_item.key)
    assert by_portal_key is not None and by_portal_key.id == event.id
    # Taken off the page: the archive's event is not the portal's to mark.
    removed = await storage.portal.apply_day("en", revision(2), announce=True, now=NOW)
    assert removed.removed == [event.id]
    still = await storage.events.get(event.id)
    assert still is not None and still.removed_at is None


async def test_an_item_moved_to_another_day_is_the_same_event(storage: Storage) -> None:
    yesterday = DAY - dt.timedelta(days=1)
    moved = item(HEADLINE, urls=("https://apnews.com/1",), entities=("Ecuador",))
    first = PortalRevision(
        yesterday,
        "Portal:Current events/2024 January 7",
        "https://w/7",
        1,
        NOW,
        (
            PortalItemRecord(
                key=f"2024/01/7/{moved.key.rsplit('/', 1)[1]}",
                date=yesterday,
                headline=moved.headline,
                category=moved.category,
                topics=moved.topics,
                entities=moved.entities,
                sources=moved.sources,
                position=0,
            ),
        ),
    )
    (event_id,) = (await storage.portal.apply_day("en", first, announce=True, now=NOW)).created
    outcome = await storage.portal.apply_day("en", revision(2, moved), announce=True, now=NOW)
    assert outcome.created == [] and outcome.updated == [event_id] and outcome.announced == []
    event = await storage.events.get(event_id)
    assert event is not None and event.date == DAY and event.key == moved.key
    # Yesterday's page, read again without it, does not remove it: today's lists it.
    again = PortalRevision(yesterday, first.title, first.page_url, 3, NOW, ())
    assert (await storage.portal.apply_day("en", again, announce=True, now=NOW)).removed == []


async def test_a_feed_s_event_of_the_next_day_citing_the_item_s_article_is_the_item(
    storage: Storage,
) -> None:
    """AP's feed told it at 00:20 UTC on January 9; the portal's editors put it on January
    8's page, in other words, citing that article: one event, enriched, nothing new to
    announce."""
    feed = await storage.feeds.add("https://apnews.com/feed", "AP", now=NOW)
    told = await storage.feeds.record_success(
        feed.id,
        at=NOW,
        next_poll_at=NOW,
        etag=None,
        last_modified=None,
        items=[
            FeedItem(
                identity="ap-1",
                key="2024/01/9/ecuador-s-president-declares",
                date=DAY + dt.timedelta(days=1),
                headline="Ecuador's president declares a state of emergency as a gang boss flees",
                summary="",
                lang="en",
                link="https://apnews.com/1",
                entities=(),
                announce=True,
            )
        ],
        same_story=lambda *_: None,
    )
    assert told is not None
    portal_item = item(HEADLINE, urls=("https://apnews.com/1",), entities=("Ecuador",))
    outcome = await storage.portal.apply_day("en", revision(1, portal_item), announce=True, now=NOW)
    assert outcome.created == [] and outcome.announced == []
    assert outcome.updated == told.created


def day_page(date: dt.date, number: int, *headlines: str) -> PortalRevision:
    items = tuple(
        PortalItemRecord(
            key=f"{date:%Y/%m}/{date.day}/{headline.lower().replace(' ', '-')}",
            date=date,
            headline=headline,
            category="Disasters and accidents",
            topics=("2023 Turkey–Syria earthquakes",),
            entities=("Turkey",),
            sources=(),
            position=position,
        )
        for position, headline in enumerate(headlines)
    )
    title = f"Portal:Current events/{date:%Y %B} {date.day}"
    return PortalRevision(date, title, f"https://w/{date}", number, NOW, items)


async def test_two_days_alike_items_stay_two_events_through_edits(storage: Storage) -> None:
    """The same sentence with a new count on the next day's page is that day's news:
    announced, and neither day loses its event when either page is edited."""
    yesterday = DAY - dt.timedelta(days=1)
    first = await storage.portal.apply_day(
        "en", day_page(yesterday, 1, TOLL.format("41,000")), announce=True, now=NOW
    )
    second = await storage.portal.apply_day(
        "en", day_page(DAY, 1, TOLL.format("44,000")), announce=True, now=NOW
    )
    assert second.created == second.announced and len(second.created) == 1
    edits = [
        day_page(yesterday, 2, TOLL.format("41,000"), "Floods hit the north of the country"),
        day_page(DAY, 2, TOLL.format("44,000"), "Rescuers reach a village cut off for days"),
    ]
    for edit in edits:
        outcome = await storage.portal.apply_day("en", edit, announce=True, now=NOW)
        assert outcome.removed == [] and len(outcome.created) == 1
    for day, count in ((yesterday, "41,000"), (DAY, "44,000")):
        listed = await storage.events.on_this_day(day.month, day.day, year=day.year)
        assert TOLL.format(count) in [brief.headline for brief in listed]
    assert first.created[0] != second.created[0]


async def test_too_many_new_events_at_once_are_history(storage: Storage) -> None:
    items = [item(f"Item number {n} of a page read after an outage", n) for n in range(5)]
    flooded = await storage.portal.apply_day(
        "en", revision(1, *items), announce=True, now=NOW, flood_cap=4
    )
    assert len(flooded.created) == 5 and flooded.announced == [] and flooded.flooded
    more = [*items, item("One more item arrives an hour later today", 5)]
    outcome = await storage.portal.apply_day(
        "en", revision(2, *more), announce=True, now=NOW, flood_cap=4
    )
    assert len(outcome.announced) == 1 and not outcome.flooded


async def test_an_edit_unlinks_only_what_the_item_linked(storage: Storage) -> None:
    """A stub the portal completes keeps what the archive said of it; the links the item
    made and no longer makes go."""
    stub_key = (
        "2024/01/8/ecuador-declares-a-state-of-emergency-after-a-gang-leader-escapes-from-prison"
    )
    related = PageRecord(
        key="2024/01/9/follow-up",
        date=DAY + dt.timedelta(days=1),
        headline="A follow-up",
        related=(RelatedRecord(stub_key, DAY, HEADLINE, ("Ecuador", "Los Choneros")),),
    )
    await storage.events.import_batch([related])
    stub = await storage.events.get_by_key(stub_key)
    assert stub is not None and not stub.complete
    first = item(HEADLINE, key=stub_key, entities=("Ecuador", "Prison"))
    await storage.portal.apply_day("en", revision(1, first), announce=True, now=NOW)
    completed = await storage.events.get(stub.id)
    assert completed is not None and completed.complete
    assert set(completed.entities) == {"Ecuador", "Los Choneros", "Prison"}
    edited = item(HEADLINE, key=stub_key, entities=("Ecuador", "Daniel Noboa"))
    await storage.portal.apply_day("en", revision(2, edited), announce=True, now=NOW)
    after = await storage.events.get(stub.id)
    assert after is not None
    assert set(after.entities) == {"Ecuador", "Los Choneros", "Daniel Noboa"}
