"""What a 'new' digest lists, end to end: the real ChronicleBot over the loopback Discord
and a real SQLite database, feed entries stored as a poll stores them. A busy day counted
whole and never posted twice; each story taking its turn of lines, "Other news" last; the
/search named for the rest only when it lists them; /digest preview showing what the post
shows, every message of it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.client import ChronicleBot
from storage.models import FeedItem
from tests.e2e.harness import EPHEMERAL, FakeClock, fire, only_digest, running_bot, sample
from tests.e2e.news_channels_support import (
    MANAGER,
    NEWS,
    OLD,
    clock_fixture,  # noqa: F401 -- a fixture, found by pytest as `clock`
    descriptions,
    digest_set,
    long_items,
    posts,
    standin_fixture,  # noqa: F401 -- a fixture, found by pytest as `standin`
    wire_fixture,  # noqa: F401 -- a fixture, found by pytest as `wire`
)
from tests.e2e.standin.server import DiscordStandIn
from tests.support.feed_server import FeedServer, wire_rss

HEADING = re.compile(r"^\*\*(.+?)\*\*(?: \(continued\))?$", re.MULTILINE)
MORE = re.compile(r"… and ([\d,]+) more(.*)")
Entry = tuple[str, str, tuple[str, ...]]  # (guid, headline, entities)


async def feed(bot: ChronicleBot, wire: FeedServer, clock: FakeClock, name: str = "wire") -> int:
    """A feed added now, its current entries history."""
    wire.set_file(f"{name}.xml", wire_rss(OLD, clock()))
    return (await bot.feeds.add_feed(wire.url(f"{name}.xml"), name=name)).feed.id


async def polled(
    bot: ChronicleBot, feed_id: int, at: dt.datetime, entries: Sequence[Entry], lang: str = "en"
) -> None:
    """A poll of the feed at `at` brought these entries as news, stored as a poll stores
    them (thousands at once, without serving thousands of feed documents)."""
    items = [
        FeedItem(
            identity=guid,
            key=f"{at.date():%Y/%m/%d}/{guid}",
            date=at.date(),
            headline=headline,
            summary="",
            lang=lang,
            link=f"https://wire.example/{guid}",
            entities=entities,
            announce=True,
        )
        for guid, headline, entities in entries
    ]
    stored = await bot.storage.feeds.record_success(
        feed_id,
        at=at,
        next_poll_at=at + dt.timedelta(minutes=10),
        etag=None,
        last_modified=None,
        items=items,
    )
    assert stored is not None and len(stored.created) == len(entries)


def text(messages: Sequence[dict[str, Any]]) -> str:
    return "\n".join(descriptions(m) for m in messages)


def listed(messages: Sequence[dict[str, Any]]) -> int:
    return sum(line.startswith("• ") for line in text(messages).splitlines())


def more(messages: Sequence[dict[str, Any]]) -> list[int]:
    return [int(n.replace(",", "")) for n, _ in MORE.findall(text(messages))]


async def daily(standin: DiscordStandIn, bot: ChronicleBot, **options: Any) -> int:
    await digest_set(
        standin, kind="new", channel=NEWS, every="daily", time="23:00", timezone="UTC", **options
    )
    return await only_digest(bot)


async def test_a_busy_day_is_counted_whole_and_not_posted_again_the_next_day(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    """6,000 events in a day from three feeds: the daily digest lists 25 and counts the
    other 5,975 (not 4,975), each story those it left out, and the next day, with nothing
    new, posts nothing (not the 1,000 it had not read)."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        feeds = [await feed(bot, wire, clock, name) for name in ("a", "b", "c")]
        digest_id = await daily(standin, bot)
        places = ("Syria", "Russia", "Iraq", "Turkey", "Iran", "Egypt")
        for poll in range(20):
            at = clock() + dt.timedelta(minutes=30 * (poll + 1))
            for f, feed_id in enumerate(feeds):
                await polled(
                    bot,
                    feed_id,
                    at,
                    [
                        (
                            f"f{f}-p{poll}-{n}",
                            f"Officials in {places[n % 6]} report {f}-{poll}-{n}",
                            (places[n % 6],),
                        )
                        for n in range(100)
                    ],
                )
        await fire(bot, clock, digest_id)
        first_day = posts(standin, NEWS)
        assert (listed(first_day), sum(more(first_day))) == (25, 5975)

        await fire(bot, clock, digest_id)
        assert posts(standin, NEWS) == first_day


