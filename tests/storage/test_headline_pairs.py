"""Words typed in a row, as in a headline: found through headline_pairs (migration 0008) and
put first by search and autocomplete; the pairs follow every change of a headline."""

from __future__ import annotations

import datetime as dt
from typing import Any

from storage import Storage
from storage.keys import make_key
from storage.models import PageRecord, SearchFilter

START = dt.date(2020, 1, 1)
# The oldest and longest headline holds "river floods" in a row: bm25 alone would put it last.
IN_A_ROW = "Plan approved today for the river floods in the north of the country"
APART = ["Floods river", "River authority warns of floods"]


def _page(n: int, headline: str, **fields: Any) -> PageRecord:
    date = START + dt.timedelta(days=n)
    return PageRecord(key=make_key(date, f"e-{n}"), date=date, headline=headline, **fields)


async def _found(storage: Storage, text: str, **filters: Any) -> list[str]:
    hits = await storage.search.search(SearchFilter(text=text, **filters), limit=10)
    return [hit.event.headline for hit in hits]


async def test_search_puts_the_words_in_a_row_first(storage: Storage) -> None:
    await storage.events.import_batch(
        [_page(0, IN_A_ROW, entities=("North",)), *(_page(n, h) for n, h in enumerate(APART, 1))]
    )
    assert await _found(storage, "river floods") == [IN_A_ROW, *APART]
    # Page by page, nothing is shown twice or left out.
    pages = [
        await storage.search.search(SearchFilter(text="river floods"), limit=1, offset=n)
        for n in range(4)
    ]
    assert [[hit.event.headline for hit in page] for page in pages] == [
        [IN_A_ROW],
        [APART[0]],
        [APART[1]],
        [],
    ]
    # The filters hold for it too.
    assert await _found(storage, "river floods", since=START + dt.timedelta(days=1)) == APART
    north = (await storage.entities.find("North"))[0]
    assert await _found(storage, "river floods", entity_ids=(north,)) == [IN_A_ROW]
    # Not in a row: ranked as before.
    assert await _found(storage, "floods river") == ["Floods river", APART[1], IN_A_ROW]


async def test_autocomplete_offers_the_headlines_holding_the_words_in_a_row(
    storage: Storage,
) -> None:
    await storage.events.import_batch(
        [_page(0, IN_A_ROW), *(_page(n, h) for n, h in enumerate(APART, 1))]
    )
    typed = await storage.search.suggest_headlines("the river flo")
    assert [b.headline for b in typed] == [IN_A_ROW]
    typed = await storage.search.suggest_headlines("river of flo")  # in no headline in a row
    assert [b.headline for b in typed] == [APART[1], APART[0], IN_A_ROW]  # all: newest first
