"""An item taken off its portal page (a hoax reverted) is offered nowhere a reader lists
events: on this day, the day's best for digests, search, an entity's latest events, related
lists and autocomplete. Its card still opens, saying so; put back, it is offered again."""

from __future__ import annotations

import datetime as dt

from bot import render
from bot.choices import entity_choices
from storage import Storage
from storage.models import (
    DigestFilters,
    PageRecord,
    PortalItemRecord,
    PortalRevision,
    RelatedRecord,
    SearchFilter,
)

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


ELECTION_DAY, BORDER_DAY = dt.date(2024, 1, 7), dt.date(2024, 1, 8)


def listed(day: dt.date, headline: str, position: int, *entities: str) -> PortalItemRecord:
    return PortalItemRecord(
        key=f"{day.year}/{day.month:02d}/{day.day}/{headline.lower().replace(' ', '-')}",
        date=day,
        headline=headline,
        category="Armed conflicts and attacks",
        topics=(),
        entities=entities,
        sources=(),
        position=position,
    )


def day_page(day: dt.date, number: int, *items: PortalItemRecord) -> PortalRevision:
    title = f"Portal:Current events/{day:%Y %B} {day.day}"
    return PortalRevision(day, title, f"https://w/{day.day}", number, NOW, items)


async def seen(storage: Storage) -> dict[str, list[str]]:
    """What a member reads: `/entity Vandor` and `/entity Qelmara` (as `chronicle entity`
    prints them: the count and dates, the latest events, the companions) and the choices
    entity autocomplete offers for "Qelmara", ranked, with their counts."""
    pages: dict[str, list[str]] = {}
    for name in ("Vandor", "Qelmara"):
        found = await storage.entities.find(name)
        assert found is not None
        pages[name] = render.entity_text(await storage.entities.profile(found[0])).splitlines()
    pages["choices"] = [choice.name for choice in await entity_choices(storage, "Qelmara")]
    return pages


async def test_an_entity_counts_dates_and_names_companions_only_of_the_events_it_lists(
    storage: Storage,
) -> None:
    """An item taken off its page leaves its entities' pages altogether: not listed, not
    counted, not in their dates, its names no longer companions; autocomplete ranks by what
    is left. Put back, it counts again, with the names it gives then."""
    election = listed(ELECTION_DAY, "Vandor holds an election", 0, "Vandor", "Elections in Vandor")
    border = listed(BORDER_DAY, "Vandor closes its border with Qelmara", 0, "Vandor", "Qelmara")
    drill = listed(BORDER_DAY, "Qelmara's guard drills", 1, "Qelmara National Guard")
    await storage.portal.apply_day(
        "en", day_page(ELECTION_DAY, 1, election), announce=True, now=NOW
    )
    await storage.portal.apply_day(
        "en", day_page(BORDER_DAY, 1, border, drill), announce=True, now=NOW
    )
    listing_both = await seen(storage)
    assert listing_both == {
        "Vandor": [
            "Vandor",
            "2 events, 2024-01-07 to 2024-01-08",
            "",
            "Recent events",
            "  • 2024-01-08  Vandor closes its border with Qelmara",
            "  • 2024-01-07  Vandor holds an election",
            "",
            "Often appears with",
            "  • Elections in Vandor (1 event)",
            "  • Qelmara (1 event)",
        ],
        "Qelmara": [
            "Qelmara",
            "1 event, 2024-01-08 to 2024-01-08",
            "",
            "Recent events",
            "  • 2024-01-08  Vandor closes its border with Qelmara",
            "",
            "Often appears with",
            "  • Vandor (1 event)",
        ],
        "choices": ["Qelmara (1)", "Qelmara National Guard (1)"],
    }

    # The border item is reverted (a hoax): the next poll finds the page without it.
    reverted = await storage.portal.apply_day(
        "en", day_page(BORDER_DAY, 2, drill), announce=True, now=NOW
    )
    assert len(reverted.removed) == 1
    assert await seen(storage) == {
        "Vandor": [
            "Vandor",
            "1 event, 2024-01-07 to 2024-01-07",
            "",
            "Recent events",
            "  • 2024-01-07  Vandor holds an election",
            "",
            "Often appears with",
            "  • Elections in Vandor (1 event)",
        ],
        "Qelmara": ["Qelmara", "0 events, no dates", "", "Recent events"],
        "choices": ["Qelmara National Guard (1)", "Qelmara (0)"],
    }

    # Put back (the revert reverted): counted again.
    restored = await storage.portal.apply_day(
        "en", day_page(BORDER_DAY, 3, border, drill), announce=True, now=NOW
    )
    assert len(restored.restored) == 1
    assert await seen(storage) == listing_both

    # Taken off again, and put back without its link to Qelmara: Vandor counts it, and
    # Qelmara, which it no longer names, does not.
    await storage.portal.apply_day("en", day_page(BORDER_DAY, 4, drill), announce=True, now=NOW)
    unlinked = listed(BORDER_DAY, border.headline, 0, "Vandor")
    edited = await storage.portal.apply_day(
        "en", day_page(BORDER_DAY, 5, unlinked, drill), announce=True, now=NOW
    )
    assert (len(edited.restored), len(edited.updated)) == (1, 1)
    pages = await seen(storage)
    assert pages["Vandor"] == listing_both["Vandor"][:-1]  # Qelmara no longer with it
    assert pages["Qelmara"] == ["Qelmara", "0 events, no dates", "", "Recent events"]
    assert pages["choices"] == ["Qelmara National Guard (1)", "Qelmara (0)"]


