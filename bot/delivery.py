"""Posting digests to channels exactly once, and hearing when delivery breaks.

A run belongs to a slot (a local day, a local hour, or a live batch). Before anything is
posted the run is claimed in storage with the events it covers; a restart, a late timer or a
repeated job finds the claim and posts nothing twice. A run that Discord answers 5xx is
retried a few times, resuming after the messages already sent; a run a stopped process left
half-sent is resumed the same way. A 429 that is not Discord's own (Cloudflare's ban of the
bot's address) holds every post of this process until its Retry-After, and the run is retried
then, the wait costing none of its attempts. A channel that answers 403/404, or where
Chronicle lacks Embed Links (Discord would post the digest blank), pauses the digest, and the
person who set it is told once (bot.digest_pauses).

Every post waits its turn at the PostPacer, which keeps the bot inside Discord's global and
per-channel limits and serves servers in turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable

import aiohttp
import discord

from bot import render
from bot.context import Chronicle
from bot.digest_pauses import pause_channel
from bot.digests import (
    DigestContent,
    current_slot,
    digest_content,
    live_slot,
    previous_run,
    slot_day,
)
from bot.failures import (
    CHANNEL_REFUSALS,
    ChannelRefused,
    MissingPermissions,
    ban_wait,
    describe_error,
    discord_error_text,
    log_failure,
    refusal,
)
from bot.language import server_language
from bot.nonces import digest_part_nonce
from bot.pacing import PostPacer
from bot.permissions import blanks_embeds, pinging_only
from bot.services.digests import describe_filters
from bot.services.portal_news import portal_waiting_since
from storage import Storage
from storage.models import Digest, DigestRun
from storage.times import Clock, utc_now

log = logging.getLogger(__name__)

RETRY_DELAYS = (60.0, 300.0, 900.0)  # seconds before the 2nd, 3rd and 4th attempt
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
        # Until when Discord refuses this process's requests (a Cloudflare ban): no run is
        # posted before then. Timed by the bot's clock, as its retries are.
        self._held_until: dt.datetime | None = None
        # The attempts of a run spent inside such a ban, which its retries do not count.
        self._spared: dict[tuple[int, str], int] = {}

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

    def forget(self, digest_id: int) -> None:
        """The digest was removed, its runs never to be retried: the attempts bans spared
        them go, and so do its runs stranded by the archive."""
        for key in [key for key in self._spared if key[0] == digest_id]:
            del self._spared[key]
        self._stranded = {key for key in self._stranded if key[0] != digest_id}

    async def waiting_since(self) -> dt.datetime | None:
        """Portal items found at or after this wait (storage.news_rules)."""
        return await portal_waiting_since(self.storage, self.bot.settings, self.clock())

    async def run(self, digest_id: int, slot: str) -> str:
        """Post the digest's run for a slot, unless it was posted (or skipped) already.
        Returns what happened: sent, empty, already, paused, skipped, retrying, failed."""
        outcome = await self._run(digest_id, slot)
        if outcome not in ("retrying", "busy"):  # over: nothing of the run is kept
            self._spared.pop((digest_id, slot), None)
            self._stranded.discard((digest_id, slot))
        return outcome

    async def _run(self, digest_id: int, slot: str) -> str:
        digest = await self.storage.digests.get(digest_id)
        if digest is None:
            return "gone"
        if digest.paused:
            if (existing := await self.storage.digests.run(digest.id, slot)) is not None:
                await self._unstrand(digest, existing)  # resumed with the digest
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
            if (held := self._held_for()) is not None:
                return self._wait_out(digest, slot, held)
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
            if error.status == 429:
                return await self._banned(digest, slot, error)
            return await self._transient(digest, slot, run.attempts, error)
        except (discord.RateLimited, aiohttp.ClientError, TimeoutError) as error:
            return await self._transient(digest, slot, run.attempts, error)
        self._spared.pop((digest.id, slot), None)
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
            _check_embeds(channel)
            thread = await self._thread(run.thread_id) if run.parts_sent and run.thread_id else None
            for index in range(run.parts_sent, len(messages)):
                sent: discord.Message | None = None
                if thread is not None:
                    try:
                        async with self.pacer.turn(digest.guild_id, thread.id):
                            sent = await thread.send(
                                embeds=messages[index].embeds,
                                allowed_mentions=quiet,
                                nonce=digest_part_nonce(digest.id, run.slot, index),
                            )
                    except discord.NotFound:
                        thread = None  # the post was deleted since: the rest opens another
                if thread is None or sent is None:
                    # No nonce: Discord's forum post create takes none in its message, so a
                    # post whose process died before recording it is opened again on resume.
                    first = index == 0
                    async with self.pacer.turn(digest.guild_id, channel.id):
                        created = await channel.create_thread(
                            name=self._post_title(digest, run, content),
                            content=mention if first else None,
                            embeds=messages[index].embeds,
                            allowed_mentions=pinging if first else quiet,
                        )
                    thread, sent = created.thread, created.message
                await _embeds_kept(sent, messages[index], channel.id)
                await self.storage.digests.part_sent(
                    digest.id, run.slot, thread_id=thread.id, event_ids=messages[index].event_ids
                )
            return
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            raise ChannelRefused(
                f"channel {digest.channel_id} is not a text, announcement or forum channel"
                " or a thread"
            )
        _check_embeds(channel)
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
            await _embeds_kept(message, messages[index], channel.id)
            await self.storage.digests.part_sent(
                digest.id, run.slot, event_ids=messages[index].event_ids
            )
            if digest.publish and isinstance(channel, discord.TextChannel) and channel.is_news():
                await self._publish(digest, message)

    async def _thread(self, thread_id: int) -> discord.Thread | None:
        """A forum post the run goes on in; None when it was deleted (a moderator tidying
        the forum): the forum is still there, and the rest of the run opens a new post."""
        try:
            channel = await self._channel(thread_id)
        except discord.NotFound:
            return None
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
                describe_error(error, self.bot.settings.discord_token),
            )

    def _held_for(self) -> float | None:
        """Seconds left of a ban Discord answered this process with, if one lasts."""
        if self._held_until is None:
            return None
        left = (self._held_until - self.clock()).total_seconds()
        if left <= 0:
            self._held_until = None
            return None
        return left

    def _wait_out(self, digest: Digest, slot: str, seconds: float) -> str:
        """A run due while Discord bans this process: tried when the ban ends (asking
        sooner would meet the ban, and may lengthen it)."""
        if self.schedule_retry is None:
            return "failed"
        self.schedule_retry(digest.id, slot, seconds)
        log.debug("the %s digest of %s waits %.0f s for Discord's ban", digest.kind, slot, seconds)
        return "retrying"

    async def _banned(self, digest: Digest, slot: str, error: discord.HTTPException) -> str:
        """A 429 that is not Discord's own JSON rate limit: Cloudflare banning the bot's
        address for a while. Every post of this process waits until its Retry-After; this
        run is retried then, the attempt not counted (the ban said nothing of the run)."""
        wait = ban_wait(error)
        until = self.clock() + dt.timedelta(seconds=wait)
        self._held_until = max(until, self._held_until or until)
        key = (digest.id, slot)
        self._spared[key] = self._spared.get(key, 0) + 1
        detail = f"Discord refused every request for {wait:.0f} s (429, a Cloudflare ban)"
        await self.storage.digests.finish_run(digest.id, slot, "retrying", detail)
        log.warning(
            "Discord answered 429 without a rate limit (%s): digest posts wait %.0f s;"
            " the %s digest of %s for channel %s is retried then",
            discord_error_text(error.text, self.bot.settings.discord_token) or "no text",
            wait,
            digest.kind,
            slot,
            digest.channel_id,
        )
        return self._wait_out(digest, slot, wait)

    async def _transient(self, digest: Digest, slot: str, attempts: int, error: Exception) -> str:
        detail = describe_error(error, self.bot.settings.discord_token)
        attempts = max(1, attempts - self._spared.get((digest.id, slot), 0))
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
        self._spared.pop((digest.id, slot), None)
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
        self._spared.pop((digest.id, slot), None)
        reason = refusal(error, digest.channel_id, self.bot.settings.discord_token)
        await self.storage.digests.finish_run(digest.id, slot, "failed", reason)
        await self.pause_channel(digest, reason, error)
        return "paused"

    async def pause_channel(self, digest: Digest, reason: str, error: Exception) -> None:
        """Pause every digest of the channel, and tell whom it concerns (bot.digest_pauses)."""
        await pause_channel(self.bot, digest, reason, error)

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


def _crossposts(channel_id: int) -> int:
    """The pacer's line for a channel's crossposts (no channel has a negative id)."""
    return -channel_id


def _check_embeds(channel: discord.abc.GuildChannel | discord.Thread) -> None:
    """Refuse before posting where Discord would drop the embeds: a digest is embeds."""
    if blanks_embeds(channel):
        raise MissingPermissions(channel.id, ["Embed Links"])


async def _embeds_kept(
    message: discord.Message, sent: render.DigestMessage, channel_id: int
) -> None:
    """Refuse a part Discord took without its embeds (Embed Links was taken away since the
    cache last heard): the blank message goes, and the run is not counted as posted."""
    if len(message.embeds) >= len(sent.embeds):
        return
    # A blank message left is still better than a run counted as posted.
    with contextlib.suppress(discord.HTTPException, aiohttp.ClientError, TimeoutError):
        await message.delete()
    raise MissingPermissions(channel_id, ["Embed Links"])
