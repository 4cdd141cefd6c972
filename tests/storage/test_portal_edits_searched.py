"""A portal item edited on its page is updated in place, and search follows it: found by
its new words and the words it kept, not by those it lost, on both backends (Discord's
/search of an edited item is in tests/e2e/test_wikipedia.py)."""

from __future__ import annotations

import datetime as dt

from storage import Storage
from storage.models import SearchFilter
from tests.bot.services.wikipedia_support import (
    Clock,
    clock_fixture,  # noqa: F401 -- a fixture, found by pytest as `clock`
    portal,
    publish,
    wiki_fixture,  # noqa: F401 -- a fixture, found by pytest as `wiki`
)
from tests.support.mediawiki_server import MediaWikiStandIn

JAN_3 = dt.date(2024, 1, 3)
JAN_4 = dt.date(2024, 1, 4)
FIRST = "*Heavy floods hit [[Valencia]]. [https://a.example/1 (AP)]"
EDITED = "*Heavy rains hit [[Valencia]], killing 12. [https://a.example/1 (AP)]"


def page(date: dt.date, *items: str) -> str:
    lines = "\n".join(items)
    return (
        f"{{{{Current events|year={date.year}|month={date.month}|day={date.day}|content=\n"
        "<!-- All news items below this line -->\n'''Armed conflicts and attacks'''\n"
        f"{lines}\n<!-- All news items above this line -->}}}}"
    )


async def headlines(storage: Storage, text: str, **filters: dt.date) -> list[str]:
    hits = await storage.search.search(SearchFilter(text=text, **filters), limit=10)
    return [h.event.headline for h in hits]


async def test_an_edited_item_is_found_by_its_new_and_kept_words_only(
    sample_storage: Storage, wiki: MediaWikiStandIn, clock: Clock
) -> None:
    storage = sample_storage  # an archive of some size, searched through its index
    publish(wiki, JAN_3, page(JAN_3, FIRST))
    async with portal(storage, wiki, clock) as service:
        await service.pull(JAN_3, JAN_3)
        assert await headlines(storage, "floods Valencia") == ["Heavy floods hit Valencia."]
        publish(wiki, JAN_3, page(JAN_3, EDITED))
        assert (await service.pull(JAN_3, JAN_3)).updated == 1
    edited = ["Heavy rains hit Valencia, killing 12."]
    for words in ("Valencia", "rains", "Valencia killing", "heavy hit Valencia", '"heavy rains"'):
        assert await headlines(storage, words) == edited, words
    assert await headlines(storage, "Valencia", since=JAN_3, until=JAN_3) == edited
    assert await headlines(storage, "floods Valencia") == []
    assert [b.headline for b in await storage.search.suggest_headlines("heavy rai")] == edited


async def test_an_item_moved_to_the_next_day_is_found_there(
    sample_storage: Storage, wiki: MediaWikiStandIn, clock: Clock
) -> None:
    storage = sample_storage  # an archive of some size, searched through its index
    """The very item listed on the next day's page too (the date it is under changes)."""
    item = "*The [[Vandor Army]] retakes [[Qelmara]] from rebels. [https://n.example/{} (AP)]"
    publish(wiki, JAN_3, page(JAN_3, item.format(3)))
    publish(wiki, JAN_4, page(JAN_4, item.format(4)))
    async with portal(storage, wiki, clock) as service:
        await service.pull(JAN_3, JAN_4)
    found = await headlines(storage, "Qelmara")
    assert found and set(found) == {"The Vandor Army retakes Qelmara from rebels."}
    assert await headlines(storage, "Vandor Qelmara", since=JAN_3, until=JAN_4) == found
