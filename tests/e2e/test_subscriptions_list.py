"""/subscriptions with more than fit one message: pages, each subscription with its Remove
button, a pause's reason said once; and the search an alert offers for the events it leaves
out."""

from __future__ import annotations

import copy
import datetime as dt
import re
from pathlib import Path
from typing import Any

from bot.alerts import DM_PAUSE_REASON
from bot.client import ChronicleBot
from tests.e2e.fixtures import make_standin_fixture
from tests.e2e.harness import ANNA, BORIS, EPHEMERAL, dms_to, running_bot, sample
from tests.e2e.news_channels_support import OLD
from tests.e2e.standin.constants import DEFAULT_GUILD_ID
from tests.e2e.standin.model import make_guild
from tests.e2e.standin.server import DiscordStandIn
from tests.support.feed_server import FeedServer, wire_rss

standin = make_standin_fixture(channels=["general"], users=[ANNA, BORIS])


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for row in message.get("components", []) for c in row["components"]]


def button(message: dict[str, Any], label: str) -> dict[str, Any]:
    found = [b for b in buttons(message) if b["label"] == label]
    assert len(found) == 1, f"no {label!r} button: {[b['label'] for b in buttons(message)]}"
    return found[0]


def listed(message: dict[str, Any]) -> list[str]:
    """The names a page of the list shows, in order."""
    description = message["embeds"][0]["description"].replace("\\", "")
    return re.findall(r"^• \*\*(.+?)\*\* ", description, flags=re.MULTILINE)


async def follow_fifty(bot: ChronicleBot) -> list[str]:
    """Anna follows 50 entities by DM (the most allowed); 30 of them are paused."""
    names = [n.name for n in await bot.storage.entities.suggest("", limit=60)][:50]
    ids = []
    for name in names:
        found = await bot.storage.entities.find(name)
        assert found is not None
        subscription, _ = await bot.storage.subscriptions.subscribe(
            guild_id=DEFAULT_GUILD_ID,
            user_id=ANNA.id,
            entity_id=found[0],
            delivery="dm",
            channel_id=None,
        )
        ids.append(subscription.id)
    await bot.storage.subscriptions.pause(ids[::5] + ids[1::5] + ids[2::5], DM_PAUSE_REASON)
    return names


