"""News channels end to end, permissions and channels that change: the real ChronicleBot
over the loopback Discord, a real SQLite database, and real RSS feeds served over HTTP on
127.0.0.1.

A permission taken away while a digest runs pauses it and tells its creator once, and it
resumes once the permission is back; so do all the digests of a channel that refuses one,
a forum that refuses every post (it requires tags), a channel where Embed Links went (Discord
would post the digest blank) and a locked thread (the notice says to unlock it); a refusal's
text never shows the bot's token; a creator who left the server is not told, the server is;
/digest set checks the permissions each channel type needs (text, announcement, forum,
thread, a private thread Chronicle is not in); a channel deleted at runtime pauses its
digest, which can still be removed.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from storage.models import PageRecord, SourceRecord
from tests.e2e.discord_faults_support import EmbedDroppingStandIn
from tests.e2e.fixtures import make_standin_fixture
from tests.e2e.harness import ANNA, FakeClock, dms_to, fire, only_digest, running_bot, sample
from tests.e2e.news_channels_support import (
    ANNOUNCEMENTS,
    FORUM,
    GENERAL,
    MANAGER,
    NEWS,
    OLD,
    PRESS,
    THREAD,
    clock_fixture,  # noqa: F401 -- a fixture, found by pytest as `clock`
    digest_list,
    digest_set,
    guids,
    ingest,
    news_guild,
    posts,
    standin_fixture,  # noqa: F401 -- a fixture, found by pytest as `standin`
    wire_fixture,  # noqa: F401 -- a fixture, found by pytest as `wire`
)
from tests.e2e.standin.constants import (
    DEFAULT_TOKEN,
    EMBED_LINKS,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
)
from tests.e2e.standin.model import DEFAULT_USER, make_thread
from tests.e2e.standin.server import DiscordStandIn
from tests.support.feed_server import FeedServer

# --------------------------------------------------------------------------------------------
# 1. A permission taken away at runtime
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


async def test_a_channel_refusing_its_digests_is_one_notice_and_one_resume(
    standin: DiscordStandIn, clock: FakeClock, tmp_path: Path
) -> None:
    """Three live digests in #news, one a topic each. Send Messages taken away there pauses
    all three at once, with one notice naming each by what it follows; once the permission
    is back, /digest set for one of them resumes them all, and each posts its news."""
    topics = ["floods", "election", "harvest"]

    def news(tag: str) -> list[PageRecord]:
        return [
            PageRecord(
                key=f"2026/06/16/{topic}-{tag}",
                date=dt.date(2026, 6, 16),
                headline=f"A report {tag} on the {topic} in the north",
                origin="feed",
                announce=True,
                sources=(SourceRecord("Wire", f"https://example.com/{topic}/{tag}"),),
            )
            for topic in topics
        ]

    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        for topic in topics:
            await digest_set(standin, kind="new", channel=NEWS, every="live", words=topic)
        await standin.set_bot_overwrite(NEWS, deny=SEND_MESSAGES)
        await bot.storage.events.import_batch(news("one"))
        bot.chronicle_scheduler.live.kick()
        await bot.chronicle_scheduler.live.wait()
        assert all(d.paused for d in await bot.storage.digests.all())
        (notice,) = dms_to(standin, DEFAULT_USER)
        assert notice.json["content"].startswith(
            "Chronicle paused the **live new** (matching “floods”), **live new** (matching"
            f" “election”), **live new** (matching “harvest”) digests for <#{NEWS}>:"
            " Discord answered 403"
        )
        assert notice.json["content"].endswith(
            "there (or pick another channel), then run `/digest set` again for one of them:"
            " that resumes them all."
        )

        await standin.set_bot_overwrite(NEWS)
        reply = await digest_set(standin, kind="new", channel=NEWS, every="live", words="floods")
        assert reply.endswith(f"Resumed too: 2 other digests paused in <#{NEWS}>.")
        assert "paused" not in await digest_list(standin)
        await bot.chronicle_scheduler.live.wait()  # what came while they were paused
        clock.set(clock() + dt.timedelta(minutes=10))
        await bot.storage.events.import_batch(news("two"))
        bot.chronicle_scheduler.live.kick()
        await bot.chronicle_scheduler.live.wait()
        shown = json.dumps(posts(standin, NEWS), ensure_ascii=False)
        for topic in topics:
            assert f"A report one on the {topic} in the north" in shown
            assert f"A report two on the {topic} in the north" in shown
        assert len(dms_to(standin, DEFAULT_USER)) == 1


async def test_a_forum_refusing_every_post_pauses_its_digest_and_says_why(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """A forum set to require a tag on each post: Discord answers every post Chronicle
    opens with 400 (40067). The same post would be refused again, so the digest is not
    tried four times a day for ever: it pauses at once, and its creator is told why."""
    clock = FakeClock(dt.datetime(2026, 6, 16, 5, 0, tzinfo=dt.UTC))
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await digest_set(standin, kind="onthisday", channel=FORUM, time="09:00", timezone="UTC")
        digest_id = await only_digest(bot)
        standin.fail(
            "POST",
            rf"/channels/{FORUM}/threads",
            400,
            40067,
            "A tag is required to create a forum post in this channel",
        )
        await fire(bot, clock, digest_id)
        assert len(standin.requests_to("POST", rf"/channels/{FORUM}/threads")) == 1
        assert bot.chronicle_scheduler.next_run_time(digest_id) is None
        (notice,) = dms_to(standin, DEFAULT_USER)
        assert notice.json["content"] == (
            f"Chronicle paused the **daily onthisday** digest for <#{FORUM}>: Discord refused"
            " the post (400: A tag is required to create a forum post in this channel)."
            " Change that in the channel's settings (or pick another channel), then run"
            " `/digest set` again to resume it."
        )
        listing = await digest_list(standin)
        assert "paused: Discord refused the post (400: A tag is required" in listing


async def test_one_post_blocked_by_automod_is_retried_and_pauses_nothing(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """A 400 about one post (AutoMod blocking a word in a headline, code 200000) is not the
    channel refusing: that run is tried again, and no digest of the channel pauses."""
    clock = FakeClock(dt.datetime(2026, 6, 16, 5, 0, tzinfo=dt.UTC))
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await digest_set(standin, kind="onthisday", channel=NEWS, time="09:00", timezone="UTC")
        await digest_set(
            standin, kind="onthisday", channel=NEWS, time="10:00", timezone="UTC", words="Syria"
        )
        first = min(await bot.storage.digests.all(), key=lambda d: d.id)
        standin.fail(
            "POST",
            rf"/channels/{NEWS}/messages",
            400,
            200000,
            "Message was blocked by automatic moderation",
            times=1,
        )
        await fire(bot, clock, first.id)
        assert not any(d.paused for d in await bot.storage.digests.all())
        assert dms_to(standin, DEFAULT_USER) == []
        job = bot.chronicle_scheduler.apscheduler.get_job(f"digest-retry:{first.id}:2026-06-16")
        assert job is not None
        clock.set(job.trigger.run_date)
        await job.func(*job.args)
        assert len(posts(standin, NEWS)) == 1
        assert [r.status for r in await bot.storage.digests.runs_for(first.id)] == ["sent"]


dropping_fixture = make_standin_fixture(
    guilds=lambda: [news_guild()], standin_class=EmbedDroppingStandIn, name="dropping"
)


async def test_embed_links_taken_away_pauses_the_digest_instead_of_posting_it_blank(
    dropping: EmbedDroppingStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    """Discord takes a post without Embed Links but drops its embeds: a digest (all embeds)
    would be a blank message, counted as posted. The channel gets nothing, the digest
    pauses, and its creator is told that Embed Links is what is missing."""
    async with running_bot(dropping, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        assert "missing" not in await digest_set(dropping, kind="new", channel=NEWS, every="live")
        await dropping.set_bot_overwrite(NEWS, deny=EMBED_LINKS)
        await ingest(bot, clock, wire, [("e-1", "Floods hit the south of the country"), *OLD])
        assert posts(dropping, NEWS) == [] and dropping.dropped == 0
        (digest,) = await bot.storage.digests.all()
        assert digest.paused and "Embed Links" in (digest.paused_reason or "")
        (notice,) = dms_to(dropping, DEFAULT_USER)
        assert notice.json["content"].endswith(
            "Give Chronicle Embed Links there (or pick another channel), then run"
            " `/digest set` again to resume it."
        )


async def test_a_refusal_echoing_the_request_shows_the_token_nowhere(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    """A proxy in front of Discord refuses a post and repeats the request's headers in its
    error, the bot's Authorization among them. The creator's notice and /digest list say
    that Discord refused, cut short and with the credentials masked."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await digest_set(standin, kind="new", channel=NEWS, every="live")
        standin.fail(
            "POST",
            rf"/channels/{NEWS}/messages",
            403,
            50013,
            "Missing Permissions",
            echo_headers=True,
        )
        await ingest(bot, clock, wire, [("t-1", "Floods hit the south of the country"), *OLD])
        (digest,) = await bot.storage.digests.all()
        (notice,) = [r.json["content"] for r in dms_to(standin, DEFAULT_USER)]
        listing = await digest_list(standin)
        assert "Discord answered 403 (Missing Permissions" in notice
        assert "paused: Discord answered 403 (Missing Permissions" in listing
        for shown in (notice, listing, digest.paused_reason or ""):
            assert DEFAULT_TOKEN not in shown


