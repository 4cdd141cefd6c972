"""The real bot answering lookups over the loopback Discord: every command, autocomplete,
buttons, the select menu, errors, Discord's limits, and no pings."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.client import ChronicleBot
from bot.services.imports import import_archive
from storage import Storage
from storage.models import PageRecord
from tests.conftest import MOD_KEY
from tests.e2e.harness import EPHEMERAL, button, data, embed_of, running_bot
from tests.e2e.harness import sample_with_seeds as sample
from tests.e2e.standin.constants import DEFAULT_GUILD_ID, DEFAULT_USER_ID
from tests.e2e.standin.interactions import InteractionHandle
from tests.e2e.standin.model import UserSpec
from tests.e2e.standin.server import DiscordStandIn

OTHER_USER = UserSpec(id=DEFAULT_USER_ID + 1, username="someone-else")
COMMANDS = {"event", "search", "onthisday", "related", "entity", "about"}


@pytest.fixture
async def bot(standin: DiscordStandIn, tmp_path: Path) -> AsyncIterator[ChronicleBot]:
    async with running_bot(standin, tmp_path / "chronicle.db", prepare=sample) as client:
        yield client


def custom_ids(message: dict[str, Any]) -> list[str]:
    return [
        c["custom_id"]
        for row in message.get("components", [])
        for c in row["components"]
        if "custom_id" in c
    ]


def component(message: dict[str, Any], custom_id: str) -> dict[str, Any]:
    return next(
        c
        for row in message["components"]
        for c in row["components"]
        if c.get("custom_id") == custom_id
    )


async def event_id(bot: ChronicleBot, key: str) -> int:
    event = await bot.storage.events.get_by_key(key)
    assert event is not None
    return event.id


def assert_embed_within_limits(embed: dict[str, Any]) -> None:
    total = len(embed.get("title", "")) + len(embed.get("description", ""))
    total += len(embed.get("footer", {}).get("text", "")) + len(
        embed.get("author", {}).get("name", "")
    )
    assert len(embed.get("title", "")) <= 256
    assert len(embed.get("description", "")) <= 4096
    assert len(embed.get("fields", [])) <= 25
    for field in embed.get("fields", []):
        assert len(field["name"]) <= 256 and len(field["value"]) <= 1024
        total += len(field["name"]) + len(field["value"])
    assert total <= 6000


async def test_commands_are_synced_with_their_public_names(
    bot: ChronicleBot, standin: DiscordStandIn
) -> None:
    commands = {c["name"]: c for c in standin.guild_commands[DEFAULT_GUILD_ID]}
    assert set(commands) >= COMMANDS
    options = {name: [o["name"] for o in c.get("options", [])] for name, c in commands.items()}
    assert options["event"] == ["query"]
    assert options["search"] == ["query", "entity", "since", "until"]
    assert options["onthisday"] == ["date"]
    assert options["related"] == ["query"]
    assert options["entity"] == ["name"]


async def test_event_autocomplete_then_card_with_buttons(
    bot: ChronicleBot, standin: DiscordStandIn
) -> None:
    handle = await standin.send_autocomplete(
        "event", {"query": "russian ministry of def"}, focused="query"
    )
    callback = await handle.callback()
    assert callback.json["type"] == 8
    choices = data(callback)["choices"]
    assert 1 <= len(choices) <= 25
    assert all(len(c["name"]) <= 100 and len(c["value"]) <= 100 for c in choices)
    assert choices[0]["name"].startswith("2017-06-16 · The Russian Ministry of Defence")

    handle = await standin.send_slash_command("event", {"query": choices[0]["value"]})
    message = await handle.response()
    embed = embed_of(message)
    assert embed["title"].startswith(
        "The Russian Ministry of Defence says its forces may have killed"
    )
    assert embed["url"].startswith("http://www.independent.co.uk/")
    assert embed["image"]["url"].endswith("baghdadi.jpg")
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Date"] == "June 16, 2017"
    assert "1. [The Independent](http://www.independent.co.uk/" in fields["Sources (1)"]
    related = next(v for k, v in fields.items() if k.startswith("Related"))
    assert related.count("shared:") == 5
    assert embed["footer"]["text"] == MOD_KEY
    ident = await event_id(bot, MOD_KEY)
    assert custom_ids(message) == [
        f"chronicle:event:related:{ident}",
        f"chronicle:event:sources:{ident}",
    ]
    assert not message["flags"] & EPHEMERAL


async def test_event_buttons_answer_privately(bot: ChronicleBot, standin: DiscordStandIn) -> None:
    handle = await standin.send_slash_command("event", {"query": MOD_KEY})
    message = await handle.response()
    ident = await event_id(bot, MOD_KEY)

    sources = await standin.click(message, f"chronicle:event:sources:{ident}", user=OTHER_USER)
    reply = await sources.response()
    assert reply["flags"] & EPHEMERAL
    assert "[The Independent](" in embed_of(reply)["description"]

    related = await standin.click(message, f"chronicle:event:related:{ident}")
    page = await related.response()
    assert page["flags"] & EPHEMERAL
    embed = embed_of(page)
    assert embed["description"].count("shared:") == 10
    assert embed["footer"]["text"].startswith("Page 1")
    nxt = await standin.click(page, button(page, "Next"))
    turned = await nxt.callback()
    assert turned.json["type"] == 7
    assert data(turned)["embeds"][0]["footer"]["text"].startswith("Page 2")


async def test_search_pages_select_and_owner_only(
    bot: ChronicleBot, standin: DiscordStandIn
) -> None:
    handle = await standin.send_slash_command("search", {"query": "Russia"})
    message = await handle.response()
    embed = embed_of(message)
    assert embed["title"] == "Search: Russia"
    assert embed["description"].count("\n") == 9  # ten results
    select = next(c for row in message["components"] for c in row["components"] if c["type"] == 3)
    assert len(select["options"]) == 10
    previous, nxt = button(message, "Previous"), button(message, "Next")
    assert component(message, previous)["disabled"] is True
    assert not component(message, nxt).get("disabled")

    stranger = await standin.click(message, nxt, user=OTHER_USER)
    refusal = await stranger.callback()
    assert data(refusal)["flags"] & EPHEMERAL
    assert "belong to the person who ran the command" in data(refusal)["content"]

    turned = await (await standin.click(message, nxt)).callback()
    assert turned.json["type"] == 7
    page_two = data(turned)["embeds"][0]
    assert page_two["footer"]["text"].startswith("Page 2")
    assert page_two["description"].startswith("**11.**")

    pick = select["options"][0]["value"]
    opened = await standin.send_component(message, select["custom_id"], values=[pick])
    card = await opened.response()
    assert card["flags"] & EPHEMERAL
    assert embed_of(card)["footer"]["text"]  # an event card (its key)


async def test_search_filters_and_no_results(bot: ChronicleBot, standin: DiscordStandIn) -> None:
    handle = await standin.send_slash_command(
        "search", {"query": "Baghdadi", "entity": "Islamic State", "since": "2017-01-01"}
    )
    embed = embed_of(await handle.response())
    assert "Islamic State" in embed["title"]
    handle = await standin.send_slash_command(
        "search", {"query": "Baghdadi", "entity": "Islamc Stat"}
    )
    reply = await handle.callback()
    assert data(reply)["flags"] & EPHEMERAL
    assert (
        "No entity is called" in data(reply)["content"]
        and "Islamic State" in data(reply)["content"]
    )


async def test_onthisday_groups_by_year(bot: ChronicleBot, standin: DiscordStandIn) -> None:
    handle = await standin.send_slash_command("onthisday", {"date": "06-16"})
    embed = embed_of(await handle.response())
    assert embed["title"] == "On this day: June 16"
    assert "years ago — 2017**" in embed["description"]
    handle = await standin.send_slash_command("onthisday", {"date": "2014-11-08"})
    embed = embed_of(await handle.response())
    assert "— 2014**" in embed["description"] and "Kudhaa Island" in embed["description"]


async def test_onthisday_of_the_last_year_there_is(
    standin: DiscordStandIn, postgres_url: str
) -> None:
    """9999-06-16: every year up to it, on PostgreSQL as on SQLite (year 10000 had been
    asked of PostgreSQL: "Something went wrong")."""
    async with running_bot(standin, postgres_url, prepare=sample):
        handle = await standin.send_slash_command("onthisday", {"date": "9999-06-16"})
        embed = embed_of(await handle.response())
        assert embed["title"] == "On this day: June 16" and "— 2017**" in embed["description"]


KOREAN = PageRecord(
    key="2019/11/11/대검찰청-압수수색",
    date=dt.date(2019, 11, 11),
    headline="대검찰청 압수수색",
    entities=("대검찰청",),
)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    if request.param == "sqlite":
        return tmp_path / "chronicle.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


async def test_a_korean_word_finds_its_event_on_either_backend(
    standin: DiscordStandIn, database: Path | str
) -> None:
    """/event 대검찰청 shows the event, and typing 대검찰 offers it, on PostgreSQL as on
    SQLite (PostgreSQL had answered "No event matches" for a word of three syllables)."""

    async def prepare(storage: Storage) -> None:
        await storage.events.import_batch([KOREAN])

    async with running_bot(standin, database, prepare=prepare):
        handle = await standin.send_slash_command("event", {"query": "대검찰청"})
        assert embed_of(await handle.response())["title"].endswith(KOREAN.headline)
        handle = await standin.send_autocomplete("event", {"query": "대검찰"}, focused="query")
        names = [choice["name"] for choice in data(await handle.callback())["choices"]]
        assert any(KOREAN.headline in name for name in names), names


async def test_related_and_entity_and_about(bot: ChronicleBot, standin: DiscordStandIn) -> None:
    handle = await standin.send_slash_command("related", {"query": MOD_KEY})
    message = await handle.response()
    assert embed_of(message)["description"].startswith("**1.**")
    assert "Next" in [c.get("label") for row in message["components"] for c in row["components"]]

    handle = await standin.send_autocomplete("entity", {"name": "abu"}, focused="name")
    choices = data(await handle.callback())["choices"]
    assert choices[0]["value"] == "Abu Bakr al-Baghdadi"
    embed = embed_of(
        await (
            await standin.send_slash_command("entity", {"name": "abu bakr al-baghdadi"})
        ).response()
    )
    assert embed["title"] == "Abu Bakr al-Baghdadi"
    assert embed["description"] == "**10** events, June 29, 2014 – September 28, 2017"
    assert {f["name"] for f in embed["fields"]} == {"Recent events", "Often appears with"}

    embed = embed_of(await (await standin.send_slash_command("about")).response())
    assert "**41** events" in embed["fields"][0]["value"]


@pytest.mark.parametrize(
    ("command", "options", "expected"),
    [
        ("event", {"query": "zzqxv wqpfk"}, "No event matches"),
        ("onthisday", {"date": "13-45"}, "not a real day"),
        ("onthisday", {"date": "yesterday"}, "MM-DD"),
        ("search", {"query": '"NEAR( zzqx AND (('}, "No events match"),
        # What was typed is quoted as text: no spoiler, no underline.
        ("search", {"query": "||zzqx|| __qqzz__"}, r"No events match “\|\|zzqx\|\| \_\_qqzz\_\_”"),
        ("search", {"query": "***"}, "nothing to search for"),
        ("search", {"query": "Islamic s*"}, "at least two letters"),
        ("search", {"query": "al-a*"}, "at least two letters"),
        ("search", {"query": "Russia", "since": "2017-02-30"}, "not a real date"),
        ("search", {"query": "Russia", "since": "16-06-2017"}, "the order is YYYY-MM-DD"),
        ("onthisday", {"date": "17-06-16"}, "needs its year in four digits"),
        ("entity", {"name": "Nobody In Particular"}, "No entity is called"),
        # Numbers past what a date or an id can be, and digits that are not ASCII ones.
        ("event", {"query": "event:99999999999999999999"}, "no longer in the archive"),
        ("related", {"query": "event:99999999999999999999"}, "no longer in the archive"),
        ("search", {"query": "Russia", "since": "99999999999999999999-01-01"}, "not a date"),
        ("search", {"query": "Russia", "until": "2017-01-99999999999999999999"}, "not a date"),
        ("onthisday", {"date": "99999999999999999999-06-16"}, "not a day"),
        ("onthisday", {"date": "06-1²"}, "not a day"),
    ],
)
async def test_errors_are_private_and_say_what_is_wrong(
    bot: ChronicleBot,
    standin: DiscordStandIn,
    command: str,
    options: dict[str, str],
    expected: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    handle = await standin.send_slash_command(command, options)
    reply = await handle.callback()
    assert reply.json["type"] == 4
    assert data(reply)["flags"] & EPHEMERAL
    assert expected in data(reply)["content"]
    assert "Traceback" not in caplog.text and "unexpected error" not in caplog.text


async def test_hostile_search_text_is_just_text(bot: ChronicleBot, standin: DiscordStandIn) -> None:
    message = await (await standin.send_slash_command("search", {"query": '"NEAR( *'})).response()
    assert "near" in embed_of(message)["description"].lower()  # "near Deir ez-Zor", as words


async def test_unexpected_error_is_logged_and_answered_generically(
    bot: ChronicleBot,
    standin: DiscordStandIn,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken() -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(bot.storage, "stats", broken)
    with caplog.at_level(logging.ERROR):
        reply = await (await standin.send_slash_command("about")).callback()
    assert data(reply)["flags"] & EPHEMERAL
    assert "Something went wrong on our side" in data(reply)["content"]
    assert "disk on fire" not in data(reply)["content"]
    record = next(r for r in caplog.records if "unexpected error in /about" in r.getMessage())
    assert record.exc_info and "disk on fire" in str(record.exc_info[1])
    assert f"by user {DEFAULT_USER_ID} in guild {DEFAULT_GUILD_ID}" in record.getMessage()


async def test_slow_reply_is_deferred_first(
    bot: ChronicleBot, standin: DiscordStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = bot.storage.stats

    async def slow() -> Any:
        await asyncio.sleep(1.2)
        return await real()

    monkeypatch.setattr(bot.storage, "stats", slow)
    handle = await standin.send_slash_command("about")
    callback = await handle.callback()
    assert callback.json["type"] == 5  # "thinking…" first
    message = await handle.response(timeout=5)
    assert embed_of(message)["title"] == "Chronicle"


async def test_huge_event_fits_discord_limits(standin: DiscordStandIn, tmp_path: Path) -> None:
    sources = "\n".join(
        f"{n}. [Publisher number {n} with a long name](https://example.com/{n}/" + "x" * 60 + ")"
        for n in range(1, 41)
    )
    summary = " ".join(["Word"] * 2000) + " " + "y" * 100
    page = tmp_path / "news/2020/01/2/huge-event.md"
    page.parent.mkdir(parents=True)
    page.write_text(
        "### [2020-01-2](/news/2020/01/2/index.md)\n\n# "
        + "A very long headline " * 20
        + "\n\n"
        + summary
        + "\n\n\n### Sources:\n\n"
        + sources
        + "\n"
    )

    async def prepare(storage: Storage) -> None:
        report = await import_archive(storage, [page])
        assert report.ok

    async with running_bot(standin, tmp_path / "c.db", prepare=prepare):
        handle = await standin.send_slash_command("event", {"query": "A very long headline"})
        message = await handle.response()
        embed = embed_of(message)
        assert_embed_within_limits(embed)
        assert embed["title"].endswith("…")
        assert embed["description"].endswith("…")
        sources_field = next(f for f in embed["fields"] if f["name"].startswith("Sources (40)"))
        assert "and" in sources_field["value"] and "more: press Sources" in sources_field["value"]
        assert sources_field["value"].splitlines()[0].startswith("1. [Publisher number 1")


async def test_pages_grey_out_after_timeout(standin: DiscordStandIn, tmp_path: Path) -> None:
    """A search too long to be written into its buttons is kept in memory for a while; its
    buttons grey out when it is let go (a shorter one's keep working, for good)."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, view_timeout=0.5):
        handle = await standin.send_slash_command("search", {"query": "Russia -" + "x" * 60})
        message = await handle.response()
        assert not component(message, button(message, "Next")).get("disabled")

        def greyed() -> bool:
            current = handle.original_message
            return current is not None and all(
                c.get("disabled") for row in current["components"] for c in row["components"]
            )

        await standin.wait_until(greyed, timeout=5, what="components greyed out")


async def test_a_long_searchs_pages_discord_did_not_take_are_not_kept(tmp_path: Path) -> None:
    """The answers to long searches came after Discord stopped waiting (10062 Unknown
    interaction): nobody can see or turn their pages, and Chronicle lets them go. (It kept
    every one for as long as it ran: only a sent message's pages ever timed out.)"""
    async with (
        DiscordStandIn(interaction_ack_timeout=0.0) as standin,  # every answer is late
        running_bot(standin, tmp_path / "c.db", prepare=sample, view_timeout=0.3) as bot,
    ):
        handles = [
            await standin.send_slash_command("search", {"query": f"Russia -{'x' * 60}{n}"})
            for n in range(3)
        ]
        await standin.wait_until(
            lambda: all(h.requests for h in handles), timeout=5, what="the answers"
        )
        await asyncio.sleep(0.6)  # twice the view timeout
        assert [r.status for h in handles for r in h.requests] == [404, 404, 404]
        assert bot.kept_pages == {}
        assert not standin.internal_errors


async def test_pages_whose_buttons_could_not_grey_out_say_they_expired(
    standin: DiscordStandIn, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A long search's pages are let go, but Discord refuses to grey out their buttons (the
    answer's token is older than its 15 minutes, or an outage). A click on them says that the
    pages expired, without blaming a restart that did not happen; the log says why the
    buttons stayed live."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, view_timeout=0.5) as bot:
        handle = await standin.send_slash_command("search", {"query": "Russia -" + "x" * 60})
        message = await handle.response()
        edits = r"/webhooks/\d+/[^/]+/messages/.*"
        standin.fail("PATCH", edits, 401, 50027, "Invalid Webhook Token")
        with caplog.at_level(logging.INFO, logger="bot.views"):
            await standin.wait_until(lambda: not bot.kept_pages, timeout=5, what="the timeout")
            async with asyncio.timeout(5):
                while not [r for r in caplog.records if r.name == "bot.views"]:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        standin.clear_faults()
        clicked = await standin.click(message, button(message, "Next"))
        reply = data(await clicked.callback())
        assert reply["flags"] & EPHEMERAL
        assert reply["content"] == (
            "These pages expired (they last a few idle minutes, and not across a restart):"
            " run /search again."
        )
        (line,) = [r.getMessage() for r in caplog.records if r.name == "bot.views"]
        assert line == (
            f"could not grey out the buttons of message {message['id']}: 401 Unauthorized"
            " (error code: 50027): Invalid Webhook Token"
        )


async def test_no_reply_allows_mentions(bot: ChronicleBot, standin: DiscordStandIn) -> None:
    handles: list[InteractionHandle] = []
    for command, options in [
        ("event", {"query": "@everyone Baghdadi"}),
        ("search", {"query": "Russia"}),
        ("onthisday", {"date": "06-16"}),
        ("related", {"query": MOD_KEY}),
        ("entity", {"name": "Russia"}),
        ("about", {}),
        ("event", {"query": "<@123> nothing like this"}),
    ]:
        handle = await standin.send_slash_command(command, options)
        await handle.callback()
        handles.append(handle)
    sent = [
        r
        for r in standin.requests
        if r.method in ("POST", "PATCH")
        and isinstance(r.json, dict)
        and (
            ("data" in r.json and r.json.get("type") in (4, 7))
            or "content" in r.json
            or "embeds" in r.json
        )
    ]
    assert len(sent) >= len(handles)
    for request in sent:
        payload = request.json.get("data", request.json)
        assert payload.get("allowed_mentions") == {"parse": []}, request
