"""Lookups in one edition of the archive: English ('en'), Chinese ('zh'), or both ('all')."""

from __future__ import annotations

import datetime as dt

from storage import Storage
from storage.models import SearchFilter
from storage.textindex import has_cjk

# The Chinese edition's 2017-06-16, a day the English sample has too (Helmut Kohl in both).
KOHL_ZH = "曾长期担任德国总理的赫尔穆特·科尔因病逝世，享年87岁"


async def langs(storage: Storage, ids: list[int]) -> set[str]:
    return {event.lang for event_id in ids if (event := await storage.events.get(event_id))}


async def test_on_this_day_shows_one_edition_or_both(editions: Storage) -> None:
    both = await editions.events.on_this_day(6, 16)
    english = await editions.events.on_this_day(6, 16, language="en")
    chinese = await editions.events.on_this_day(6, 16, language="zh")
    assert await editions.events.on_this_day(6, 16, language="all") == both
    assert english and not any(has_cjk(b.headline) for b in english)
    assert "Former German Chancellor Helmut Kohl dies at the age of 87." in [
        b.headline for b in english
    ]
    assert chinese and all(has_cjk(b.headline) for b in chinese)
    assert KOHL_ZH in [b.headline for b in chinese]
    assert await langs(editions, [b.id for b in english]) == {"en"}
    assert await langs(editions, [b.id for b in chinese]) == {"zh"}
    # Both editions, each in the order of the whole: nothing lost, nothing added.
    assert sorted(b.id for b in both) == sorted(b.id for b in english + chinese)
    assert [b for b in both if b in english] == english
    # Paged and bounded by year like the whole.
    assert await editions.events.on_this_day(6, 16, language="zh", limit=1, offset=1) == [
        chinese[1]
    ]
    before = await editions.events.on_this_day(6, 16, before_year=2017, language="zh")
    assert before and all(b.date.year < 2017 for b in before)


async def test_search_by_dates_and_entity_keeps_the_edition(editions: Storage) -> None:
    day = dt.date(2017, 6, 16)
    chinese = await editions.search.search(SearchFilter(since=day, until=day, language="zh"))
    assert KOHL_ZH in [h.event.headline for h in chinese]
    assert await langs(editions, [h.event.id for h in chinese]) == {"zh"}
    english = await editions.search.search(
        SearchFilter(since=day, until=day, language="en"), limit=50
    )
    assert len(english) == 9 and await langs(editions, [h.event.id for h in english]) == {"en"}
    found = await editions.entities.find("Islamic State")
    assert found is not None
    ids = (found[0],)
    assert await editions.search.search(SearchFilter(entity_ids=ids, language="zh")) == []
    assert await editions.search.search(
        SearchFilter(entity_ids=ids, language="en")
    ) == await editions.search.search(SearchFilter(entity_ids=ids))


async def test_autocomplete_suggests_the_editions_headlines(editions: Storage) -> None:
    suggest = editions.search.suggest_headlines
    for typed in ("", "helmut", "former german", "Ko", "科", "德国", "SpaceX"):
        both = await suggest(typed, limit=25)
        for language in ("en", "zh"):
            mine = await suggest(typed, limit=25, language=language)
            assert all(has_cjk(b.headline) == (language == "zh") for b in mine), typed
            # The edition's own, in the order of both (as many as both had of them).
            of_mine = [b for b in both if has_cjk(b.headline) == (language == "zh")]
            assert mine[: len(of_mine)] == of_mine, (typed, language)
        assert await suggest(typed, limit=25, language="all") == both
    assert [b.headline for b in await suggest("helmut", language="en")]
    assert await suggest("helmut", language="zh") == []
    assert await suggest("科", language="en") == []
    assert KOHL_ZH in [b.headline for b in await suggest("科尔", language="zh")]


async def test_did_you_mean_suggests_the_editions_events(editions: Storage) -> None:
    closest = editions.search.closest
    assert [b.headline for b in await closest("Helmutt Kohl", language="en")]
    assert await closest("Helmutt Kohl", language="zh") == []
    assert KOHL_ZH in [b.headline for b in await closest("科尔X", language="zh")]
    assert await closest("科尔X", language="en") == []
    # Digits are in no script: the language alone decides.
    assert [b.headline for b in await closest("1200")] == [
        b.headline for b in await closest("1200", language="zh")
    ]
    assert await closest("1200", language="en") == []


async def test_an_entitys_recent_events_keep_the_edition(editions: Storage) -> None:
    found = await editions.entities.find("德国总理")
    assert found is not None
    whole = await editions.entities.profile(found[0])
    assert whole.recent and all(has_cjk(b.headline) for b in whole.recent)
    assert await editions.entities.profile(found[0], language="zh") == whole
    english = await editions.entities.profile(found[0], language="en")
    assert english.recent == ()
    assert english.event_count == whole.event_count  # what it knows, in every language
