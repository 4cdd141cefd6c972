"""A channel refusing a digest: every digest of it paused, and whom it concerns told once.

The person who set a digest hears by DM, else in the server's system channel, naming them.
One no longer in the server (Chronicle sees no member leave: it is asked then) hears nothing
of it; the server's system channel is told instead, pinging nobody.
"""

from __future__ import annotations

import logging

import aiohttp
import discord

from bot import render
from bot.context import Chronicle
from bot.failures import describe_error, way_out
from bot.permissions import permissions_needed, pinging_only
from bot.services.digests import describe_filters
from storage.models import Digest

log = logging.getLogger(__name__)

UNKNOWN_MEMBER = 10007  # Discord: the user is not a member of the server


async def pause_channel(bot: Chronicle, digest: Digest, reason: str, error: Exception) -> None:
    """Pause every digest of a channel that refused one (what refuses one post refuses
    them all), and tell each person who set one of them, once, in one notice naming
    each digest, and how to resume them."""
    storage = bot.storage
    in_channel = [
        d
        for d in await storage.digests.for_guild(digest.guild_id)
        if d.channel_id == digest.channel_id
    ]
    paused = [d for d in in_channel if await storage.digests.pause(d.id, reason)]
    channel = await _known_channel(bot, digest.channel_id) if paused else None
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
            f" <#{digest.channel_id}>: {why}."
            f" {way_out(error, channel, needed, len(theirs) > 1)}"
        )
        if await _tell_creator(bot, theirs[0], notice):
            for d in theirs:
                await storage.digests.mark_pause_notified(d.id)


async def _known_channel(bot: Chronicle, channel_id: int) -> object:
    """The channel, fetched when not cached (an archived thread is not); None when Discord
    cannot say."""
    try:
        return bot.get_channel(channel_id) or await bot.fetch_channel(channel_id)
    except (discord.HTTPException, aiohttp.ClientError, TimeoutError):
        return None


async def _tell_creator(bot: Chronicle, digest: Digest, notice: str) -> bool:
    """By DM; when their DMs are closed, in the server's system channel, naming them; when
    they left the server, there without naming them."""
    guild = bot.get_guild(digest.guild_id)
    member = guild is not None and await _is_member(guild, digest.created_by)
    token = bot.settings.discord_token
    if member:
        try:
            user = bot.get_user(digest.created_by) or await bot.fetch_user(digest.created_by)
            await user.send(notice, allowed_mentions=discord.AllowedMentions.none())
            return True
        except discord.HTTPException as error:
            log.info(
                "could not DM user %s about a paused digest: %s",
                digest.created_by,
                describe_error(error, token),
            )
    system = guild.system_channel if guild else None
    if guild is not None and system is not None and system.id != digest.channel_id:
        perms = system.permissions_for(guild.me)
        if perms.view_channel and perms.send_messages:
            try:
                if member:
                    await system.send(
                        f"<@{digest.created_by}> {notice}",
                        allowed_mentions=pinging_only(user=digest.created_by),
                    )
                else:
                    await system.send(notice, allowed_mentions=discord.AllowedMentions.none())
                return True
            except discord.HTTPException as error:
                log.info(
                    "could not post in system channel %s: %s",
                    system.id,
                    describe_error(error, token),
                )
    log.warning(
        "could not tell anyone in guild %s that its %s digest %s is paused"
        " (DM refused or its creator gone, no system channel to post in)",
        digest.guild_id,
        digest.kind,
        digest.id,
    )
    return False


async def _is_member(guild: discord.Guild, user_id: int) -> bool:
    """Whether the digest's creator is still in its server, asked over REST (no members
    intent); when Discord cannot say, they are."""
    try:
        await guild.fetch_member(user_id)
    except discord.NotFound as error:
        return error.code != UNKNOWN_MEMBER
    except (discord.HTTPException, aiohttp.ClientError, TimeoutError):
        return True
    return True


def _digest_name(digest: Digest) -> str:
    """A digest as a notice names it: its kind and frequency, and what it follows."""
    about = describe_filters(digest.filters, digest.entity_names)
    return f"**{digest.every} {digest.kind}**" + (f" ({render.escape(about)})" if about else "")