async def test_a_locked_thread_is_told_to_be_unlocked_not_given_permissions(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    """A moderator closes the digest's thread (archived and locked). Chronicle lacks no
    permission there: the notice says the thread is locked, not what to grant."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await digest_set(standin, kind="new", channel=THREAD, every="live")
        await standin.update_channel(THREAD, archived=True, locked=True)
        await ingest(bot, clock, wire, [("l-1", "Floods hit the south of the country"), *OLD])
        (digest,) = await bot.storage.digests.all()
        assert digest.paused
        (notice,) = dms_to(standin, DEFAULT_USER)
        assert notice.json["content"].endswith(
            "Discord answered 403 (Thread is locked): Chronicle may not post in channel"
            f" {THREAD}. The thread is locked: unlock it (or pick another channel), then run"
            " `/digest set` again to resume it."
        )


async def test_a_creator_who_left_is_not_told_the_server_is(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """Anna set a live digest in #news, then left the server. When #news refuses it, the
    notice goes to the server's system channel, pinging nobody, and not to Anna."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample) as bot:
        handle = await standin.send_slash_command(
            "digest set", {"kind": "new", "channel": NEWS, "every": "live"}, user=ANNA, **MANAGER
        )
        assert "will be posted" in (await handle.callback()).json["data"]["content"]
        await standin.remove_member(ANNA.id)
        await standin.set_bot_overwrite(NEWS, deny=SEND_MESSAGES)
        await bot.storage.events.import_batch(
            [
                PageRecord(
                    key="2026/06/16/floods",
                    date=dt.date(2026, 6, 16),
                    headline="Floods hit the south of the country",
                    origin="feed",
                    announce=True,
                    sources=(SourceRecord("Wire", "https://example.com/floods"),),
                )
            ]
        )
        bot.chronicle_scheduler.live.kick()
        await bot.chronicle_scheduler.live.wait()
        (digest,) = await bot.storage.digests.all()
        assert digest.paused
        assert dms_to(standin, ANNA) == []
        (told,) = posts(standin, GENERAL)
        assert told["content"].startswith(f"Chronicle paused the **live new** digest for <#{NEWS}>")
        assert f"<@{ANNA.id}>" not in told["content"]
        assert told["mentions"] == [] and told["mention_roles"] == []


# --------------------------------------------------------------------------------------------
# 2. Permissions checked per channel type
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

        # A private thread Chronicle was not added to takes none of its posts.
        private = THREAD + 100
        await standin.create_channel(
            make_thread(GENERAL, private, "mods-only", private=True, bot_joined=False)
        )
        reply = await digest_set(standin, kind="new", channel=private, every="live")
        assert f"I cannot post digests in <#{private}>" in reply
        assert "a place in this private thread (add me to it, or give me Manage Threads)" in reply


# --------------------------------------------------------------------------------------------
# 3. A channel deleted at runtime
# --------------------------------------------------------------------------------------------


async def test_deleted_channel_pauses_its_digests_and_they_can_be_removed(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await digest_set(standin, kind="onthisday", channel=NEWS, time="09:00")
        await digest_set(standin, kind="new", channel=NEWS, every="live")
        live = next(d.id for d in await bot.storage.digests.all() if d.every == "live")
        await standin.delete_channel(NEWS)
        items = [("g-1", "Floods hit the south of the country"), *OLD]
        await ingest(bot, clock, wire, items)
        # Both of the channel's digests paused at once, and one notice saying what to do.
        digests = await bot.storage.digests.all()
        assert all(d.paused and "404" in (d.paused_reason or "") for d in digests)
        (notice,) = dms_to(standin, DEFAULT_USER)
        assert notice.json["content"].startswith(
            f"Chronicle paused the **live new**, **daily onthisday** digests for <#{NEWS}>:"
            " the channel was deleted"
        )
        assert notice.json["content"].endswith(
            "Remove them with `/digest remove`, or run `/digest set` for another channel."
        )
        await ingest(bot, clock, wire, [("g-2", "Talks resume in Geneva"), *items])
        await bot.chronicle_scheduler.delivery.run(digests[0].id, "2026-06-16")
        assert len(dms_to(standin, DEFAULT_USER)) == 1
        assert posts(standin, NEWS) == []
        other = str(next(d.id for d in digests if d.id != live))
        removing = await standin.send_slash_command("digest remove", {"digest": other}, **MANAGER)
        assert "Removed" in (await removing.callback()).json["data"]["content"]
        digest_id = live

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
