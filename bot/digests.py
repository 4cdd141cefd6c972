"""What a digest contains, when it runs, and delivering it exactly once.

A digest run belongs to a local day in the digest's timezone. Before anything is posted the
run is claimed in storage; a restart, a late timer or a repeated job finds the claim and posts
nothing. A run that Discord answers 5xx is retried a few times the same day, resuming after
the messages already sent. A channel that answers 403/404 pauses the digest and the server
is told once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import aiohttp
import discord

from bot import render
from storage import Storage
from storage.digests import Digest, NewEvent
from storage.models import EventBrief

if TYPE_CHECKING:
    from bot.client import ChronicleBot

log = logging.getLogger(__name__)

ONTHISDAY_ITEMS = 10
NEW_ITEMS = 25
RETRY_DELAYS = (60.0, 300.0, 900.0)  # seconds before the 2nd, 3rd and 4th attempt
Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- when -------------------------------------------------------------------------------------


def local_moment(day: dt.date, time: dt.time, tz: ZoneInfo) -> dt.datetime:
    """The instant a local time happens on a day. A time skipped by a DST change (02:30 on
    the spring-forward day) happens as late as the clock jump implies (03:30), not never; a
    time that happens twice (autumn) happens the first time."""
    return dt.datetime.combine(day, time, tzinfo=tz).astimezone(dt.UTC)


def next_run(time: dt.time, timezone: str, after: dt.datetime) -> tuple[dt.datetime, dt.date]:
    """The first run strictly after `after`: (instant in UTC, local date it belongs to)."""
    tz = ZoneInfo(timezone)
    day = after.astimezone(tz).date() - dt.timedelta(days=1)
    for _ in range(4):
        moment = local_moment(day, time, tz)
        if moment > after:
            return moment, day
        day += dt.timedelta(days=1)
    raise AssertionError("a daily time recurs within three days")


def previous_run(time: dt.time, timezone: str, at: dt.datetime) -> tuple[dt.datetime, dt.date]:
    """The last run at or before `at`: (instant in UTC, local date)."""
    tz = ZoneInfo(timezone)
    day = at.astimezone(tz).date() + dt.timedelta(days=1)
    for _ in range(4):
        moment = local_moment(day, time, tz)
        if moment <= at:
            return moment, day
        day -= dt.timedelta(days=1)
    raise AssertionError("a daily time recurs within three days")


def local_today(timezone: str, now: dt.datetime) -> dt.date:
    return now.astimezone(ZoneInfo(timezone)).date()


# --- what -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DigestItem:
    markdown: str  # for Discord
    lead: str  # for the terminal: the bullet, and the date when the item has one
    headline: str

    @property
    def text(self) -> str:
        return self.lead + self.headline


@dataclass(frozen=True, slots=True)
class DigestSection:
    heading: str
    items: tuple[DigestItem, ...]


@dataclass(frozen=True, slots=True)
class DigestContent:
    kind: str
    title: str
    sections: tuple[DigestSection, ...] = ()
    more: int = 0  # events covered but not listed
    more_hint: str | None = None  # the /search that lists them all
    event_ids: tuple[int, ...] = field(default=())  # every event the run covers

    @property
    def empty(self) -> bool:
        return not self.sections


# The 'new' digests of many channels list much the same events: each line is made once.
@lru_cache(maxsize=4096)
def _item(brief: EventBrief, with_date: bool = False) -> DigestItem:
    date = f"{render.discord_date(brief.date, 'd')} " if with_date else ""
    return DigestItem(
        markdown=f"• {date}{render.link(render.cut(brief.headline, 300), brief.url)}",
        lead=f"• {brief.date.isoformat()}  " if with_date else "• ",
        headline=brief.headline,
    )


async def onthisday_content(
    storage: Storage, local_date: dt.date, *, limit: int = ONTHISDAY_ITEMS
) -> DigestContent:
    """Events on this local month and day in earlier years: the ones the archive says most
    about, shown newest year first under "N years ago — YYYY"."""
    best = await storage.digests.on_this_day_best(
        local_date.month, local_date.day, before_year=local_date.year, limit=limit
    )
    title = f"On this day: {local_date:%B} {local_date.day}"
    if not best:
        return DigestContent("onthisday", title)
    by_year: dict[int, list[EventBrief]] = {}
    for brief in sorted(best, key=lambda b: (b.date, b.id), reverse=True):
        by_year.setdefault(brief.date.year, []).append(brief)
    sections = tuple(
        DigestSection(
            heading=render.year_heading(briefs[0].date, local_date),
            items=tuple(_item(b) for b in briefs),
        )
        for briefs in by_year.values()
    )
    return DigestContent("onthisday", title, sections, event_ids=tuple(b.id for b in best))


def new_content(events: list[NewEvent], *, limit: int = NEW_ITEMS) -> DigestContent:
    """New events grouped by story, else by their most frequent entity; at most `limit`
    listed, the rest counted with the /search that shows them."""
    title = "New events"
    if not events:
        return DigestContent("new", title)
    groups: dict[str, list[NewEvent]] = {}
    newest_id: dict[str, int] = {}
    for event in events:
        heading = event.story or event.top_entity or "Other news"
        groups.setdefault(heading, []).append(event)
        newest_id[heading] = max(newest_id.get(heading, 0), event.brief.id)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), -newest_id[kv[0]], kv[0]))
    sections: list[DigestSection] = []
    listed = 0
    for heading, members in ordered:
        room = limit - listed
        if room <= 0:
            break
        newest = sorted(members, key=lambda e: (e.brief.date, e.brief.id), reverse=True)[:room]
        sections.append(
            DigestSection(heading, tuple(_item(e.brief, with_date=True) for e in newest))
        )
        listed += len(newest)
    more = len(events) - listed
    since = min(e.brief.date for e in events)
    hint = f"/search query:* since:{since.isoformat()}" if more else None
    return DigestContent(
        "new", title, tuple(sections), more, hint, tuple(e.brief.id for e in events)
    )


# --- delivering -------------------------------------------------------------------------------


RetryScheduler = Callable[[int, dt.date, float], None]


class DigestDelivery:
    """Posts digest runs through the bot, exactly once per digest and local day."""

    def __init__(self, bot: ChronicleBot, *, clock: Clock = utc_now):
        self.bot = bot
        self.clock = clock
        self.schedule_retry: RetryScheduler | None = None

    @property
    def storage(self) -> Storage:
        return self.bot.storage

    async def content_for(
        self, digest: Digest, local_date: dt.date, items: tuple[int, ...] | None = None
    ) -> DigestContent:
        if digest.kind == "onthisday":
            return await onthisday_content(self.storage, local_date)
        events = (
            await self.storage.digests.events_by_id(items)
            if items is not None
            else await self.storage.digests.new_events(digest)
        )
        return new_content(events)

    async def run(self, digest_id: int, local_date: dt.date) -> str:
        """Post the digest's run for a local day, unless it was posted (or skipped) already.
        Returns what happened: sent, empty, already, paused, skipped, retrying, failed."""
        digest = await self.storage.digests.get(digest_id)
        if digest is None:
            return "gone"
        if digest.paused:
            return "paused"
        if local_today(digest.timezone, self.clock()) != local_date:
            log.info(
                "skipping the %s digest of %s for channel %s: it is no longer that day in %s",
                digest.kind,
                local_date,
                digest.channel_id,
                digest.timezone,
            )
            await self.storage.digests.record_run(
                digest.id, local_date, "skipped", "missed its day"
            )
            return "skipped"
        existing = await self.storage.digests.run(digest.id, local_date)
        if existing is not None and existing.status != "retrying":
            return "already"
        content = await self.content_for(digest, local_date, existing.items if existing else None)
        if content.empty:
            await self.storage.digests.record_run(digest.id, local_date, "empty")
            return "empty"
        messages = render.digest_messages(content)
        run = await self.storage.digests.claim_run(
            digest.id, local_date, parts=len(messages), items=content.event_ids
        )
        if run is None:
            return "already"
        try:
            channel = self.bot.get_channel(digest.channel_id) or await self.bot.fetch_channel(
                digest.channel_id
            )
            if not isinstance(channel, discord.abc.Messageable):
                raise ChannelRefused(f"channel {digest.channel_id} is not a text channel")
            for embeds in messages[run.parts_sent :]:
                await channel.send(embeds=embeds, allowed_mentions=discord.AllowedMentions.none())
                await self.storage.digests.part_sent(digest.id, local_date)
        except (discord.Forbidden, discord.NotFound, ChannelRefused) as error:
            reason = _refusal(error, digest.channel_id)
            await self.storage.digests.finish_run(digest.id, local_date, "failed", reason)
            await self.pause(digest, reason)
            return "paused"
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as error:
            return await self._transient(digest, local_date, run.attempts, error)
        await self.storage.digests.finish_run(digest.id, local_date, "sent")
        log.info(
            "posted the %s digest of %s to channel %s (%d messages, %d events)",
            digest.kind,
            local_date,
            digest.channel_id,
            len(messages),
            len(content.event_ids),
        )
        return "sent"

    async def _transient(
        self, digest: Digest, local_date: dt.date, attempts: int, error: Exception
    ) -> str:
        detail = f"{type(error).__name__}: {error}"
        if attempts <= len(RETRY_DELAYS) and self.schedule_retry is not None:
            delay = RETRY_DELAYS[attempts - 1]
            await self.storage.digests.finish_run(digest.id, local_date, "retrying", detail)
            self.schedule_retry(digest.id, local_date, delay)
            log.warning(
                "the %s digest of %s for channel %s failed (%s); attempt %d, retrying in %.0f s",
                digest.kind,
                local_date,
                digest.channel_id,
                detail,
                attempts,
                delay,
            )
            return "retrying"
        await self.storage.digests.finish_run(digest.id, local_date, "failed", detail)
        log.error(
            "giving up on the %s digest of %s for channel %s after %d attempts: %s",
            digest.kind,
            local_date,
            digest.channel_id,
            attempts,
            detail,
        )
        return "failed"

    async def pause(self, digest: Digest, reason: str) -> None:
        """Pause a digest Discord refuses, and tell the server once."""
        if not await self.storage.digests.pause(digest.id, reason):
            return
        log.warning(
            "paused the %s digest for channel %s in guild %s: %s",
            digest.kind,
            digest.channel_id,
            digest.guild_id,
            reason,
        )
        notice = (
            f"Chronicle paused the **{digest.kind}** digest for <#{digest.channel_id}>: {reason}. "
            "Give Chronicle View Channel, Send Messages and Embed Links there (or pick another "
            "channel), then run `/digest set` to resume it."
        )
        if await self._tell_server(digest, notice):
            await self.storage.digests.mark_pause_notified(digest.id)

    async def _tell_server(self, digest: Digest, notice: str) -> bool:
        guild = self.bot.get_guild(digest.guild_id)
        system = guild.system_channel if guild else None
        if guild is not None and system is not None and system.id != digest.channel_id:
            perms = system.permissions_for(guild.me)
            if perms.view_channel and perms.send_messages:
                try:
                    await system.send(notice, allowed_mentions=discord.AllowedMentions.none())
                    return True
                except discord.HTTPException:
                    log.info("could not post the pause notice in system channel %s", system.id)
        try:
            user = self.bot.get_user(digest.created_by) or await self.bot.fetch_user(
                digest.created_by
            )
            await user.send(notice, allowed_mentions=discord.AllowedMentions.none())
            return True
        except discord.HTTPException:
            log.warning(
                "could not tell guild %s that its %s digest is paused (no system channel, DM refused)",
                digest.guild_id,
                digest.kind,
            )
            return False

    async def catch_up(self, digest: Digest) -> str | None:
        """At start: post a run missed while the bot was down, if it is still that local day."""
        if digest.paused:
            return None
        now = self.clock()
        moment, local_date = previous_run(digest.time, digest.timezone, now)
        if moment < digest.created_at:
            return None  # set up after that time: its first run is the next one
        existing = await self.storage.digests.run(digest.id, local_date)
        if existing is not None and existing.status != "retrying":
            return None
        return await self.run(digest.id, local_date)


class ChannelRefused(Exception):
    """The digest's channel exists but cannot take messages."""


def _refusal(error: Exception, channel_id: int) -> str:
    if isinstance(error, discord.NotFound):
        return f"Discord answered 404 ({error.text or 'Unknown Channel'}): channel {channel_id} is gone"
    if isinstance(error, discord.Forbidden):
        return (
            f"Discord answered 403 ({error.text or 'Missing Access'}): "
            f"Chronicle may not post in channel {channel_id}"
        )
    return str(error)
