"""Subscription alerts: after new events arrive, one message per subscriber, never twice.

A sweep reads the announceable events after its watermark (feed polls run it at once;
`chronicle import --announce` from another process is picked up by the periodic sweep),
finds the subscriptions whose entity is in them, and sends each subscriber one message
listing their events. Each (target, event) is claimed in the delivery ledger before the
message goes out, so a restart or an overlapping sweep never repeats one, and marked sent once
it has. A claim a process left unsent (it died in between) is taken back by the next sweep of
the process running its server's shard, once CLAIM_GRACE has passed, and sent again: once, as
one still unsent after that is given up. Closed DMs pause the member's DM subscriptions; they
are told the next time they use a command.

With the bot sharded over processes, each process sends the alerts of the servers on its
shards (an alert naming subscriptions in several servers: the first server's process) and
keeps a watermark per shard, so that the sweep of one does not move another's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import defaultdict

import aiohttp
import discord

from bot import render
from bot.context import Chronicle
from bot.nonces import alert_nonce
from bot.permissions import pinging_only
from storage.models import Match, Subscription

log = logging.getLogger(__name__)

WATERMARK = "alerts.after_event_id"
SWEEP_BATCH = 5000
CLOSED_DMS = 50007  # Discord: Cannot send messages to this user
# How long a claim stays unsent before it counts as its process's crash: far longer than one
# message takes (rate limits included), so that a live process's claim is never sent twice.
CLAIM_GRACE = dt.timedelta(minutes=5)


def shard_watermark(shard: int, count: int) -> str:
    """The state key of a shard's watermark (a new shard count starts new ones)."""
    return f"{WATERMARK}.shard-{shard}-of-{count}"


class AlertService:
    def __init__(self, bot: Chronicle):
        self.bot = bot
        self._lock = asyncio.Lock()
        self.claim_grace = CLAIM_GRACE

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
            sent = await self._retry_unsent()
            return sent + await self._sweep()

    async def _sweep(self) -> int:
        repo = self.bot.storage.subscriptions
        keys = self._watermarks()
        stored = [await repo.state(key) for key in keys]
        if None in stored:
            # First run (of a shard): what is already in the archive is history, not
            # news; a shard new to sharding starts where the unsharded bot stopped.
            start = await repo.state(WATERMARK) if keys != [WATERMARK] else None
            if start is None:
                start = str(await repo.newest_event_id())
            for key, value in zip(keys, stored, strict=True):
                if value is None:
                    await repo.set_state(key, start)
            if all(value is None for value in stored):
                return 0
            stored = [start if value is None else value for value in stored]
        # Shards behind the others sweep again what the others had: the ledger's claims
        # keep each alert to one message.
        after = min(int(value) for value in stored if value is not None)
        sent = 0
        while ids := await repo.announced_after(after, limit=SWEEP_BATCH):
            sent += await self._deliver(await repo.matches(ids))
            after = ids[-1]
            for key in keys:
                await repo.set_state(key, str(after))
        return sent

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
                "gave up the alert of event %s to %s: still unsent after its retry",
                event_id,
                target,
            )
        if not taken.retried:
            return 0
        log.info("retrying %d alerts a stopped process left unsent", len(taken.retried))
        # Claims of this process's shards: its to send, whichever servers they name.
        by_target: dict[str, list[Match]] = defaultdict(list)
        for match in taken.matches:
            by_target[match.subscription.target].append(match)
        orphans: dict[str, list[int]] = defaultdict(list)
        for target, event_id in taken.retried:
            if not any(m.event.id == event_id for m in by_target.get(target, ())):
                orphans[target].append(event_id)
        for target, event_ids in orphans.items():
            # Unsubscribed or paused meanwhile: nobody to send it to any more.
            await repo.mark_failed(target, event_ids)
        sent = 0
        for target, items in by_target.items():
            if await self._send(target, items):
                sent += 1
        return sent

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
        for target, items in self._owned(matches).items():
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
                user = self.bot.get_user(subscription.user_id) or await self.bot.fetch_user(
                    subscription.user_id
                )
                await user.send(
                    embed=embed, allowed_mentions=discord.AllowedMentions.none(), nonce=nonce
                )
            else:
                channel = self.bot.get_channel(
                    subscription.channel_id or 0
                ) or await self.bot.fetch_channel(subscription.channel_id or 0)
                assert isinstance(channel, discord.abc.Messageable)
                await channel.send(
                    f"<@{subscription.user_id}>",
                    embed=embed,
                    allowed_mentions=pinging_only(user=subscription.user_id),
                    nonce=nonce,
                )
        except (discord.Forbidden, discord.NotFound) as error:
            # Refused for good: settled, so that no sweep or restart sends it again.
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
                error,
                self.claim_grace,
            )
            return False
        await repo.mark_sent(target, list(events))
        return True

    async def _refused(self, subscription: Subscription, error: discord.HTTPException) -> None:
        repo = self.bot.storage.subscriptions
        if subscription.delivery == "dm":
            paused = await repo.dm_subscriptions(subscription.user_id)
            reason = "Discord refused the direct message (your DMs are closed to Chronicle)"
            notice = (
                "Chronicle could not send you alerts by direct message, so your DM subscriptions "
                f"({', '.join(s.entity for s in paused)}) are paused. Allow direct messages from "
                "server members (Privacy Settings), then run /subscribe again to resume, or "
                "choose delivery: here."
            )
        else:
            paused = [subscription]
            reason = (
                f"Chronicle may no longer post in <#{subscription.channel_id}> ({error.status})"
            )
            notice = (
                f"Chronicle could not post your alerts about {subscription.entity} in "
                f"<#{subscription.channel_id}>, so that subscription is paused. Run /subscribe "
                "again (in a channel Chronicle can post in, or with delivery: dm) to resume."
            )
        await repo.pause([s.id for s in paused], reason)
        await repo.add_notice(subscription.user_id, notice)
        log.info(
            "paused %d subscriptions of user %s: %s (Discord %s %s)",
            len(paused),
            subscription.user_id,
            reason,
            error.status,
            error.code,
        )
