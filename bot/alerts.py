"""Subscription alerts: after new events arrive, one message per subscriber, never twice.

A sweep reads the announceable events after its watermark (feed polls run it at once;
`chronicle import --announce` from another process is picked up by the periodic sweep),
finds the subscriptions whose entity is in them, and sends each subscriber one message
listing their events; then, after a watermark of their own, the entities feeds'
corrections linked to events already announced, for those entities' subscribers
(storage.subscription_rules). Each (target, event) is claimed in the delivery ledger before the
message goes out, so a restart or an overlapping sweep never repeats one, and marked sent once
it has. A claim a process left unsent (it died in between) is taken back by the next sweep of
the process running its server's shard, once CLAIM_GRACE has passed, and sent again: once, as
one still unsent after that is given up. Closed DMs pause the member's DM subscriptions; a
channel Chronicle may no longer post in, or where it lacks Embed Links (Discord would post the
alert as a bare mention), pauses the member's subscriptions delivered there (a deleted
channel: every member's); they are told the next time they use a command.

Before a member's alerts of a server go out, Discord is asked (once per server and member in
MEMBER_CHECK_EVERY) whether they are still in it: the subscriptions of one who left are
removed, so that nothing follows them out of a server (Chronicle does not see members leave:
no members intent).

With the bot sharded over processes, each process sends the alerts of the servers on its
shards (an alert naming subscriptions in several servers: the first server's process) and
keeps a watermark per shard, so that the sweep of one does not move another's.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable
from typing import Protocol

import aiohttp
import discord

from bot import render
from bot.context import Chronicle
from bot.failures import MissingPermissions, describe_error
from bot.nonces import alert_nonce
from bot.permissions import blanks_embeds, pinging_only
from bot.services.portal_news import portal_waiting_since
from storage.ledgers import ALERTS_PRUNED_THROUGH
from storage.models import Match, Subscription

log = logging.getLogger(__name__)

WATERMARK = "alerts.after_event_id"
# The watermark of the links corrections gave announced events (one per shard, as WATERMARK).
CORRECTED = "alerts.after_corrected_link"
SWEEP_BATCH = 5000
UNKNOWN_MEMBER = 10007  # Discord: the user is not a member of the server
# A member found in a server is asked about again after this: one request per subscriber and
# sweep would spend the rate limits of a bot in many servers.
MEMBER_CHECK_EVERY = dt.timedelta(hours=1)
# Why closed DMs paused a member's DM subscriptions: what /subscribe looks for to resume them.
DM_PAUSE_REASON = "Discord refused the direct message (your DMs are closed to Chronicle)"
# How long a claim stays unsent before it counts as its process's crash: far longer than one
# message takes (rate limits included), so that a live process's claim is never sent twice.
CLAIM_GRACE = dt.timedelta(minutes=5)


# DM channels remembered by member (discord.py keeps only the last 128): an alert to a member
# found here is one request, where opening the DM again would be a second.
DM_CHANNELS_KEPT = 20_000


class AlertingBot(Chronicle, Protocol):
    """What alerts need of the bot besides its services' view: DMs opened from ids alone."""

    async def create_dm(self, user: discord.abc.Snowflake, /) -> discord.DMChannel: ...

    def get_partial_messageable(
        self,
        id: int,
        *,
        guild_id: int | None = None,
        type: discord.ChannelType | None = None,
    ) -> discord.PartialMessageable: ...


def shard_watermark(shard: int, count: int) -> str:
    """The state key of a shard's watermark (a new shard count starts new ones)."""
    return f"{WATERMARK}.shard-{shard}-of-{count}"


