"""term_events (migration 0009): how many events hold each word, kept by triggers as events
are imported, rewritten and copied, always what counting every vector again gives."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import asyncpg

from storage import open_storage
from storage.models import SearchFilter
from storage.postgres import PostgresStorage, transfer
from tests.storage.postgres.test_search_order import _pages

RECOUNT = (
    "SELECT w, count(*) FROM events, chronicle_counted_lexemes(events.search) AS w GROUP BY w"
)


async def _counted(url: str) -> tuple[dict[str, int], dict[str, int]]:
    """term_events as kept, and as counted again (words no event holds any more left out)."""
    conn = await asyncpg.connect(url)
    try:
        kept = {r[0]: r[1] for r in await conn.fetch("SELECT * FROM term_events WHERE events > 0")}
        again = {r[0]: r[1] for r in await conn.fetch(RECOUNT)}
    finally:
        await conn.close()
    return kept, again


async def test_word_counts_follow_imports_and_rewrites(target_url: str) -> None:
    url = target_url
    store = await open_storage(url)
    try:
        pages = _pages(200)
        await store.events.import_batch(pages)
        kept, again = await _counted(url)
        assert kept == again and kept["flood"] > 0

        # Pages rewritten with other words: their old words are counted out.
        rewritten = [
            dataclasses.replace(
                p, headline=f"Monsoon {n}", summary="monsoon rains", content_hash=""
            )
            for n, p in enumerate(pages[:50])
        ]
        await store.events.import_batch(rewritten)
        kept, again = await _counted(url)
        assert kept == again and kept["monsoon"] == 50

        # What a search shows is counted the same way: a word in 50 events ranks as rare.
        hits = await store.search.search(SearchFilter("monsoon"), limit=60)
        assert len(hits) == 50
    finally:
        await store.close()


async def test_a_copied_archive_counts_its_words(target_url: str, tmp_path: Path) -> None:
    sqlite_path = tmp_path / "chronicle.db"
    source = await open_storage(sqlite_path)
    try:
        await source.events.import_batch(_pages(120))
    finally:
        await source.close()
    url = target_url
    target = await PostgresStorage.open(url)
    try:
        await transfer.copy_archive(sqlite_path, target)
    finally:
        await target.close()
    kept, again = await _counted(url)
    assert kept == again and len(kept) > 10


async def test_counting_and_lookups_run_without_jit(target_url: str) -> None:
    """JIT compilation of the counting statement, whose rows the planner cannot see, made an
    import of the Chinese edition take minutes: it is off in the counting function, which a
    connection through a pooler runs too, and on every connection of the pool."""
    store = await open_storage(target_url)
    try:
        assert isinstance(store, PostgresStorage)
        async with store.db.transaction() as conn:
            assert await conn.fetchval("SHOW jit") == "off"
            config = await conn.fetchval(
                "SELECT proconfig FROM pg_proc WHERE proname = 'chronicle_count_terms'"
            )
        assert config == ["jit=off"]
    finally:
        await store.close()
