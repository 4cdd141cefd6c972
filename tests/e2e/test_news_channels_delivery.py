"""News channels end to end, how runs reach Discord: the real ChronicleBot over the
loopback Discord (enforcing Discord's limits where a test asks it to), a real SQLite
database, and real RSS feeds served over HTTP on 127.0.0.1.

Crossposts over Discord's hourly limit skipped rather than waited for; long runs split
across messages within Discord's size limits, never cut; one poll to many digests kept
inside the global and per-channel rate limits; and runs cut short -- by an outage, a 429, a
stop or a process that died between sending a part and recording it -- finished after a
retry or a restart, each part posted once (in a new forum post when a moderator deleted the
first); a Cloudflare ban at a digest's time waited out, the digest posted after it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from bot.client import ChronicleBot
from bot.pacing import PostPacer
from tests.e2e.discord_faults_support import CloudflareStandIn
from tests.e2e.fixtures import make_standin_fixture
from tests.e2e.harness import FakeClock, dms_to, fire, only_digest, running_bot, sample
from tests.e2e.news_channels_support import (
    ANNOUNCEMENTS,
    FORUM,
    MANAGER,
    NEWS,
    NEWS_ROLE,
    OLD,
    POLL_GAP,
    START,
    THREAD,
    Item,
    clock_fixture,  # noqa: F401 -- a fixture, found by pytest as `clock`
    descriptions,
    digest_set,
    guids,
    ingest,
    long_items,
    news_guild,
    posts,
    standin_fixture,  # noqa: F401 -- a fixture, found by pytest as `standin`
    wire_fixture,  # noqa: F401 -- a fixture, found by pytest as `wire`
)
from tests.e2e.standin.constants import DEFAULT_GUILD_ID
from tests.e2e.standin.model import DEFAULT_USER
from tests.e2e.standin.records import RateLimits
from tests.e2e.standin.server import DiscordStandIn
from tests.support.feed_server import FeedServer, wire_rss

# --------------------------------------------------------------------------------------------
# 1. Crossposting over Discord's hourly limit
# --------------------------------------------------------------------------------------------


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
# 2. Long runs split across messages
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
            wire.set_file(name, wire_rss(OLD, clock()))
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
# 3. Rate limits
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
        wire.set_file("wire.xml", wire_rss(OLD, START))
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
# 4. Retries and restarts of live runs
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
            wire.set_file(name, wire_rss(OLD, clock()))
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
                wire.set_file(path, wire_rss(listed, clock()))
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


async def test_a_forum_post_deleted_before_its_retry_goes_on_in_a_new_post(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    """A moderator deletes a forum digest's post while the rest of its run waits for a
    retry after an outage. The forum is still there: the rest goes into a new post (not
    pinging the role again), and the digest is not paused as if the forum were gone."""
    feeds = {"a.xml": long_items("a", 15), "b.xml": long_items("b", 15)}
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        for name in feeds:
            wire.set_file(name, wire_rss(OLD, clock()))
            await bot.feeds.add_feed(wire.url(name), name=name)
        await digest_set(standin, kind="new", channel=FORUM, every="live", role=NEWS_ROLE)
        digest_id = await only_digest(bot)
        standin.fail("POST", r"/channels/\d+/messages", 503, 0, "Service Unavailable", times=1)
        await ingest(bot, clock, wire, feeds)
        (created,) = standin.requests_to("POST", rf"/channels/{FORUM}/threads")
        first = int(created.response["id"])
        (run,) = await bot.storage.digests.runs_for(digest_id)
        assert (run.status, run.parts_sent, run.thread_id) == ("retrying", 1, first)
        shown = guids(posts(standin, first))

        await standin.delete_channel(first)
        retry = bot.chronicle_scheduler.apscheduler.get_job(f"digest-retry:{digest_id}:{run.slot}")
        assert retry is not None
        await retry.func(*retry.args)
        await bot.chronicle_scheduler.live.wait()

        digest = await bot.storage.digests.get(digest_id)
        assert digest is not None and not digest.paused
        assert dms_to(standin, DEFAULT_USER) == []
        second = int(standin.requests_to("POST", rf"/channels/{FORUM}/threads")[1].response["id"])
        rest = posts(standin, second)
        assert sorted(shown + guids(rest)) == sorted(
            g for items in feeds.values() for g, _ in items
        )
        assert all(m["mention_roles"] == [] for m in rest)
        (run,) = await bot.storage.digests.runs_for(digest_id)
        assert (run.status, run.parts_sent) == ("sent", run.parts)


cloudflare_fixture = make_standin_fixture(
    guilds=lambda: [news_guild()], standin_class=CloudflareStandIn, name="cloudflare"
)


async def test_a_cloudflare_ban_at_digest_time_is_waited_out_and_the_digest_posted(
    cloudflare: CloudflareStandIn, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Cloudflare bans the bot for an hour (429, an HTML page, Retry-After: 3600) just as
    the daily digest is due. Retrying inside the ban would lose the day's digest after a
    few tries: it is retried once the hour is over, and posted, and the log says so in one
    short line, not the whole page."""
    clock = FakeClock(dt.datetime(2026, 6, 16, 8, 0, tzinfo=dt.UTC))
    async with running_bot(cloudflare, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await digest_set(cloudflare, kind="onthisday", channel=NEWS, time="09:00", timezone="UTC")
        digest_id = await only_digest(bot)
        cloudflare.cloudflare_ban("POST", rf"/channels/{NEWS}/messages", retry_after=3600)
        banned_at = await fire(bot, clock, digest_id)
        assert len(cloudflare.banned_hits) == 1
        retry = bot.chronicle_scheduler.apscheduler.get_job(f"digest-retry:{digest_id}:2026-06-16")
        assert retry is not None
        assert retry.trigger.run_date == banned_at + dt.timedelta(hours=1)
        (run,) = await bot.storage.digests.runs_for(digest_id)
        assert run.status == "retrying"

        cloudflare.lift_ban()
        clock.set(retry.trigger.run_date)
        await retry.func(*retry.args)
        assert len(posts(cloudflare, NEWS)) == 1
        (run,) = await bot.storage.digests.runs_for(digest_id)
        assert run.status == "sent"
    (line,) = [r.getMessage() for r in caplog.records if "429" in r.getMessage()]
    assert "wait 3600 s" in line and "<html" not in line.lower() and len(line) < 400


@pytest.mark.parametrize("retry_after", [10**12, "inf", "soon"])
async def test_a_ban_s_retry_after_is_waited_a_day_at_most(
    cloudflare: CloudflareStandIn, tmp_path: Path, retry_after: int | str
) -> None:
    """A proxy's Retry-After of 10**12 seconds (or none that reads as a number of seconds)
    is waited out a day at most (or 15 minutes): it had overflowed the date, leaving the
    run 'sending' with no retry, and the day's digest lost until a restart."""
    clock = FakeClock(dt.datetime(2026, 6, 16, 8, 0, tzinfo=dt.UTC))
    async with running_bot(cloudflare, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await digest_set(cloudflare, kind="onthisday", channel=NEWS, time="09:00", timezone="UTC")
        digest_id = await only_digest(bot)
        cloudflare.cloudflare_ban("POST", rf"/channels/{NEWS}/messages", retry_after=retry_after)
        banned_at = await fire(bot, clock, digest_id)
        retry = bot.chronicle_scheduler.apscheduler.get_job(f"digest-retry:{digest_id}:2026-06-16")
        assert retry is not None
        waited = retry.trigger.run_date - banned_at
        assert waited == (
            dt.timedelta(days=1) if retry_after == 10**12 else dt.timedelta(minutes=15)
        )
        (run,) = await bot.storage.digests.runs_for(digest_id)
        assert run.status == "retrying"


async def test_a_run_banned_past_its_day_is_skipped_and_nothing_of_it_kept(
    cloudflare: CloudflareStandIn, tmp_path: Path
) -> None:
    """Cloudflare bans the bot for 23 hours, just as the daily digest is due, two
    days running: each day's run is retried once the ban is over, its day past, and
    skipped (the day after brings its own). Nothing of those runs stays in memory: the
    attempts a ban spared each of them were kept for as long as the bot ran."""
    clock = FakeClock(dt.datetime(2026, 6, 16, 8, 0, tzinfo=dt.UTC))
    async with running_bot(cloudflare, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await digest_set(cloudflare, kind="onthisday", channel=NEWS, time="09:00", timezone="UTC")
        digest_id = await only_digest(bot)
        for day in ("2026-06-16", "2026-06-17"):
            cloudflare.cloudflare_ban("POST", rf"/channels/{NEWS}/messages", retry_after=23 * 3600)
            await fire(bot, clock, digest_id)
            retry = bot.chronicle_scheduler.apscheduler.get_job(f"digest-retry:{digest_id}:{day}")
            assert retry is not None
            cloudflare.lift_ban()
            clock.set(retry.trigger.run_date)
            await retry.func(*retry.args)
            run = await bot.storage.digests.run(digest_id, day)
            assert run is not None and run.status == "skipped"
        assert posts(cloudflare, NEWS) == []
        assert bot.chronicle_scheduler.delivery._spared == {}


async def test_a_digest_removed_while_its_run_waits_out_a_ban_leaves_nothing_of_it(
    cloudflare: CloudflareStandIn, tmp_path: Path
) -> None:
    """A manager removes a digest whose run waits out a ban: its retry goes with it, and so
    does what the ban spared the run (kept for as long as the bot ran, one more each ban)."""
    clock = FakeClock(dt.datetime(2026, 6, 16, 8, 0, tzinfo=dt.UTC))
    async with running_bot(cloudflare, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await digest_set(cloudflare, kind="onthisday", channel=NEWS, time="09:00", timezone="UTC")
        digest_id = await only_digest(bot)
        cloudflare.cloudflare_ban("POST", rf"/channels/{NEWS}/messages", retry_after=600)
        await fire(bot, clock, digest_id)
        assert bot.chronicle_scheduler.delivery._spared != {}
        handle = await cloudflare.send_slash_command(
            "digest remove", {"digest": str(digest_id)}, **MANAGER
        )
        assert "Removed" in (await handle.callback()).json["data"]["content"]
        assert (
            bot.chronicle_scheduler.apscheduler.get_job(f"digest-retry:{digest_id}:2026-06-16")
            is None
        )
        assert bot.chronicle_scheduler.delivery._spared == {}


async def test_a_live_run_banned_twice_keeps_what_the_bans_spared_it(
    cloudflare: CloudflareStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    """A live digest's run meets the ban again at its retry: it still waits to be retried,
    and the attempts both bans spared it are still not counted (its retry's rescheduling
    had let them go, so that an ordinary failure after the ban gave the run up sooner)."""
    async with running_bot(cloudflare, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await digest_set(cloudflare, kind="new", channel=NEWS, every="live")
        digest_id = await only_digest(bot)
        cloudflare.cloudflare_ban("POST", rf"/channels/{NEWS}/messages", retry_after=600)
        await ingest(bot, clock, wire, [("m-1", "Russia and Ukraine agree a ceasefire"), *OLD])
        delivery = bot.chronicle_scheduler.delivery
        (key,) = delivery._spared
        retry = bot.chronicle_scheduler.apscheduler.get_job(f"digest-retry:{digest_id}:{key[1]}")
        assert retry is not None and delivery._spared[key] == 1
        clock.set(retry.trigger.run_date)
        await retry.func(*retry.args)
        run = await bot.storage.digests.run(digest_id, key[1])
        assert run is not None and run.status == "retrying"
        assert delivery._spared == {key: 2}


class Died(Exception):
    """The process died here."""


def die_after_sending_part(bot: ChronicleBot, monkeypatch: pytest.MonkeyPatch, part: int) -> None:
    """The process dies once a run's part `part` (from 0) went out, before recording it."""
    repo = bot.storage.digests
    recorded = repo.part_sent
    calls = 0

    async def part_sent(
        digest_id: int, slot: str, *, thread_id: int | None = None, event_ids: Sequence[int] = ()
    ) -> None:
        nonlocal calls
        calls += 1
        if calls == part + 1:
            raise Died
        await recorded(digest_id, slot, thread_id=thread_id, event_ids=event_ids)

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
            wire.set_file(name, wire_rss(OLD, clock()))
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


async def test_a_run_that_gives_up_after_some_parts_offers_only_the_rest_next_time(
    standin: DiscordStandIn,
    wire: FeedServer,
    clock: FakeClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Discord fails every message after a run's first, through all its retries: the events
    that first message listed are delivered, and the next run lists only the others."""
    feeds = {f"{p}.xml": long_items(p, 15) for p in ("a", "b", "c")}
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        for name in feeds:
            wire.set_file(name, wire_rss(OLD, clock()))
            await bot.feeds.add_feed(wire.url(name), name=name)
        await digest_set(standin, kind="new", channel=NEWS, time="18:00", timezone="UTC")
        digest_id = await only_digest(bot)
        await ingest(bot, clock, wire, feeds)
        repo = bot.storage.digests
        recorded = repo.part_sent

        async def part_sent(
            digest_id: int,
            slot: str,
            *,
            thread_id: int | None = None,
            event_ids: Sequence[int] = (),
        ) -> None:
            await recorded(digest_id, slot, thread_id=thread_id, event_ids=event_ids)
            standin.fail("POST", rf"/channels/{NEWS}/messages", 503, 0, "Service Unavailable")

        monkeypatch.setattr(repo, "part_sent", part_sent)
        when = await fire(bot, clock, digest_id)
        slot = when.date().isoformat()
        for _ in range(3):  # the retries, after which it gives up
            job = bot.chronicle_scheduler.apscheduler.get_job(f"digest-retry:{digest_id}:{slot}")
            clock.set(job.trigger.run_date)
            await job.func(*job.args)
        run = await bot.storage.digests.run(digest_id, slot)
        assert run is not None and (run.status, run.parts_sent) == ("failed", 1) and run.parts > 1
        (first,) = posts(standin, NEWS)

        monkeypatch.undo()
        standin.clear_faults()
        when = await fire(bot, clock, digest_id)
        later = posts(standin, NEWS)[1:]
        run = await bot.storage.digests.run(digest_id, when.date().isoformat())
    assert later and not set(guids([first])) & set(guids(later))
    # The rest, and only the rest, is what the next run covers (listed, or counted in "more").
    assert run is not None and run.status == "sent"
    assert len(run.items) == sum(len(items) for items in feeds.values()) - len(guids([first]))
