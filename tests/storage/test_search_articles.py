"""/search over an event and the articles attached to it: an excluded term (a word, a
prefix, a phrase) leaves the event out when its own text or any of its articles holds it,
whichever text the words to find were found in; and pages stay full."""

from __future__ import annotations

import datetime as dt

from storage import Storage
from storage.keys import make_key
from storage.models import ArticleRecord, PageRecord, SearchFilter
from tests.storage.events_support import arrive

DAY = dt.date(2019, 4, 15)


def page(date: dt.date, headline: str, summary: str = "") -> PageRecord:
    return PageRecord(
        key=make_key(date, headline.lower().replace(" ", "-")),
        date=date,
        headline=headline,
        summary=summary,
    )


FIRE = page(DAY, "Fire engulfs the roof of Notre-Dame de Paris", "The spire collapses.")
BRIDGE = page(DAY - dt.timedelta(days=3), "A footbridge reopens in Lyon", "Repairs are done.")
OAK = ArticleRecord(
    title="Cathedral blaze",
    text="Flames tore through the oak timber lattice, called la forêt, for hours.",
)
DECK = ArticleRecord(title="Lyon", text="Its deck was rebuilt in timber.")


async def ids(storage: Storage, text: str, *, limit: int = 10, offset: int = 0) -> list[int]:
    hits = await storage.search.search(SearchFilter(text=text), limit=limit, offset=offset)
    return [hit.event.id for hit in hits]


async def test_an_excluded_term_of_an_article_leaves_its_event_out(storage: Storage) -> None:
    fire, bridge = await arrive(storage, FIRE, BRIDGE)
    await storage.articles.attach(fire, OAK, score=None)
    await storage.articles.attach(bridge, DECK, score=None)

    assert sorted(await ids(storage, "timber")) == sorted([fire, bridge])  # by their articles
    assert await ids(storage, "spire") == [fire]
    # The spire is the event's own; the excluded term is in its article.
    assert await ids(storage, "spire -timber") == []
    assert await ids(storage, 'spire -"oak timber"') == []
    assert await ids(storage, "spire -timb*") == []
    assert await ids(storage, "spire NOT lattice") == []
    # A term no text of the event holds leaves it in; so does a phrase only partly there.
    assert await ids(storage, "spire -pine") == [fire]
    assert await ids(storage, 'spire -"pine timber"') == [fire]
    assert await ids(storage, "spire -timbers*") == [fire]


async def test_an_event_found_by_its_article_is_left_out_by_its_own_text(
    storage: Storage,
) -> None:
    fire, bridge = await arrive(storage, FIRE, BRIDGE)
    await storage.articles.attach(fire, OAK, score=None)
    await storage.articles.attach(bridge, DECK, score=None)

    # timber is in the articles only; roof in FIRE's headline, spire in its summary.
    assert await ids(storage, "timber -roof") == [bridge]
    assert await ids(storage, "timber -spire") == [bridge]
    assert await ids(storage, 'timber -"Notre-Dame"') == [bridge]
    assert await ids(storage, "timber -foot*") == [fire]
    # One article of an event holding the term is enough, another not holding it aside.
    await storage.articles.attach(
        bridge, ArticleRecord("Lyon again", "Walkers are back."), score=None
    )
    assert await ids(storage, "timber -walkers") == [fire]
    assert await ids(storage, "lyon -deck") == []


async def test_pages_are_full_when_articles_leave_events_out(storage: Storage) -> None:
    pages = [
        page(DAY - dt.timedelta(days=n), f"Spire number {n} restored", "Stone work.")
        for n in range(12)
    ]
    events = await arrive(storage, *pages)
    # The newest four are left out by their articles.
    for event in events[:4]:
        await storage.articles.attach(
            event, ArticleRecord(f"Report {event}", f"Timber beams for {event}."), score=None
        )

    kept = await ids(storage, "spire -timber", limit=20)
    assert sorted(kept) == sorted(events[4:])
    pages_read = [await ids(storage, "spire -timber", limit=3, offset=n) for n in (0, 3, 6, 9)]
    assert [len(p) for p in pages_read] == [3, 3, 2, 0]
    assert [i for p in pages_read for i in p] == kept


async def test_an_article_with_a_long_unspaced_clause_is_attached_and_found(
    storage: Storage,
) -> None:
    """Thai (like Lao, Khmer and Burmese) writes a clause without spaces: 700 letters in a
    row, one word longer than PostgreSQL can index. The article is attached all the same,
    and found by its other words and by the start of the long one."""
    (fire,) = await arrive(storage, FIRE)
    clause = "ประเทศไทย" * 78
    thai = ArticleRecord(title="รายงาน", text=f"{clause} กรุงเทพมหานคร Bangkok firefighters")

    assert await storage.articles.attach(fire, thai, score=None)
    assert await ids(storage, "Bangkok firefighters") == [fire]
    assert await ids(storage, "กรุงเทพมหานคร") == [fire]
    assert await ids(storage, clause) == [fire]


async def test_a_phrase_deep_in_a_long_article_is_found(storage: Storage) -> None:
    """A quoted phrase past the 16,384th word of an article finds its event, as its words
    do; a phrase whose words are only apart there does not."""
    fire, bridge = await arrive(storage, FIRE, BRIDGE)
    filler = " ".join(f"filler{n % 500}" for n in range(17_000))
    long_report = ArticleRecord("Long report", f"{filler} The zebra quagga stripes.")
    assert await storage.articles.attach(fire, long_report, score=None)
    apart = ArticleRecord("Another long report", f"{filler} A zebra and a quagga.")
    assert await storage.articles.attach(bridge, apart, score=None)

    assert sorted(await ids(storage, "zebra quagga")) == sorted([fire, bridge])
    assert await ids(storage, '"zebra quagga"') == [fire]
    assert await ids(storage, '"quagga stripes" zebra') == [fire]
    assert await ids(storage, '"zebra quagga" -spire') == []
