"""How search ranks without letting bm25 count every event of a common word: by the rare
words only, or, when every word is common, headline matches first and newest first. And
what is suggested when nothing matches."""

from __future__ import annotations

import datetime as dt

import pytest

from storage import Storage
from storage.keys import make_key
from storage.models import PageRecord, SearchFilter

START = dt.date(2020, 1, 1)


async def _found(storage: Storage, text: str, **paging: int) -> list[str]:
    """The headlines a search finds, in order."""
    hits = await storage.search.search(SearchFilter(text=text), **paging)
    return [hit.event.headline for hit in hits]


def _page(n: int, headline: str, summary: str = "") -> PageRecord:
    date = START + dt.timedelta(days=n)
    return PageRecord(key=make_key(date, f"e-{n}"), date=date, headline=headline, summary=summary)


async def test_a_typo_suggests_the_events_with_the_other_words(storage: Storage) -> None:
    await storage.events.import_batch(
        [
            _page(0, "Earthquake strikes Turkey"),
            _page(1, "Earthquake strikes Chile", "Aftershocks followed."),
            _page(2, "Floods in Chile"),
        ]
    )
    assert await storage.search.search(SearchFilter(text="Earthquake Chilee"), limit=5) == []
    closest = await storage.search.closest("Earthquake Chilee")
    assert next(b.headline for b in closest) == "Earthquake strikes Chile"  # "chil"*
    # Both headlines hold "Earthquake strikes" in a row: newest first.
    closest = await storage.search.closest("Earthquake strikes Peru")
    assert [b.headline for b in closest] == [
        "Earthquake strikes Chile",
        "Earthquake strikes Turkey",
    ]
    closest = await storage.search.closest("Chilean floods")
    assert [b.headline for b in closest] == ["Floods in Chile"]
    closest = await storage.search.closest("Chilean tsunami")  # "chil"* alone
    assert {b.headline for b in closest} == {"Earthquake strikes Chile", "Floods in Chile"}
    closest = await storage.search.closest("Turkey floods")  # known words, never together
    assert {b.headline for b in closest} == {"Earthquake strikes Turkey", "Floods in Chile"}
    assert await storage.search.closest("zzqxv wqpfk") == []


async def test_a_long_prefix_finds_exactly_the_words_starting_so(storage: Storage) -> None:
    """A prefix longer than the index's three letters is looked up by those and checked."""
    headlines = [
        "Russia vetoes a resolution",
        "Rust belt towns vote",
        "Russell wins the final",
        "Economic ties of Russia grow",
        "Economic ties of rust belt towns",
        "Ties of Russian economic policy",
    ]
    await storage.events.import_batch([_page(n, h) for n, h in enumerate(headlines)])
    assert set(await _found(storage, "russ*", limit=10)) == {
        "Russia vetoes a resolution",
        "Russell wins the final",
        "Economic ties of Russia grow",
        "Ties of Russian economic policy",
    }
    assert set(await _found(storage, "ties russ* OR belt", limit=10)) == {
        "Economic ties of Russia grow",
        "Economic ties of rust belt towns",
        "Ties of Russian economic policy",
    }
    typed = await storage.search.suggest_headlines("ties of russ")
    assert [b.headline for b in typed] == [
        "Ties of Russian economic policy",  # the phrase, newest first
        "Economic ties of Russia grow",
    ]
    typed = await storage.search.suggest_headlines("economic russ")
    assert [b.headline for b in typed] == [
        "Ties of Russian economic policy",  # all the words (no phrase holds them)
        "Economic ties of Russia grow",
    ]


@pytest.mark.parametrize("rust_first", [True, False])
async def test_a_long_prefix_rare_among_its_first_letters_is_found_too(
    storage: Storage, rust_first: bool
) -> None:
    """ "russ" is looked up as "rus" while enough of the newest "rus" headlines hold it; when
    almost none do, FTS5 looks "russ" up itself. Either way the answer is the same."""
    rust = [_page(n, f"Rust report {n}") for n in range(150)]
    russia = [_page(200 + n, f"Russia report {n}") for n in range(3)]
    await storage.events.import_batch([*rust, *russia] if rust_first else [*russia, *rust])
    typed = await storage.search.suggest_headlines("russ", limit=5)
    assert [b.headline for b in typed] == [f"Russia report {n}" for n in (2, 1, 0)]
    assert await _found(storage, "russ*", limit=5) == [f"Russia report {n}" for n in (2, 1, 0)]


async def test_a_word_both_wanted_and_excluded_finds_nothing(storage: Storage) -> None:
    await storage.events.import_batch([_page(0, "Flood warning"), _page(1, "Vote count")])
    assert await storage.search.search(SearchFilter(text="flood -flood"), limit=5) == []
    assert await _found(storage, "flood -vote", limit=5) == ["Flood warning"]
