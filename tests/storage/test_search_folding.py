"""Text folded alike on every backend (storage.textindex.fold_text): fullwidth digits and
letters, Korean words, Greek without its accents, ß as ss. A search, the headline typed
whole, headline autocomplete and name autocomplete find the same events and names on
SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from storage import Storage
from storage.keys import make_key
from storage.models import PageRecord, SearchFilter


def page(date: dt.date, slug: str, headline: str, *entities: str, lang: str = "en") -> PageRecord:
    return PageRecord(
        key=make_key(date, slug),
        date=date,
        headline=headline,
        lang=lang,
        entities=entities,
    )


# The Chinese edition writes some numbers in fullwidth digits (tests/data/news-zh,
# 2006-01-13), and now and then a Latin abbreviation in fullwidth letters.
WOMEN = page(
    dt.date(2006, 1, 13),
    "afghanistan-raid",
    "駐阿富汗美軍展開突襲轟炸行動，至少造成18人死亡，其中包括５名妇女和５名儿童。",
    "阿富汗",
    lang="zh",
)
GDP = page(dt.date(2019, 3, 1), "china-gdp", "中国ＧＤＰ增长放缓", "中国", lang="zh")
# A headline of the Chinese edition (2019-11-11), and one in Korean alone.
PROSECUTORS = page(dt.date(2019, 11, 11), "prosecutors", "大韩民国大检察厅 대검찰청", "韩国")
SEOUL = page(dt.date(2019, 11, 12), "seoul", "서울에서 대규모 시위", "韩国")
ATHENS = page(dt.date(2019, 4, 2), "athens-strike", "Απεργία στην Αθήνα", "Δήμος Αθηναίων")
BERLIN = page(dt.date(2019, 4, 3), "berlin", "Die Straße des 17. Juni wird gesperrt", "Berlin")


async def keys(storage: Storage, text: str) -> list[str]:
    return [hit.event.key for hit in await storage.search.search(SearchFilter(text=text))]


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("5名妇女", WOMEN),
        ("５名妇女", WOMEN),
        ("“５名妇女”", WOMEN),
        (WOMEN.headline, WOMEN),
        ("GDP", GDP),
        ("ｇｄｐ", GDP),
        ("대검찰청", PROSECUTORS),
        ("시위", SEOUL),
        ("대규모 시위", SEOUL),
        ('"서울에서 대규모"', SEOUL),
        ("Αθηνα", ATHENS),
        ("ΑΘΗΝΑ", ATHENS),
        ("Αθήνα", ATHENS),
        ("Strasse", BERLIN),
        ("STRASSE", BERLIN),
        ("Straße", BERLIN),
    ],
)
async def test_words_are_found_however_their_letters_are_written(
    storage: Storage, typed: str, found: PageRecord
) -> None:
    await storage.events.import_batch([WOMEN, GDP, PROSECUTORS, SEOUL, ATHENS, BERLIN])
    assert await keys(storage, typed) == [found.key]


@pytest.mark.parametrize(
    ("typed", "offered"),
    [("中国ＧＤＰ", GDP), ("大韩民国大检察厅 대검찰", PROSECUTORS), ("απεργια στην", ATHENS)],
)
async def test_headlines_are_offered_as_they_are_typed(
    storage: Storage, typed: str, offered: PageRecord
) -> None:
    await storage.events.import_batch([GDP, PROSECUTORS, ATHENS])
    assert [b.key for b in await storage.search.suggest_headlines(typed)] == [offered.key]


@pytest.mark.parametrize("typed", ["αθηναιων", "Αθηναίων", "ΑΘΗΝΑΙΩΝ"])
async def test_a_name_is_offered_for_a_word_typed_without_its_accents(
    storage: Storage, typed: str
) -> None:
    await storage.events.import_batch([ATHENS])
    assert [n.name for n in await storage.entities.suggest(typed)] == ["Δήμος Αθηναίων"]


async def test_a_korean_name_is_one_entity_and_offered(storage: Storage) -> None:
    named = page(dt.date(2019, 11, 13), "court", "대법원 판결", "대검찰청")
    again = page(dt.date(2019, 11, 14), "court-again", "대검찰청 수사", "대검찰청")
    await storage.events.import_batch([named, again])
    found = await storage.entities.find("대검찰청")
    assert found is not None
    assert (await storage.entities.profile(found[0])).event_count == 2
    assert [n.name for n in await storage.entities.suggest("대검찰")] == ["대검찰청"]