async def test_a_name_an_archive_page_gives_a_removed_item_does_not_count_it(
    storage: Storage,
) -> None:
    """An archive page's Related list may name an item the portal has since taken off
    (its key finds the removed event), with the names the two share: the item gains them,
    and none of them counts it."""
    border = listed(BORDER_DAY, "Vandor closes its border with Qelmara", 0, "Vandor", "Qelmara")
    await storage.portal.apply_day("en", day_page(BORDER_DAY, 1, border), announce=True, now=NOW)
    await storage.portal.apply_day("en", day_page(BORDER_DAY, 2), announce=True, now=NOW)
    reopened = PageRecord(
        key="2024/01/9/vandor-reopens-its-border",
        date=dt.date(2024, 1, 9),
        headline="Vandor reopens its border",
        entities=("Vandor",),
        related=(
            RelatedRecord(border.key, BORDER_DAY, border.headline, ("Vandor", "Vandor border")),
        ),
    )
    await storage.events.import_batch([reopened])

    pages = {}
    for name in ("Vandor", "Vandor border", "Qelmara"):
        found = await storage.entities.find(name)
        assert found is not None
        profile = await storage.entities.profile(found[0])
        pages[name] = (
            profile.event_count,
            profile.first_date,
            [b.headline for b in profile.recent],
        )
    assert pages == {
        "Vandor": (1, dt.date(2024, 1, 9), ["Vandor reopens its border"]),
        "Vandor border": (0, None, []),
        "Qelmara": (0, None, []),
    }


async def test_a_related_list_stays_full_when_an_event_ranking_in_it_is_taken_off(
    storage: Storage,
) -> None:
    """The events after a removed one move up into its place: /related asks for a page and
    one more to know whether a next page exists, and a removed event among them had left
    the page short and the next page out."""
    days = [dt.date(2024, 1, day) for day in range(1, 14)]
    items = [listed(day, f"Vandor news of January {day.day}", 0, "Vandor") for day in days]
    for day, item in zip(days, items, strict=True):
        await storage.portal.apply_day("en", day_page(day, 1, item), announce=True, now=NOW)
    first = await storage.events.get_by_key(items[0].key)
    assert first is not None
    # The newest, which ranks first in every list, is taken off its page.
    await storage.portal.apply_day("en", day_page(days[-1], 2), announce=True, now=NOW)

    page = [r.event.headline for r in await storage.events.related(first.id, limit=5 + 1)]
    assert page == [f"Vandor news of January {day}" for day in range(12, 6, -1)]
    following = await storage.events.related(first.id, limit=5 + 1, offset=5)
    assert [r.event.headline for r in following] == [
        f"Vandor news of January {day}" for day in range(7, 1, -1)
    ]
