"""Posting digests to channels exactly once, and hearing when delivery breaks.

A run belongs to a slot (a local day, a local hour, or a live batch). Before anything is
posted the run is claimed in storage with the events it covers; a restart, a late timer or a
repeated job finds the claim and posts nothing twice. A run that Discord answers 5xx is
retried a few times, resuming after the messages already sent; a run a stopped process left
half-sent is resumed the same way. A channel that answers 403/404 pauses the digest, and the
person who set it is told once: by DM, else in the server's system channel.

Every post waits its turn at the PostPacer, which keeps the bot inside Discord's global and
per-channel limits and serves servers in turn.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable

import aiohttp
import discord

from bot import render
from bot.context import Chronicle
from bot.digests import (
    DigestContent,
    current_slot,
    digest_content,
    live_slot,
    previous_run,
    slot_day,
)
from bot.failures import log_failure
from bot.language import server_language
from bot.nonces import digest_part_nonce
from bot.pacing import PostPacer
from bot.permissions import permissions_needed, pinging_only
from bot.services.digests import describe_filters
from bot.services.wikipedia import portal_waiting_since
from storage import Storage
from storage.models import Digest, DigestRun
from storage.times import Clock, utc_now

log = logging.getLogger(__name__)

RETRY_DELAYS = (60.0, 300.0, 900.0)  # seconds before the 2nd, 3rd and 4th attempt
# Discord's error codes for a channel that refuses every post, whatever it holds: a forum
# that requires tags, a channel of a type that takes no messages. Any other Bad Request is
# about one post (AutoMod blocking a word, say): that run is retried, the channel kept.
CHANNEL_REFUSALS = frozenset({40067, 50024})
FORUM_TITLE_LIMIT = 100
PREPARED_AT_ONCE = 64

RetryScheduler = Callable[[int, str, float], None]


class DigestDelivery:
    """Posts digest runs through the bot, exactly once per digest and slot."""

    def __init__(self, bot: Chronicle, pacer: PostPacer, *, clock: Clock = utc_now):
        self.bot = bot
        self.pacer = pacer
        self.clock = clock
        self.schedule_retry: RetryScheduler | None = None
        self._busy: set[int] = set()  # digests with a run being posted by this process
        # Runs this process claimed and left 'sending' when the archive failed under them:
        # its own retry resumes them (another process's 'sending' run is in progress).
        self._stranded: set[tuple[int, str]] = set()
        # Runs made ready at once: a round of thousands starts posting as soon as the first
        # few are claimed, instead of after every one of them has read its content.
        self._preparing = asyncio.Semaphore(PREPARED_AT_ONCE)

    @property
    def storage(self) -> Storage:
        return self.bot.storage

    async def language(self, digest: Digest) -> str:
        """The digest's language: its own, else its server's."""
        if digest.filters.language:
            return digest.filters.language
        return await server_language(
            self.storage, self.bot.get_guild(digest.guild_id), digest.guild_id
        )

    async def waiting_since(self) -> dt.datetime | None:
        """Portal items found at or after this wait (storage.news_rules)."""
        return await portal_waiting_since(self.storage, self.bot.settings, self.clock())

    async def run(self, digest_id: int, slot: str) -> str:
        """Post the digest's run for a slot, unless it was posted (or skipped) already.
        Returns what happened: sent, empty, already, paused, skipped, retrying, failed."""
        digest = await self.storage.digests.get(digest_id)
        if digest is None:
            return "gone"
        if digest.paused:
            return "paused"
        if digest.every == "live":  # a retry: that run, then what arrived meanwhile
            return await self.run_live(digest, await self.waiting_since())
        existing = await self.storage.digests.run(digest.id, slot)
        if existing is not None and await self._unstrand(digest, existing):
            existing = await self.storage.digests.run(digest.id, slot)
        started = existing is not None and existing.parts_sent > 0
        # A run whose time has passed is skipped, unless it is a 'new' run already part
        # posted: the rest of it is news still, and skipping would repeat its first part.
        if current_slot(digest, self.clock()) != slot and (
            digest.kind == "onthisday" or not started
        ):
            log.info(
                "skipping the %s digest of %s for channel %s: it is no longer then in %s",
                digest.kind,
                slot,
                digest.channel_id,
                digest.timezone,
            )
            if existing is None:
                await self.storage.digests.record_run(digest.id, slot, "skipped", "missed its time")
            elif existing.status == "retrying":
                await self.storage.digests.finish_run(digest.id, slot, "skipped", "missed its time")
            return "skipped"
        if existing is not None and existing.status != "retrying":
            return "already"
        return await self._post(digest, slot, existing, await self.waiting_since())

    async def run_live(self, digest: Digest, waiting_since: dt.datetime | None) -> str:
        """Post what arrived for a live digest since its last post: a run left unfinished
        first (a retry, or a post a stopped process did not finish), then a new batch."""
        existing = await self.storage.digests.unfinished_run(digest.id)
        if existing is not None and await self._unstrand(digest, existing):
            existing = await self.storage.digests.unfinished_run(digest.id)
        if existing is not None:
            if existing.status == "sending":
                return "busy"  # another process is posting it
            resumed = await self._post(digest, existing.slot, existing, waiting_since)
            if resumed != "sent":
                return resumed
            # What arrived after that run was claimed goes out now, not after the next
            # poll that happens to bring something (there may be none for a long time).
            fresh = await self.storage.digests.get(digest.id)
            if fresh is None or fresh.paused:
                return resumed
            batch = await self._post(fresh, live_slot(self.clock()), None, waiting_since)
            return resumed if batch in ("empty", "already") else batch
        return await self._post(digest, live_slot(self.clock()), None, waiting_since)

    async def _post(
        self,
        digest: Digest,
        slot: str,
        existing: DigestRun | None,
        waiting_since: dt.datetime | None,
    ) -> str:
        if digest.id in self._busy:
            return "busy"  # a live round and a retry at once: one posts, the other finds it
        self._busy.add(digest.id)
        try:
            async with self._preparing:
                prepared = await self._prepare(digest, slot, existing, waiting_since)
            if isinstance(prepared, str):
                return prepared
            run, content, messages = prepared
            try:
                return await self._deliver(digest, slot, run, content, messages)
            except Exception:
                self._stranded.add((digest.id, run.slot))
                raise
        finally:
            self._busy.discard(digest.id)

    async def _unstrand(self, digest: Digest, run: DigestRun) -> bool:
        """Make a run this process left 'sending' wait for its retry, as a stopped
        process's run does at the next start; whether it was one."""
        if run.status != "sending" or (digest.id, run.slot) not in self._stranded:
            return False
        await self.storage.digests.finish_run(
            digest.id, run.slot, "retrying", "the archive failed while it was posted"
        )
        self._stranded.discard((digest.id, run.slot))
        return True

    async def _deliver(
        self,
        digest: Digest,
        slot: str,
        run: DigestRun,
        content: DigestContent,
        messages: list[render.DigestMessage],
    ) -> str:
        """Send a claimed run and record how it went."""
        try:
            await self._send(digest, run, content, messages)
        except (discord.Forbidden, discord.NotFound, ChannelRefused) as error:
            return await self._refused(digest, slot, error)
        except discord.HTTPException as error:
            if error.code in CHANNEL_REFUSALS:
                return await self._refused(digest, slot, error)
            return await self._transient(digest, slot, run.attempts, error)
        except (discord.RateLimited, aiohttp.ClientError, TimeoutError) as error:
            return await self._transient(digest, slot, run.attempts, error)
        await self.storage.digests.finish_run(digest.id, slot, "sent")
        log.info(
            "posted the %s %s digest of %s to channel %s (%d messages, %d events)",
            digest.every,
            digest.kind,
            slot,
            digest.channel_id,
            len(messages),
            len(content.event_ids),
        )
        return "sent"

    async def _prepare(
        self,
        digest: Digest,
        slot: str,
        existing: DigestRun | None,
        waiting_since: dt.datetime | None,
    ) -> tuple[DigestRun, DigestContent, list[render.DigestMessage]] | str:
        """The run's content, claimed: what to send, or why there is nothing to. Portal
        items found at or after ``waiting_since`` wait (storage.news_rules)."""
        language = await self.language(digest)
        content, covers_to = await digest_content(
            self.storage,
            digest,
            slot=slot,
            language=language,
            run=existing,
            waiting_since=waiting_since,
        )
        if about := describe_filters(digest.filters, digest.entity_names):
            # Several digests may share a channel: each post says what it follows.
            content = dataclasses.replace(
                content, title=f"{content.title} · {render.escape(about)}"
            )
        if content.empty:
            if covers_to > digest.last_event_id:
                await self.storage.digests.advance(digest.id, covers_to)
            if digest.every == "daily":
                await self.storage.digests.record_run(digest.id, slot, "empty")
            return "empty"
        messages = render.digest_messages(content)
        run = await self.storage.digests.claim_run(
            digest.id, slot, parts=len(messages), items=content.event_ids, covers_to=covers_to
        )
        return (run, content, messages) if run is not None else "already"

    async def _channel(self, channel_id: int) -> object:
        return self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)

    async def _send(
        self,
        digest: Digest,
        run: DigestRun,
        content: DigestContent,
        messages: list[render.DigestMessage],
    ) -> None:
        """Post the run's messages not sent yet; the role is mentioned on the first."""
        channel = await self._channel(digest.channel_id)
        mention = f"<@&{digest.role_id}>" if digest.role_id else None
        pinging = pinging_only(role=digest.role_id)
        quiet = discord.AllowedMentions.none()
        if isinstance(channel, discord.ForumChannel):
            thread = await self._thread(run.thread_id) if run.parts_sent and run.thread_id else None
            for index in range(run.parts_sent, len(messages)):
                if thread is None:
                    # No nonce: Discord's forum post create takes none in its message, so a
                    # post whose process died before recording it is opened again on resume.
                    async with self.pacer.turn(digest.guild_id, channel.id):
                        created = await channel.create_thread(
                            name=self._post_title(digest, run, content),
                            content=mention,
                            embeds=messages[index].embeds,
                            allowed_mentions=pinging,
                        )
                    thread = created.thread
                else:
                    async with self.pacer.turn(digest.guild_id, thread.id):
                        await thread.send(
                            embeds=messages[index].embeds,
                            allowed_mentions=quiet,
                            nonce=digest_part_nonce(digest.id, run.slot, index),
                        )
                await self.storage.digests.part_sent(
                    digest.id, run.slot, thread_id=thread.id, event_ids=messages[index].event_ids
                )
            return
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            raise ChannelRefused(
                f"channel {digest.channel_id} is not a text, announcement or forum channel"
                " or a thread"
            )
        for index in range(run.parts_sent, len(messages)):
            first = index == 0
            async with self.pacer.turn(digest.guild_id, channel.id):
                message = await channel.send(
                    content=mention if first else None,
                    embeds=messages[index].embeds,
                    allowed_mentions=pinging if first else quiet,
                    # A part Discord took but this run did not record (the process died in
                    # between) is answered with the first message when the resume sends it.
                    nonce=digest_part_nonce(digest.id, run.slot, index),
                )
            await self.storage.digests.part_sent(
                digest.id, run.slot, event_ids=messages[index].event_ids
            )
            if digest.publish and isinstance(channel, discord.TextChannel) and channel.is_news():
                await self._publish(digest, message)

    async def _thread(self, thread_id: int) -> discord.Thread:
        channel = await self._channel(thread_id)
        if not isinstance(channel, discord.Thread):
            raise ChannelRefused(f"the forum post {thread_id} is not a thread")
        return channel

    def _post_title(self, digest: Digest, run: DigestRun, content: DigestContent) -> str:
        """A forum post's title: the digest's, dated in its timezone."""
        if digest.every == "live":
            moment = self.clock().astimezone(dt.UTC)
            when = f"{moment:%B} {moment.day}, {moment:%Y %H:%M} UTC"
        else:
            day = slot_day(run.slot)
            when = f"{day:%B} {day.day}, {day:%Y}"
            if digest.every == "hourly":
                when += f" {run.slot[11:13]}:{digest.time.minute:02d}"
        dated = f" — {when}"
        return render.cut(content.title, FORUM_TITLE_LIMIT - len(dated)) + dated

    async def _publish(self, digest: Digest, message: discord.Message) -> None:
        """Crosspost to following servers. Discord allows few crossposts an hour per
        channel: one refused is logged and the digest goes on."""
        try:
            # Discord limits a channel's crossposts apart from its messages: they count
            # against the global rate, not against the channel's 5 messages per 5 seconds.
            async with self.pacer.turn(digest.guild_id, _crossposts(message.channel.id)):
                await message.publish()
        except (discord.HTTPException, discord.RateLimited) as error:
            log.warning(
                "could not publish message %s of the %s digest in channel %s: %s",
                message.id,
                digest.kind,
                digest.channel_id,
                error,
            )

    async def _transient(self, digest: Digest, slot: str, attempts: int, error: Exception) -> str:
        detail = f"{type(error).__name__}: {error}"
        if isinstance(error, discord.RateLimited):
            self.pacer.backoff(error.retry_after, channel_id=digest.channel_id)
        if attempts <= len(RETRY_DELAYS) and self.schedule_retry is not None:
            delay = RETRY_DELAYS[attempts - 1]
            await self.storage.digests.finish_run(digest.id, slot, "retrying", detail)
            self.schedule_retry(digest.id, slot, delay)
            log.warning(
                "the %s digest of %s for channel %s failed (%s); attempt %d, retrying in %.0f s",
                digest.kind,
                slot,
                digest.channel_id,
                detail,
                attempts,
                delay,
            )
            return "retrying"
        await self.storage.digests.finish_run(digest.id, slot, "failed", detail)
        log.error(
            "giving up on the %s digest of %s for channel %s after %d attempts: %s",
            digest.kind,
            slot,
            digest.channel_id,
            attempts,
            detail,
        )
        return "failed"

    async def _refused(self, digest: Digest, slot: str, error: Exception) -> str:
        reason = _refusal(error, digest.channel_id)
        await self.storage.digests.finish_run(digest.id, slot, "failed", reason)
        await self.pause_channel(digest, reason, error)
        return "paused"

    async def pause_channel(self, digest: Digest, reason: str, error: Exception) -> None:
        """Pause every digest of a channel that refused one (what refuses one post refuses
        them all), and tell each person who set one of them, once, in one notice naming
        each digest, and how to resume them."""
        in_channel = [
            d
            for d in await self.storage.digests.for_guild(digest.guild_id)
            if d.channel_id == digest.channel_id
        ]
        paused = [d for d in in_channel if await self.storage.digests.pause(d.id, reason)]
        channel = self.bot.get_channel(digest.channel_id)
        needed = ", ".join(label for _, label in permissions_needed(channel))
        gone = isinstance(error, discord.NotFound)
        for creator in {d.created_by for d in paused}:
            theirs = [d for d in paused if d.created_by == creator]
            log.warning(
                "paused %d digest(s) for channel %s in guild %s: %s",
                len(theirs),
                digest.channel_id,
                digest.guild_id,
                reason,
            )
            names = ", ".join(_digest_name(d) for d in theirs)
            why = f"the channel was deleted ({reason})" if gone else reason
            notice = (
                f"Chronicle paused the {names} digest{'s' if len(theirs) > 1 else ''} for"
                f" <#{digest.channel_id}>: {why}. {_way_out(error, needed, len(theirs) > 1)}"
            )
            if await self._tell_creator(theirs[0], notice):
                for d in theirs:
                    await self.storage.digests.mark_pause_notified(d.id)

    async def _tell_creator(self, digest: Digest, notice: str) -> bool:
        """By DM; when their DMs are closed, in the server's system channel, naming them."""
        try:
            user = self.bot.get_user(digest.created_by) or await self.bot.fetch_user(
                digest.created_by
            )
            await user.send(notice, allowed_mentions=discord.AllowedMentions.none())
            return True
        except discord.HTTPException as error:
            log.info("could not DM user %s about a paused digest: %s", digest.created_by, error)
        guild = self.bot.get_guild(digest.guild_id)
        system = guild.system_channel if guild else None
        if guild is not None and system is not None and system.id != digest.channel_id:
            perms = system.permissions_for(guild.me)
            if perms.view_channel and perms.send_messages:
                try:
                    await system.send(
                        f"<@{digest.created_by}> {notice}",
                        allowed_mentions=pinging_only(user=digest.created_by),
                    )
                    return True
                except discord.HTTPException as error:
                    log.info("could not post in system channel %s: %s", system.id, error)
        log.warning(
            "could not tell anyone in guild %s that its %s digest %s is paused"
            " (DM refused, no system channel to post in)",
            digest.guild_id,
            digest.kind,
            digest.id,
        )
        return False

    async def catch_up(self, digest: Digest) -> str | None:
        """At start: post a daily run missed while the bot was down, if it is still that
        local day, or resume a run a stopped process left unfinished. (Live digests catch
        up in a round of their own.)"""
        if digest.paused or digest.every == "live":
            return None
        resumed = None
        unfinished = await self.storage.digests.unfinished_run(digest.id)
        if unfinished is not None:
            # It may be an earlier day's, so today's missed run is still looked for.
            resumed = await self.run(digest.id, unfinished.slot)
        if digest.every != "daily":
            return resumed  # an hourly 'new' digest's next run covers what came meanwhile
        now = self.clock()
        moment, local_date = previous_run(digest.time, digest.timezone, now)
        if moment < digest.set_at:
            return resumed  # set (or its time changed) after that time: its run is the next
        if await self.storage.digests.run(digest.id, local_date.isoformat()) is not None:
            return resumed
        return await self.run(digest.id, local_date.isoformat())


