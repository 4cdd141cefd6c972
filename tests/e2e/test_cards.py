"""What members see on an event's card and behind its buttons, over the loopback Discord."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from storage import Storage
from storage.keys import make_key
from storage.models import PageRecord, SourceRecord
from tests.e2e.harness import EPHEMERAL, button, data, embed_of, running_bot
from tests.e2e.standin.server import DiscordStandIn

# --- buttons of an event merged into its page's newer version -------------------------------

QUAKE_DAY = dt.date(2019, 5, 4)
OLD_KEY = make_key(QUAKE_DAY, "quake-hits-tokyo")
NEW_KEY = make_key(QUAKE_DAY, "strong-quake-hits-tokyo")


def quake(key: str, headline: str, replaces: tuple[str, ...] = ()) -> PageRecord:
    return PageRecord(
        key,
        QUAKE_DAY,
        headline,
        summary="A quake.",
        sources=(SourceRecord("NHK", f"https://nhk.example/{key.rsplit('/', 1)[1]}"),),
        entities=("Tokyo",),
        replaces=replaces,
    )


async def test_a_cards_buttons_follow_its_event_into_the_newer_version(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """A card posted before the archive's newer version of its page was imported (which
    folds the old version into the event of the new key): Sources, Related and the
    autocomplete value offered before show the event it is now."""

    async def prepare(storage: Storage) -> None:
        await storage.events.import_batch([quake(OLD_KEY, "Quake hits Tokyo")])
        await storage.events.import_batch([quake(NEW_KEY, "Strong quake hits Tokyo")])

    async with running_bot(standin, tmp_path / "c.db", prepare=prepare) as bot:
        offered = await standin.send_autocomplete("event", {"query": "Quake hits"}, focused="query")
        choices = data(await offered.callback())["choices"]
        old_value = next(c["value"] for c in choices if c["name"].endswith("· Quake hits Tokyo"))
        card = await (await standin.send_slash_command("event", {"query": OLD_KEY})).response()

        await bot.storage.events.import_batch(
            [quake(NEW_KEY, "Strong quake hits Tokyo", replaces=(OLD_KEY,))]
        )

        sources = await (await standin.click(card, button(card, "Sources"))).response()
        assert embed_of(sources)["title"] == "Sources: Strong quake hits Tokyo"
        assert "nhk.example/strong-quake-hits-tokyo" in embed_of(sources)["description"]
        related = await (await standin.click(card, button(card, "Related"))).response()
        assert embed_of(related)["title"] == "Related to: Strong quake hits Tokyo"
        picked = await (await standin.send_slash_command("event", {"query": old_value})).response()
        assert embed_of(picked)["footer"]["text"] == NEW_KEY


# --- text after "[..](..)" escaped like the rest ------------------------------------------------

LINKY = "Senator [R](TX) says ||the vote|| is **rigged** (live) ~~not~~ __really__ `x`"


async def test_text_after_brackets_and_parentheses_is_shown_as_typed(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """A headline holding "[R](TX)" and then a spoiler, bold, strikethrough, underline and
    code: the search list and the card show every one of them as typed."""
    day = dt.date(2019, 4, 2)
    key = make_key(day, "senator")

    async def prepare(storage: Storage) -> None:
        record = PageRecord(
            key,
            day,
            LINKY,
            summary=LINKY,
            sources=(SourceRecord("Wire", "https://wire.example/1"),),
            entities=("Texas",),
        )
        await storage.events.import_batch([record])

    async with running_bot(standin, tmp_path / "c.db", prepare=prepare):
        found = await (await standin.send_slash_command("search", {"query": "Senator"})).response()
        card = await (await standin.send_slash_command("event", {"query": key})).response()
    for shown in (embed_of(found)["description"], embed_of(card)["description"]):
        assert r"says \|\|the vote\|\| is \*\*rigged\*\* (live)" in shown, shown
        assert r"\~\~not\~\~ \_\_really\_\_ \`x\`" in shown, shown


# --- titles escaped like the rest; links and images well-formed -------------------------------


async def test_titles_are_shown_as_typed(standin: DiscordStandIn, tmp_path: Path) -> None:
    """A headline with a spoiler and bold, an entity named with bold: the titles of the card,
    its Sources and Related, the search list and the entity's page escape them as their
    bodies do (Discord draws markdown in titles)."""
    day = dt.date(2019, 4, 3)
    key = make_key(day, "spoiler")
    headline = "The ||final score|| of **the** match"

    async def prepare(storage: Storage) -> None:
        record = PageRecord(
            key,
            day,
            headline,
            summary="x",
            sources=(SourceRecord("Wire", "https://wire.example/2"),),
            entities=("**Markdown** Entity",),
        )
        await storage.events.import_batch([record])

    escaped = r"The \|\|final score\|\| of \*\*the\*\* match"
    async with running_bot(standin, tmp_path / "c.db", prepare=prepare):
        card = await (await standin.send_slash_command("event", {"query": key})).response()
        sources = await (await standin.click(card, button(card, "Sources"))).response()
        related = await (await standin.click(card, button(card, "Related"))).response()
        found = await (await standin.send_slash_command("search", {"query": "final"})).response()
        entity = await (
            await standin.send_slash_command("entity", {"name": "**Markdown** Entity"})
        ).response()
    assert embed_of(card)["title"] == escaped
    assert embed_of(sources)["title"] == f"Sources: {escaped}"
    assert embed_of(related)["title"] == f"Related to: {escaped}"
    assert embed_of(found)["title"] == "Search: final"
    assert embed_of(entity)["title"] == r"\*\*Markdown\*\* Entity"


async def test_a_cards_title_link_and_image_are_well_formed(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """A feed's link holding spaces and parentheses (feedparser keeps them): the card's
    title link and its image are encoded as the links in its body are."""
    day = dt.date(2019, 4, 4)
    key = make_key(day, "spaced")

    async def prepare(storage: Storage) -> None:
        sources = (
            SourceRecord("Wire", "https://wire.example/news/a b (1).html"),
            SourceRecord("img", "https://wire.example/img/a b.jpg", is_image=True),
        )
        await storage.events.import_batch([PageRecord(key, day, "Spaced link", sources=sources)])

    async with running_bot(standin, tmp_path / "c.db", prepare=prepare):
        card = await (await standin.send_slash_command("event", {"query": key})).response()
        sources = await (await standin.click(card, button(card, "Sources"))).response()
    assert embed_of(card)["url"] == "https://wire.example/news/a%20b%20%281%29.html"
    assert embed_of(sources)["url"] == "https://wire.example/news/a%20b%20%281%29.html"
    assert embed_of(card)["image"]["url"] == "https://wire.example/img/a%20b.jpg"
    assert "(https://wire.example/news/a%20b%20%281%29.html)" in str(embed_of(card)["fields"])


# --- the Sources button lists every source -----------------------------------------------------


async def test_the_sources_button_shows_every_source(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """60 sources: the card lists what fits and says to press Sources; Sources shows them
    all, a page at a time, each once, in order."""
    day = dt.date(2019, 4, 6)
    key = make_key(day, "many-sources")
    sources = tuple(
        SourceRecord(
            f"Publisher number {n}",
            f"https://news{n}.example.com/world/2019/04/06/" + "a" * 60,
        )
        for n in range(1, 61)
    )

    async def prepare(storage: Storage) -> None:
        await storage.events.import_batch(
            [PageRecord(key, day, "Summit ends", summary="x", sources=sources)]
        )

    async with running_bot(standin, tmp_path / "c.db", prepare=prepare):
        card = await (await standin.send_slash_command("event", {"query": key})).response()
        assert "more: press Sources" in str(embed_of(card)["fields"])
        handle = await standin.click(card, button(card, "Sources"))
        page = await handle.response()
        assert page["flags"] & EPHEMERAL
        listed = [embed_of(page)["description"]]
        while True:
            if component_disabled(page, "Next"):
                break
            turned = await (await standin.click(page, button(page, "Next"))).callback()
            assert turned.json["type"] == 7
            page = standin.messages[int(page["id"])]
            listed.append(embed_of(page)["description"])
    lines = "\n".join(listed).splitlines()
    assert [line.split("]")[0] for line in lines] == [
        f"{n}. [Publisher number {n}" for n in range(1, 61)
    ]
    assert len(listed) > 1
    assert embed_of(page)["footer"]["text"] == f"Page {len(listed)} of {len(listed)} · 60 sources"


def component_disabled(message: dict[str, Any], label: str) -> bool:
    return bool(
        next(
            c for row in message["components"] for c in row["components"] if c.get("label") == label
        ).get("disabled")
    )
