"""Pages of /search, /related and /onthisday, and their "Open one…" menu, after the bot
restarts: the buttons still turn pages (a search too long to be written into them says
privately that it expired), and the menu still opens the event it names."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
from pathlib import Path
from typing import Any

from bot.views import PagedView
from storage import Storage
from storage.keys import make_key
from storage.models import PageRecord
from tests.conftest import MOD_KEY
from tests.e2e.harness import EPHEMERAL, button, data, running_bot
from tests.e2e.harness import sample_with_seeds as sample
from tests.e2e.standin.model import UserSpec
from tests.e2e.standin.records import RecordedRequest
from tests.e2e.standin.server import DiscordStandIn

STRANGER = UserSpec(id=7001, username="stranger")
# Too long for a custom id to carry: its pages are kept in memory, and expire with the bot.
LONG_SEARCH = "Russia -" + "x" * 60


def footer(request: RecordedRequest) -> str:
    text: str = data(request)["embeds"][0]["footer"]["text"]
    return text


def as_now(standin: DiscordStandIn, message: dict[str, Any]) -> dict[str, Any]:
    """The message as it is now on the stand-in (a page turned edits it)."""
    now: dict[str, Any] = standin.messages[int(message["id"])]
    return now


def select_of(message: dict[str, Any]) -> dict[str, Any]:
    return next(c for row in message["components"] for c in row["components"] if c["type"] == 3)


def addressed_views() -> list[PagedView]:
    """The pages in memory whose buttons carry their address (none is needed)."""
    return [o for o in gc.get_objects() if isinstance(o, PagedView) and o.token is None]


async def test_search_pages_turn_after_a_restart(standin: DiscordStandIn, tmp_path: Path) -> None:
    database = tmp_path / "c.db"
    async with running_bot(standin, database, prepare=sample):
        message = await (await standin.send_slash_command("search", {"query": "Russia"})).response()
    async with running_bot(standin, database):
        refused = await (
            await standin.click(message, button(message, "Next"), user=STRANGER)
        ).callback()
        assert data(refused)["flags"] & EPHEMERAL
        assert "belong to the person who ran the command" in data(refused)["content"]

        turned = await (await standin.click(message, button(message, "Next"))).callback()
        assert turned.json["type"] == 7  # the message itself shows page 2
        assert footer(turned).startswith("Page 2")
        page_two = as_now(standin, message)
        assert page_two["embeds"][0]["title"] == "Search: Russia"
        assert page_two["embeds"][0]["description"].startswith("**11.**")
        back = await (await standin.click(page_two, button(page_two, "Previous"))).callback()
        assert footer(back).startswith("Page 1")


async def test_open_one_opens_the_event_after_a_restart(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """Anyone can open an event from the menu, privately, before and after a restart."""
    database = tmp_path / "c.db"
    async with running_bot(standin, database, prepare=sample):
        message = await (await standin.send_slash_command("search", {"query": "Russia"})).response()
    menu = select_of(message)
    picked = menu["options"][0]
    async with running_bot(standin, database) as bot:
        opened = await standin.send_component(
            message, menu["custom_id"], values=[picked["value"]], user=STRANGER
        )
        card = await opened.response()
        assert card["flags"] & EPHEMERAL
        shown = await bot.storage.events.get_by_key(card["embeds"][0]["footer"]["text"])
    assert shown is not None and shown.id == int(picked["value"])


async def test_related_pages_turn_after_a_restart(standin: DiscordStandIn, tmp_path: Path) -> None:
    database = tmp_path / "c.db"
    async with running_bot(standin, database, prepare=sample):
        card = await (await standin.send_slash_command("event", {"query": MOD_KEY})).response()
        related = await (await standin.click(card, button(card, "Related"))).response()
        assert related["flags"] & EPHEMERAL
    async with running_bot(standin, database):
        turned = await (await standin.click(related, button(related, "Next"))).callback()
    assert turned.json["type"] == 7
    assert footer(turned).startswith("Page 2")
    assert data(turned)["embeds"][0]["description"].startswith("**11.**")


async def test_private_related_pages_are_held_by_nothing_and_never_time_out(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """Related, clicked twenty times: each private answer's pages are addressed in their
    buttons, so nothing of them stays in memory and no timer runs (discord.py gave each a
    15-minute one, then greyed its buttons out, through a token Discord had just expired)."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample):
        card = await (await standin.send_slash_command("event", {"query": MOD_KEY})).response()
        for _ in range(20):
            related = await (await standin.click(card, button(card, "Related"))).response()
            assert related["flags"] & EPHEMERAL and button(related, "Next")
        await asyncio.sleep(0.2)
        gc.collect()
        timers = [t for t in asyncio.all_tasks() if "timeout_task" in t.get_coro().__qualname__]
        assert (addressed_views(), timers) == ([], [])


async def test_private_related_pages_are_never_greyed_out(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """Whatever discord.py's timers would do to a private Related answer, its buttons stay
    live: they are never edited, and Next still turns the page."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample):
        card = await (await standin.send_slash_command("event", {"query": MOD_KEY})).response()
        related = await (await standin.click(card, button(card, "Related"))).response()
        before = len(standin.requests)
        for view in addressed_views():
            view._dispatch_timeout()  # what discord.py's 15-minute timer did
        await asyncio.sleep(0.3)
        assert not [r.path for r in standin.requests[before:] if r.method == "PATCH"]
        now = as_now(standin, related)
        buttons = [c for row in now["components"] for c in row["components"] if "label" in c]
        assert [c["label"] for c in buttons if c.get("disabled")] == ["Previous"]  # page 1
        turned = await (await standin.click(now, button(now, "Next"))).callback()
        assert footer(turned).startswith("Page 2")


async def test_onthisday_pages_turn_after_a_restart(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    async def june_16ths(storage: Storage) -> None:
        days = [dt.date(year, 6, 16) for year in range(2000, 2015)]
        await storage.events.import_batch(
            [PageRecord(make_key(d, "storm"), d, f"A storm in {d.year}") for d in days]
        )

    database = tmp_path / "c.db"
    async with running_bot(standin, database, prepare=june_16ths):
        message = await (
            await standin.send_slash_command("onthisday", {"date": "2020-06-16"})
        ).response()
    async with running_bot(standin, database):
        turned = await (await standin.click(message, button(message, "Next"))).callback()
    assert footer(turned).startswith("Page 2")
    description = data(turned)["embeds"][0]["description"]
    assert "A storm in 2004" in description and "A storm in 2000" in description
    assert "A storm in 2005" not in description  # on page 1


async def test_a_long_search_turns_until_a_restart_then_says_to_run_it_again(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    database = tmp_path / "c.db"
    async with running_bot(standin, database, prepare=sample):
        message = await (
            await standin.send_slash_command("search", {"query": LONG_SEARCH})
        ).response()
        assert all(
            len(c["custom_id"]) <= 100 for row in message["components"] for c in row["components"]
        )
        turned = await (await standin.click(message, button(message, "Next"))).callback()
        assert footer(turned).startswith("Page 2")
        message = as_now(standin, message)
    async with running_bot(standin, database):
        expired = await (await standin.click(message, button(message, "Previous"))).callback()
        assert data(expired)["flags"] & EPHEMERAL
        assert data(expired)["content"] == (
            "These pages expired (they last a few idle minutes, and not across a restart):"
            " run /search again."
        )
        menu = select_of(message)  # the events listed still open
        opened = await standin.send_component(
            message, menu["custom_id"], values=[menu["options"][0]["value"]]
        )
        assert (await opened.response())["embeds"][0]["footer"]["text"]
