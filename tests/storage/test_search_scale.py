"""Search in a big archive: dates and entities through the index's own words (migration
0006), stop words left out or, alone, answered newest first."""

from __future__ import annotations

import datetime as dt
import random

from storage import Storage
from storage.keys import make_key
from storage.models import PageRecord, SearchFilter

WORDS = ["flood", "vote", "quake", "the", "summit", "strike"]


def _pages(count: int, seed: int = 3) -> list[PageRecord]:
    rng = random.Random(seed)
    pages = []
    for n in range(count):
        date = dt.date(2019, 1, 1) + dt.timedelta(days=rng.randrange(3 * 365))
        words = " ".join(rng.sample(WORDS, 2))
        pages.append(PageRecord(key=make_key(date, f"e-{n}"), date=date, headline=f"{words} {n}"))
    return pages


async def test_search_within_dates_finds_exactly_the_events_in_range(
    storage: Storage,
) -> None:
    pages = _pages(600)
    await storage.events.import_batch(pages)
    ranges = [
        (dt.date(2020, 3, 15), dt.date(2020, 5, 2)),  # months
        (dt.date(2019, 11, 20), dt.date(2021, 2, 10)),  # months and a whole year
        (dt.date(2021, 6, 1), None),  # to the newest event
        (None, dt.date(2019, 2, 3)),  # from the oldest
        (dt.date(2010, 1, 1), dt.date(2030, 1, 1)),  # wider than the index narrows
    ]
    for since, until in ranges:
        for word in ["flood", "vote OR quake", "the -summit"]:
            hits = await storage.search.search(
                SearchFilter(text=word, since=since, until=until), limit=1000
            )
            got = {h.event.key for h in hits}
            expected = {
                p.key
                for p in pages
                if (since is None or p.date >= since)
                and (until is None or p.date <= until)
                and _matches(word, p.headline)
            }
            assert got == expected, (word, since, until)
            assert expected  # every case has something to find


def _matches(query: str, headline: str) -> bool:
    words = set(headline.split())
    if " OR " in query:
        return any(w in words for w in query.split(" OR "))
    if " -" in query:
        wanted, unwanted = query.split(" -")
        return wanted in words and unwanted not in words
    return query in words


async def test_period_words_are_not_searchable_text(
    storage: Storage,
) -> None:
    day = dt.date(2021, 5, 4)
    await storage.events.import_batch(
        [
            PageRecord(key=make_key(day, "a"), date=day, headline="Flood in the valley"),
            PageRecord(key=make_key(day, "b"), date=day, headline="Plan y2021 announced"),
        ]
    )
    for text in ["y2021", "m202105"]:
        hits = await storage.search.search(SearchFilter(text=text), limit=10)
        assert [h.event.headline for h in hits] == (
            ["Plan y2021 announced"] if text == "y2021" else []
        )
    hits = await storage.search.search(
        SearchFilter(text="y2021", since=dt.date(2021, 5, 1), until=dt.date(2021, 5, 31))
    )
    assert [h.event.headline for h in hits] == ["Plan y2021 announced"]


async def test_stop_words_alone_are_answered_newest_first(
    storage: Storage,
) -> None:
    pages = _pages(300)
    await storage.events.import_batch(pages)
    hits = await storage.search.search(SearchFilter(text="the"), limit=20)
    expected = sorted(
        (p for p in pages if "the" in p.headline.split()),
        key=lambda p: (p.date, p.key),
        reverse=True,
    )
    assert [h.event.date for h in hits] == [p.date for p in expected[:20]]
    phrase = await storage.search.search(SearchFilter(text='"the"'), limit=20)
    assert [h.event.id for h in phrase] == [h.event.id for h in hits]  # quoted: the same
    # With another word, the stop word is left out: the same events as the word alone.
    both = await storage.search.search(SearchFilter(text="the flood"), limit=1000)
    alone = await storage.search.search(SearchFilter(text="flood"), limit=1000)
    assert sorted(h.event.id for h in both) == sorted(h.event.id for h in alone) != []
