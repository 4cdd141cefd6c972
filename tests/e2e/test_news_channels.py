"""News channels end to end: the real ChronicleBot over the loopback Discord, a real SQLite
database, and real RSS feeds served over HTTP on 127.0.0.1.

Live, hourly and daily digests with filters, in text, announcement and forum channels and
threads; role mentions, publishing, pausing when a permission goes, splitting long runs and
keeping inside Discord's rate limits -- each checked as the people in the server see it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

from bot.client import ChronicleBot
from bot.pacing import PostPacer
from bot.scheduler import digest_job_id
from bot.services.imports import import_archive
from storage import Storage
from tests.conftest import SAMPLE_NEWS
from tests.e2e.harness import FakeClock, dms_to, running_bot
from tests.e2e.standin.constants import (
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_GUILD_ID,
    EMBED_LINKS,
    GUILD_ANNOUNCEMENT,
    GUILD_FORUM,
    MENTION_EVERYONE,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
)
from tests.e2e.standin.model import (
    DEFAULT_USER,
    ChannelSpec,
    GuildSpec,
    RoleSpec,
    make_guild,
    make_thread,
)
from tests.e2e.standin.records import RateLimits
from tests.e2e.standin.server import DiscordStandIn
from tests.support.feed_server import FeedServer

UTC = dt.UTC
EPHEMERAL = 64
MANAGE_GUILD = 1 << 5
MANAGER = {"member_permissions": MANAGE_GUILD | 0x400 | 0x800}

GENERAL = DEFAULT_GUILD_ID + 10
NEWS = DEFAULT_GUILD_ID + 11
ANNOUNCEMENTS = DEFAULT_GUILD_ID + 12
PRESS = DEFAULT_GUILD_ID + 13
FORUM = DEFAULT_GUILD_ID + 14
THREAD = DEFAULT_GUILD_ID + 15
NEWS_ROLE = DEFAULT_GUILD_ID + 60
QUIET_ROLE = DEFAULT_GUILD_ID + 61

START = dt.datetime(2026, 6, 16, 12, 0, tzinfo=UTC)
POLL_GAP = dt.timedelta(minutes=11)  # feeds are polled every 10 minutes
LINK = re.compile(r"\]\(https://wire\.example/([\w-]+)\)")

Item = tuple[str, str]  # (guid, title)
OLD: list[Item] = [("old-1", "Ministers meet in Brussels to discuss the budget")]


def news_guild(guild_id: int = DEFAULT_GUILD_ID) -> GuildSpec:
    """#general (the system channel), #news, two announcement channels, a forum, a thread
    under #general, and a mentionable and a non-mentionable role."""
    spec = make_guild(
        guild_id,
        channels=[
            "general",
            "news",
            ChannelSpec(guild_id + 12, "announcements", type=GUILD_ANNOUNCEMENT, position=2),
            ChannelSpec(guild_id + 13, "press", type=GUILD_ANNOUNCEMENT, position=3),
            ChannelSpec(guild_id + 14, "digests", type=GUILD_FORUM, position=4),
            make_thread(guild_id + 10, guild_id + 15, "world-news"),
        ],
        roles=[
            RoleSpec(guild_id + 60, "news", position=2, mentionable=True),
            RoleSpec(guild_id + 61, "quiet", position=3, mentionable=False),
        ],
    )
    spec.system_channel_id = guild_id + 10
    return spec


def rss(now: dt.datetime, items: Sequence[Item]) -> bytes:
    """An RSS document with (guid, title) items, newest first, dated just before `now`."""
    body = "".join(
        f"<item><guid>{guid}</guid><title>{escape(title)}</title>"
        f"<link>https://wire.example/{guid}</link>"
        f"<pubDate>{format_datetime(now - dt.timedelta(minutes=n))}</pubDate></item>"
        for n, (guid, title) in enumerate(items)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
        f"<link>https://wire.example/</link>{body}</channel></rss>"
    ).encode()


async def sample(storage: Storage) -> None:
    await import_archive(storage, [SAMPLE_NEWS])


@pytest.fixture
async def standin() -> AsyncIterator[DiscordStandIn]:
    async with DiscordStandIn(guilds=[news_guild()]) as api:
        yield api
    assert not api.internal_errors


@pytest.fixture
async def wire(tmp_path: Path) -> AsyncIterator[FeedServer]:
    async with FeedServer(tmp_path / "feeds") as server:
        server.set_file("wire.xml", rss(START, OLD))
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


async def digest_set(
    standin: DiscordStandIn, *, guild_id: int = DEFAULT_GUILD_ID, **options: Any
) -> str:
    """A manager runs /digest set in a server; its (ephemeral) reply."""
    handle = await standin.send_slash_command("digest set", options, guild_id=guild_id, **MANAGER)
    data = (await handle.callback()).json["data"]
    assert data["flags"] & EPHEMERAL
    return str(data["content"])


async def digest_list(standin: DiscordStandIn, guild_id: int = DEFAULT_GUILD_ID) -> str:
    handle = await standin.send_slash_command("digest list", guild_id=guild_id, **MANAGER)
    data = (await handle.callback()).json["data"]
    assert data["flags"] & EPHEMERAL
    return str(data["embeds"][0]["description"])


async def ingest(
    bot: ChronicleBot,
    clock: FakeClock,
    wire: FeedServer,
    items: Sequence[Item] | Mapping[str, Sequence[Item]],
) -> None:
    """The feeds now hold these items (wire.xml's, or by feed file); ten minutes on, the
    bot's feed job polls them and live digests post what they brought."""
    clock.set(clock() + POLL_GAP)
    feeds = items if isinstance(items, Mapping) else {"wire.xml": items}
    for path, listed in feeds.items():
        wire.set_file(path, rss(clock(), listed))
    await bot.poll_feeds()
    await bot.chronicle_scheduler.live.wait()


