"""What Chronicle needs to post in a channel, by the channel's type, and whom a post may
ping."""

from __future__ import annotations

import discord

Channel = discord.TextChannel | discord.ForumChannel | discord.Thread


def permissions_needed(channel: object) -> list[tuple[str, str]]:
    """(flag, label) of the permissions posting (a digest, an alert) needs in a channel of this type
    (publishing its own posts in an announcement channel needs no more)."""
    if isinstance(channel, discord.Thread):
        return [
            ("view_channel", "View Channel"),
            ("send_messages_in_threads", "Send Messages in Threads"),
            ("embed_links", "Embed Links"),
        ]
    needed = [("view_channel", "View Channel"), ("send_messages", "Send Messages")]
    if isinstance(channel, discord.ForumChannel):
        # A post is a thread: its first message opens it, the rest of a long list follow.
        needed[1] = ("send_messages", "Send Messages (Create Posts)")
        needed.append(("send_messages_in_threads", "Send Messages in Threads"))
    needed.append(("embed_links", "Embed Links"))
    return needed


# What a private thread Chronicle is not in lacks: its permissions (its parent's) do not say.
NOT_IN_PRIVATE_THREAD = "a place in this private thread (add me to it, or give me Manage Threads)"


def missing_permissions(channel: Channel, member: discord.Member) -> list[str]:
    """The labels of what the member (the bot) lacks to post in the channel. A private
    thread takes posts only from its members and those with Manage Threads, whatever the
    permissions say."""
    perms = channel.permissions_for(member)
    missing = [label for flag, label in permissions_needed(channel) if not getattr(perms, flag)]
    if (
        isinstance(channel, discord.Thread)
        and channel.is_private()
        and channel.me is None
        and not perms.manage_threads
    ):
        missing.insert(0, NOT_IN_PRIVATE_THREAD)
    return missing


def blanks_embeds(channel: discord.abc.GuildChannel | discord.Thread) -> bool:
    """Whether Discord would take Chronicle's post here but drop its embeds: Embed Links
    is all it lacks (lacking more, the post is refused, and says so itself)."""
    me = channel.guild.me
    if me is None:
        return False
    perms = channel.permissions_for(me)
    missing = [flag for flag, _ in permissions_needed(channel) if not getattr(perms, flag)]
    return missing == ["embed_links"]


def pinging_only(*, user: int | None = None, role: int | None = None) -> discord.AllowedMentions:
    """Mentions that ping this one user or role and nobody else (none: nobody)."""
    return discord.AllowedMentions(
        everyone=False,
        replied_user=False,
        users=[discord.Object(user)] if user else False,
        roles=[discord.Object(role)] if role else False,
    )
