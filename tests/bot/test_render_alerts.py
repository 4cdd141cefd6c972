"""An alert's "… and N more": where to find the events it leaves out, whatever they are
about and however long their entities' names are; counted once, however many names the
events mention."""

from __future__ import annotations

import datetime as dt
import re

import discord

from bot import render
from storage.models import EventBrief

DAY = dt.date(2026, 12, 7)
LONG = (
    "Russian military intervention in the Syrian Civil War and the related negotiations "
    "over the future of the country"
)


def events(*about: tuple[str, int]) -> list[tuple[EventBrief, list[str]]]:
    """One event per (entity, days after DAY), ids in order."""
    return [
        (
            EventBrief(n, f"2026/12/{n}", DAY + dt.timedelta(days=days), f"Event {n}", True),
            [name],
        )
        for n, (name, days) in enumerate(about, start=1)
    ]


def more(embed: discord.Embed) -> tuple[str, str]:
    (field,) = embed.fields
    assert field.name is not None and field.value is not None
    return field.name, field.value


def searches(value: str) -> list[tuple[str, str]]:
    return re.findall(r"^`/search query:\* entity:(.+) since:(\S+)`$", value, flags=re.M)


def test_one_search_per_entity_of_the_events_left_out_from_its_first() -> None:
    # Ten new events about Russia are listed; the older ones about Syria and Iraq are not.
    embed = render.alert_embed(
        events(("Syria", 0), ("Iraq", 1), ("Syria", 2), *[("Russia", 5)] * 10)
    )
    assert more(embed)[0] == "… and 3 more"
    assert searches(more(embed)[1]) == [("Syria", "2026-12-07"), ("Iraq", "2026-12-08")]
    assert not re.search(r"\bEvent [123]\b", embed.description or "")


def test_a_long_name_is_searched_for_whole() -> None:
    embed = render.alert_embed(events((LONG, 0), *[("Russia", 5)] * 10))
    assert searches(more(embed)[1]) == [(LONG, "2026-12-07")]
    assert len(embed) <= render.EMBED_TOTAL_LIMIT


def test_past_three_entities_the_hint_names_them_and_points_to_subscriptions() -> None:
    left_out = [("Syria", 0), ("Iraq", 0), ("Iran", 1), ("Turkey", 1), (LONG, 2)]
    embed = render.alert_embed(events(*left_out, *[("Russia", 5)] * 10))
    name, value = more(embed)
    assert name == "… and 5 more"
    # Newest first, whole (never cut), and only those left out.
    assert value == (
        f"About 5 of the entities you follow: {LONG}, Turkey, Iran, Iraq, Syria.\n"
        "`/search query:* entity:<name> since:2026-12-07` for each"
        " (/subscriptions lists what you follow)."
    )


def test_searches_that_would_not_fit_a_field_are_not_cut() -> None:
    names = [f"{LONG} ({n}){' and more' * 30}" for n in range(3)]  # ~400 characters each
    embed = render.alert_embed(events(*[(n, 0) for n in names], *[("Russia", 5)] * 10))
    _, value = more(embed)
    assert len(value) <= render.FIELD_VALUE_LIMIT
    assert searches(value) == []  # no search for a part of a name
    assert value.startswith("About 3 of the entities you follow: ")
    assert "entity:<name> since:2026-12-07" in value


def test_nothing_left_out_no_hint() -> None:
    embed = render.alert_embed(events(("Syria", 0), ("Iraq", 1)))
    assert embed.fields == []


def test_an_alerts_title_shows_its_entity_as_typed() -> None:
    """Discord draws markdown in titles: an entity named with stars is escaped there too."""
    embed = render.alert_embed(events(("**Markdown** Entity", 0)))
    assert embed.title == r"New events about \*\*Markdown\*\* Entity"


COUNTRIES = [f"Country {n}" for n in range(50)]


def summit(count: int, url: str | None = None) -> list[tuple[EventBrief, list[str]]]:
    """`count` events of one day, each naming all fifty followed countries."""
    return [
        (
            EventBrief(n, f"2026/12/{n}", DAY, f"Summit day {n}: leaders sign accord", True, url),
            COUNTRIES,
        )
        for n in range(1, count + 1)
    ]


def listed(embed: discord.Embed) -> list[str]:
    return re.findall(r"^• .*$", embed.description or "", flags=re.M)


def test_an_event_naming_fifty_followed_names_shows_three_and_counts_the_rest() -> None:
    """Twelve events naming all fifty: ten listed, each with three names and "and 47
    more", and the two left out counted once, in the field that says where they are."""
    embed = render.alert_embed(summit(12))
    assert len(listed(embed)) == 10
    description = embed.description or ""
    assert description.count("*Country 0, Country 1, Country 2 and 47 more*") == 10
    assert "Country 3" not in description
    assert "… and" not in description
    name, value = more(embed)
    assert name == "… and 2 more"
    assert "/search query:* entity:<name> since:2026-12-07" in value


def test_events_that_do_not_fit_are_counted_with_those_past_ten() -> None:
    """Long links leave room for fewer than ten: the count in the field is every event
    not listed, and nothing else counts them."""
    embed = render.alert_embed(summit(12, url="https://wire.example/" + "a" * 900))
    shown = len(listed(embed))
    assert 0 < shown < 10
    assert "… and" not in (embed.description or "")
    assert more(embed)[0] == f"… and {12 - shown} more"
    assert len(embed) <= render.EMBED_TOTAL_LIMIT
