"""An item taken off its portal page (a hoax reverted) is offered nowhere a reader lists
events: on this day, the day's best for digests, search, an entity's latest events, related
lists and autocomplete. Its card still opens, saying so; put back, it is offered again."""

from __future__ import annotations

import datetime as dt

from storage import Storage
from storage.models import DigestFilters, PortalItemRecord, PortalRevision, SearchFilter

DAY = dt.date(2024, 1, 8)
NOW = dt.datetime(2024, 1, 8, 18, tzinfo=dt.UTC)
HOAX = "Joe Biden is found dead in the White House, officials confirm"
REAL = "Joe Biden meets the families of the Ecuador prison riot victims"


def portal_item(headline: str, position: int) -> PortalItemRecord:
    return PortalItemRecord(
        key=f"2024/01/8/{headline.lower().replace(' ', '-')}",
        date=DAY,
        headline=headline,
        category="Politics and elections",
        topics=(),
        entities=("Joe Biden", "White House"),
        sources=(),
        position=position,
    )


def page(number: int, *headlines: str) -> PortalRevision:
    items = tuple(portal_item(headline, n) for n, headline in enumerate(headlines))
    title = "Portal:Current events/2024 January 8"
    return PortalRevision(DAY, title, "https://w/8", number, NOW, items)


async def offered(storage: Storage, real_id: int) -> dict[str, list[str]]:
    """The headlines each list shows."""
    found = await storage.entities.find("Joe Biden")
    assert found is not None
    (entity_id, _) = found
    by_words = await storage.search.search(SearchFilter(text="Biden"), limit=10)
    by_entity = await storage.search.search(SearchFilter(entity_ids=(entity_id,)), limit=10)
    by_dates = await storage.search.search(SearchFilter(since=DAY, until=DAY), limit=10)
    best = await storage.digests.on_this_day_best(
        1, 8, before_year=2025, limit=10, filters=DigestFilters()
    )
    return {
        "onthisday": [b.headline for b in await storage.events.on_this_day(1, 8)],
        "best": [b.headline for b in best],
        "search words": [hit.event.headline for hit in by_words],
        "search entity": [hit.event.headline for hit in by_entity],
        "search dates": [hit.event.headline for hit in by_dates],
        "entity": [b.headline for b in (await storage.entities.profile(entity_id)).recent],
        "related": [r.event.headline for r in await storage.events.related(real_id)],
        "autocomplete": [b.headline for b in await storage.search.suggest_headlines("Joe Bid")],
    }


async def test_an_item_taken_off_its_page_is_listed_nowhere_until_put_back(
    storage: Storage,
) -> None:
    first = await storage.portal.apply_day("en", page(1, HOAX, REAL), announce=True, now=NOW)
    hoax_id, real_id = first.created
    reverted = await storage.portal.apply_day("en", page(2, REAL), announce=True, now=NOW)
    assert reverted.removed == [hoax_id]

    lists = await offered(storage, real_id)
    assert {name: HOAX in shown for name, shown in lists.items()} == dict.fromkeys(lists, False)
    assert REAL in lists["onthisday"] and REAL in lists["search words"]
    card = await storage.events.get(hoax_id)
    assert card is not None and card.removed_at is not None

    await storage.portal.apply_day("en", page(3, HOAX, REAL), announce=True, now=NOW)
    lists = await offered(storage, real_id)
    assert all(HOAX in shown for shown in lists.values()), lists
