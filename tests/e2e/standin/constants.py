"""Discord's numbers as the stand-in uses them: the fixed ids and bot token tests refer to,
permission bits, channel and interaction types, and snowflakes (time-based ids)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import time
from typing import Any

import discord

__all__ = [
    "ADMINISTRATOR",
    "ALL_PERMISSIONS",
    "ANNOUNCEMENT_THREAD",
    "APPLICATION_ID",
    "ATTACH_FILES",
    "BOT_USER_ID",
    "DEFAULT_BOT_PERMISSIONS",
    "DEFAULT_CHANNEL_ID",
    "DEFAULT_EVERYONE_PERMISSIONS",
    "DEFAULT_GUILD_ID",
    "DEFAULT_TOKEN",
    "DEFAULT_USER_ID",
    "EMBED_LINKS",
    "GUILD_ANNOUNCEMENT",
    "GUILD_FORUM",
    "GUILD_TEXT",
    "MANAGE_MESSAGES",
    "MANAGE_THREADS",
    "MENTION_EVERYONE",
    "OWNER_USER_ID",
    "PRIVATE_THREAD",
    "PUBLIC_THREAD",
    "SEND_MESSAGES",
    "SEND_MESSAGES_IN_THREADS",
    "VIEW_CHANNEL",
    "make_token",
    "permissions",
]

# JSON as it goes over the wire: any value, and an object.
Json = Any
JsonDict = dict[str, Any]

API_VERSION = 10
DISCORD_EPOCH_MS = 1_420_070_400_000
# How long an enforced nonce is remembered: Discord says "the past few minutes".
NONCE_WINDOW = 180.0

# Fixed ids so tests can refer to them. Bots created since 2016 share the application's id.
BOT_USER_ID = 1_180_000_000_000_000_001
APPLICATION_ID = BOT_USER_ID
OWNER_USER_ID = 1_180_000_000_000_000_002
DEFAULT_USER_ID = 1_180_000_000_000_000_003
DEFAULT_GUILD_ID = 1_180_000_000_000_001_000
DEFAULT_CHANNEL_ID = DEFAULT_GUILD_ID + 10  # make_guild()'s first channel
# GATEWAY_GUILD_MEMBERS_LIMITED | GATEWAY_MESSAGE_CONTENT_LIMITED | APPLICATION_COMMAND_BADGE
APPLICATION_FLAGS = (1 << 15) | (1 << 19) | (1 << 23)


def make_token(user_id: int = BOT_USER_ID) -> str:
    """A token shaped like a real bot token: base64(user id) . timestamp . hmac."""
    head = base64.b64encode(str(user_id).encode()).decode().rstrip("=")
    tail = base64.urlsafe_b64encode(hashlib.sha256(head.encode()).digest()).decode()[:38]
    return f"{head}.GstNdn.{tail}"


DEFAULT_TOKEN = make_token()


# --------------------------------------------------------------------------------------------
# Permissions
# --------------------------------------------------------------------------------------------


def permissions(**flags: bool) -> int:
    """Bitfield for discord.py permission names, e.g. ``permissions(send_messages=True)``."""
    return discord.Permissions(**flags).value


ALL_PERMISSIONS = discord.Permissions.all().value
ADMINISTRATOR = permissions(administrator=True)
VIEW_CHANNEL = permissions(view_channel=True)
SEND_MESSAGES = permissions(send_messages=True)
EMBED_LINKS = permissions(embed_links=True)
ATTACH_FILES = permissions(attach_files=True)
SEND_MESSAGES_IN_THREADS = permissions(send_messages_in_threads=True)  # 1 << 38
CREATE_PUBLIC_THREADS = permissions(create_public_threads=True)
CREATE_PRIVATE_THREADS = permissions(create_private_threads=True)
MANAGE_MESSAGES = permissions(manage_messages=True)
MANAGE_THREADS = permissions(manage_threads=True)
MENTION_EVERYONE = permissions(mention_everyone=True)
# What Discord gives @everyone in a new server (the parts relevant to a text bot).
DEFAULT_EVERYONE_PERMISSIONS = permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    create_private_threads=True,
    embed_links=True,
    attach_files=True,
    add_reactions=True,
    use_external_emojis=True,
    use_external_stickers=True,
    read_message_history=True,
    use_application_commands=True,
    connect=True,
    speak=True,
    stream=True,
    use_voice_activation=True,
    change_nickname=True,
    create_instant_invite=True,
)
# What an invite link for a news bot would typically request for its managed role.
DEFAULT_BOT_PERMISSIONS = permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    embed_links=True,
    attach_files=True,
    read_message_history=True,
    add_reactions=True,
    use_external_emojis=True,
    use_application_commands=True,
)
# discord.py permissions a DM grants (Discord sends these as app_permissions in DMs).
DM_PERMISSIONS = permissions(
    view_channel=True,
    send_messages=True,
    embed_links=True,
    attach_files=True,
    read_message_history=True,
    add_reactions=True,
    use_external_emojis=True,
    use_application_commands=True,
)

# Channel types.
GUILD_TEXT, DM, GUILD_VOICE, GUILD_CATEGORY, GUILD_ANNOUNCEMENT = 0, 1, 2, 4, 5
ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD = 10, 11, 12
GUILD_STAGE_VOICE, GUILD_FORUM = 13, 15
_THREAD_TYPES = {ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD}
THREAD_RESOLVED_FIELDS = ("owner_id", "thread_metadata", "message_count", "member_count")
_MESSAGEABLE_CHANNEL_TYPES = {GUILD_TEXT, DM, GUILD_VOICE, GUILD_ANNOUNCEMENT, 10, 11, 12, 13}

# Interaction types.
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5


# --------------------------------------------------------------------------------------------
# Snowflakes
# --------------------------------------------------------------------------------------------


class _Snowflakes:
    """Strictly increasing, time-based snowflakes (worker/process/increment bits unused)."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(candidate, self._last + 1)
        return self._last


def _snowflake_iso(snowflake: int) -> str:
    seconds = ((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat()
