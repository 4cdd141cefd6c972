"""The portal end to end: the real bot polls a stand-in MediaWiki API over HTTP and talks to
the loopback Discord. History first; then a new item reaches a "new" digest and a
subscriber once, an edited item nobody; /about and the event card show the portal."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.client import ChronicleBot
from bot.ingest.portal import ENGLISH
from bot.scheduler import digest_job_id
from tests.conftest import TEST_DATA
from tests.e2e.fixtures import make_standin_fixture
from tests.e2e.harness import ANNA, FakeClock, dms_to, running_bot, sample
from tests.e2e.standin.constants import DEFAULT_GUILD_ID
from tests.e2e.standin.server import DiscordStandIn
from tests.support.mediawiki_server import MediaWikiStandIn

NEWS = DEFAULT_GUILD_ID + 11
MANAGE_GUILD = 1 << 5
YESTERDAY = dt.date(2024, 1, 8)
TODAY = dt.date(2024, 1, 9)
PAGE = (TEST_DATA / "wikipedia" / "2024_January_8.wiki").read_text(encoding="utf-8")
TODAYS_PAGE = PAGE.replace("|01|8|", "|01|9|")
YESTERDAYS_PAGE = (
    (TEST_DATA / "wikipedia" / "2019_March_15.wiki")
    .read_text(encoding="utf-8")
    .replace("|year=2019|month=03|day=15|", "|year=2024|month=01|day=8|")
)
NOBOA = (
    "2024/01/9/president-daniel-noboa-declares-a-60-day-state-of-emergency-after-gang-leader"
    "-josa-adolfo-macaas-escapes-from-a-prison-in-guayaquil"
)
NEW_ITEM = (
    ";Politics and elections\n"
    "*[[Daniel Noboa]] says [[Ecuador]] is in an &quot;internal armed conflict&quot; and orders"
    " the army to neutralise 22 gangs. [https://apnews.com/ecuador-conflict (''AP'')]\n"
)


standin = make_standin_fixture(channels=["general", "news"], users=[ANNA])


@pytest.fixture
async def wiki() -> AsyncIterator[MediaWikiStandIn]:
    async with MediaWikiStandIn() as server:
        server.set_page(ENGLISH.title(YESTERDAY), YESTERDAYS_PAGE)
        server.set_page(ENGLISH.title(TODAY), TODAYS_PAGE)
        yield server


def posts(standin: DiscordStandIn, channel_id: int) -> list[Any]:
    return [
        r
        for r in standin.requests_to("POST", rf"/channels/{channel_id}/messages")
        if r.status < 300
    ]


async def poll(bot: ChronicleBot, clock: FakeClock) -> None:
    """What the bot's portal job does once it is due."""
    bot.wikipedia.client.min_interval_s = 0  # the stand-in needs no second between requests
    clock.set(clock.now + dt.timedelta(minutes=10))
    await bot.poll_wikipedia()