async def test_fifty_subscriptions_are_paged_and_each_can_be_removed(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    db = tmp_path / "c.db"
    async with running_bot(standin, db, prepare=sample) as bot:
        names = await follow_fifty(bot)
        handle = await standin.send_slash_command("subscriptions", user=ANNA)
        message = await handle.response()
        assert message["flags"] & EPHEMERAL

        # Page by page with Next: every subscription shown once, with its Remove button.
        pages = [copy.deepcopy(message)]  # the message as each page showed it
        while not button(pages[-1], "Next").get("disabled"):
            turn = await standin.click(pages[-1], button(pages[-1], "Next")["custom_id"], user=ANNA)
            assert (await turn.callback()).json["type"] == 7  # the same message, updated
            pages.append(copy.deepcopy(await turn.response()))
        assert len(pages) == 3
        seen: list[str] = []
        for number, page in enumerate(pages, start=1):
            embed = page["embeds"][0]
            assert embed["title"] == "Your subscriptions (50 of 50)"
            assert embed["footer"]["text"] == f"Page {number} of 3"
            shown = listed(page)
            assert 0 < len(shown) <= 20
            labels = [b["label"] for b in buttons(page)]
            assert labels == [f"Remove {name}" for name in shown] + ["Previous", "Next"]
            assert button(page, "Previous").get("disabled", False) == (number == 1)
            # The reason of a pause is said once, above the subscriptions it paused.
            assert embed["description"].count("DMs are closed") <= 1
            seen += shown
        assert sorted(seen) == sorted(names)
        # 20 active first, then the 30 paused under their reason.
        assert "DMs are closed" not in pages[0]["embeds"][0]["description"]
        assert pages[1]["embeds"][0]["description"].count("DMs are closed") == 1

        # Someone else's clicks do not turn Anna's pages.
        other = await standin.click(
            pages[-1], button(pages[-1], "Previous")["custom_id"], user=BORIS
        )
        assert (
            "belong to the person who ran the command"
            in (await other.callback()).json["data"]["content"]
        )

        # Remove the last page's first subscription: the last page comes back without it.
        last = pages[-1]
        gone = listed(last)[0]
        removed = await standin.click(last, button(last, f"Remove {gone}")["custom_id"], user=ANNA)
        assert (await removed.callback()).json["type"] == 7
        after = copy.deepcopy(await removed.response())
        assert after["embeds"][0]["title"] == "Your subscriptions (49 of 50)"
        assert after["embeds"][0]["footer"]["text"] == "Page 3 of 3"
        assert gone not in listed(after) and listed(after) == listed(last)[1:]
        assert gone not in [
            s.entity for s in await bot.storage.subscriptions.for_member(DEFAULT_GUILD_ID, ANNA.id)
        ]

    # After a restart the buttons of the same message still turn its pages.
    async with running_bot(standin, db):
        back = await standin.click(after, button(after, "Previous")["custom_id"], user=ANNA)
        page_two = await back.response()
        assert page_two["embeds"][0]["footer"]["text"] == "Page 2 of 3"
        assert listed(page_two) == listed(pages[1])


async def test_subscriptions_that_fit_one_page_have_no_page_buttons(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample) as bot:
        names = await follow_fifty(bot)
        for subscription in (await bot.storage.subscriptions.for_member(DEFAULT_GUILD_ID, ANNA.id))[
            20:
        ]:
            await bot.storage.subscriptions.remove(subscription.id)
        handle = await standin.send_slash_command("subscriptions", user=ANNA)
        message = await handle.response()
        shown = listed(message)
        assert len(shown) == 20 and set(shown) <= set(names)
        assert [b["label"] for b in buttons(message)] == [f"Remove {name}" for name in shown]
        assert "footer" not in message["embeds"][0]


async def test_an_alerts_more_hint_searches_for_the_entities_of_the_events_left_out(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """Ten events about Russia are listed; the two older ones, about Iraq and a story of a
    long name, are left out: the alert gives a search for each, and each finds its event."""
    long_name = (
        "Syrian Civil War and the related negotiations over the future of the country"
        " and its many regions"
    )
    async with (
        FeedServer(tmp_path / "feeds") as wire,
        running_bot(standin, tmp_path / "c.db", prepare=sample) as bot,
    ):
        wire.set_file("wire.xml", wire_rss(OLD))
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await bot.storage.entities.alias("Syria", long_name)
        for name in ("Russia", "Iraq", long_name):
            handle = await standin.send_slash_command("subscribe", {"entity": name}, user=ANNA)
            assert "now follow" in (await handle.callback()).json["data"]["content"]

        now = dt.datetime.now(dt.UTC)
        older = [
            ("s-1", "Syria reopens a border crossing for the harvest"),
            ("i-1", "Iraq opens a new bridge in the capital"),
        ]
        wire.set_file("wire.xml", wire_rss([*older, *OLD], now=now - dt.timedelta(hours=1)))
        await bot.feeds.poll_all()
        newer = [(f"r-{i}", f"Russia reports item number {i} of its budget") for i in range(10)]
        wire.set_file("wire.xml", wire_rss([*newer, *older, *OLD], now=now))
        await bot.feeds.poll_all()
        await bot.alerts.sweep()

        (dm,) = dms_to(standin, ANNA)
        embed = dm.json["embeds"][0]
        assert "Russia reports item number" in embed["description"]
        assert "Syria reopens" not in embed["description"]
        assert "Iraq opens" not in embed["description"]
        (field,) = embed["fields"]
        assert field["name"] == "… and 2 more"
        searches = re.findall(
            r"^`/search query:\* entity:(.+) since:(\d{4}-\d\d-\d\d)`$",
            field["value"],
            flags=re.MULTILINE,
        )
        assert sorted(name for name, _ in searches) == sorted(["Iraq", long_name])

        # Each search, run as given, finds the event it stands for.
        found = {}
        for name, since in searches:
            handle = await standin.send_slash_command(
                "search", {"query": "*", "entity": name, "since": since}, user=ANNA
            )
            found[name] = (await handle.response())["embeds"][0]["description"]
        assert "Iraq opens a new bridge" in found["Iraq"]
        assert "Syria reopens a border crossing" in found[long_name]


async def test_long_names_are_listed_whole_on_more_pages(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """25 subscriptions whose names take 190 characters (with markdown to escape) do not fit
    one message: every one is still listed whole, on as many pages as they need."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample) as bot:
        names = []
        for name in [n.name for n in await bot.storage.entities.suggest("", limit=60)][:25]:
            long_name = f"{name}: the *long* story_of_it " + "and what came of it " * 9
            long_name = long_name[:190].strip()
            await bot.storage.entities.alias(name, long_name)
            found = await bot.storage.entities.find(long_name)
            assert found is not None and found[1] == long_name
            await bot.storage.subscriptions.subscribe(
                guild_id=DEFAULT_GUILD_ID,
                user_id=ANNA.id,
                entity_id=found[0],
                delivery="dm",
                channel_id=None,
            )
            names.append(long_name)

        handle = await standin.send_slash_command("subscriptions", user=ANNA)
        pages = [copy.deepcopy(await handle.response())]
        while not button(pages[-1], "Next").get("disabled"):
            turn = await standin.click(pages[-1], button(pages[-1], "Next")["custom_id"], user=ANNA)
            pages.append(copy.deepcopy(await turn.response()))
        assert len(pages) >= 2
        seen = []
        for page in pages:
            description = page["embeds"][0]["description"]
            assert "… and" not in description  # none left uncounted, none cut
            assert len(description) <= 4096
            shown = listed(page)
            assert len(buttons(page)) == len(shown) + 2
            seen += shown
        assert sorted(seen) == sorted(names)


BOOK_CLUB = 3_000 << 22


async def test_a_direct_message_lists_every_server_s_and_a_server_s_list_counts_the_rest(
    tmp_path: Path,
) -> None:
    """In a server, /subscriptions lists that server's and says how many more the member
    follows elsewhere; in a direct message with Chronicle it lists every server's, each
    naming its server, and removes from any of them (it had been refused in DMs, and a
    member in many servers could not see all they follow)."""
    guilds = [
        make_guild(name="Newsroom", channels=["general"]),
        make_guild(BOOK_CLUB, name="Book *club*", channels=["reading"]),
    ]
    async with (
        DiscordStandIn(guilds=guilds, users=[ANNA]) as standin,
        running_bot(standin, tmp_path / "c.db", prepare=sample, guild_id=None) as bot,
    ):
        for guild_id, name, delivery, channel in (
            (DEFAULT_GUILD_ID, "Russia", "dm", None),
            (BOOK_CLUB, "Syria", "here", BOOK_CLUB + 10),
        ):
            found = await bot.storage.entities.find(name)
            assert found is not None
            await bot.storage.subscriptions.subscribe(
                guild_id=guild_id,
                user_id=ANNA.id,
                entity_id=found[0],
                delivery=delivery,
                channel_id=channel,
            )

        handle = await standin.send_slash_command(
            "subscriptions", user=ANNA, guild_id=DEFAULT_GUILD_ID
        )
        here = (await handle.response())["embeds"][0]
        assert here["title"] == "Your subscriptions (1 of 50)"
        assert listed({"embeds": [here]}) == ["Russia"]
        assert here["footer"]["text"] == (
            "1 more in other servers: /subscriptions in a direct message with Chronicle lists"
            " every server's"
        )

        handle = await standin.send_slash_command("subscriptions", user=ANNA, dm=True)
        everywhere = copy.deepcopy(await handle.response())
        embed = everywhere["embeds"][0]
        assert embed["title"] == "Your subscriptions in every server (2)"
        assert embed["description"].splitlines() == [  # by server name
            f"• **Syria** in <#{BOOK_CLUB + 10}> · Book \\*club\\*",
            "• **Russia** by DM · Newsroom",
        ]
        removed = await standin.click(
            everywhere, button(everywhere, "Remove Syria")["custom_id"], user=ANNA
        )
        assert (await removed.callback()).json["type"] == 7
        assert listed(await removed.response()) == ["Russia"]
        assert await bot.storage.subscriptions.for_member(BOOK_CLUB, ANNA.id) == []
        assert not standin.internal_errors
