"""ArticleRepository as `chronicle attach` uses it: an article's text attached once, where
it is attached, the events it might report (near its date, sharing its words), and the
event found by /search through its article's words."""

from __future__ import annotations

import datetime as dt

from storage import Storage
from storage.keys import make_key
from storage.models import ArticleRecord, PageRecord, SearchFilter
from tests.storage.events_support import arrive

DAY = dt.date(2019, 4, 15)


def page(date: dt.date, headline: str, summary: str = "", *entities: str) -> PageRecord:
    return PageRecord(
        key=make_key(date, headline.lower().replace(" ", "-")),
        date=date,
        headline=headline,
        summary=summary,
        entities=entities,
    )


FIRE = page(DAY, "Fire engulfs the roof of Notre-Dame de Paris", "The spire collapses.", "Paris")
ELECTION = page(DAY - dt.timedelta(days=2), "Finland holds a parliamentary election", "", "Finland")
FAR = page(
    DAY + dt.timedelta(days=30), "Paris marathon runners honour the firefighters", "", "Paris"
)
OLD = page(dt.date(2001, 1, 1), "An unrelated old event", "", "Nowhere")

REPORT = ArticleRecord(
    title="Cathedral blaze",
    text="Flames tore through the medieval timber lattice, called la forêt, for hours.",
    publisher="Le Monde",
    published=DAY,
    file_name="notre-dame.txt",
)


async def test_an_article_is_attached_once_per_exact_text(storage: Storage) -> None:
    fire, election, *_ = await arrive(storage, FIRE, ELECTION)
    assert await storage.articles.attached_to(REPORT) is None

    assert await storage.articles.attach(fire, REPORT, score=0.8)
    assert await storage.articles.attached_to(REPORT) == FIRE.key
    # The same text again: not to this event, nor to another.
    assert not await storage.articles.attach(fire, REPORT, score=0.8)
    assert not await storage.articles.attach(election, REPORT, score=None)
    assert await storage.articles.attached_to(REPORT) == FIRE.key
    # Only the title and text make it the same article.
    renamed = ArticleRecord(REPORT.title, REPORT.text, publisher="Other", file_name="x.txt")
    assert await storage.articles.attached_to(renamed) == FIRE.key
    edited = ArticleRecord(REPORT.title, REPORT.text + " Edited.")
    assert await storage.articles.attached_to(edited) is None
    assert await storage.articles.attach(fire, edited, score=None)

    event = await storage.events.get(fire)
    assert event is not None
    by_title = {(a.title, a.text): a for a in event.articles}
    assert len(event.articles) == 2
    first = by_title[(REPORT.title, REPORT.text)]
    assert (first.publisher, first.published, first.score) == ("Le Monde", DAY, 0.8)
    second = by_title[(edited.title, edited.text)]
    assert (second.publisher, second.published, second.score) == (None, None, None)
    other = await storage.events.get(election)
    assert other is not None and other.articles == ()


async def test_candidates_near_a_date_and_by_words(storage: Storage) -> None:
    fire, election, far, old = await arrive(storage, FIRE, ELECTION, FAR, OLD)

    # Near its date: the events within `days` of it, on either side.
    near = await storage.articles.candidates("", around=DAY, days=3)
    assert sorted(c.id for c in near) == sorted([fire, election])
    assert {c.id for c in await storage.articles.candidates("", around=DAY, days=1)} == {fire}
    assert {c.id for c in await storage.articles.candidates("", around=DAY, days=30)} == {
        fire,
        election,
        far,
    }
    candidate = next(c for c in near if c.id == fire)
    assert (candidate.key, candidate.date, candidate.headline, candidate.summary) == (
        FIRE.key,
        FIRE.date,
        FIRE.headline,
        FIRE.summary,
    )

    # By words (of its headline or summary, their first letters), whatever the date.
    by_words = await storage.articles.candidates("marathons honoured", around=None, days=3)
    assert {c.id for c in by_words} == {far}
    by_start = await storage.articles.candidates("firemen", around=None, days=3)
    assert {c.id for c in by_start} == {fire, far}  # "Fire", "firefighters"
    assert {c.id for c in await storage.articles.candidates("SPIRE", around=None, days=3)} == {fire}
    # Both ways at once, each event once.
    both = await storage.articles.candidates("Notre-Dame firefighters", around=DAY, days=3)
    assert sorted(c.id for c in both) == sorted([fire, election, far])
    # At most `limit` of each.
    assert len(await storage.articles.candidates("", around=DAY, days=30, limit=1)) == 1
    assert await storage.articles.candidates("", around=None, days=3) == []
    assert await storage.articles.candidates("zzzqx", around=None, days=3) == []
    assert old not in {c.id for c in both}


async def test_search_finds_an_event_by_its_article(storage: Storage) -> None:
    fire, election, *_ = await arrive(storage, FIRE, ELECTION)
    assert await storage.search.search(SearchFilter(text="medieval timber")) == []
    await storage.articles.attach(fire, REPORT, score=None)

    hits = await storage.search.search(SearchFilter(text="medieval timber"))
    assert [h.event.id for h in hits] == [fire]
    assert [h.event.id for h in await storage.search.search(SearchFilter(text="Cathedral"))] == [
        fire
    ]
    # With the filters.
    assert (
        await storage.search.search(SearchFilter(text="lattice", since=DAY + dt.timedelta(1))) == []
    )
    assert await storage.search.search(SearchFilter(text="lattice -foret")) == []  # its word
    # An event of the article's words ranks above one of them alone in the article.
    await storage.articles.attach(
        election, ArticleRecord("Vote", "Fire safety was debated."), score=None
    )
    hits = await storage.search.search(SearchFilter(text="fire"))
    assert [h.event.id for h in hits] == [fire, election]