async def test_a_new_portal_item_is_announced_once_and_an_edit_never(
    standin: DiscordStandIn, wiki: MediaWikiStandIn, tmp_path: Path
) -> None:
    clock = FakeClock(dt.datetime(2024, 1, 9, 12, 0, tzinfo=dt.UTC))
    db = tmp_path / "c.db"
    settings: dict[str, Any] = {
        "wikipedia_api_url": wiki.api_url,
        "wikipedia_contact": "ops@example.org",
        "wikipedia_poll_minutes": 10,
    }
    async with running_bot(standin, db, prepare=sample, clock=clock, **settings) as bot:
        await poll(bot, clock)  # the first poll: history
        assert (await bot.storage.stats()).extra["wikipedia_events"] == 7 + 4
        assert all("ops@example.org" in r.headers["User-Agent"] for r in wiki.requests)

        handle = await standin.send_slash_command(
            "subscribe", {"entity": "Daniel Noboa"}, user=ANNA
        )
        assert (
            "You now follow **Daniel Noboa**" in (await handle.callback()).json["data"]["content"]
        )
        handle = await standin.send_slash_command(
            "digest set",
            {"kind": "new", "channel": NEWS, "time": "18:00", "timezone": "UTC"},
            member_permissions=MANAGE_GUILD | 0x400 | 0x800,
        )
        await handle.callback()
        (digest,) = await bot.storage.digests.all()

        # An editor fixes today's Noboa item and adds a new one about him.
        edited = TODAYS_PAGE.replace(
            "60-day [[state of emergency]]", "60-day [[state of emergency]] nationwide"
        )
        wiki.set_page(
            ENGLISH.title(TODAY), edited.replace(";Law and crime\n", NEW_ITEM + ";Law and crime\n")
        )
        await poll(bot, clock)
        # Told once the next poll has read the page again (a vandal's item would be gone).
        assert dms_to(standin, ANNA) == []
        await poll(bot, clock)
        (dm,) = dms_to(standin, ANNA)
        embed = dm.json["embeds"][0]
        assert embed["title"] == "New events about Daniel Noboa"
        assert '"internal armed conflict"' in embed["description"]
        assert "nationwide" not in embed["description"]  # the edit is not news
        assert dm.json["allowed_mentions"] == {"parse": []}
        await poll(bot, clock)  # nothing changed: nothing again
        assert len(dms_to(standin, ANNA)) == 1
        last_poll = clock.now

        job = bot.chronicle_scheduler.apscheduler.get_job(digest_job_id(digest.id))
        clock.set(job.trigger.run_date)
        await job.func(*job.args)
        (post,) = posts(standin, NEWS)
        description = post.json["embeds"][0]["description"]
        assert description.count("• ") == 1 and "internal armed conflict" in description

        # The card: its category and the day page on Wikipedia.
        handle = await standin.send_slash_command("event", {"query": "internal armed conflict"})
        card = (await handle.callback()).json["data"]["embeds"][0]
        fields = {f["name"]: f["value"] for f in card["fields"]}
        assert fields["Category"] == "Politics and elections"
        assert fields["Wikipedia"] == (
            f"[Current events, 9 January 2024]({wiki.api_url.removesuffix('/w/api.php')}"
            "/wiki/Portal:Current_events/2024_January_9)"
        )
        # The edit changed the event in place (its old key still finds it).
        edited_event = await bot.storage.events.get_by_key(NOBOA)
        assert edited_event is not None
        assert "state of emergency nationwide after gang leader" in edited_event.headline
        # Search follows the edit: by a word it added and by words it kept.
        for query in ("nationwide", "Noboa emergency"):
            handle = await standin.send_slash_command("search", {"query": query})
            found = (await handle.callback()).json["data"]["embeds"][0]["description"]
            assert "state of emergency nationwide" in found, query

        handle = await standin.send_slash_command("about")
        about = (await handle.callback()).json["data"]["embeds"][0]
        portal = next(f["value"] for f in about["fields"] if f["name"] == "Wikipedia")
        assert f"last read <t:{int(last_poll.timestamp())}:R>" in portal
        assert "**2** days, **12** events" in portal

    # A restart and another poll: nothing is announced again.
    async with running_bot(standin, db, clock=clock, **settings) as bot:
        await poll(bot, clock)
        await bot.alerts.sweep()
        assert len(dms_to(standin, ANNA)) == 1 and len(posts(standin, NEWS)) == 1


