"""The migration check's verdict on a search: the copy is in question when the two
databases find other events, not when they rank the same events otherwise."""

from __future__ import annotations

from storage.postgres.transfer_check import Verification


def test_the_same_events_in_another_order_are_a_note_not_a_mismatch() -> None:
    check = Verification()
    check.compare_found("search.search(南韩)", ["a", "b", "c"], ["a", "b", "c"])
    check.compare_found("search.search(南韩 韩)", ["a", "b", "c"], ["a", "c", "b"])
    check.compare_found("search.search(韩)", ["a", "b", "c"], ["a", "b", "d"])
    assert check.checks == 3
    assert check.reordered == ["search.search(南韩 韩)"]
    assert check.problems == ["search.search(韩) differs"] and not check.ok