async def fire(bot: ChronicleBot, clock: FakeClock, digest_id: int) -> dt.datetime:
    """Move the clock to the digest's next run and run the job the scheduler would run."""
    job = bot.chronicle_scheduler.apscheduler.get_job(digest_job_id(digest_id))
    assert job is not None
    when: dt.datetime = job.trigger.run_date
    clock.set(when)
    await job.func(*job.args)
    return when


async def only_digest(bot: ChronicleBot) -> int:
    (digest,) = await bot.storage.digests.all()
    return digest.id


WORDS = [
    "ministers",
    "officials",
    "observers",
    "talks",
    "border",
    "ceasefire",
    "villages",
    "river",
    "bridge",
    "convoy",
    "harvest",
    "prices",
    "fuel",
    "shortage",
    "protest",
    "capital",
    "coalition",
    "parliament",
    "budget",
    "inquiry",
    "report",
    "tribunal",
    "airport",
    "flights",
    "storm",
    "coast",
    "rescue",
    "volunteers",
    "hospital",
    "vaccine",
    "schools",
    "teachers",
    "strike",
    "union",
    "wages",
    "factory",
    "exports",
    "imports",
    "currency",
    "markets",
    "bank",
    "election",
    "ballots",
    "turnout",
    "candidates",
    "debate",
    "governor",
    "mayor",
    "police",
    "court",
    "verdict",
    "appeal",
    "reform",
    "pension",
    "housing",
    "rents",
    "drought",
    "wildfire",
    "evacuation",
    "shelters",
    "aid",
]


def long_items(prefix: str, count: int) -> list[Item]:
    """Items with long (about 250 characters), distinct headlines: no two the same story."""
    items = []
    for n in range(count):
        words = random.Random(f"{prefix}-{n}").sample(WORDS, 30)
        items.append((f"{prefix}-{n:02d}", f"Report {prefix} {n:02d}: {' '.join(words)}"))
    return items


def posts(standin: DiscordStandIn, channel_id: int) -> list[dict[str, Any]]:
    """The messages everyone sees in a channel or thread (not the ephemeral replies)."""
    return [m for m in standin.messages_in(channel_id) if not m["flags"] & EPHEMERAL]


def descriptions(message: dict[str, Any]) -> str:
    return "\n".join(e.get("description") or "" for e in message["embeds"])


def guids(messages: Sequence[dict[str, Any]]) -> list[str]:
    """The feed items the messages list, in order (each item links to its page)."""
    return [g for m in messages for g in LINK.findall(descriptions(m))]


# --------------------------------------------------------------------------------------------
# 1. Live, one entity, across a restart
# --------------------------------------------------------------------------------------------