class AlertService:
    def __init__(self, bot: AlertingBot):
        self.bot = bot
        self._lock = asyncio.Lock()
        self.claim_grace = CLAIM_GRACE
        # When a member was last found in a server (by the bot's clock); within one sweep,
        # the members found gone and the subscriptions paused meanwhile, which their other
        # alerts skip.
        self._members: dict[tuple[int, int], dt.datetime] = {}
        self._left: set[tuple[int, int]] = set()
        self._dropped: set[int] = set()
        # Each DM member's DM channel, the most recently used last.
        self._dm_channels: OrderedDict[int, int] = OrderedDict()

    def _forget_members_checked(self) -> None:
        """Drop the members found longer ago than MEMBER_CHECK_EVERY: they are asked about
        again anyway, and one who follows nothing any more would be kept for good."""
        now = self.bot.clock()
        self._members = {
            key: found for key, found in self._members.items() if now - found <= MEMBER_CHECK_EVERY
        }

    def forget_guild(self, guild_id: int) -> None:
        """Chronicle was removed from the server: nothing of its members is needed."""
        self._members = {key: at for key, at in self._members.items() if key[0] != guild_id}

    def _watermarks(self) -> list[str]:
        """The state keys of this process's watermarks: one per shard it runs, or the one of
        a bot that runs every shard in one process."""
        ids, count = self.bot.settings.shard_ids, self.bot.settings.shard_count
        if ids is None or count is None:
            return [WATERMARK]
        return [shard_watermark(shard, count) for shard in ids]

    async def sweep(self) -> int:
        """Alert subscribers about events announced since the last sweep; returns messages sent."""
        async with self._lock:  # a poll's sweep and the periodic one never overlap
            self._left.clear()
            self._dropped.clear()
            self._forget_members_checked()
            sent = await self._retry_unsent()
            sent += await self._sweep()
            return sent + await self._sweep_corrected()

    async def _start(
        self, base: str, newest: Callable[[], Awaitable[int]]
    ) -> tuple[list[str], int, bool]:
        """This process's watermarks of a sweep (``base``, one per shard it runs), the
        lowest, and whether every one of them is new. A watermark's first run (a shard's)
        starts at the newest (what is in the archive is history, not news); a shard new
        to sharding starts where the unsharded bot stopped."""
        repo = self.bot.storage.subscriptions
        keys = [base + key.removeprefix(WATERMARK) for key in self._watermarks()]
        stored = [await repo.state(key) for key in keys]
        new = all(value is None for value in stored)
        if None in stored:
            start = await repo.state(base) if keys != [base] else None
            if start is None:
                start = str(await newest())
            for key, value in zip(keys, stored, strict=True):
                if value is None:
                    await repo.set_state(key, start)
            stored = [start if value is None else value for value in stored]
        return keys, min(int(value) for value in stored if value is not None), new

    async def _sweep(self) -> int:
        repo = self.bot.storage.subscriptions
        keys, after, new = await self._start(WATERMARK, repo.newest_event_id)
        if new:
            return 0
        # Shards behind the others sweep again what the others had: the ledger's claims
        # keep each alert to one message. Not below the events whose rows a prune removed
        # (storage.ledgers): those arrived longer ago than deliveries are kept, and without
        # their rows a watermark behind them (a shard down for weeks, a new shard layout
        # starting from an old one) would alert someone twice. Read here it only spares
        # the reading: a prune may go on while this sweep runs, and what keeps its claims
        # off the events a prune passes is the claim, which reads the mark itself.
        after = max(after, int(await repo.state(ALERTS_PRUNED_THROUGH) or 0))
        waiting_since = await portal_waiting_since(
            self.bot.storage, self.bot.settings, self.bot.clock()
        )
        sent = 0
        held = False  # an event waits: the watermarks stay below it (storage.news_rules)
        while True:
            found = await repo.announced_after(
                after, limit=SWEEP_BATCH, waiting_since=waiting_since
            )
            if found.read_through == after:
                return sent
            if found.ready:
                sent += await self._deliver(await repo.matches(found.ready))
            after = found.read_through
            if not held:
                held = found.settled_through < found.read_through
                for key in keys:
                    await repo.set_state(key, str(found.settled_through))

    async def _retry_unsent(self) -> int:
        """Send again, once, what a process that died left claimed and unsent: the claims
        of this process's shards older than the grace period. None of them is on its way
        in this process: it sends only under the sweep's lock, which it holds."""
        repo = self.bot.storage.subscriptions
        settings = self.bot.settings
        taken = await repo.retake_claims(
            grace=self.claim_grace, shard_ids=settings.shard_ids, shard_count=settings.shard_count
        )
        for target, event_id in taken.given_up:
            log.warning(
                "gave up the alert of event %s to %s: still unsent after its retry, or"
                " about news older than the alert ledger is kept",
                event_id,
                target,
            )
        if not taken.retried:
            return 0
        log.info("retrying %d alerts a stopped process left unsent", len(taken.retried))
        # Claims of this process's shards: its to send, whichever servers they name.
        by_target: dict[str, list[Match]] = defaultdict(list)
        for match in await self._present(taken.matches):
            by_target[match.subscription.target].append(match)
        orphans: dict[str, list[int]] = defaultdict(list)
        for target, event_id in taken.retried:
            if not any(m.event.id == event_id for m in by_target.get(target, ())):
                orphans[target].append(event_id)
        for target, event_ids in orphans.items():
            # Unsubscribed, paused or left meanwhile: nobody to send it to any more.
            await repo.mark_failed(target, event_ids)
        sent = 0
        for target, items in by_target.items():
            if await self._send(target, items):
                sent += 1
        return sent

    async def _sweep_corrected(self) -> int:
        """Alert the subscribers of what feeds' corrections linked to announced events
        (storage.subscription_rules), read after watermarks of their own as _sweep reads
        new events: an event's own sweep went by before the correction named what they
        follow. The ledger keeps anyone told of the event already from hearing of it again."""
        repo = self.bot.storage.subscriptions
        keys, after, _ = await self._start(CORRECTED, repo.newest_corrected_link)
        sent = 0
        while True:
            matches, through = await repo.corrected_matches(after, limit=SWEEP_BATCH)
            if through == after:
                return sent
            sent += await self._deliver(matches)
            after = through
            for key in keys:
                await repo.set_state(key, str(after))

    def _owned(self, matches: list[Match]) -> dict[str, list[Match]]:
        """The matches this process alerts, by target. An event's alert to a target is sent
        by the process of the first (by id) of the target's servers whose subscriptions it
        matches: a member following entities in servers on different shards gets one
        message, naming them all, whichever process sweeps first."""
        by_alert: dict[tuple[str, int], list[Match]] = defaultdict(list)
        for match in matches:
            by_alert[match.subscription.target, match.event.id].append(match)
        by_target: dict[str, list[Match]] = defaultdict(list)
        for (target, _), items in by_alert.items():
            if self.bot.owns(min(m.subscription.guild_id for m in items)):
                by_target[target].extend(items)
        return by_target

    async def _deliver(self, matches: list[Match]) -> int:
        sent = 0
        for target, owned in self._owned(matches).items():
            items = await self._present(owned)
            if not items:
                continue
            fresh = set(
                await self.bot.storage.subscriptions.claim(
                    target,
                    [m.event.id for m in items],
                    # A server of this process's shards, an event's first: whose process
                    # takes the claim back.
                    guild_id=min(m.subscription.guild_id for m in items),
                )
            )
            items = [m for m in items if m.event.id in fresh]
            if items and await self._send(target, items):
                sent += 1
        return sent

    async def _present(self, items: list[Match]) -> list[Match]:
        """The matches whose subscription is still on (not paused or removed in this sweep)
        and whose member is still in its server."""
        kept = []
        for match in items:
            subscription = match.subscription
            if subscription.id in self._dropped:
                continue
            key = (subscription.guild_id, subscription.user_id)
            if key in self._left:
                continue
            found = self._members.get(key)
            now = self.bot.clock()
            if found is None or now - found > MEMBER_CHECK_EVERY:
                if not await self._is_member(*key):
                    self._members.pop(key, None)
                    self._left.add(key)
                    continue
                self._members[key] = now
            kept.append(match)
        return kept

    async def _is_member(self, guild_id: int, user_id: int) -> bool:
        """Whether the user is still in the server, asked over REST (no members intent);
        one who left has their subscriptions there removed. When Discord cannot say (an
        error, a server on another process's shard), their alerts go out."""
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            return True
        try:
            await guild.fetch_member(user_id)
        except discord.NotFound as error:
            if error.code != UNKNOWN_MEMBER:
                return True
            removed = await self.bot.storage.subscriptions.remove_member(guild_id, user_id)
            log.info(
                "user %s left guild %s: removed their %d subscriptions there",
                user_id,
                guild_id,
                removed,
            )
            return False
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as error:
            log.warning(
                "could not check that user %s is still in guild %s (%s); their alerts go out",
                user_id,
                guild_id,
                error,
            )
        return True

    async def _send(self, target: str, items: list[Match]) -> bool:
        subscription = items[0].subscription
        events: dict[int, list[str]] = {}
        briefs = {}
        for match in items:
            events.setdefault(match.event.id, [])
            if match.subscription.entity not in events[match.event.id]:
                events[match.event.id].append(match.subscription.entity)
            briefs[match.event.id] = match.event
        embed = render.alert_embed([(briefs[i], names) for i, names in events.items()])
        repo = self.bot.storage.subscriptions
        # The retry of a claim a dead process sent but did not mark sent carries the same
        # nonce, and Discord answers it with the first message (if within its few minutes).
        nonce = alert_nonce(target, events)
        try:
            if subscription.delivery == "dm":
                dm = await self._dm_channel(subscription.user_id)
                await dm.send(
                    embed=embed, allowed_mentions=discord.AllowedMentions.none(), nonce=nonce
                )
            else:
                channel = self.bot.get_channel(
                    subscription.channel_id or 0
                ) or await self.bot.fetch_channel(subscription.channel_id or 0)
                assert isinstance(channel, discord.abc.Messageable)
                _check_embeds(channel)
                message = await channel.send(
                    f"<@{subscription.user_id}>",
                    embed=embed,
                    allowed_mentions=pinging_only(user=subscription.user_id),
                    nonce=nonce,
                )
                if not message.embeds:
                    # Embed Links went since the cache last heard: a bare mention is no alert.
                    with contextlib.suppress(discord.HTTPException, aiohttp.ClientError):
                        await message.delete()
                    raise MissingPermissions(channel.id, ["Embed Links"])
        except (discord.Forbidden, discord.NotFound, MissingPermissions) as error:
            # Refused for good: settled, so that no sweep or restart sends it again.
            self._dm_channels.pop(subscription.user_id, None)
            await repo.mark_failed(target, list(events))
            await self._refused(subscription, error)
            return False
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as error:
            # Not delivered: the claim stays pending, and the sweep after the grace period
            # takes it back and sends it once more (_retry_unsent); the sweeps' watermark has
            # moved past these events, so nothing else would.
            log.warning(
                "alert to %s not sent (%s); it is tried once more in %s",
                target,
                describe_error(error, self.bot.settings.discord_token),
                self.claim_grace,
            )
            return False
        await repo.mark_sent(target, list(events))
        return True

    async def _dm_channel(self, user_id: int) -> discord.PartialMessageable:
        """The member's DM channel, opened from their id alone the first time (Chronicle
        has no members intent: discord.py knows no user to open it from)."""
        channel_id = self._dm_channels.get(user_id)
        if channel_id is None:
            channel_id = (await self.bot.create_dm(discord.Object(user_id))).id
            self._dm_channels[user_id] = channel_id
            while len(self._dm_channels) > DM_CHANNELS_KEPT:
                self._dm_channels.popitem(last=False)
        else:
            self._dm_channels.move_to_end(user_id)
        return self.bot.get_partial_messageable(channel_id, type=discord.ChannelType.private)

    async def _refused(
        self, subscription: Subscription, error: discord.HTTPException | MissingPermissions
    ) -> None:
        """Pause what a refusal stops for good, and tell each member once: closed DMs, the
        member's DM subscriptions (every server's); a channel Chronicle may no longer post
        in, the member's subscriptions delivered there; a deleted channel, everyone's."""
        repo = self.bot.storage.subscriptions
        if subscription.delivery == "dm":
            paused = await repo.dm_subscriptions(subscription.user_id) or [subscription]
            reason = DM_PAUSE_REASON
            notices = {
                subscription.user_id: (
                    "Chronicle could not send you alerts by direct message, so your DM "
                    f"subscriptions ({', '.join(s.entity for s in paused)}) are paused. Allow "
                    "direct messages from server members (Privacy Settings), then run "
                    "/subscribe again to resume, or choose delivery: here."
                )
            }
        else:
            channel = subscription.channel_id
            deleted = isinstance(error, discord.NotFound)
            paused = await repo.here_subscriptions(
                channel or 0, None if deleted else subscription.user_id
            ) or [subscription]
            if isinstance(error, MissingPermissions):
                lacking = ", ".join(error.labels)
                reason = f"Chronicle lacks {lacking} in <#{channel}>"
                why = f" (Chronicle lacks {lacking} there: Discord would post them blank)"
            else:
                reason = f"Chronicle may no longer post in <#{channel}> ({error.status})"
                why = " (the channel is gone)" if deleted else ""
            notices = {}
            for user_id in dict.fromkeys(s.user_id for s in paused):
                theirs = [s.entity for s in paused if s.user_id == user_id]
                which = (
                    "that subscription is"
                    if len(theirs) == 1
                    else f"those {len(theirs)} subscriptions are"
                )
                notices[user_id] = (
                    f"Chronicle could not post your alerts about {', '.join(theirs)} in "
                    f"<#{channel}>{why}, so {which} "
                    "paused. Run /subscribe again (in a channel Chronicle can post in, or with "
                    "delivery: dm) to resume."
                )
        await repo.pause([s.id for s in paused], reason)
        self._dropped.update(s.id for s in paused)
        for user_id, notice in notices.items():
            await repo.add_notice(user_id, notice)
        log.info(
            "paused %d subscriptions of %s: %s (Discord %s %s)",
            len(paused),
            ", ".join(f"user {user_id}" for user_id in notices),
            reason,
            getattr(error, "status", "-"),
            getattr(error, "code", "-"),
        )


def _check_embeds(channel: discord.abc.Messageable) -> None:
    """Refuse before posting where Discord would drop the alert's embed."""
    if isinstance(channel, discord.abc.GuildChannel | discord.Thread) and blanks_embeds(channel):
        raise MissingPermissions(channel.id, ["Embed Links"])