async def test_a_vandal_s_item_reverted_before_the_next_poll_is_never_announced(
    standin: DiscordStandIn, wiki: MediaWikiStandIn, tmp_path: Path
) -> None:
    """A portal item is told once the next poll has read its page again: a vandal's item,
    reverted by then, reaches neither a subscriber nor a news channel; the real item that
    replaced it is told after the poll that follows."""
    clock = FakeClock(dt.datetime(2024, 1, 9, 12, 0, tzinfo=dt.UTC))
    settings: dict[str, Any] = {
        "wikipedia_api_url": wiki.api_url,
        "wikipedia_contact": "ops@example.org",
        "wikipedia_poll_minutes": 10,
    }
    vandalised = ";Politics and elections\n*[[Daniel Noboa]] resigns and flees to [[Peru]].\n"
    async with running_bot(
        standin, tmp_path / "c.db", prepare=sample, clock=clock, **settings
    ) as bot:
        await poll(bot, clock)  # the first poll: history
        handle = await standin.send_slash_command(
            "subscribe", {"entity": "Daniel Noboa"}, user=ANNA
        )
        await handle.callback()
        handle = await standin.send_slash_command(
            "digest set",
            {"kind": "new", "channel": NEWS, "every": "live"},
            member_permissions=MANAGE_GUILD | 0x400 | 0x800,
        )
        await handle.callback()

        today = ENGLISH.title(TODAY)
        wiki.set_page(
            today, TODAYS_PAGE.replace(";Law and crime\n", vandalised + ";Law and crime\n")
        )
        await poll(bot, clock)
        await bot.chronicle_scheduler.live.wait()
        assert dms_to(standin, ANNA) == [] and posts(standin, NEWS) == []

        # Reverted, and a real item added, before the next poll.
        wiki.set_page(today, TODAYS_PAGE.replace(";Law and crime\n", NEW_ITEM + ";Law and crime\n"))
        await poll(bot, clock)
        await bot.chronicle_scheduler.live.wait()
        assert dms_to(standin, ANNA) == [] and posts(standin, NEWS) == []
        await poll(bot, clock)
        await bot.chronicle_scheduler.live.wait()

        (dm,) = dms_to(standin, ANNA)
        (post,) = posts(standin, NEWS)
        for told in (dm.json["embeds"][0]["description"], post.json["embeds"][0]["description"]):
            assert "internal armed conflict" in told and "resigns" not in told
        await poll(bot, clock)
        await bot.alerts.sweep()
        await bot.chronicle_scheduler.live.wait()
        assert len(dms_to(standin, ANNA)) == 1 and len(posts(standin, NEWS)) == 1


async def test_the_preview_of_a_new_digest_leaves_out_the_portal_item_that_waits(
    standin: DiscordStandIn, wiki: MediaWikiStandIn, tmp_path: Path
) -> None:
    """/digest preview shows what the digest would post now: a portal item waiting for the
    next poll (perhaps a vandal's) is not in it, for the digest set or one not set yet;
    after that poll, it is."""
    clock = FakeClock(dt.datetime(2024, 1, 9, 12, 0, tzinfo=dt.UTC))
    settings: dict[str, Any] = {
        "wikipedia_api_url": wiki.api_url,
        "wikipedia_contact": "ops@example.org",
        "wikipedia_poll_minutes": 10,
    }
    manager = {"member_permissions": MANAGE_GUILD | 0x400 | 0x800}
    async with running_bot(
        standin, tmp_path / "c.db", prepare=sample, clock=clock, **settings
    ) as bot:
        await poll(bot, clock)  # the first poll: history
        handle = await standin.send_slash_command(
            "digest set", {"kind": "new", "channel": NEWS, "time": "18:00"}, **manager
        )
        await handle.callback()
        wiki.set_page(
            ENGLISH.title(TODAY),
            TODAYS_PAGE.replace(";Law and crime\n", NEW_ITEM + ";Law and crime\n"),
        )
        await poll(bot, clock)

        async def previews() -> list[str]:
            shown = []
            for options in ({"kind": "new"}, {"kind": "new", "entity": "Daniel Noboa"}):
                handle = await standin.send_slash_command("digest preview", options, **manager)
                data = (await handle.callback()).json["data"]
                shown.append(data["content"] or data["embeds"][0]["description"])
            return shown

        for shown in await previews():
            assert shown.startswith("Nothing would be posted now"), shown
        await poll(bot, clock)
        for shown in await previews():
            assert "internal armed conflict" in shown, shown
