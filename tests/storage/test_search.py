"""User text -> FTS5 expressions: always valid, and meaning what people expect."""

from __future__ import annotations

from bot.ingest.archive import iter_archive_files, parse_file
from bot.services.imports import import_archive
from storage import Storage
from storage.models import PageRecord, SearchFilter
from storage.textindex import CJK_RUN
from tests.conftest import TEST_DATA


def _chinese_headlines() -> list[str]:
    return [
        page.headline
        for path in iter_archive_files([TEST_DATA / "news-zh"])
        if isinstance(page := parse_file(path, path.read_bytes()), PageRecord)
    ]


async def test_search_finds_a_chinese_phrase_spaced_apart(storage: Storage) -> None:
    report = await import_archive(storage, [TEST_DATA / "news-zh"])
    assert report.ok, report.failed
    run = max((r for h in _chinese_headlines() for r in CJK_RUN.findall(h)), key=len)
    together = await storage.search.search(SearchFilter(text=f'"{run}"'), limit=10)
    spaced = await storage.search.search(
        SearchFilter(text=f'"{run[:2]} {run[2:4]}  {run[4:]}"'), limit=10
    )
    assert together and [h.event.id for h in spaced] == [h.event.id for h in together]


async def test_fullwidth_letters_search_as_the_word(sample_storage: Storage) -> None:
    """A Chinese keyboard's fullwidth letters find what the word finds."""
    plain = await sample_storage.search.search(SearchFilter(text="Russia"), limit=20)
    found = await sample_storage.search.search(SearchFilter(text="ＲＵＳＳＩＡ"), limit=20)
    assert plain and [h.event.key for h in found] == [h.event.key for h in plain]


async def test_a_word_copied_with_invisible_characters_searches_as_the_word(
    sample_storage: Storage,
) -> None:
    """A word copied from a web page can hold a soft hyphen or a zero-width space, which
    no text in the archive holds: it finds what the word finds, as a search and as a
    phrase (the headline lookups read the whole text as one)."""
    plain = await sample_storage.search.search(SearchFilter(text="Russia"), limit=20)
    copied = await sample_storage.search.search(SearchFilter(text="Rus\u00adsia"), limit=20)
    spaced = await sample_storage.search.search(SearchFilter(text='"Ru\u200bssia"'), limit=20)
    assert plain
    assert [h.event.key for h in copied] == [h.event.key for h in plain]
    assert [h.event.key for h in spaced] == [h.event.key for h in plain]
    typed = await sample_storage.search.suggest_headlines("Rus\u00adsia")
    assert typed and typed == await sample_storage.search.suggest_headlines("Russia")