async def test_live_digest_posts_each_matching_event_once_across_a_restart(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    db = tmp_path / "c.db"
    async with running_bot(standin, db, prepare=sample, clock=clock) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        reply = await digest_set(standin, kind="new", channel=NEWS, every="live", entity="ISIL")
        assert "about Islamic State" in reply and "as new events arrive" in reply
        first = [
            ("n-1", "ISIL fighters retreat from the outskirts of Raqqa"),
            ("n-2", "Islamic State loses its last stronghold in the desert"),
            ("n-3", "Heavy snow closes mountain passes in the Alps"),
            *OLD,
        ]
        await ingest(bot, clock, wire, first)
        (post,) = posts(standin, NEWS)
        assert sorted(guids([post])) == ["n-1", "n-2"]
        assert post["embeds"][0]["title"] == "New events"
        assert "ISIL fighters retreat" in descriptions(post)
        assert post["mention_roles"] == [] and post["mentions"] == []

    # Restarted on the same database a minute later: nothing is posted again.
    clock.set(clock() + dt.timedelta(minutes=1))
    async with running_bot(standin, db, clock=clock) as bot:
        await bot.chronicle_scheduler.live.wait()  # the start's catch-up round
        assert len(posts(standin, NEWS)) == 1
        second = [
            ("n-4", "Daesh claims an attack near Palmyra"),
            ("n-5", "Stocks rally in Tokyo as the yen weakens"),
            *first,
        ]
        await ingest(bot, clock, wire, second)
        posted = posts(standin, NEWS)
        assert len(posted) == 2
        assert guids(posted[1:]) == ["n-4"]
        # Another poll with nothing new posts nothing.
        await ingest(bot, clock, wire, second)
        assert len(posts(standin, NEWS)) == 2

    assert sorted(guids(posts(standin, NEWS))) == ["n-1", "n-2", "n-4"]
    assert standin.duplicate_messages() == []
    assert standin.message_counts() == {NEWS: 2}


# --------------------------------------------------------------------------------------------
# 2. Hourly, by words and language
# --------------------------------------------------------------------------------------------


async def test_hourly_digest_by_words_and_language(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        reply = await digest_set(
            standin,
            kind="new",
            channel=NEWS,
            every="hourly",
            time="15",
            timezone="Asia/Tokyo",
            words="earthquake OR 地震",
            language="en",
        )
        assert "every hour at :15" in reply
        assert "matching “earthquake OR 地震”" in reply and "language en" in reply
        digest_id = await only_digest(bot)
        items = [
            ("e-1", "Earthquake of magnitude 7.1 strikes off the coast of Chile"),
            ("e-2", "Parliament passes the budget after a long night"),
            ("z-1", "智利沿海发生7.1级地震"),
            ("z-2", "日本股市上涨"),
            ("e-3", "Rescuers search for survivors after the earthquake in Chile"),
            *OLD,
        ]
        await ingest(bot, clock, wire, items)
        assert posts(standin, NEWS) == []  # an hourly digest waits for its time
        row = await bot.storage.db.fetchone(
            "SELECT lang FROM events WHERE headline = ?", ("智利沿海发生7.1级地震",)
        )
        assert row is not None and row[0] == "zh"  # it matches the words, not the language

        when = await fire(bot, clock, digest_id)
        assert when == dt.datetime(2026, 6, 16, 12, 15, tzinfo=UTC)  # 21:15 in Tokyo
        (post,) = posts(standin, NEWS)
        assert sorted(guids([post])) == ["e-1", "e-3"]
        assert post["embeds"][0]["title"] == "New events"
        (run,) = await bot.storage.digests.runs_for(digest_id)
        assert (run.slot, run.status) == ("2026-06-16T21", "sent")  # the local hour

        # The next hour brings nothing that matches: nothing is posted.
        await ingest(bot, clock, wire, [("e-4", "Heavy rain floods streets in Mumbai"), *items])
        when = await fire(bot, clock, digest_id)
        assert when == dt.datetime(2026, 6, 16, 13, 15, tzinfo=UTC)
        # ... nor the hour after, with nothing new at all.
        when = await fire(bot, clock, digest_id)
        assert when == dt.datetime(2026, 6, 16, 14, 15, tzinfo=UTC)
        assert len(posts(standin, NEWS)) == 1
        assert bot.chronicle_scheduler.next_run_time(digest_id) == dt.datetime(
            2026, 6, 16, 15, 15, tzinfo=UTC
        )

        # The same words in every language would have taken the Chinese event too.
        handle = await standin.send_slash_command(
            "digest preview",
            {"kind": "new", "words": "earthquake OR 地震", "language": "all"},
            **MANAGER,
        )
        preview = descriptions((await handle.callback()).json["data"])
        assert "智利沿海发生7.1级地震" in preview


# --------------------------------------------------------------------------------------------
# 3. A forum: a post per run
# --------------------------------------------------------------------------------------------


async def test_forum_digest_is_a_dated_post_per_run(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        reply = await digest_set(
            standin, kind="new", channel=FORUM, every="daily", time="18:00", timezone="UTC"
        )
        assert f"<#{FORUM}>" in reply and "every day at 18:00 (UTC)" in reply
        digest_id = await only_digest(bot)

        day_one = [("d-1", "Floods hit the south of the country"), *OLD]
        await ingest(bot, clock, wire, day_one)
        await fire(bot, clock, digest_id)
        day_two = [("d-2", "Talks resume in Geneva"), ("d-3", "A new bridge opens"), *day_one]
        await ingest(bot, clock, wire, day_two)
        await fire(bot, clock, digest_id)

        created = standin.requests_to("POST", rf"/channels/{FORUM}/threads")
        assert [r.status for r in created] == [201, 201]
        assert [r.json["name"] for r in created] == [
            "New events — June 16, 2026",
            "New events — June 17, 2026",
        ]
        threads = [int(r.response["id"]) for r in created]
        assert len(set(threads)) == 2
        spec = standin.guilds[DEFAULT_GUILD_ID]
        for thread_id, expected in zip(threads, (["d-1"], ["d-2", "d-3"]), strict=True):
            assert spec.channel(thread_id).parent_id == FORUM
            (first,) = posts(standin, thread_id)  # the post's first message
            assert first["id"] == str(thread_id)
            assert first["embeds"][0]["title"] == "New events"
            assert sorted(guids([first])) == expected
        assert created[0].json["message"]["allowed_mentions"] == {"parse": []}
        assert posts(standin, FORUM) == []
        runs = await bot.storage.digests.runs_for(digest_id)
        assert sorted((r.slot, r.status) for r in runs) == [
            ("2026-06-16", "sent"),
            ("2026-06-17", "sent"),
        ]


# --------------------------------------------------------------------------------------------
# 4. Role mentions
# --------------------------------------------------------------------------------------------


async def test_role_is_pinged_once_per_run_and_alone(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        for name in ("a.xml", "b.xml"):
            wire.set_file(name, rss(clock(), OLD))
            await bot.feeds.add_feed(wire.url(name), name=name)
        reply = await digest_set(standin, kind="new", channel=NEWS, every="live", role=NEWS_ROLE)
        assert f"<#{NEWS}>" in reply
        assert f"mentions <@&{NEWS_ROLE}>" in await digest_list(standin)

        await ingest(bot, clock, wire, {"a.xml": long_items("a", 15), "b.xml": long_items("b", 15)})
        sent = [
            r for r in standin.requests_to("POST", rf"/channels/{NEWS}/messages") if r.status < 300
        ]
        assert len(sent) >= 2  # a run of several messages
        first, *rest = sent
        assert first.json["content"] == f"<@&{NEWS_ROLE}>"
        # discord.py sends the role ids as numbers.
        assert first.json["allowed_mentions"] == {"parse": [], "roles": [NEWS_ROLE]}
        for request in rest:
            assert not request.json.get("content")
            assert request.json["allowed_mentions"] == {"parse": []}
        messages = posts(standin, NEWS)
        assert [m["mention_roles"] for m in messages] == [[str(NEWS_ROLE)]] + [[]] * len(rest)
        assert not any(m["mention_everyone"] or m["mentions"] for m in messages)
        assert len(guids(messages)) == 30

        # @everyone is never pinged; a role nobody may ping needs Mention Everyone.
        reply = await digest_set(
            standin, kind="new", channel=GENERAL, every="live", role=DEFAULT_GUILD_ID
        )
        assert "never pings @everyone" in reply
        reply = await digest_set(
            standin, kind="new", channel=GENERAL, every="live", role=QUIET_ROLE
        )
        assert f"cannot ping <@&{QUIET_ROLE}>" in reply and "mentionable" in reply
        assert len(await bot.storage.digests.all()) == 1

        await standin.set_bot_permissions(DEFAULT_BOT_PERMISSIONS | MENTION_EVERYONE)
        reply = await digest_set(
            standin, kind="new", channel=GENERAL, every="live", role=QUIET_ROLE
        )
        assert f"<#{GENERAL}>" in reply and "cannot" not in reply
        await ingest(bot, clock, wire, {"a.xml": [("q-1", "Quiet news"), *long_items("a", 15)]})
        (quiet,) = posts(standin, GENERAL)
        assert quiet["content"] == f"<@&{QUIET_ROLE}>"
        assert quiet["mention_roles"] == [str(QUIET_ROLE)]
        assert guids([quiet]) == ["q-1"]


# --------------------------------------------------------------------------------------------
# 5. A permission taken away at runtime
# --------------------------------------------------------------------------------------------


async def test_revoked_permission_pauses_and_tells_the_creator_once(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        options = {"kind": "new", "channel": NEWS, "every": "live", "entity": "Russia"}
        await digest_set(standin, **options)
        digest_id = await only_digest(bot)
        items = [("r-1", "Russia recalls its ambassador"), *OLD]
        await ingest(bot, clock, wire, items)
        assert guids(posts(standin, NEWS)) == ["r-1"]

        await standin.set_bot_overwrite(NEWS, deny=SEND_MESSAGES)
        items = [("r-2", "Russia hosts talks on grain exports"), *items]
        await ingest(bot, clock, wire, items)
        digest = await bot.storage.digests.get(digest_id)
        assert digest is not None and digest.paused
        (notice,) = dms_to(standin, DEFAULT_USER)
        text = notice.json["content"]
        assert "paused" in text and f"<#{NEWS}>" in text and "/digest set" in text
        assert "Send Messages" in text
        assert notice.json["allowed_mentions"] == {"parse": []}
        listing = await digest_list(standin)
        assert "paused: Discord answered 403" in listing and " since <t:" in listing
        assert "next:" not in listing

        # Later polls neither try the channel nor tell anyone again.
        attempts = len(standin.requests_to("POST", rf"/channels/{NEWS}/messages"))
        items = [("r-3", "Russia and Ukraine swap prisoners"), *items]
        await ingest(bot, clock, wire, items)
        assert len(standin.requests_to("POST", rf"/channels/{NEWS}/messages")) == attempts
        assert len(dms_to(standin, DEFAULT_USER)) == 1
        assert len(posts(standin, NEWS)) == 1

        # /digest set refuses while the permission is missing, and resumes once it is back.
        reply = await digest_set(standin, **options)
        assert "missing Send Messages" in reply
        still = await bot.storage.digests.get(digest_id)
        assert still is not None and still.paused
        await standin.set_bot_overwrite(NEWS)
        reply = await digest_set(standin, **options)
        assert "is now posted" in reply
        assert "paused" not in await digest_list(standin)
        items = [("r-4", "Russia launches a weather satellite"), *items]
        await ingest(bot, clock, wire, items)
        posted = posts(standin, NEWS)
        assert len(posted) == 2 and "r-4" in guids(posted[1:])
        assert sorted(guids(posted)) == ["r-1", "r-2", "r-3", "r-4"]
        assert len(dms_to(standin, DEFAULT_USER)) == 1


# --------------------------------------------------------------------------------------------
# 6. Announcement channels
# --------------------------------------------------------------------------------------------


async def test_announcement_posts_are_published_when_asked(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        reply = await digest_set(standin, kind="new", channel=NEWS, every="live", publish=True)
        assert f"<#{NEWS}> is not an announcement channel" in reply
        assert await bot.storage.digests.all() == []
        await digest_set(standin, kind="new", channel=ANNOUNCEMENTS, every="live", publish=True)
        await digest_set(standin, kind="new", channel=PRESS, every="live")
        assert "published" in await digest_list(standin)

        items = [("p-1", "Elections are called for October"), *OLD]
        await ingest(bot, clock, wire, items)
        await ingest(bot, clock, wire, [("p-2", "The central bank holds rates"), *items])

        announced = posts(standin, ANNOUNCEMENTS)
        assert [guids([m]) for m in announced] == [["p-1"], ["p-2"]]
        assert [m["id"] for m in standin.published_messages(ANNOUNCEMENTS)] == [
            m["id"] for m in announced
        ]
        assert [guids([m]) for m in posts(standin, PRESS)] == [["p-1"], ["p-2"]]
        assert standin.published_messages(PRESS) == []
        assert standin.requests_to("POST", rf"/channels/{PRESS}/messages/\d+/crosspost") == []


async def test_publishing_over_discords_hourly_limit_is_skipped_not_waited_for(
    wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    limits = RateLimits(global_per_second=None, channel_messages=None, crossposts=(2, 3600.0))
    async with (
        DiscordStandIn(guilds=[news_guild()], rate_limits=limits) as standin,
        running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot,
    ):
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await digest_set(standin, kind="new", channel=ANNOUNCEMENTS, every="live", publish=True)
        items: list[Item] = list(OLD)
        for n in range(1, 4):
            items = [(f"c-{n}", f"Crosspost story number {n} of the day"), *items]
            # Crossposts have their own limit: they do not hold up the channel's posts.
            await asyncio.wait_for(ingest(bot, clock, wire, items), 2)
        # Two crossposts an hour here: every post is there, the first published, the ones
        # refused left unpublished, and the digest goes on. (The stand-in's crosspost
        # bucket announces its hour in its headers, and discord.py, told to wait a minute
        # at most, then refuses every crosspost until the hour is over, even with one left.)
        announced = posts(standin, ANNOUNCEMENTS)
        assert [guids([m]) for m in announced] == [["c-1"], ["c-2"], ["c-3"]]
        published = [m["id"] for m in standin.published_messages()]
        assert published[:1] == [announced[0]["id"]] and len(published) <= 2
        assert standin.rate_limit_stats.crosspost_429s == 0
        (digest,) = await bot.storage.digests.all()
        assert not digest.paused
    assert not standin.internal_errors


# --------------------------------------------------------------------------------------------
# 7. A thread
# --------------------------------------------------------------------------------------------


async def test_thread_digest_posts_in_the_thread(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        reply = await digest_set(standin, kind="new", channel=THREAD, every="live")
        assert f"<#{THREAD}>" in reply
        assert f"<#{THREAD}>" in await digest_list(standin)
        await ingest(bot, clock, wire, [("t-1", "A comet is visible tonight"), *OLD])
        (post,) = posts(standin, THREAD)
        assert guids([post]) == ["t-1"] and post["channel_id"] == str(THREAD)
        assert posts(standin, GENERAL) == []
        assert standin.message_counts() == {THREAD: 1}

        # A thread archived for inactivity takes the next post (and opens again).
        await standin.update_channel(THREAD, archived=True)
        items = [("t-2", "The comet's tail grows longer"), ("t-1", "A comet is visible tonight")]
        await ingest(bot, clock, wire, [*items, *OLD])
        assert guids(posts(standin, THREAD)[1:]) == ["t-2"]
        assert not standin.guilds[DEFAULT_GUILD_ID].channel(THREAD).archived

        # A locked one cannot: the digest pauses and its creator is told.
        await standin.update_channel(THREAD, locked=True)
        await ingest(bot, clock, wire, [("t-3", "Astronomers name the comet"), *items, *OLD])
        assert len(posts(standin, THREAD)) == 2
        (digest,) = await bot.storage.digests.all()
        assert digest.paused and "403" in (digest.paused_reason or "")
        (notice,) = dms_to(standin, DEFAULT_USER)
        assert f"<#{THREAD}>" in notice.json["content"]
        assert "Send Messages in Threads" in notice.json["content"]


# --------------------------------------------------------------------------------------------
# 8. Permissions checked per channel type
# --------------------------------------------------------------------------------------------


async def test_set_checks_the_permissions_each_channel_type_needs(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample) as bot:
        await standin.set_bot_overwrite(FORUM, deny=SEND_MESSAGES_IN_THREADS)
        reply = await digest_set(standin, kind="new", channel=FORUM, every="live")
        assert f"I cannot post digests in <#{FORUM}>" in reply
        assert "missing Send Messages in Threads there" in reply

        await standin.set_bot_overwrite(FORUM, deny=SEND_MESSAGES)
        reply = await digest_set(standin, kind="new", channel=FORUM, every="live")
        assert "missing Send Messages (Create Posts)" in reply
        assert "Send Messages in Threads" not in reply

        # A thread needs Send Messages in Threads (from its parent), not Send Messages.
        await standin.set_bot_overwrite(GENERAL, deny=SEND_MESSAGES_IN_THREADS)
        reply = await digest_set(standin, kind="new", channel=THREAD, every="live")
        assert f"<#{THREAD}>" in reply and "missing Send Messages in Threads" in reply
        await standin.set_bot_overwrite(GENERAL, deny=SEND_MESSAGES)
        reply = await digest_set(standin, kind="new", channel=THREAD, every="live")
        assert "missing" not in reply and f"<#{THREAD}>" in reply

        await standin.set_bot_overwrite(PRESS, deny=EMBED_LINKS)
        reply = await digest_set(standin, kind="new", channel=PRESS, every="live")
        assert "missing Embed Links" in reply
        await standin.set_bot_overwrite(ANNOUNCEMENTS, deny=SEND_MESSAGES | EMBED_LINKS)
        reply = await digest_set(standin, kind="onthisday", channel=ANNOUNCEMENTS, time="09:00")
        assert "missing Send Messages, Embed Links" in reply

        assert [d.channel_id for d in await bot.storage.digests.all()] == [THREAD]


# --------------------------------------------------------------------------------------------
# 9. Long runs split across messages
# --------------------------------------------------------------------------------------------


def embed_size(embed: dict[str, Any]) -> int:
    """What Discord counts against an embed's 6,000 characters."""
    size = len(embed.get("title") or "") + len(embed.get("description") or "")
    size += len((embed.get("footer") or {}).get("text") or "")
    size += len((embed.get("author") or {}).get("name") or "")
    return size + sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields") or [])


@pytest.mark.parametrize("channel", [NEWS, FORUM], ids=["text", "forum"])
async def test_a_long_live_run_is_split_never_cut(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path, channel: int
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        feeds = {f"{p}.xml": long_items(p, 15) for p in ("a", "b", "c")}
        for name in feeds:
            wire.set_file(name, rss(clock(), OLD))
            await bot.feeds.add_feed(wire.url(name), name=name)
        await digest_set(standin, kind="new", channel=channel, every="live")
        await ingest(bot, clock, wire, feeds)

        if channel == FORUM:
            (created,) = standin.requests_to("POST", rf"/channels/{FORUM}/threads")
            assert created.json["name"] == "New events — June 16, 2026 12:11 UTC"
            posted_in = int(created.response["id"])
        else:
            posted_in = NEWS
        messages = posts(standin, posted_in)
        assert len(messages) >= 3
        assert standin.message_counts() == {posted_in: len(messages)}
        listed = guids(messages)
        assert sorted(listed) == sorted(g for items in feeds.values() for g, _ in items)
        for message in messages:
            embeds = message["embeds"]
            assert 1 <= len(embeds) <= 10
            assert all(len(e["description"]) <= 4096 for e in embeds)
            assert sum(embed_size(e) for e in embeds) <= 6000
            assert all(line.startswith(("• ", "**")) for line in descriptions(message).splitlines())
        assert messages[0]["embeds"][0]["title"] == "New events"
        assert {e["title"] for m in messages[1:] for e in m["embeds"]} == {"New events (continued)"}
        assert "… and" not in "".join(descriptions(m) for m in messages)  # all 45 listed
        assert standin.duplicate_messages() == []


# --------------------------------------------------------------------------------------------
# 10. Rate limits
# --------------------------------------------------------------------------------------------

CODES = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot")


async def test_one_poll_to_many_digests_stays_inside_the_rate_limits(tmp_path: Path) -> None:
    guild_ids = [DEFAULT_GUILD_ID + 1000 * n for n in range(3)]
    limits = RateLimits(global_per_second=10, global_window=0.5, channel_messages=(5, 1.0))
    clock = FakeClock(START)
    async with (
        DiscordStandIn(guilds=[news_guild(g) for g in guild_ids], rate_limits=limits) as standin,
        FeedServer(tmp_path / "feeds") as wire,
    ):
        wire.set_file("wire.xml", rss(START, OLD))
        async with running_bot(
            standin, tmp_path / "c.db", prepare=sample, clock=clock, guild_id=None
        ) as bot:
            # Discord's limits scaled down tenfold in time, and the bot's pacer with them.
            pacer = PostPacer(global_per_second=18, global_window=0.5, channel_window=1.0)
            bot.chronicle_scheduler.pacer = bot.chronicle_scheduler.delivery.pacer = pacer
            await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
            for guild_id in guild_ids:
                for code in CODES:  # six digests in #news, each its own events
                    await digest_set(
                        standin,
                        kind="new",
                        channel=guild_id + 11,
                        every="live",
                        words=code,
                        guild_id=guild_id,
                    )
                await digest_set(
                    standin, kind="new", channel=guild_id + 10, every="live", guild_id=guild_id
                )
                await digest_set(
                    standin,
                    kind="new",
                    channel=guild_id + 13,
                    every="live",
                    words="alpha OR bravo",
                    guild_id=guild_id,
                )
            assert len(await bot.storage.digests.all()) == 24
            items = [
                (f"{code}-{n}", f"Wire report {n} on the {code} project")
                for code in CODES
                for n in (1, 2)
            ]
            await ingest(bot, clock, wire, [*items, *OLD])

            for guild_id in guild_ids:
                assert sorted(guids(posts(standin, guild_id + 10))) == sorted(g for g, _ in items)
                news = posts(standin, guild_id + 11)
                assert sorted(tuple(sorted(guids([m]))) for m in news) == [
                    (f"{code}-1", f"{code}-2") for code in CODES
                ]
                assert sorted(guids(posts(standin, guild_id + 13))) == [
                    "alpha-1", "alpha-2", "bravo-1", "bravo-2",
                ]  # fmt: skip
            counts = standin.message_counts()
            assert counts == {
                c: n for g in guild_ids for c, n in ((g + 10, 1), (g + 11, 6), (g + 13, 1))
            }
            assert standin.duplicate_messages() == []
            sent = standin.requests_to("POST", r"/channels/\d+/messages")
            assert standin.rate_limit_stats.total_429s == 0, [
                (r.path, r.rate_limited) for r in sent if r.status == 429
            ]
            assert [r.status for r in sent] == [200] * 24
            # Servers take turns: none waits for another's whole batch.
            first = {(int(r.params["channel_id"]) - DEFAULT_GUILD_ID) // 1000 for r in sent[:6]}
            assert first == {0, 1, 2}
            # The sixth post in each #news waited for its channel's window.
            for guild_id in guild_ids:
                times = [r.at for r in sent if r.path == f"/channels/{guild_id + 11}/messages"]
                assert times[5] - times[0] >= 0.9
        assert not standin.internal_errors


# --------------------------------------------------------------------------------------------
# 11. Several digests in one channel
# --------------------------------------------------------------------------------------------


async def test_digests_with_different_filters_share_a_channel(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await digest_set(standin, kind="new", channel=NEWS, every="live", entity="Islamic State")
        await digest_set(
            standin, kind="new", channel=NEWS, every="live", entity="Russia", language="en"
        )
        # The same filters again change that digest rather than add one.
        reply = await digest_set(
            standin, kind="new", channel=NEWS, every="live", entity="Russia", language="en"
        )
        assert "is now posted" in reply
        assert len(await bot.storage.digests.all()) == 2
        listing = await digest_list(standin)
        assert "about Islamic State" in listing and "about Russia, language en" in listing
        assert listing.count(f"**new** in <#{NEWS}> as new events arrive") == 2

        items = [
            ("m-1", "ISIL fighters retreat from the outskirts of Raqqa"),
            ("m-2", "Russia recalls its ambassador"),
            ("m-3", "Russia and Daesh: a report on the desert war"),
            ("m-4", "Heavy snow closes mountain passes in the Alps"),
            *OLD,
        ]
        await ingest(bot, clock, wire, items)
        by_digest = sorted(sorted(guids([m])) for m in posts(standin, NEWS))
        assert by_digest == [["m-1", "m-3"], ["m-2", "m-3"]]

        handle = await standin.send_autocomplete(
            "digest remove", {"digest": "russ"}, focused="digest", **MANAGER
        )
        (choice,) = (await handle.callback()).json["data"]["choices"]
        assert choice["name"] == "live new in #news · about Russia, language en"
        handle = await standin.send_slash_command(
            "digest remove", {"digest": choice["value"]}, **MANAGER
        )
        removed = (await handle.callback()).json["data"]["content"]
        assert removed == "Removed the live new in #news · about Russia, language en digest."
        (left,) = await bot.storage.digests.all()
        assert left.entity_names == ("Islamic State",)
        assert "Russia" not in await digest_list(standin)

        await ingest(bot, clock, wire, [("m-5", "Russia and ISIL clash near Palmyra"), *items])
        posted = posts(standin, NEWS)
        assert len(posted) == 3 and guids(posted[2:]) == ["m-5"]


# --------------------------------------------------------------------------------------------
# 12. Preview
# --------------------------------------------------------------------------------------------


async def test_preview_shows_only_what_the_filters_match(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await ingest(
            bot,
            clock,
            wire,
            [
                ("v-1", "Russia recalls its ambassador"),
                ("v-2", "Heavy snow closes mountain passes in the Alps"),
                ("v-3", "Russia 宣布对进口粮食实行新的限制"),
                ("v-4", "The Russian Federation hosts talks on grain exports"),
                *OLD,
            ],
        )

        async def preview(**options: Any) -> dict[str, Any]:
            handle = await standin.send_slash_command("digest preview", options, **MANAGER)
            data = (await handle.callback()).json["data"]
            assert data["flags"] & EPHEMERAL
            return data

        shown = await preview(kind="new", entity="Russia", language="en")
        assert sorted(guids([shown])) == ["v-1", "v-4"]
        shown = await preview(kind="new", entity="Russia", language="all")
        assert sorted(guids([shown])) == ["v-1", "v-3", "v-4"]
        shown = await preview(kind="new", entity="Russia", language="zh")
        assert guids([shown]) == ["v-3"]
        shown = await preview(kind="new", entity="Islamic State", language="en")
        assert "Nothing would be posted now" in shown["content"]
        assert standin.message_counts() == {}  # previews are for the manager's eyes only


# --------------------------------------------------------------------------------------------
# 13. Retries and restarts of live runs
# --------------------------------------------------------------------------------------------


async def test_a_poll_while_a_live_run_waits_for_its_retry_posts_both(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await digest_set(standin, kind="new", channel=NEWS, every="live")
        digest_id = await only_digest(bot)
        standin.fail("POST", rf"/channels/{NEWS}/messages", 503, 0, "Service Unavailable", times=1)
        items = [("x-1", "Floods hit the south of the country"), *OLD]
        await ingest(bot, clock, wire, items)
        assert posts(standin, NEWS) == []
        (run,) = await bot.storage.digests.runs_for(digest_id)
        assert run.status == "retrying"

        # The next poll brings another event before the retry is due: both are posted.
        await ingest(bot, clock, wire, [("x-2", "Talks resume in Geneva"), *items])
        assert sorted(guids(posts(standin, NEWS))) == ["x-1", "x-2"]
        # The retry, when it comes, finds nothing left to do.
        retry = bot.chronicle_scheduler.apscheduler.get_job(f"digest-retry:{digest_id}:{run.slot}")
        if retry is not None:
            await retry.func(*retry.args)
        await bot.chronicle_scheduler.live.wait()
        assert sorted(guids(posts(standin, NEWS))) == ["x-1", "x-2"]
        assert standin.duplicate_messages() == []


@pytest.mark.parametrize("cut_by", ["outage", "stop"])
async def test_a_forum_post_cut_short_is_finished_in_its_thread_after_a_restart(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path, cut_by: str
) -> None:
    db = tmp_path / "c.db"
    feeds = {"a.xml": long_items("a", 15), "b.xml": long_items("b", 15)}
    async with running_bot(standin, db, prepare=sample, clock=clock) as bot:
        for name in feeds:
            wire.set_file(name, rss(clock(), OLD))
            await bot.feeds.add_feed(wire.url(name), name=name)
        await digest_set(standin, kind="new", channel=FORUM, every="live", role=NEWS_ROLE)
        digest_id = await only_digest(bot)
        if cut_by == "outage":
            # The post opens; its second message meets a Discord outage.
            standin.fail("POST", r"/channels/\d+/messages", 503, 0, "Service Unavailable", times=1)
            await ingest(bot, clock, wire, feeds)
        else:
            # The post opens; its second message waits out a 429 when the bot is stopped.
            standin.rate_limit("POST", r"/channels/\d+/messages", retry_after=30.0)
            clock.set(clock() + POLL_GAP)
            for path, listed in feeds.items():
                wire.set_file(path, rss(clock(), listed))
            await bot.poll_feeds()
            await standin.wait_for_request(lambda r: r.status == 429)
        (created,) = standin.requests_to("POST", rf"/channels/{FORUM}/threads")
        thread_id = int(created.response["id"])
        assert len(posts(standin, thread_id)) == 1
        (run,) = await bot.storage.digests.runs_for(digest_id)
        status = "retrying" if cut_by == "outage" else "sending"
        assert (run.status, run.parts_sent, run.thread_id) == (status, 1, thread_id)
        assert run.parts >= 2
    # Stopped before the retry; started again: the rest goes into the same post.
    clock.set(clock() + dt.timedelta(minutes=1))
    async with running_bot(standin, db, clock=clock) as bot:
        await bot.chronicle_scheduler.live.wait()  # the start's catch-up round
        messages = posts(standin, thread_id)
        assert len(messages) == run.parts
        assert len(standin.requests_to("POST", rf"/channels/{FORUM}/threads")) == 1
        assert sorted(guids(messages)) == sorted(g for items in feeds.values() for g, _ in items)
        # Only the post's first message pings the role.
        assert [m["mention_roles"] for m in messages] == [[str(NEWS_ROLE)]] + [[]] * (run.parts - 1)
        (run,) = await bot.storage.digests.runs_for(digest_id)
        assert (run.status, run.parts_sent) == ("sent", run.parts)
        # The next poll is a post of its own.
        await ingest(bot, clock, wire, {"a.xml": [("a-new", "Talks resume"), *feeds["a.xml"]]})
        second = standin.requests_to("POST", rf"/channels/{FORUM}/threads")[1]
        assert guids(posts(standin, int(second.response["id"]))) == ["a-new"]
    assert standin.duplicate_messages() == []


class Died(Exception):
    """The process died here."""


def die_after_sending_part(bot: ChronicleBot, monkeypatch: pytest.MonkeyPatch, part: int) -> None:
    """The process dies once a run's part `part` (from 0) went out, before recording it."""
    repo = bot.storage.digests
    recorded = repo.part_sent
    calls = 0

    async def part_sent(digest_id: int, slot: str, *, thread_id: int | None = None) -> None:
        nonlocal calls
        calls += 1
        if calls == part + 1:
            raise Died
        await recorded(digest_id, slot, thread_id=thread_id)

    monkeypatch.setattr(repo, "part_sent", part_sent)


@pytest.mark.parametrize(
    ("channel", "part"), [(NEWS, 0), (THREAD, 1), (FORUM, 1)], ids=["text", "thread", "forum"]
)
async def test_a_part_discord_took_but_the_run_did_not_record_is_posted_once(
    standin: DiscordStandIn,
    wire: FeedServer,
    clock: FakeClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    channel: int,
    part: int,
) -> None:
    """Resumed after the parts recorded as sent, the run sends that part again, with the
    same nonce: Discord answers with the message it has, and the channel shows each part
    once. (A forum post's first message comes with the post, which takes no nonce.)"""
    db = tmp_path / "c.db"
    feeds = {f"{p}.xml": long_items(p, 15) for p in ("a", "b", "c")}
    async with running_bot(standin, db, prepare=sample, clock=clock) as bot:
        for name in feeds:
            wire.set_file(name, rss(clock(), OLD))
            await bot.feeds.add_feed(wire.url(name), name=name)
        await digest_set(standin, kind="new", channel=channel, every="live", role=NEWS_ROLE)
        digest_id = await only_digest(bot)
        die_after_sending_part(bot, monkeypatch, part)
        await ingest(bot, clock, wire, feeds)
        if channel == FORUM:
            (created,) = standin.requests_to("POST", rf"/channels/{FORUM}/threads")
            channel = int(created.response["id"])
        assert len(posts(standin, channel)) == part + 1  # out, but not recorded
        (run,) = await bot.storage.digests.runs_for(digest_id)
        assert (run.status, run.parts_sent) == ("sending", part)
        assert run.parts >= 3
    monkeypatch.undo()

    clock.set(clock() + dt.timedelta(minutes=1))
    async with running_bot(standin, db, clock=clock) as bot:
        await bot.chronicle_scheduler.live.wait()  # the start's catch-up round
        (run,) = await bot.storage.digests.runs_for(digest_id)
        assert (run.status, run.parts_sent) == ("sent", run.parts)
    messages = posts(standin, channel)
    assert len(messages) == run.parts
    assert sorted(guids(messages)) == sorted(g for items in feeds.values() for g, _ in items)
    assert [m["mention_roles"] for m in messages] == [[str(NEWS_ROLE)]] + [[]] * (run.parts - 1)
    assert standin.duplicate_messages() == []
    # The part sent twice was sent with one nonce, and answered with one message.
    again = [
        r
        for r in standin.requests_to("POST", rf"/channels/{channel}/messages")
        if r.json["nonce"] == messages[part]["nonce"]
    ]
    assert [r.response["id"] for r in again] == [messages[part]["id"]] * 2


# --------------------------------------------------------------------------------------------
# 14. A channel deleted at runtime; the server's language
# --------------------------------------------------------------------------------------------


async def test_deleted_channel_pauses_its_digest_and_it_can_be_removed(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await digest_set(standin, kind="new", channel=NEWS, every="live")
        digest_id = await only_digest(bot)
        await standin.delete_channel(NEWS)
        items = [("g-1", "Floods hit the south of the country"), *OLD]
        await ingest(bot, clock, wire, items)
        digest = await bot.storage.digests.get(digest_id)
        assert digest is not None and digest.paused and "404" in (digest.paused_reason or "")
        (notice,) = dms_to(standin, DEFAULT_USER)
        assert f"<#{NEWS}>" in notice.json["content"] and "gone" in notice.json["content"]
        await ingest(bot, clock, wire, [("g-2", "Talks resume in Geneva"), *items])
        assert len(dms_to(standin, DEFAULT_USER)) == 1
        assert posts(standin, NEWS) == []

        handle = await standin.send_autocomplete(
            "digest remove", {"digest": ""}, focused="digest", **MANAGER
        )
        (choice,) = (await handle.callback()).json["data"]["choices"]
        assert choice == {"name": f"live new in channel {NEWS}", "value": str(digest_id)}
        handle = await standin.send_slash_command(
            "digest remove", {"digest": choice["value"]}, **MANAGER
        )
        assert "Removed" in (await handle.callback()).json["data"]["content"]
        assert await bot.storage.digests.all() == []


async def test_a_digest_without_a_language_follows_the_servers(
    wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    guild = news_guild()
    guild.preferred_locale = "zh-CN"
    async with (
        DiscordStandIn(guilds=[guild]) as standin,
        running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot,
    ):
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await digest_set(standin, kind="new", channel=NEWS, every="live")
        items = [("l-1", "Floods hit the south of the country"), ("l-2", "南方多地遭遇洪水"), *OLD]
        await ingest(bot, clock, wire, items)
        assert guids(posts(standin, NEWS)) == ["l-2"]  # a Chinese server: Chinese events

        handle = await standin.send_slash_command(
            "settings language", {"language": "all"}, **MANAGER
        )
        await handle.callback()
        more = [("l-3", "Talks resume in Geneva"), ("l-4", "日内瓦会谈恢复"), *items]
        await ingest(bot, clock, wire, more)
        assert sorted(guids(posts(standin, NEWS)[1:])) == ["l-3", "l-4"]
    assert not standin.internal_errors
