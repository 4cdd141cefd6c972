"""Which versions of a batch's pages an import applies: the pure step both backends share
(storage.import_steps.fresh_pages). The backends' imports run it in tests/storage/ and
tests/bot/services/test_import*.py on real archives."""

from __future__ import annotations

import datetime as dt

from storage.import_steps import Known, fresh_pages
from storage.models import BatchOutcome, PageRecord

DAY = dt.date(2017, 6, 16)


def page(key: str, headline: str, version: str) -> PageRecord:
    return PageRecord(key=key, date=DAY, headline=headline, version=version)


def test_a_version_applied_before_changes_nothing() -> None:
    first = page("a", "Headline", "2019-01-01")
    outcome = BatchOutcome()
    fresh, outdone = fresh_pages([first], {}, {first.content_hash}, outcome)
    assert (fresh, outdone, outcome.unchanged) == ([], [], 1)


def test_the_newest_version_in_a_batch_wins_whatever_the_order() -> None:
    old, new = page("a", "Old words", "2018-01-01"), page("a", "New words", "2019-01-01")
    for batch in ([old, new], [new, old]):
        outcome = BatchOutcome()
        fresh, outdone = fresh_pages(batch, {}, set(), outcome)
        assert (fresh, outdone) == ([new], [old])


def test_a_version_older_than_the_one_held_is_outdone() -> None:
    held = page("a", "Held", "2019-01-01")
    known = Known(7, "a", True, held.content_hash, held.version)
    older = page("a", "Older", "2018-01-01")
    outcome = BatchOutcome()
    fresh, outdone = fresh_pages([older], {"a": known}, set(), outcome)
    assert (fresh, outdone, outcome.superseded) == ([], [older], ["a"])
    # Held under an older key of another event: the page is not compared with it.
    moved = Known(7, "b", True, held.content_hash, held.version)
    fresh, outdone = fresh_pages([older], {"a": moved}, set(), BatchOutcome())
    assert (fresh, outdone) == ([older], [])