async def a_day_of(
    standin: DiscordStandIn,
    bot: ChronicleBot,
    wire: FeedServer,
    clock: FakeClock,
    stories: Sequence[tuple[tuple[str, ...], int]],
) -> list[dict[str, Any]]:
    """Each (entities, count) of stories arrives in turn, an event a minute; what the daily
    digest posts at 23:00 UTC."""
    feed_id = await feed(bot, wire, clock)
    digest_id = await daily(standin, bot)
    n = 0
    for entities, count in stories:
        for _ in range(count):
            n += 1
            about = entities[0] if entities else "the region"
            at = clock() + dt.timedelta(minutes=n)
            await polled(bot, feed_id, at, [(f"i-{n}", f"Item {n}: news from {about}", entities)])
    await fire(bot, clock, digest_id)
    return posts(standin, NEWS)


async def test_each_story_takes_its_turn_and_other_news_comes_last(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    """60 events that name nothing known, then 15 about Syria and 10 about Russia: the
    digest leads with Syria and Russia, ten lines each, and ends with five of "Other news"
    (it had listed 25 of "Other news" alone, the largest group), each counting the rest."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        messages = await a_day_of(
            standin, bot, wire, clock, [((), 60), (("Syria",), 15), (("Russia",), 10)]
        )
    assert HEADING.findall(text(messages)) == ["Syria", "Russia", "Other news"]
    assert (listed(messages), more(messages)) == (25, [5, 55])


async def test_one_busy_story_does_not_take_every_line(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    """Five stories of 30 events each: five lines of each, the newest story first (it had
    listed 25 of the newest story alone)."""
    stories = ("Syria", "Russia", "Iraq", "Turkey", "Iran")
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        messages = await a_day_of(standin, bot, wire, clock, [((s,), 30) for s in stories])
    assert HEADING.findall(text(messages)) == list(reversed(stories))
    assert (listed(messages), more(messages)) == (25, [25] * 5)


async def test_a_digest_in_another_language_than_the_servers_names_no_search(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    """A language: zh digest in an English server, 30 Chinese events: it lists 25 and says
    "… and 5 more", naming no /search (the server's /search lists English events only, so
    the one it named found none of the five)."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        feed_id = await feed(bot, wire, clock)
        digest_id = await daily(standin, bot, language="zh")
        for n in range(30):
            at = clock() + dt.timedelta(minutes=10 * (n + 1))
            await polled(bot, feed_id, at, [(f"zh-{n}", f"第{n}号新闻：和平谈判", ())], lang="zh")
            await polled(bot, feed_id, at, [(f"en-{n}", f"Item {n}: peace talks resume", ())])
        await fire(bot, clock, digest_id)
        messages = posts(standin, NEWS)
    assert MORE.findall(text(messages)) == [("5", " in Other news")]
    assert "peace talks" not in text(messages)


async def preview(standin: DiscordStandIn, messages: int = 1) -> list[dict[str, Any]]:
    """What the manager sees of /digest preview kind:new: its answer and the messages that
    follow it, `messages` in all."""
    handle = await standin.send_slash_command("digest preview", {"kind": "new"}, **MANAGER)
    await handle.callback()
    if messages > 1:
        await handle.followups(messages - 1)
    shown = handle.messages
    assert len(shown) == messages and all(m["flags"] & EPHEMERAL for m in shown)
    return shown


async def test_the_preview_of_an_hourly_digest_lists_what_its_post_lists(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    """An hourly digest, 60 new events: the preview lists 50 and "… and 10 more", as the
    hour's post does (it listed 25 and "… and 35 more")."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        feed_id = await feed(bot, wire, clock)
        await digest_set(standin, kind="new", channel=NEWS, every="hourly", time="30")
        digest_id = await only_digest(bot)
        at = clock() + dt.timedelta(minutes=5)
        await polled(
            bot, feed_id, at, [(f"h-{n}", f"Item {n}: talks in Geneva", ()) for n in range(60)]
        )
        shown = await preview(standin)
        await fire(bot, clock, digest_id)
        posted = posts(standin, NEWS)
    assert (listed(shown), more(shown)) == (listed(posted), more(posted)) == (50, [10])


async def test_the_preview_of_a_long_digest_shows_every_message_it_would_post(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    """40 new events with long headlines: the daily post is two messages, 25 listed and
    "… and 15 more". The preview shows both, privately (it showed the first message alone,
    about half the events, with nothing saying there was more)."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        feed_id = await feed(bot, wire, clock)
        digest_id = await daily(standin, bot)
        at = clock() + dt.timedelta(minutes=5)
        await polled(bot, feed_id, at, [(g, title, ()) for g, title in long_items("x", 40)])
        shown = await preview(standin, messages=2)
        await fire(bot, clock, digest_id)
        posted = posts(standin, NEWS)
    assert len(posted) == 2
    assert [text([m]) for m in shown] == [text([m]) for m in posted]
    assert (listed(shown), more(shown)) == (25, [15])