class LiveDigests:
    """Rounds of live posts: after a poll brings events, every live digest posts what it
    has not posted yet. One round at a time; a poll during a round asks for another."""

    def __init__(self, delivery: DigestDelivery):
        self.delivery = delivery
        self._wanted = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._seen_newest = 0
        self._seen_waiting: dt.datetime | None = None

    def kick(self) -> None:
        """Ask for a round (now, or after the one under way)."""
        self._wanted.set()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._rounds(), name="live digests")

    async def kick_if_new(self) -> None:
        """A round if events were announced since the last look (another process's poll or
        import), or a poll of the portal read it again: what it had found waited for that
        (storage.news_rules)."""
        newest = await self.delivery.storage.subscriptions.newest_event_id()
        waiting = await self.delivery.waiting_since()
        if newest > self._seen_newest or waiting != self._seen_waiting:
            self._seen_newest = newest
            self._seen_waiting = waiting
            self.kick()

    async def wait(self) -> None:
        """Until no round is wanted or under way."""
        while self._worker is not None and not self._worker.done():
            await asyncio.shield(self._worker)

    async def close(self) -> None:
        if self._worker is not None and not self._worker.done():
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)

    async def _rounds(self) -> None:
        while self._wanted.is_set():
            self._wanted.clear()
            self._seen_newest = max(
                self._seen_newest, await self.delivery.storage.subscriptions.newest_event_id()
            )
            owns = self.delivery.bot.owns  # other processes post their shards' servers
            digests = _servers_in_turn(
                [d for d in await self.delivery.storage.digests.live() if owns(d.guild_id)]
            )
            waiting_since = await self.delivery.waiting_since()  # once for the round
            outcomes = await asyncio.gather(
                *(self._one(digest, waiting_since) for digest in digests),
                return_exceptions=False,
            )
            sent = sum(outcome == "sent" for outcome in outcomes)
            if sent:
                log.info("live round: %d of %d live digests posted", sent, len(digests))

    async def _one(self, digest: Digest, waiting_since: dt.datetime | None) -> str:
        try:
            return await self.delivery.run_live(digest, waiting_since)
        except Exception as exc:
            what = f"the live {digest.kind} digest {digest.id}"
            log_failure(log, self.delivery.storage, what, exc, then="tried again next round")
            return "failed"


