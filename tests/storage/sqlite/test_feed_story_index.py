"""The SQLite feed repository's day index of headlines: the candidates it offers the
same-story decision, and how it mends itself from the rows."""

from __future__ import annotations

from bot.services.feeds import stories
from storage.sqlite import SQLiteStorage
from storage.sqlite import feeds as sqlite_feeds
from tests.storage.test_feeds import T0, item, store


def test_the_day_index_offers_every_headline_the_decision_compares() -> None:
    assert sqlite_feeds.MIN_HEADLINE_TOKENS <= stories.MIN_HEADLINE_TOKENS


async def test_a_headline_rewritten_since_it_was_cached_is_read_from_its_row(
    storage: SQLiteStorage,
) -> None:
    a = await storage.feeds.add("https://a.example/feed", "A", now=T0)
    b = await storage.feeds.add("https://b.example/feed", "B", now=T0)
    first = await store(storage, a.id, item("a-1", link="https://a.example/1"))
    rewritten = "Glacier collapse blocks a valley road in the Alps"
    async with storage.db.transaction() as conn:  # e.g. an archive import rewrote it
        await conn.execute(
            "UPDATE events SET headline = ? WHERE id = ?", (rewritten, first.created[0])
        )
    # The cached headline is the old one: the row says it is another story now.
    second = await store(storage, b.id, item("b-1", link="https://b.example/1"))
    assert len(second.created) == 1 and second.merged == []
    # And it is found by the headline it has now.
    c = await storage.feeds.add("https://c.example/feed", "C", now=T0)
    third = await store(storage, c.id, item("c-1", rewritten, link="https://c.example/1"))
    assert third.created == [] and third.merged == first.created
