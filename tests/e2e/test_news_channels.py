"""News channels end to end, the posting itself: the real ChronicleBot over the loopback
Discord, a real SQLite database, and real RSS feeds served over HTTP on 127.0.0.1.

Live, hourly and daily digests with filters (entities, words, languages, the server's
language), in text and announcement channels, forum posts and threads; role mentions,
publishing, several digests sharing a channel, and previews -- each checked as the people in
the server see it. How runs reach Discord (long runs split, rate limits, retries and
restarts) is in test_news_channels_delivery.py; permissions and deleted channels in
test_news_channels_permissions.py; the shared fixtures and helpers in news_channels_support.py.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from storage import Storage
from storage.models import PageRecord, SourceRecord
from tests.e2e.harness import FakeClock, dms_to, fire, only_digest, running_bot, sample
from tests.e2e.news_channels_support import (
    ANNOUNCEMENTS,
    EPHEMERAL,
    FORUM,
    GENERAL,
    MANAGER,
    NEWS,
    NEWS_ROLE,
    OLD,
    PINGING_MANAGER,
    PRESS,
    QUIET_ROLE,
    THREAD,
    UTC,
    clock_fixture,  # noqa: F401 -- a fixture, found by pytest as `clock`
    descriptions,
    digest_list,
    digest_set,
    guids,
    ingest,
    long_items,
    news_guild,
    posts,
    standin_fixture,  # noqa: F401 -- a fixture, found by pytest as `standin`
    wire_fixture,  # noqa: F401 -- a fixture, found by pytest as `wire`
)
from tests.e2e.standin.constants import DEFAULT_BOT_PERMISSIONS, DEFAULT_GUILD_ID, MENTION_EVERYONE
from tests.e2e.standin.model import DEFAULT_USER
from tests.e2e.standin.server import DiscordStandIn
from tests.support.feed_server import FeedServer, wire_rss

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
        assert post["embeds"][0]["title"] == "New events · about Islamic State"
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
        assert (
            post["embeds"][0]["title"] == "New events · matching “earthquake OR 地震”, language en"
        )
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
            wire.set_file(name, wire_rss(OLD, clock()))
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
            standin,
            kind="new",
            channel=GENERAL,
            every="live",
            role=QUIET_ROLE,
            member=PINGING_MANAGER,
        )
        assert f"<#{GENERAL}>" in reply and "cannot" not in reply
        await ingest(bot, clock, wire, {"a.xml": [("q-1", "Quiet news"), *long_items("a", 15)]})
        (quiet,) = posts(standin, GENERAL)
        assert quiet["content"] == f"<@&{QUIET_ROLE}>"
        assert quiet["mention_roles"] == [str(QUIET_ROLE)]
        assert guids([quiet]) == ["q-1"]


async def test_a_manager_cannot_have_a_role_pinged_that_they_may_not_ping(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    """@quiet is not mentionable, and Chronicle may ping it (it was given Mention @everyone
    for another digest's role). A manager with Manage Server but not Mention @everyone, who
    could not ping @quiet themselves, is told so, and nothing Chronicle posts pings it."""
    await standin.set_bot_permissions(DEFAULT_BOT_PERMISSIONS | MENTION_EVERYONE)
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        reply = await digest_set(standin, kind="new", channel=NEWS, every="live", role=QUIET_ROLE)
        assert reply.startswith(f"You cannot ping <@&{QUIET_ROLE}> yourself"), reply
        assert "mentionable" in reply
        await ingest(bot, clock, wire, [("p-1", "Parliament meets in a special session"), *OLD])
        assert [m for m in posts(standin, NEWS) if m["mention_roles"]] == []


# --------------------------------------------------------------------------------------------
# 5. Announcement channels
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


# --------------------------------------------------------------------------------------------
# 6. A thread
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
        assert "The thread is locked: unlock it (or pick another channel)" in notice.json["content"]
        assert "Give Chronicle" not in notice.json["content"]


# --------------------------------------------------------------------------------------------
# 7. Several digests in one channel
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
        # Each post says what it follows.
        assert sorted(m["embeds"][0]["title"] for m in posts(standin, NEWS)) == [
            "New events · about Islamic State",
            "New events · about Russia, language en",
        ]

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


async def test_forum_posts_of_digests_sharing_a_forum_are_titled_by_what_they_follow(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await digest_set(standin, kind="new", channel=FORUM, every="live", words="floods")
        await digest_set(standin, kind="new", channel=FORUM, every="live", words="talks")
        items = [("f-1", "Floods hit the south"), ("f-2", "Talks resume in Geneva"), *OLD]
        await ingest(bot, clock, wire, items)
        created = standin.requests_to("POST", rf"/channels/{FORUM}/threads")
        assert sorted(r.json["name"] for r in created) == [
            "New events · matching “floods” — June 16, 2026 12:11 UTC",
            "New events · matching “talks” — June 16, 2026 12:11 UTC",
        ]


# --------------------------------------------------------------------------------------------
# 8. Preview
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


async def test_the_preview_of_a_digest_in_another_timezone_shows_its_day(
    standin: DiscordStandIn, clock: FakeClock, tmp_path: Path
) -> None:
    """The server keeps London's time; #news's "on this day" digest posts at 09:00 in
    Kiritimati, where at noon in London on June 16 it is June 17 already. /digest preview
    shows June 17's events, those the digest's next post lists."""

    async def archive(storage: Storage) -> None:
        await sample(storage)
        source = SourceRecord("Wire", "https://example.com/solstice-eve")
        day = dt.date(2025, 6, 17)
        vote = PageRecord("2025/06/17/vote", day, "Solstice eve vote", sources=(source,))
        await storage.events.import_batch([vote])

    async with running_bot(standin, tmp_path / "c.db", prepare=archive, clock=clock):
        handle = await standin.send_slash_command(
            "settings timezone", {"timezone": "Europe/London"}, **MANAGER
        )
        await handle.callback()
        reply = await digest_set(
            standin, kind="onthisday", channel=NEWS, time="09:00", timezone="Pacific/Kiritimati"
        )
        assert "every day at 09:00 (Pacific/Kiritimati)" in reply
        handle = await standin.send_slash_command(
            "digest preview", {"kind": "onthisday"}, **MANAGER
        )
        (embed, *_) = (await handle.callback()).json["data"]["embeds"]
        assert embed["title"] == "On this day: June 17"
        assert "Solstice eve vote" in embed["description"]


# --------------------------------------------------------------------------------------------
# 9. The server's language
# --------------------------------------------------------------------------------------------


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


async def test_an_english_headline_that_gives_a_name_in_characters_is_english_news(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    """A wire writes a name in characters too, as the BBC and Reuters do: an English server
    gets the item; a Chinese headline that names people or brands in Latin letters stays
    Chinese, however short."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await digest_set(standin, kind="new", channel=NEWS, every="live")
        items = [
            ("m-1", "China names Li Qiang (李强) as premier at the close of the congress"),
            ("m-2", "苹果CEO Tim Cook访华，会见国务院总理李强"),
            ("m-3", "Floods close the main road to the airport"),
            ("m-4", "Apple CEO Tim Cook访华"),  # "... visits China"
            ("m-5", "OpenAI发布GPT-5 Turbo"),  # "OpenAI releases ..."
            *OLD,
        ]
        await ingest(bot, clock, wire, items)
        assert sorted(guids(posts(standin, NEWS))) == ["m-1", "m-3"]
    assert not standin.internal_errors