def _servers_in_turn(digests: list[Digest]) -> list[Digest]:
    """Each server's first digest, then each one's second, ...: the order runs are made
    ready in, so no server waits behind another's hundred."""
    rank: dict[int, int] = {}
    keyed = []
    for digest in digests:
        rank[digest.guild_id] = rank.get(digest.guild_id, -1) + 1
        keyed.append((rank[digest.guild_id], digest.guild_id, digest.id, digest))
    return [item[-1] for item in sorted(keyed, key=lambda k: k[:3])]


class ChannelRefused(Exception):
    """The digest's channel exists but cannot take its posts."""


def _crossposts(channel_id: int) -> int:
    """The pacer's line for a channel's crossposts (no channel has a negative id)."""
    return -channel_id


def _digest_name(digest: Digest) -> str:
    """A digest as a notice names it: its kind and frequency, and what it follows."""
    about = describe_filters(digest.filters, digest.entity_names)
    return f"**{digest.every} {digest.kind}**" + (f" ({render.escape(about)})" if about else "")


def _way_out(error: Exception, needed: str, several: bool) -> str:
    """What the person who set a refused channel's digests can do about it."""
    them = "them" if several else "it"
    if isinstance(error, discord.NotFound):
        return f"Remove {them} with `/digest remove`, or run `/digest set` for another channel."
    resume = (
        "then run `/digest set` again for one of them: that resumes them all."
        if several
        else "then run `/digest set` again to resume it."
    )
    if isinstance(error, discord.HTTPException) and error.code in CHANNEL_REFUSALS:
        return f"Change that in the channel's settings (or pick another channel), {resume}"
    return f"Give Chronicle {needed} there (or pick another channel), {resume}"


def _refusal(error: Exception, channel_id: int) -> str:
    if isinstance(error, discord.NotFound):
        return f"Discord answered 404 ({error.text or 'Unknown Channel'}): channel {channel_id} is gone"
    if isinstance(error, discord.Forbidden):
        return (
            f"Discord answered 403 ({error.text or 'Missing Access'}): "
            f"Chronicle may not post in channel {channel_id}"
        )
    if isinstance(error, discord.HTTPException):
        return f"Discord refused the post ({error.status}: {error.text or 'Bad Request'})"
    return str(error)
