"""A loopback stand-in for Discord that the *real* discord.py client can talk to.

End-to-end tests run the actual bot (discord.py 2.7 and all) against this server instead of
discord.com: ``bot.discord_endpoints.apply_endpoint_overrides`` points discord.py's REST base and
gateway URL here, and the stand-in answers like Discord does -- HELLO/IDENTIFY/READY/GUILD_CREATE
on a JSON gateway (zlib-stream transport compression when asked for), the REST routes a bot uses,
interaction callbacks with ``?with_response=true`` bodies, webhook followups and Discord-shaped
errors. Every REST request is recorded so tests can assert on exactly what the bot sent.

For news channels it also does what a digest poster meets on Discord: forum posts
(``POST /channels/{forum}/threads``), threads as channels (:func:`make_thread`; Send Messages in
Threads is what counts there), crossposting in announcement channels
(:meth:`DiscordStandIn.published_messages`), role/user/everyone mentions resolved against
``allowed_mentions``, opt-in enforced rate limits with real 429s and true ``X-RateLimit-*``
headers (:class:`RateLimits`, :attr:`DiscordStandIn.rate_limit_stats`), duplicate detection
(:meth:`DiscordStandIn.duplicate_messages`), and permission/channel changes while the bot is
connected (:meth:`DiscordStandIn.set_bot_overwrite`, ``set_role_permissions``,
``delete_channel`` ...), dispatched on the gateway so discord.py's cache follows.

Typical use::

    async with DiscordStandIn(guilds=[make_guild()]) as discord_api:
        async with connected_client(bot, discord_api):
            await bot.tree.sync()
            handle = await discord_api.send_slash_command("ping")
            callback = await handle.callback()
            assert callback.json["data"]["content"] == "pong"

Conventions:

* ``RecordedRequest.path`` is relative to the API base (``/channels/1/messages``), and every
  ``path_regex`` argument is matched with :func:`re.fullmatch` against it.
* Everything runs on the test's event loop; nothing sleeps. All waits take a ``timeout`` and
  raise :class:`TimeoutError` with a summary of the recent traffic.
* The stand-in must outlive the client: close the bot first (``connected_client`` does), or
  discord.py will try to reconnect to a server that is gone.
"""

# Every wait here takes an explicit ``timeout=`` (tests must never hang, and the brief API is
# ``await handle.callback(timeout=...)``), which is exactly what ASYNC109 objects to.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import math
import re
import secrets
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Self, TypeVar

import discord
from aiohttp import BodyPartReader, WSMsgType, web

from bot.discord_endpoints import apply_endpoint_overrides

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
    "DEFAULT_USER",
    "DEFAULT_USER_ID",
    "EMBED_LINKS",
    "FLAG_CROSSPOSTED",
    "GUILD_ANNOUNCEMENT",
    "GUILD_FORUM",
    "GUILD_TEXT",
    "MANAGE_MESSAGES",
    "MANAGE_THREADS",
    "MENTION_EVERYONE",
    "OWNER_USER",
    "OWNER_USER_ID",
    "PRIVATE_THREAD",
    "PUBLIC_THREAD",
    "READ_MESSAGE_HISTORY",
    "SEND_MESSAGES",
    "SEND_MESSAGES_IN_THREADS",
    "VIEW_CHANNEL",
    "ChannelSpec",
    "DiscordStandIn",
    "Errors",
    "Fault",
    "GatewayConnectionInfo",
    "GatewayFrame",
    "GuildSpec",
    "InteractionHandle",
    "MemberSpec",
    "Overwrite",
    "RateLimitStats",
    "RateLimits",
    "RecordedFile",
    "RecordedRequest",
    "RoleSpec",
    "UserSpec",
    "connected_client",
    "make_guild",
    "make_thread",
    "make_token",
    "permissions",
]

_log = logging.getLogger(__name__)
T = TypeVar("T")
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
READ_MESSAGE_HISTORY = permissions(read_message_history=True)
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

# Gateway intents (only the ones the stand-in looks at).
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT

# Channel types.
GUILD_TEXT, DM, GUILD_VOICE, GUILD_CATEGORY, GUILD_ANNOUNCEMENT = 0, 1, 2, 4, 5
ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD = 10, 11, 12
GUILD_STAGE_VOICE, GUILD_FORUM = 13, 15
_THREAD_TYPES = {ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD}
THREAD_RESOLVED_FIELDS = ("owner_id", "thread_metadata", "message_count", "member_count")
_MESSAGEABLE_CHANNEL_TYPES = {GUILD_TEXT, DM, GUILD_VOICE, GUILD_ANNOUNCEMENT, 10, 11, 12, 13}
# Intent the channel/thread/role events need.
INTENT_GUILDS = 1 << 0

# Interaction and interaction-callback types.
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
_ALLOWED_CALLBACKS: dict[int, set[int]] = {
    PING: {1},
    APPLICATION_COMMAND: {4, 5, 9, 12},
    MESSAGE_COMPONENT: {4, 5, 6, 7, 9, 12},
    AUTOCOMPLETE: {8},
    MODAL_SUBMIT: {4, 5, 6, 7},
}

# Message flags.
FLAG_CROSSPOSTED = 1 << 0
FLAG_SUPPRESS_EMBEDS, FLAG_EPHEMERAL, FLAG_LOADING = 1 << 2, 1 << 6, 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS, FLAG_COMPONENTS_V2 = 1 << 12, 1 << 15
_SETTABLE_MESSAGE_FLAGS = FLAG_SUPPRESS_EMBEDS | FLAG_SUPPRESS_NOTIFICATIONS | FLAG_COMPONENTS_V2

_SELECT_TYPES = {3, 5, 6, 7, 8}

# How many event-loop turns to yield before pushing a gateway event (see ``_settle``).
_SETTLE_YIELDS = 25


class Errors:
    """``(status, code, message)`` triples of common Discord errors, for ``fail(*Errors.X)``."""

    UNAUTHORIZED = (401, 0, "401: Unauthorized")
    MISSING_ACCESS = (403, 50001, "Missing Access")
    MISSING_PERMISSIONS = (403, 50013, "Missing Permissions")
    CANNOT_DM = (403, 50007, "Cannot send messages to this user")
    UNKNOWN_CHANNEL = (404, 10003, "Unknown Channel")
    UNKNOWN_GUILD = (404, 10004, "Unknown Guild")
    UNKNOWN_MEMBER = (404, 10007, "Unknown Member")
    UNKNOWN_MESSAGE = (404, 10008, "Unknown Message")
    UNKNOWN_WEBHOOK = (404, 10015, "Unknown Webhook")
    UNKNOWN_INTERACTION = (404, 10062, "Unknown interaction")
    ALREADY_ACKNOWLEDGED = (400, 40060, "Interaction has already been acknowledged.")
    ALREADY_CROSSPOSTED = (400, 40033, "This message has already been crossposted.")
    CANNOT_SEND_IN_FORUM = (400, 40058, "Cannot send messages in a forum channel")
    NON_TEXT_CHANNEL = (400, 50008, "Cannot send messages in a non-text channel")
    WRONG_CHANNEL_TYPE = (400, 50024, "Cannot execute action on this channel type")
    THREAD_ALREADY_CREATED = (400, 160004, "A thread has already been created for this message")
    THREAD_LOCKED = (403, 160005, "Thread is locked")
    SERVER_ERROR = (500, 0, "500: Internal Server Error")
    BAD_GATEWAY = (502, 0, "502: Bad Gateway")


# --------------------------------------------------------------------------------------------
# Small helpers
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


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _dumps(payload: Json) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def _iter_components(components: Sequence[Mapping[str, Any]] | None) -> Iterator[Mapping[str, Any]]:
    """Walk a component tree: action rows, and Components V2 containers/sections/labels."""
    for component in components or ():
        yield component
        yield from _iter_components(component.get("components"))
        for key in ("accessory", "component"):
            child = component.get(key)
            if isinstance(child, Mapping):
                yield from _iter_components([child])


def _truthy_query(value: str | None) -> bool:
    return value is not None and value.lower() in {"1", "true"}


# --------------------------------------------------------------------------------------------
# Guild / channel / role / member specs and builders
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserSpec:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False

    def to_payload(self) -> JsonDict:
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "bot": self.bot,
            "system": False,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
        }


OWNER_USER = UserSpec(OWNER_USER_ID, "guild_owner", "Guild Owner")
DEFAULT_USER = UserSpec(DEFAULT_USER_ID, "tester", "Tester")


@dataclass(frozen=True)
class Overwrite:
    """A channel permission overwrite; ``type`` 0 targets a role, 1 a member."""

    id: int
    type: Literal[0, 1]
    allow: int = 0
    deny: int = 0

    @classmethod
    def role(cls, role_id: int, *, allow: int = 0, deny: int = 0) -> Overwrite:
        return cls(role_id, 0, allow, deny)

    @classmethod
    def member(cls, user_id: int, *, allow: int = 0, deny: int = 0) -> Overwrite:
        return cls(user_id, 1, allow, deny)

    def to_payload(self) -> JsonDict:
        return {
            "id": str(self.id),
            "type": self.type,
            "allow": str(self.allow),
            "deny": str(self.deny),
        }


@dataclass(frozen=True)
class RoleSpec:
    id: int
    name: str
    permissions: int = 0
    position: int = 1
    color: int = 0
    hoist: bool = False
    mentionable: bool = False
    managed: bool = False
    bot_id: int | None = None

    def to_payload(self) -> JsonDict:
        payload: JsonDict = {
            "id": str(self.id),
            "name": self.name,
            "description": None,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": self.color,
            "colors": {
                "primary_color": self.color,
                "secondary_color": None,
                "tertiary_color": None,
            },
            "hoist": self.hoist,
            "managed": self.managed,
            "mentionable": self.mentionable,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }
        if self.bot_id is not None:
            payload["tags"] = {"bot_id": str(self.bot_id)}
        return payload


@dataclass
class ChannelSpec:
    """A guild channel -- or a thread (types 10/11/12, ``parent_id`` = its text/forum channel).

    Threads live in :attr:`GuildSpec.channels` like any channel but go out in GUILD_CREATE's
    ``threads`` (not ``channels``), take their permissions from the parent, and use the
    thread-only fields below (``owner_id`` defaults to the bot; ``bot_joined`` says whether the
    bot is a thread member, which a private thread requires unless it has Manage Threads).
    ``available_tags`` (tag id -> name) are a forum's tags; ``applied_tags`` a forum post's.
    """

    id: int
    name: str
    type: int = GUILD_TEXT
    position: int = 0
    topic: str | None = None
    parent_id: int | None = None
    nsfw: bool = False
    rate_limit_per_user: int = 0
    overwrites: list[Overwrite] = field(default_factory=list)
    # Forum channels.
    available_tags: dict[int, str] = field(default_factory=dict)
    # Threads.
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    invitable: bool = True
    auto_archive_duration: int = 1440
    applied_tags: list[int] = field(default_factory=list)
    bot_joined: bool = True
    message_count: int = 0
    last_message_id: int | None = None

    @property
    def is_thread(self) -> bool:
        return self.type in _THREAD_TYPES

    def thread_member_payload(self) -> JsonDict:
        return {
            "id": str(self.id),
            "user_id": str(BOT_USER_ID),
            "join_timestamp": _snowflake_iso(self.id),
            "flags": 1,  # HAS_INTERACTED
        }

    def to_payload(self, guild_id: int | None = None, *, member: bool = False) -> JsonDict:
        """The channel object; ``member=True`` adds a joined thread's ``member`` field."""
        last_message_id = str(self.last_message_id) if self.last_message_id else None
        if self.is_thread:
            payload: JsonDict = {
                "id": str(self.id),
                "type": self.type,
                "name": self.name,
                "parent_id": str(self.parent_id) if self.parent_id else None,
                "owner_id": str(self.owner_id or BOT_USER_ID),
                "last_message_id": last_message_id,
                "rate_limit_per_user": self.rate_limit_per_user,
                "message_count": self.message_count,
                "member_count": 1 if self.bot_joined else 0,
                "total_message_sent": self.message_count,
                "flags": 0,
                "applied_tags": [str(t) for t in self.applied_tags],
                "thread_metadata": {
                    "archived": self.archived,
                    "auto_archive_duration": self.auto_archive_duration,
                    "archive_timestamp": _snowflake_iso(self.id),
                    "locked": self.locked,
                    "create_timestamp": _snowflake_iso(self.id),
                    **({"invitable": self.invitable} if self.type == PRIVATE_THREAD else {}),
                },
            }
            if guild_id is not None:
                payload["guild_id"] = str(guild_id)
            if member and self.bot_joined:
                payload["member"] = self.thread_member_payload()
            return payload
        payload = {
            "id": str(self.id),
            "type": self.type,
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [o.to_payload() for o in self.overwrites],
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "flags": 0,
        }
        if guild_id is not None:
            payload["guild_id"] = str(guild_id)
        if self.type in (GUILD_TEXT, GUILD_ANNOUNCEMENT, GUILD_FORUM):
            payload.update(
                topic=self.topic,
                nsfw=self.nsfw,
                last_message_id=last_message_id,
                rate_limit_per_user=self.rate_limit_per_user,
                default_auto_archive_duration=1440,
            )
        if self.type in (GUILD_VOICE, GUILD_STAGE_VOICE):
            payload.update(
                bitrate=64000,
                user_limit=0,
                rtc_region=None,
                nsfw=self.nsfw,
                last_message_id=last_message_id,
                rate_limit_per_user=self.rate_limit_per_user,
            )
        if self.type == GUILD_FORUM:
            payload.update(
                available_tags=[
                    {
                        "id": str(tag_id),
                        "name": name,
                        "moderated": False,
                        "emoji_id": None,
                        "emoji_name": None,
                    }
                    for tag_id, name in self.available_tags.items()
                ],
                default_reaction_emoji=None,
                default_sort_order=None,
                default_forum_layout=0,
                default_thread_rate_limit_per_user=0,
            )
        return payload


@dataclass(frozen=True)
class MemberSpec:
    user: UserSpec
    roles: tuple[int, ...] = ()
    nick: str | None = None
    joined_at: str = "2024-01-01T00:00:00.000000+00:00"

    def to_payload(self, *, include_user: bool = True, permissions: int | None = None) -> JsonDict:
        payload: JsonDict = {
            "roles": [str(r) for r in self.roles],
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
            "avatar_decoration_data": None,
        }
        if include_user:
            payload["user"] = self.user.to_payload()
        if permissions is not None:
            payload["permissions"] = str(permissions)
        return payload


@dataclass
class GuildSpec:
    """A guild the bot is in. Ids of the default channel / bot role derive from ``id``.

    The bot is a member through its managed role (``bot_role_id``, permissions
    ``bot_permissions``) plus ``bot_roles``; ``members`` are the other (human) members.
    """

    id: int = DEFAULT_GUILD_ID
    name: str = "Chronicle Test Guild"
    channels: list[ChannelSpec] | None = None
    roles: list[RoleSpec] = field(default_factory=list)
    members: list[MemberSpec] | None = None
    everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS
    bot_permissions: int = DEFAULT_BOT_PERMISSIONS
    bot_role_id: int = 0
    bot_roles: list[int] = field(default_factory=list)
    owner_id: int = OWNER_USER_ID
    member_count: int | None = None
    features: list[str] = field(default_factory=list)
    preferred_locale: str = "en-US"
    joined_at: str = "2024-01-01T00:00:00.000000+00:00"
    system_channel_id: int | None = None

    def __post_init__(self) -> None:
        if self.channels is None:
            self.channels = [ChannelSpec(self.id + 10, "general")]
        if self.members is None:
            self.members = [MemberSpec(OWNER_USER), MemberSpec(DEFAULT_USER)]
        if not self.bot_role_id:
            self.bot_role_id = self.id + 1

    # -- lookups --------------------------------------------------------------------------

    @property
    def all_channels(self) -> list[ChannelSpec]:
        return list(self.channels or [])

    @property
    def top_level_channels(self) -> list[ChannelSpec]:
        """Channels proper (what GUILD_CREATE lists under ``channels``): no threads."""
        return [c for c in self.all_channels if not c.is_thread]

    @property
    def threads(self) -> list[ChannelSpec]:
        return [c for c in self.all_channels if c.is_thread]

    @property
    def all_members(self) -> list[MemberSpec]:
        return list(self.members or [])

    def everyone_role(self) -> RoleSpec:
        return RoleSpec(self.id, "@everyone", self.everyone_permissions, position=0)

    def bot_role(self) -> RoleSpec:
        return RoleSpec(
            self.bot_role_id,
            "Chronicle",
            self.bot_permissions,
            position=1,
            managed=True,
            bot_id=BOT_USER_ID,
        )

    def all_roles(self) -> list[RoleSpec]:
        return [self.everyone_role(), self.bot_role(), *self.roles]

    def channel(self, key: int | str) -> ChannelSpec:
        """The channel with this id or name (KeyError if absent)."""
        for channel in self.all_channels:
            if key in (channel.id, channel.name):
                return channel
        raise KeyError(f"guild {self.id} has no channel {key!r}")

    def find_channel(self, channel_id: int) -> ChannelSpec | None:
        return next((c for c in self.all_channels if c.id == channel_id), None)

    def default_channel(self) -> ChannelSpec:
        for channel in self.top_level_channels:
            if channel.type in _MESSAGEABLE_CHANNEL_TYPES:
                return channel
        raise LookupError(f"guild {self.id} has no text channel")

    def member(self, user_id: int) -> MemberSpec | None:
        return next((m for m in self.all_members if m.user.id == user_id), None)

    def bot_member(self, bot_user: UserSpec) -> MemberSpec:
        return MemberSpec(bot_user, (self.bot_role_id, *self.bot_roles), joined_at=self.joined_at)

    def role_ids_of(self, user_id: int) -> list[int]:
        if user_id == BOT_USER_ID:
            return [self.bot_role_id, *self.bot_roles]
        member = self.member(user_id)
        return list(member.roles) if member else []

    def permissions_for(
        self, user_id: int, channel_id: int | None = None, *, role_ids: Sequence[int] | None = None
    ) -> int:
        """Discord's permission algorithm: base (roles) then channel overwrites.

        A thread has no overwrites of its own: its permissions are its parent channel's.
        """
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        roles = set(self.role_ids_of(user_id) if role_ids is None else role_ids)
        base = self.everyone_permissions
        for role in self.all_roles():
            if role.id in roles:
                base |= role.permissions
        if base & ADMINISTRATOR:
            return ALL_PERMISSIONS
        if channel_id is None:
            return base
        channel = self.find_channel(channel_id)
        if channel is not None and channel.is_thread and channel.parent_id is not None:
            channel = self.find_channel(channel.parent_id)
        if channel is None:
            return base
        perms = base
        overwrites = {(o.type, o.id): o for o in channel.overwrites}
        everyone = overwrites.get((0, self.id))
        if everyone:
            perms = (perms & ~everyone.deny) | everyone.allow
        allow = deny = 0
        for role_id in roles:
            overwrite = overwrites.get((0, role_id))
            if overwrite:
                allow |= overwrite.allow
                deny |= overwrite.deny
        perms = (perms & ~deny) | allow
        member_overwrite = overwrites.get((1, user_id))
        if member_overwrite:
            perms = (perms & ~member_overwrite.deny) | member_overwrite.allow
        # Without View Channel nothing else in the channel is usable.
        return perms if perms & VIEW_CHANNEL else 0

    def total_members(self) -> int:
        return self.member_count if self.member_count is not None else len(self.all_members) + 1


def make_guild(
    guild_id: int = DEFAULT_GUILD_ID,
    *,
    name: str = "Chronicle Test Guild",
    channels: Sequence[str | ChannelSpec] = ("general",),
    everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
    bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
    deny_bot: Mapping[str, int] | None = None,
    allow_bot: Mapping[str, int] | None = None,
    roles: Sequence[RoleSpec] = (),
    members: Sequence[MemberSpec] | None = None,
    owner_id: int = OWNER_USER_ID,
) -> GuildSpec:
    """Build a guild whose channel ``i`` (a name) gets id ``guild_id + 10 + i``.

    ``deny_bot={"news": SEND_MESSAGES}`` adds a member overwrite for the bot in channel "news",
    e.g. for "the bot can see but not post in #news".
    """
    specs: list[ChannelSpec] = []
    for index, channel in enumerate(channels):
        if isinstance(channel, ChannelSpec):
            specs.append(channel)
            continue
        overwrites: list[Overwrite] = []
        deny = (deny_bot or {}).get(channel, 0)
        allow = (allow_bot or {}).get(channel, 0)
        if deny or allow:
            overwrites.append(Overwrite.member(BOT_USER_ID, allow=allow, deny=deny))
        specs.append(
            ChannelSpec(guild_id + 10 + index, channel, position=index, overwrites=overwrites)
        )
    return GuildSpec(
        id=guild_id,
        name=name,
        channels=specs,
        roles=list(roles),
        members=list(members) if members is not None else None,
        everyone_permissions=everyone_permissions,
        bot_permissions=bot_permissions,
        owner_id=owner_id,
    )


def make_thread(
    parent: ChannelSpec | int,
    thread_id: int,
    name: str = "thread",
    *,
    private: bool = False,
    owner_id: int = BOT_USER_ID,
    archived: bool = False,
    locked: bool = False,
    bot_joined: bool = True,
    applied_tags: Sequence[int] = (),
) -> ChannelSpec:
    """A thread spec under ``parent`` (a text, announcement or forum channel, or its id).

    Public threads get type 11 (10 under an announcement channel), ``private=True`` type 12.
    Put it in the guild's channels, e.g.
    ``make_guild(channels=["general", make_thread(DEFAULT_CHANNEL_ID, 500, "digests")])``.
    """
    parent_id = parent.id if isinstance(parent, ChannelSpec) else parent
    parent_type = parent.type if isinstance(parent, ChannelSpec) else GUILD_TEXT
    if private:
        thread_type = PRIVATE_THREAD
    elif parent_type == GUILD_ANNOUNCEMENT:
        thread_type = ANNOUNCEMENT_THREAD
    else:
        thread_type = PUBLIC_THREAD
    return ChannelSpec(
        thread_id,
        name,
        type=thread_type,
        parent_id=parent_id,
        owner_id=owner_id,
        archived=archived,
        locked=locked,
        bot_joined=bot_joined,
        applied_tags=list(applied_tags),
    )


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedFile:
    field: str
    filename: str | None
    content_type: str | None
    # dataclasses.field: the field named ``field`` above hides the bare name here.
    data: bytes = dataclasses.field(repr=False)


@dataclass(frozen=True)
class RecordedRequest:
    """One REST request the client made, as the stand-in saw and answered it.

    ``authorization`` holds the raw Authorization header (``"Bot <token>"``) so tests can check
    the token format; it is left out of ``repr`` and ``headers`` so it never ends up in logs.
    """

    method: str
    path: str
    query: dict[str, str]
    json: Json
    headers: dict[str, str]
    authorization: str | None = field(default=None, repr=False)
    status: int = 0
    route: str = ""
    params: dict[str, str] = field(default_factory=dict)
    files: tuple[RecordedFile, ...] = ()
    response: Json = field(default=None, repr=False)
    index: int = 0
    # time.monotonic() when the stand-in answered it (same clock as the event loop's time()).
    at: float = 0.0
    # Which enforced limit answered 429 ("global", "channel_messages", "crossposts"); None
    # otherwise -- including for 429s injected with fail()/rate_limit().
    rate_limited: str | None = None
    # The headers the stand-in answered with (X-RateLimit-*, Retry-After, ...).
    response_headers: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def has_authorization(self) -> bool:
        return self.authorization is not None


@dataclass(frozen=True)
class GatewayFrame:
    """A payload the client sent on the gateway (tokens replaced by ``"<redacted>"``)."""

    connection: int
    op: int
    d: Json
    token: str | None = field(default=None, repr=False)


@dataclass
class GatewayConnectionInfo:
    index: int
    path: str
    query: dict[str, str]
    compression: str | None
    close_code: int | None = None
    closed: bool = False


@dataclass
class Fault:
    """An injected error; see :meth:`DiscordStandIn.fail`."""

    method: str
    path_regex: re.Pattern[str]
    status: int
    code: int
    message: str
    times: int | None
    retry_after: float | None
    is_global: bool = False
    errors: JsonDict | None = None
    headers: dict[str, str] = field(default_factory=dict)
    echo_headers: bool = False  # the body repeats the request's headers (a leaky proxy)
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        return self.method in ("*", method) and self.path_regex.fullmatch(path) is not None


@dataclass(frozen=True)
class RateLimits:
    """Rate limits the stand-in enforces: ``DiscordStandIn(rate_limits=RateLimits())``.

    Each limit is a fixed window that opens with the first request counted against it, like a
    Discord bucket: at most ``count`` requests until ``window`` seconds later, then it refills.

    global_per_second: requests per ``global_window`` over every authenticated bot request
        (Discord: 50 per 1 s). Interaction callbacks and webhook/followup requests, which
        carry no bot token, are exempt as in Discord. None: no global limit.
    global_window: the global window in seconds (1.0 like Discord; shorten it in tests).
    channel_messages: ``(count, window)`` per channel for message creation --
        ``POST /channels/{id}/messages`` (a thread is a channel of its own) and creating a
        post in a forum (``POST /channels/{forum}/threads`` counts against the forum).
        Discord: 5 per 5 s. None: not limited.
    crossposts: ``(count, window)`` per channel for publishing (``.../crosspost``).
        Discord allows 10 per hour; off by default because a client would sleep that long.
    """

    global_per_second: int | None = 50
    global_window: float = 1.0
    channel_messages: tuple[int, float] | None = (5, 5.0)
    crossposts: tuple[int, float] | None = None


@dataclass
class RateLimitStats:
    """What the enforced limits did (injected ``fail(..., 429)`` faults are not counted)."""

    global_429s: int = 0
    channel_429s: int = 0  # the per-channel message-creation bucket
    crosspost_429s: int = 0
    by_channel: dict[int, int] = field(default_factory=dict)  # channel id -> bucket 429s

    @property
    def total_429s(self) -> int:
        return self.global_429s + self.channel_429s + self.crosspost_429s


@dataclass
class _Bucket:
    """One fixed-window rate-limit bucket (see :class:`RateLimits`)."""

    limit: int
    window: float
    hash: str
    used: int = 0
    resets_at: float | None = None  # time.monotonic()

    def _roll(self, now: float) -> None:
        if self.resets_at is not None and now >= self.resets_at:
            self.used, self.resets_at = 0, None

    def available(self, now: float) -> bool:
        self._roll(now)
        return self.used < self.limit

    def take(self, now: float) -> None:
        self._roll(now)
        if self.resets_at is None:
            self.resets_at = now + self.window
        self.used += 1

    def reset_after(self, now: float) -> float:
        """Seconds until the bucket refills, rounded *up* to the millisecond so a client that
        waits exactly this long never comes back early."""
        self._roll(now)
        remaining = self.window if self.resets_at is None else self.resets_at - now
        return math.ceil(max(remaining, 0.0) * 1000) / 1000

    def headers(self, now: float) -> dict[str, str]:
        reset_after = self.reset_after(now)
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(self.limit - self.used, 0)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": self.hash,
        }


# --------------------------------------------------------------------------------------------
# Internal plumbing
# --------------------------------------------------------------------------------------------


@dataclass
class _Result:
    status: int
    body: Json = None
    headers: dict[str, str] = field(default_factory=dict)


class _ApiError(Exception):
    def __init__(self, status: int, code: int, message: str, errors: JsonDict | None = None):
        super().__init__(f"{status} {code} {message}")
        body: JsonDict = {"message": message, "code": code}
        if errors is not None:
            body["errors"] = errors
        self.result = _Result(status, body)

    @classmethod
    def of(cls, error: tuple[int, int, str]) -> _ApiError:
        return cls(*error)

    @classmethod
    def form(cls, errors: JsonDict) -> _ApiError:
        return cls(400, 50035, "Invalid Form Body", errors)


def _field_error(code: str, message: str) -> JsonDict:
    return {"_errors": [{"code": code, "message": message}]}


@dataclass
class _Call:
    method: str
    path: str
    route: str
    params: dict[str, str]
    query: dict[str, str]
    json: Json
    files: tuple[RecordedFile, ...]
    authorization: str | None


_Handler = Callable[[_Call], Awaitable[_Result]]


@dataclass
class _Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: _Handler
    requires_auth: bool

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"


def _compile_template(template: str) -> re.Pattern[str]:
    def group(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "message_id":
            return rf"(?P<{name}>\d+|@original)"
        if name.endswith("_id"):
            return rf"(?P<{name}>\d+)"
        return rf"(?P<{name}>[^/]+)"

    return re.compile(
        re.sub(r"\{(\w+)\}", group, re.escape(template).replace(r"\{", "{").replace(r"\}", "}"))
    )


@dataclass
class _Session:
    id: str
    intents: int
    shard: tuple[int, int] | None
    seq: int = 0
    log: list[JsonDict] = field(default_factory=list)


def _shard_key(shard: tuple[int, int] | None) -> int:
    """A session's place among the shards: its shard id (0 when the client does not shard)."""
    return 0 if shard is None else shard[0]


class _GatewayConnection:
    """One websocket; applies the transport compression the client asked for."""

    def __init__(self, info: GatewayConnectionInfo, ws: web.WebSocketResponse) -> None:
        self.info = info
        self.ws = ws
        self.session: _Session | None = None
        self._lock = asyncio.Lock()
        self._zlib = zlib.compressobj() if info.compression == "zlib-stream" else None
        self._zstd: Any = None
        if info.compression == "zstd-stream":
            import zstandard  # only requested by discord.py when it can import it itself

            self._zstd = zstandard.ZstdCompressor().compressobj()

    async def send(self, payload: JsonDict) -> bool:
        """Send one gateway payload; False if the socket is already gone."""
        text = _dumps(payload)
        async with self._lock:  # keep compressed chunks in stream order
            if self.ws.closed:
                return False
            try:
                if self._zlib is not None:
                    data = self._zlib.compress(text.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                    await self.ws.send_bytes(data)
                elif self._zstd is not None:
                    import zstandard

                    data = self._zstd.compress(text.encode()) + self._zstd.flush(
                        zstandard.COMPRESSOBJ_FLUSH_BLOCK
                    )
                    await self.ws.send_bytes(data)
                else:
                    await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return False
        return True

    async def close(self, code: int, reason: str = "") -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(code=code, message=reason.encode()), 5)


# --------------------------------------------------------------------------------------------
# Interaction handle
# --------------------------------------------------------------------------------------------


class InteractionHandle:
    """An INTERACTION_CREATE the stand-in dispatched, and what the bot did about it."""

    def __init__(self, standin: DiscordStandIn, payload: JsonDict) -> None:
        self._standin = standin
        self.payload = payload
        self.id = int(payload["id"])
        self.token: str = payload["token"]
        self.type: int = payload["type"]
        self.channel_id = int(payload["channel_id"])
        self.guild_id = int(payload["guild_id"]) if payload.get("guild_id") else None
        self.user_id = int((payload.get("member") or payload)["user"]["id"])
        self.dispatched_at = asyncio.get_running_loop().time()
        self.callback_type: int | None = None
        self.original_message_id: int | None = None
        self.component_message_id: int | None = (
            int(payload["message"]["id"]) if payload.get("message") else None
        )
        self.message_ids: list[int] = []

    def __repr__(self) -> str:
        return (
            f"<InteractionHandle id={self.id} type={self.type} callback_type={self.callback_type}>"
        )

    @property
    def acknowledged(self) -> bool:
        return self.callback_type is not None

    def owns(self, request: RecordedRequest) -> bool:
        return request.params.get("token") == self.token

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request made with this interaction's token, oldest first."""
        return [r for r in self._standin.requests if self.owns(r)]

    async def wait_for_request(
        self, predicate: Callable[[RecordedRequest], bool], timeout: float = 5.0
    ) -> RecordedRequest:
        return await self._standin.wait_for_request(
            lambda r: self.owns(r) and predicate(r), timeout=timeout
        )

    async def callback(self, timeout: float = 5.0) -> RecordedRequest:
        """The bot's initial response (POST .../callback), whatever status it got."""
        return await self.wait_for_request(lambda r: r.route.endswith("/callback"), timeout)

    async def _wait_count(
        self, predicate: Callable[[RecordedRequest], bool], count: int, timeout: float, what: str
    ) -> list[RecordedRequest]:
        def probe() -> list[RecordedRequest] | None:
            found = [r for r in self.requests if predicate(r)]
            return found if len(found) >= count else None

        return await self._standin._wait_until(probe, timeout, f"{count} {what} for {self!r}")

    async def followups(self, count: int = 1, timeout: float = 5.0) -> list[RecordedRequest]:
        """Wait for at least ``count`` followup posts (POST /webhooks/{app}/{token})."""
        return await self._wait_count(
            lambda r: r.route == "POST /webhooks/{application_id}/{token}",
            count,
            timeout,
            "followups",
        )

    async def original_edits(self, count: int = 1, timeout: float = 5.0) -> list[RecordedRequest]:
        """Wait for at least ``count`` PATCHes of ``@original``."""
        return await self._wait_count(
            lambda r: r.method == "PATCH" and r.params.get("message_id") == "@original",
            count,
            timeout,
            "@original edits",
        )

    @property
    def original_message(self) -> JsonDict | None:
        """Current state of the interaction's original response message, if any."""
        if self.original_message_id is None:
            return None
        return self._standin.messages.get(self.original_message_id)

    @property
    def messages(self) -> list[JsonDict]:
        """Messages this interaction created that still exist (original first)."""
        return [self._standin.messages[m] for m in self.message_ids if m in self._standin.messages]

    async def response(self, timeout: float = 5.0) -> JsonDict:
        """What the user ends up seeing: the original message once it is no longer "thinking".

        Covers a direct reply (type 4), an update (type 7) and a deferral followed by an
        ``@original`` edit or first followup.
        """

        def probe() -> JsonDict | None:
            message = self.original_message
            if message is None or message["flags"] & FLAG_LOADING:
                return None
            return message

        return await self._standin._wait_until(probe, timeout, f"final response to {self!r}")


# --------------------------------------------------------------------------------------------
# The stand-in
# --------------------------------------------------------------------------------------------


class DiscordStandIn:
    """Discord REST + gateway on ``127.0.0.1:<free port>``. Use as ``async with``.

    Options:
        guilds: guilds the bot is in (default: one ``make_guild()``).
        valid_token: if set, any other token gets REST 401 and gateway close 4004.
        interaction_ack_timeout: seconds the bot has to answer an interaction (Discord: 3);
            later callbacks get 404 10062 Unknown interaction. None disables the check.
        enforce_permissions: refuse channel sends the bot lacks permission for (403 50001/50013).
        validate_messages: reject empty / oversized messages, embeds and components like Discord.
        echo_message_events: dispatch MESSAGE_CREATE/UPDATE/DELETE for the bot's own
            (non-ephemeral) messages, as Discord does when the intents ask for them.
        privileged_intents_enabled: False makes an IDENTIFY with privileged intents close 4014.
        resume_gateway_url: what READY advertises (default: the stand-in's own resume path).
        transport_compression: honour ``compress=zlib-stream`` (False: always plain text frames).
        rate_limits: enforce Discord's rate limits (:class:`RateLimits`): requests over a limit
            get a real 429, and responses on limited buckets carry their true
            ``X-RateLimit-*`` headers, so discord.py paces itself as against Discord. None
            (default): nothing is enforced and every response advertises a generous bucket.
            What happened is in :attr:`rate_limit_stats`; change it with
            :meth:`set_rate_limits`.
        recommended_shards: the shard count ``GET /gateway/bot`` recommends (what
            discord.py's AutoShardedClient runs when it is given none).
        nonce_window: seconds a message's nonce stays taken. A message create with a
            ``nonce`` and ``enforce_nonce: true`` that its author already used in that channel
            within the window answers the existing message (200, same id) and creates
            nothing, as Discord does for "the past few minutes" (it says no more exactly).

    Shards: an IDENTIFY with ``shard: [id, count]`` starts a session of that shard alongside
    the others' (one connection each, as on Discord); it is sent READY and the GUILD_CREATEs of
    its servers only, those with ``(guild_id >> 22) % count == id``. Every later event about a
    server (interactions, channel changes, the bot's own messages) goes to its shard's
    connection, and what concerns no server (DMs) to shard 0's; an event for a shard nobody
    runs is dropped, as Discord would hold it for a connection that never comes.
    """

    def __init__(
        self,
        guilds: Sequence[GuildSpec] | None = None,
        *,
        valid_token: str | None = None,
        bot_username: str = "Chronicle",
        users: Sequence[UserSpec] = (),
        heartbeat_interval_ms: int = 41_250,
        interaction_ack_timeout: float | None = 3.0,
        enforce_permissions: bool = True,
        validate_messages: bool = True,
        echo_message_events: bool = True,
        privileged_intents_enabled: bool = True,
        resume_gateway_url: str | None = None,
        transport_compression: bool = True,
        rate_limits: RateLimits | None = None,
        recommended_shards: int = 1,
        nonce_window: float = NONCE_WINDOW,
    ) -> None:
        self.recommended_shards = recommended_shards
        self.nonce_window = nonce_window
        self.guilds: dict[int, GuildSpec] = {
            g.id: g for g in (guilds if guilds is not None else [make_guild()])
        }
        self.valid_token = valid_token
        self.bot_user = UserSpec(BOT_USER_ID, bot_username, bot=True)
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.interaction_ack_timeout = interaction_ack_timeout
        self.enforce_permissions = enforce_permissions
        self.validate_messages = validate_messages
        self.echo_message_events = echo_message_events
        self.privileged_intents_enabled = privileged_intents_enabled
        self.transport_compression = transport_compression
        self._resume_gateway_url = resume_gateway_url

        self.users: dict[int, UserSpec] = {self.bot_user.id: self.bot_user}
        for user in (OWNER_USER, DEFAULT_USER, *users):
            self.users[user.id] = user
        for guild in self.guilds.values():
            for member in guild.all_members:
                self.users.setdefault(member.user.id, member.user)

        # Records and state visible to tests.
        self.requests: list[RecordedRequest] = []
        self.gateway_frames: list[GatewayFrame] = []
        self.gateway_connections: list[GatewayConnectionInfo] = []
        self.messages: dict[int, JsonDict] = {}
        self.global_commands: list[JsonDict] = []
        self.guild_commands: dict[int, list[JsonDict]] = {}
        self.faults: list[Fault] = []
        self.interactions: dict[int, InteractionHandle] = {}
        self.presence: JsonDict | None = None
        self.ready_count = 0
        self.resume_count = 0
        self.heartbeat_count = 0
        self.internal_errors: list[Exception] = []
        # Every message ever created (deleted ones too), in creation order; the dicts are the
        # live ones, so they show the current state of messages that still exist.
        self.message_log: list[JsonDict] = []
        self.rate_limits: RateLimits | None = rate_limits
        self.rate_limit_stats = RateLimitStats()
        self._buckets: dict[tuple[str, int], _Bucket] = {}
        self._global_bucket: _Bucket | None = None
        self._published: list[int] = []

        self._ids = _Snowflakes()
        self._dm_channels: dict[int, int] = {}  # user id -> DM channel id
        self._dm_recipients: dict[int, int] = {}  # DM channel id -> user id
        self._dm_blocked: set[int] = set()
        self._channel_messages: dict[int, list[int]] = {}
        # (channel id, author id, nonce) -> (message id, time.monotonic() it was created)
        self._nonces: dict[tuple[int, int, str], tuple[int, float]] = {}
        self._attachments: dict[int, bytes] = {}
        self._identify_rejection: tuple[int, str] | None = None
        # Per shard id (0 when the client does not shard): its session and live connection.
        self._sessions: dict[int, _Session] = {}
        self._currents: dict[int, _GatewayConnection] = {}
        self._connections: list[_GatewayConnection] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._routes: list[_Route] = []
        self._register_routes()
        self.set_rate_limits(rate_limits)

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._handle_api)
        app.router.add_get("/gateway", self._handle_gateway)
        app.router.add_get("/gateway/resume", self._handle_gateway)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._handle_cdn)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        for connection in list(self._connections):
            await connection.close(1001, "stand-in shutting down")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- addresses ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("DiscordStandIn is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/api/v{API_VERSION}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        return self._resume_gateway_url or f"ws://127.0.0.1:{self._port}/gateway/resume"

    @property
    def application_id(self) -> int:
        return APPLICATION_ID

    # -- waiting --------------------------------------------------------------------------

    def _notify(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def _wait_until(self, probe: Callable[[], T | None], timeout: float, what: str) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = probe()
            if value is not None:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = "\n  ".join(
                    f"{r.method} {r.path} -> {r.status}" for r in self.requests[-15:]
                )
                raise TimeoutError(
                    f"timed out after {timeout}s waiting for {what}; recent requests:\n  {recent}"
                )
            waiter = loop.create_future()
            self._waiters.append(waiter)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, remaining)

    async def wait_until(
        self, condition: Callable[[], bool], timeout: float = 5.0, what: str = "a condition"
    ) -> None:
        """Wait for ``condition()`` over stand-in state; it is re-checked on every change the
        stand-in records (requests, gateway frames, connections), so it suits conditions on
        ``requests``, ``messages``, ``gateway_connections`` and the like."""
        await self._wait_until(lambda: True if condition() else None, timeout, what)

    async def wait_for_request(
        self,
        predicate: Callable[[RecordedRequest], bool],
        timeout: float = 5.0,
        *,
        include_past: bool = True,
    ) -> RecordedRequest:
        """First recorded request matching ``predicate`` (only newer ones if not include_past)."""
        start = 0 if include_past else len(self.requests)
        return await self._wait_until(
            lambda: next((r for r in self.requests[start:] if predicate(r)), None),
            timeout,
            "a matching request",
        )

    async def wait_for_request_to(
        self, method: str, path_regex: str, timeout: float = 5.0, *, include_past: bool = True
    ) -> RecordedRequest:
        pattern = re.compile(path_regex)
        return await self.wait_for_request(
            lambda r: method in ("*", r.method) and pattern.fullmatch(r.path) is not None,
            timeout,
            include_past=include_past,
        )

    def requests_to(self, method: str, path_regex: str) -> list[RecordedRequest]:
        """Recorded requests with this method ("*" = any) whose path fullmatches the regex."""
        pattern = re.compile(path_regex)
        return [
            r
            for r in self.requests
            if method in ("*", r.method) and pattern.fullmatch(r.path) is not None
        ]

    async def wait_for_ready(self, timeout: float = 5.0, *, count: int = 1) -> None:
        """Wait until the client has IDENTIFYed and been sent READY + every GUILD_CREATE."""
        await self._wait_until(
            lambda: True if self.ready_count >= count else None, timeout, f"READY #{count}"
        )

    async def wait_for_resume(self, timeout: float = 5.0, *, count: int = 1) -> None:
        """Wait until the client has RESUMEd (and been sent RESUMED) ``count`` times."""
        await self._wait_until(
            lambda: True if self.resume_count >= count else None, timeout, f"RESUMED #{count}"
        )

    async def wait_for_gateway_op(
        self, op: int, timeout: float = 5.0, *, include_past: bool = True
    ) -> GatewayFrame:
        start = 0 if include_past else len(self.gateway_frames)
        return await self._wait_until(
            lambda: next((f for f in self.gateway_frames[start:] if f.op == op), None),
            timeout,
            f"gateway op {op}",
        )

    async def _settle(self) -> None:
        """Let the client finish reacting to what it was just sent.

        Client and stand-in share one event loop, and a test usually pushes the next gateway
        event right after seeing a REST request recorded -- possibly before discord.py has read
        that request's response (e.g. registered a view under the new message id, so a button
        click would be dropped). A real user cannot click that fast. Loopback sockets deliver
        synchronously, so yielding a few loop turns (no wall-clock sleep) is enough.
        """
        for _ in range(_SETTLE_YIELDS):
            await asyncio.sleep(0)

    # -- fault injection ------------------------------------------------------------------

    def fail(
        self,
        method: str,
        path_regex: str,
        status: int,
        code: int = 0,
        message: str | None = None,
        *,
        times: int | None = None,
        retry_after: float | None = None,
        is_global: bool = False,
        errors: JsonDict | None = None,
        headers: Mapping[str, str] | None = None,
        echo_headers: bool = False,
    ) -> Fault:
        """Answer matching REST requests with an error instead of handling them.

        ``times`` limits how often the fault fires (None: until :meth:`clear_faults`). For 429
        the body is Discord's rate-limit body (``retry_after`` default 0.05 s, ``global``) with
        ``Retry-After``/``X-RateLimit-*``/``Via`` headers, so discord.py sleeps and retries.
        Faults are checked in the order they were added, before the token check.
        """
        if message is None:
            message = "You are being rate limited." if status == 429 else f"{status}: Error"
        fault = Fault(
            method=method.upper(),
            path_regex=re.compile(path_regex),
            status=status,
            code=code,
            message=message,
            times=times,
            retry_after=(0.05 if retry_after is None else retry_after)
            if status == 429
            else retry_after,
            is_global=is_global,
            errors=errors,
            headers=dict(headers or {}),
            echo_headers=echo_headers,
        )
        self.faults.append(fault)
        return fault

    def rate_limit(
        self,
        method: str,
        path_regex: str,
        *,
        retry_after: float = 0.05,
        times: int | None = 1,
        is_global: bool = False,
    ) -> Fault:
        return self.fail(
            method, path_regex, 429, retry_after=retry_after, times=times, is_global=is_global
        )

    def clear_faults(self) -> None:
        self.faults.clear()

    def block_dms(self, user_id: int) -> None:
        """Sends to this user's DM channel answer 403 50007 (DMs closed / bot blocked)."""
        self._dm_blocked.add(user_id)

    # -- messages, as tests and benchmarks look at them ----------------------------------

    def messages_in(self, channel_id: int) -> list[JsonDict]:
        """Messages that exist in a channel or thread now, oldest first (ephemeral ones too)."""
        ids = self._channel_messages.get(channel_id, [])
        return [self.messages[m] for m in ids if m in self.messages]

    async def wait_for_messages(
        self, channel_id: int, count: int = 1, timeout: float = 5.0
    ) -> list[JsonDict]:
        """Wait until at least ``count`` messages exist in a channel or thread; returns them
        all, oldest first."""

        def probe() -> list[JsonDict] | None:
            found = self.messages_in(channel_id)
            return found if len(found) >= count else None

        return await self._wait_until(probe, timeout, f"{count} messages in {channel_id}")

    def message_counts(self) -> dict[int, int]:
        """Channel id -> how many messages were created there (ever, deleted ones included;
        ephemeral ones left out since nobody else sees them). A forum post's first message
        counts for its thread."""
        counts: dict[int, int] = {}
        for message in self.message_log:
            if not message["flags"] & FLAG_EPHEMERAL:
                channel_id = int(message["channel_id"])
                counts[channel_id] = counts.get(channel_id, 0) + 1
        return counts

    @staticmethod
    def _message_fingerprint(message: Mapping[str, Any]) -> str:
        return _dumps(
            [
                message["content"],
                [{k: v for k, v in e.items() if k != "type"} for e in message["embeds"]],
                [a["filename"] for a in message["attachments"]],
            ]
        )

    def duplicate_messages(self, channel_id: int | None = None) -> list[list[JsonDict]]:
        """Groups (2 or more, oldest first) of messages that exist in one channel with the
        same content, embeds and attachment names -- a digest posted twice, say. Ephemeral
        and still-"thinking" messages are ignored. Optionally for one channel only."""
        groups: dict[tuple[str, str], list[JsonDict]] = {}
        for message in self.messages.values():
            if message["flags"] & (FLAG_EPHEMERAL | FLAG_LOADING):
                continue
            if channel_id is not None and int(message["channel_id"]) != channel_id:
                continue
            key = (message["channel_id"], self._message_fingerprint(message))
            groups.setdefault(key, []).append(message)
        return [group for group in groups.values() if len(group) > 1]

    def published_messages(self, channel_id: int | None = None) -> list[JsonDict]:
        """Messages crossposted (``.../crosspost``), in the order they were published."""
        published = [self.messages[m] for m in self._published if m in self.messages]
        if channel_id is None:
            return published
        return [m for m in published if int(m["channel_id"]) == channel_id]

    # -- changing guilds while the bot is connected ---------------------------------------

    async def _dispatch_guild_event(
        self, event: str, data: JsonDict, *, settle: bool = False
    ) -> None:
        """Dispatch a channel/thread/role event if a session with the GUILDS intent exists."""
        session = self._sessions.get(self._shard_for(event, data))
        if session is None or not session.intents & INTENT_GUILDS:
            return
        if settle:
            await self._settle()
        await self._dispatch_now(event, data)

    def _locate_channel(self, channel_id: int) -> tuple[GuildSpec, ChannelSpec]:
        guild = self._guild_of_channel(channel_id)
        if guild is None:
            raise KeyError(f"no guild channel {channel_id}")
        return guild, guild.channel(channel_id)

    async def update_channel(self, channel_id: int, **changes: Any) -> ChannelSpec:
        """Change fields of a channel's spec (``name=``, ``topic=``, ``overwrites=``,
        ``archived=``, ``locked=``...) and dispatch CHANNEL_UPDATE (THREAD_UPDATE for a
        thread), so REST and discord.py's cache both see the change."""
        guild, channel = self._locate_channel(channel_id)
        for key, value in changes.items():
            if key == "id" or not hasattr(channel, key):
                raise TypeError(f"ChannelSpec has no changeable field {key!r}")
            setattr(channel, key, value)
        event = "THREAD_UPDATE" if channel.is_thread else "CHANNEL_UPDATE"
        await self._dispatch_guild_event(event, channel.to_payload(guild.id), settle=True)
        return channel

    async def set_channel_overwrites(
        self, channel_id: int, overwrites: Sequence[Overwrite]
    ) -> None:
        """Replace a channel's permission overwrites (CHANNEL_UPDATE). Threads have none:
        change their parent's."""
        _, channel = self._locate_channel(channel_id)
        if channel.is_thread:
            raise ValueError("threads have no overwrites of their own; change the parent's")
        await self.update_channel(channel_id, overwrites=list(overwrites))

    async def set_bot_overwrite(self, channel_id: int, *, allow: int = 0, deny: int = 0) -> None:
        """Replace the bot's member overwrite in a channel (allow=deny=0 removes it), e.g.
        ``await standin.set_bot_overwrite(channel_id, deny=SEND_MESSAGES)``."""
        _, channel = self._locate_channel(channel_id)
        kept = [o for o in channel.overwrites if (o.type, o.id) != (1, BOT_USER_ID)]
        if allow or deny:
            kept.append(Overwrite.member(BOT_USER_ID, allow=allow, deny=deny))
        await self.set_channel_overwrites(channel_id, kept)

    async def set_role_permissions(self, role_id: int, permissions: int) -> RoleSpec:
        """Change a role's permissions and dispatch GUILD_ROLE_UPDATE. @everyone's role id is
        the guild id; the bot's managed role is ``GuildSpec.bot_role_id``."""
        for guild in self.guilds.values():
            if role_id == guild.id:
                guild.everyone_permissions = permissions
                role = guild.everyone_role()
            elif role_id == guild.bot_role_id:
                guild.bot_permissions = permissions
                role = guild.bot_role()
            else:
                index = next((i for i, r in enumerate(guild.roles) if r.id == role_id), None)
                if index is None:
                    continue
                role = guild.roles[index] = replace(guild.roles[index], permissions=permissions)
            await self._dispatch_guild_event(
                "GUILD_ROLE_UPDATE",
                {"guild_id": str(guild.id), "role": role.to_payload()},
                settle=True,
            )
            return role
        raise KeyError(f"no role {role_id}")

    async def set_bot_permissions(
        self, permissions: int, *, guild_id: int | None = None
    ) -> RoleSpec:
        """Change the permissions of the bot's managed role (first guild by default)."""
        guild = self.guilds[guild_id] if guild_id is not None else next(iter(self.guilds.values()))
        return await self.set_role_permissions(guild.bot_role_id, permissions)

    async def create_channel(
        self, spec: ChannelSpec, *, guild_id: int | None = None
    ) -> ChannelSpec:
        """Add a channel or thread to a guild (first guild by default) and dispatch
        CHANNEL_CREATE (THREAD_CREATE)."""
        guild = self.guilds[guild_id] if guild_id is not None else next(iter(self.guilds.values()))
        if self._guild_of_channel(spec.id) is not None:
            raise ValueError(f"channel {spec.id} already exists")
        assert guild.channels is not None
        guild.channels.append(spec)
        if spec.is_thread:
            payload = {**spec.to_payload(guild.id, member=True), "newly_created": True}
            await self._dispatch_guild_event("THREAD_CREATE", payload, settle=True)
        else:
            await self._dispatch_guild_event(
                "CHANNEL_CREATE", spec.to_payload(guild.id), settle=True
            )
        return spec

    async def delete_channel(self, channel_id: int) -> None:
        """Delete a channel (and its threads) or a thread: CHANNEL_DELETE / THREAD_DELETE.
        Later requests to it get 404 10003 Unknown Channel; its messages stay on record."""
        guild, channel = self._locate_channel(channel_id)
        doomed = {channel_id} | {t.id for t in guild.threads if t.parent_id == channel_id}
        assert guild.channels is not None
        guild.channels[:] = [c for c in guild.channels if c.id not in doomed]
        for key in [k for k in self._buckets if k[1] in doomed]:
            del self._buckets[key]
        if channel.is_thread:
            payload: JsonDict = {
                "id": str(channel.id),
                "guild_id": str(guild.id),
                "parent_id": str(channel.parent_id),
                "type": channel.type,
            }
            await self._dispatch_guild_event("THREAD_DELETE", payload, settle=True)
        else:
            await self._dispatch_guild_event(
                "CHANNEL_DELETE", channel.to_payload(guild.id), settle=True
            )

    def reject_identify(
        self, close_code: int | None = 4004, reason: str = "Authentication failed."
    ) -> None:
        """Close the gateway with ``close_code`` on IDENTIFY/RESUME (None: accept again)."""
        self._identify_rejection = None if close_code is None else (close_code, reason)

    def _fault_result(
        self, fault: Fault, route: str, request_headers: Mapping[str, str]
    ) -> _Result:
        fault.hits += 1
        headers = dict(fault.headers)
        body: JsonDict
        if fault.status == 429:
            retry_after = fault.retry_after or 0.0
            body = {"message": fault.message, "retry_after": retry_after, "global": fault.is_global}
            if fault.code:
                body["code"] = fault.code
            headers.update(
                {
                    "Retry-After": str(max(1, math.ceil(retry_after))),
                    "X-RateLimit-Scope": "global" if fault.is_global else "user",
                    # discord.py treats a 429 without Via as a Cloudflare ban and gives up.
                    "Via": "1.1 google",
                }
            )
            if fault.is_global:
                headers["X-RateLimit-Global"] = "true"
            else:
                headers.update(
                    {
                        "X-RateLimit-Limit": "5",
                        "X-RateLimit-Remaining": "0",
                        "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
                        "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                        "X-RateLimit-Bucket": self._bucket(route),
                    }
                )
        else:
            body = {"message": fault.message, "code": fault.code}
            if fault.errors is not None:
                body["errors"] = fault.errors
        if fault.echo_headers:
            echoed = "; ".join(f"{k}: {v}" for k, v in request_headers.items())
            body["message"] = f"{body['message']} (request headers: {echoed})"
        return _Result(fault.status, body, headers)

    # -- REST plumbing --------------------------------------------------------------------

    def _route(self, method: str, template: str, handler: _Handler, *, auth: bool = True) -> None:
        self._routes.append(_Route(method, template, _compile_template(template), handler, auth))

    @staticmethod
    def _bucket(route: str) -> str:
        return hashlib.sha1(route.encode()).hexdigest()[:16]

    def _ratelimit_headers(self, route: str) -> dict[str, str]:
        # Generous, fast-resetting bucket: realistic headers without discord.py ever
        # pre-emptively sleeping (it only waits when Remaining would reach 0).
        return {
            "X-RateLimit-Limit": "50",
            "X-RateLimit-Remaining": "49",
            "X-RateLimit-Reset": f"{time.time() + 0.1:.3f}",
            "X-RateLimit-Reset-After": "0.100",
            "X-RateLimit-Bucket": self._bucket(route),
        }

    # -- enforced rate limits -------------------------------------------------------------

    def set_rate_limits(self, limits: RateLimits | None) -> None:
        """Start enforcing ``limits`` (None: stop) with fresh, empty buckets.

        Useful to let the client log in unhindered and turn the limits on afterwards, or to
        start a measurement from a clean slate. :attr:`rate_limit_stats` is kept.
        """
        self.rate_limits = limits
        self._buckets.clear()
        self._global_bucket = None
        if limits is not None and limits.global_per_second is not None:
            self._global_bucket = _Bucket(
                limits.global_per_second, limits.global_window, self._bucket("global")
            )

    def _limited_bucket(self, route: str, params: Mapping[str, str]) -> tuple[str, _Bucket] | None:
        """The enforced per-resource bucket a request counts against, if any."""
        limits = self.rate_limits
        if limits is None or "channel_id" not in params:
            return None
        channel_id = int(params["channel_id"])
        scope: str | None = None
        spec: tuple[int, float] | None = None
        if route == "POST /channels/{channel_id}/messages":
            scope, spec = "channel_messages", limits.channel_messages
        elif route == "POST /channels/{channel_id}/threads":
            guild = self._guild_of_channel(channel_id)
            channel = guild.find_channel(channel_id) if guild else None
            if channel is not None and channel.type == GUILD_FORUM:
                scope, spec = "channel_messages", limits.channel_messages
        elif route == "POST /channels/{channel_id}/messages/{message_id}/crosspost":
            scope, spec = "crossposts", limits.crossposts
        if scope is None or spec is None:
            return None
        key = (scope, channel_id)
        bucket = self._buckets.get(key)
        if bucket is None:
            # One hash per kind of bucket, like Discord; discord.py keys it by channel id.
            template = {
                "channel_messages": "POST /channels/{channel_id}/messages",
                "crossposts": "POST /channels/{channel_id}/messages/{message_id}/crosspost",
            }[scope]
            bucket = self._buckets[key] = _Bucket(spec[0], spec[1], self._bucket(template))
        return scope, bucket

    def _admit(
        self, route: _Route, params: Mapping[str, str]
    ) -> tuple[_Result | None, dict[str, str], str | None]:
        """Apply the enforced limits to one authenticated request.

        Returns ``(429 result or None, headers for the answer, scope of the 429)``. A request
        answered 429 consumes nothing; an admitted one takes a slot in every bucket it counts
        against, whatever the handler then answers (Discord counts failed requests too).
        """
        if self.rate_limits is None or not route.requires_auth:
            return None, {}, None
        now = time.monotonic()
        limited = self._limited_bucket(route.name, params)
        bucket_headers = limited[1].headers(now) if limited else self._ratelimit_headers(route.name)
        stats = self.rate_limit_stats
        glob = self._global_bucket
        if glob is not None and not glob.available(now):
            stats.global_429s += 1
            return self._limit_result(glob.reset_after(now), bucket_headers, True), {}, "global"
        if limited is not None and not limited[1].available(now):
            scope, bucket = limited
            if scope == "crossposts":
                stats.crosspost_429s += 1
            else:
                stats.channel_429s += 1
            channel_id = int(params["channel_id"])
            stats.by_channel[channel_id] = stats.by_channel.get(channel_id, 0) + 1
            return self._limit_result(bucket.reset_after(now), bucket_headers, False), {}, scope
        if glob is not None:
            glob.take(now)
        if limited is None:
            return None, {}, None
        limited[1].take(now)
        return None, limited[1].headers(now), None

    @staticmethod
    def _limit_result(
        retry_after: float, bucket_headers: Mapping[str, str], is_global: bool
    ) -> _Result:
        body: JsonDict = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": is_global,
        }
        headers = {
            **bucket_headers,
            "Retry-After": str(max(1, math.ceil(retry_after))),
            "X-RateLimit-Scope": "global" if is_global else "user",
            # discord.py treats a 429 without Via as a Cloudflare ban and gives up.
            "Via": "1.1 google",
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        return _Result(429, body, headers)

    async def _read_body(self, request: web.Request) -> tuple[Json, tuple[RecordedFile, ...]]:
        if not request.body_exists:
            return None, ()
        if request.content_type.startswith("multipart/"):
            payload: Json = None
            files: list[RecordedFile] = []
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue
                if part.name == "payload_json":
                    payload = json.loads(await part.text())
                else:
                    data = bytes(await part.read(decode=False))
                    files.append(
                        RecordedFile(
                            part.name or "", part.filename, part.headers.get("Content-Type"), data
                        )
                    )
            return payload, tuple(files)
        raw = await request.read()
        if not raw:
            return None, ()
        try:
            return json.loads(raw), ()
        except ValueError:
            return raw.decode(errors="replace"), ()

    def _match(self, method: str, path: str) -> tuple[_Route | None, dict[str, str], bool]:
        path_matched = False
        for route in self._routes:
            match = route.pattern.fullmatch(path)
            if match is None:
                continue
            if route.method == method:
                return route, match.groupdict(), True
            path_matched = True
        return None, {}, path_matched

    def _check_token(self, authorization: str | None) -> None:
        if authorization is None or not authorization.startswith("Bot "):
            raise _ApiError.of(Errors.UNAUTHORIZED)
        if self.valid_token is not None and authorization != f"Bot {self.valid_token}":
            raise _ApiError.of(Errors.UNAUTHORIZED)

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.method
        path = "/" + request.match_info["tail"]
        query = dict(request.query)
        body, files = await self._read_body(request)
        authorization = request.headers.get("Authorization")
        route, params, path_known = self._match(method, path)
        route_name = route.name if route else ""
        rate_limited: str | None = None

        fault = next((f for f in self.faults if f.matches(method, path)), None)
        if fault is not None:
            result = self._fault_result(fault, route_name or f"{method} {path}", request.headers)
        elif route is None:
            status = 405 if path_known else 404
            label = "Method Not Allowed" if path_known else "Not Found"
            result = _Result(status, {"message": f"{status}: {label}", "code": 0})
        else:
            call = _Call(method, path, route_name, params, query, body, files, authorization)
            limit_headers: dict[str, str] = {}
            try:
                if route.requires_auth:
                    self._check_token(authorization)
                limited, limit_headers, rate_limited = self._admit(route, params)
                result = limited if limited is not None else await route.handler(call)
            except _ApiError as error:
                result = error.result
            except Exception as error:
                # A stand-in bug. Not a 5xx: discord.py would retry those with 1-9 s sleeps.
                # Kept in ``internal_errors`` so a test can fail loudly on it.
                _log.exception("stand-in failed handling %s %s", method, path)
                self.internal_errors.append(error)
                result = _Result(400, {"message": f"stand-in internal error: {error!r}", "code": 0})
            if result.status != 429:
                result.headers = {
                    **self._ratelimit_headers(route_name),
                    **limit_headers,  # the true state of an enforced bucket
                    **result.headers,
                }

        if result.body is None:
            response = web.Response(status=result.status, headers=result.headers)
        else:
            # Exactly "application/json": discord.py compares the header verbatim and would
            # hand a "...; charset=utf-8" body to the caller as a str.
            response = web.Response(
                status=result.status,
                body=_dumps(result.body).encode(),
                headers={**result.headers, "Content-Type": "application/json"},
            )
        # Send the response before recording, so a test woken by the record sees the
        # exchange finished on our side (see _settle for the client side).
        await response.prepare(request)
        await response.write_eof()

        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        self.requests.append(
            RecordedRequest(
                method=method,
                path=path,
                query=query,
                json=body,
                headers=headers,
                authorization=authorization,
                status=result.status,
                route=route_name,
                params=params,
                files=files,
                response=result.body,
                index=len(self.requests),
                at=time.monotonic(),
                rate_limited=rate_limited,
                response_headers=dict(result.headers),
            )
        )
        self._notify()
        return response

    async def _handle_cdn(self, request: web.Request) -> web.StreamResponse:
        data = self._attachments.get(int(request.match_info["attachment_id"]))
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    def _register_routes(self) -> None:
        r = self._route
        r("GET", "/users/@me", self._get_me)
        r("POST", "/users/@me/channels", self._create_dm)
        r("GET", "/users/{user_id}", self._get_user)
        r("GET", "/gateway", self._get_gateway, auth=False)
        r("GET", "/gateway/bot", self._get_gateway_bot)
        r("GET", "/oauth2/applications/@me", self._get_application)
        r("GET", "/applications/@me", self._get_application)
        for scope in ("", "/guilds/{guild_id}"):
            base = "/applications/{application_id}" + scope + "/commands"
            r("GET", base, self._list_commands)
            r("PUT", base, self._bulk_overwrite_commands)
            r("POST", base, self._upsert_command)
            r("GET", base + "/{command_id}", self._get_command)
            r("PATCH", base + "/{command_id}", self._edit_command)
            r("DELETE", base + "/{command_id}", self._delete_command)
        r(
            "GET",
            "/applications/{application_id}/guilds/{guild_id}/commands/permissions",
            self._empty_list,
        )
        r("GET", "/applications/{application_id}/emojis", self._empty_items)
        r("GET", "/applications/{application_id}/entitlements", self._empty_list)
        r("POST", "/interactions/{interaction_id}/{token}/callback", self._callback, auth=False)
        r("POST", "/webhooks/{application_id}/{token}", self._followup, auth=False)
        for method in ("GET", "PATCH", "DELETE"):
            r(
                method,
                "/webhooks/{application_id}/{token}/messages/{message_id}",
                self._webhook_message,
                auth=False,
            )
        r("GET", "/channels/{channel_id}", self._get_channel)
        r("GET", "/channels/{channel_id}/messages", self._list_messages)
        r("POST", "/channels/{channel_id}/messages", self._create_channel_message)
        for method in ("GET", "PATCH", "DELETE"):
            r(method, "/channels/{channel_id}/messages/{message_id}", self._channel_message)
        r("POST", "/channels/{channel_id}/messages/{message_id}/crosspost", self._crosspost)
        r("POST", "/channels/{channel_id}/threads", self._create_thread)
        r("POST", "/channels/{channel_id}/messages/{message_id}/threads", self._create_thread)
        r("POST", "/channels/{channel_id}/typing", self._no_content)
        for method in ("PUT", "DELETE"):
            r(
                method,
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                self._react,
            )
        r("GET", "/guilds/{guild_id}", self._get_guild)
        r("GET", "/guilds/{guild_id}/channels", self._get_guild_channels)
        r("GET", "/guilds/{guild_id}/roles", self._get_guild_roles)
        r("GET", "/guilds/{guild_id}/threads/active", self._get_active_threads)
        r("GET", "/guilds/{guild_id}/members/{user_id}", self._get_member)

    # -- lookups --------------------------------------------------------------------------

    def _guild(self, guild_id: int) -> GuildSpec:
        guild = self.guilds.get(guild_id)
        if guild is None:
            raise _ApiError.of(Errors.UNKNOWN_GUILD)
        return guild

    def _guild_of_channel(self, channel_id: int) -> GuildSpec | None:
        for guild in self.guilds.values():
            if guild.find_channel(channel_id) is not None:
                return guild
        return None

    def _channel_payload(self, channel_id: int) -> JsonDict | None:
        guild = self._guild_of_channel(channel_id)
        if guild is not None:
            return guild.channel(channel_id).to_payload(guild.id)
        user_id = self._dm_recipients.get(channel_id)
        if user_id is not None:
            return self._dm_payload(channel_id, user_id)
        return None

    def _dm_payload(self, channel_id: int, user_id: int) -> JsonDict:
        return {
            "id": str(channel_id),
            "type": DM,
            "last_message_id": None,
            "flags": 0,
            "recipients": [self._user(user_id).to_payload()],
        }

    def _dm_channel_for(self, user_id: int) -> int:
        channel_id = self._dm_channels.get(user_id)
        if channel_id is None:
            channel_id = self._ids.next()
            self._dm_channels[user_id] = channel_id
            self._dm_recipients[channel_id] = user_id
        return channel_id

    def _user(self, user_id: int) -> UserSpec:
        user = self.users.get(user_id)
        if user is None:
            user = UserSpec(user_id, f"user{user_id}")
            self.users[user_id] = user
        return user

    def _message(self, message_id: int) -> JsonDict:
        message = self.messages.get(message_id)
        if message is None:
            raise _ApiError.of(Errors.UNKNOWN_MESSAGE)
        return message

    # -- REST: users, gateway, application --------------------------------------------------

    async def _get_me(self, call: _Call) -> _Result:
        payload = self.bot_user.to_payload()
        payload.update(
            verified=True, mfa_enabled=False, locale="en-US", email=None, premium_type=0, bio=""
        )
        return _Result(200, payload)

    async def _get_user(self, call: _Call) -> _Result:
        user = self.users.get(int(call.params["user_id"]))
        if user is None:
            raise _ApiError(404, 10013, "Unknown User")
        return _Result(200, user.to_payload())

    async def _create_dm(self, call: _Call) -> _Result:
        recipient = (call.json or {}).get("recipient_id")
        if recipient is None:
            raise _ApiError.form(
                {"recipient_id": _field_error("BASE_TYPE_REQUIRED", "This field is required")}
            )
        user_id = int(recipient)
        return _Result(200, self._dm_payload(self._dm_channel_for(user_id), user_id))

    async def _get_gateway(self, call: _Call) -> _Result:
        return _Result(200, {"url": self.gateway_url})

    async def _get_gateway_bot(self, call: _Call) -> _Result:
        return _Result(
            200,
            {
                "url": self.gateway_url,
                "shards": self.recommended_shards,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 14_400_000,
                    "max_concurrency": 1,
                },
            },
        )

    async def _get_application(self, call: _Call) -> _Result:
        return _Result(
            200,
            {
                "id": str(APPLICATION_ID),
                "name": self.bot_user.username,
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "bot": self.bot_user.to_payload(),
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": hashlib.sha256(b"chronicle").hexdigest(),
                "flags": APPLICATION_FLAGS,
                "owner": OWNER_USER.to_payload(),
                "team": None,
                "interactions_endpoint_url": None,
                "redirect_uris": [],
                "tags": [],
                "approximate_guild_count": len(self.guilds),
                "integration_types_config": {"0": {}, "1": {}},
            },
        )

    async def _empty_list(self, call: _Call) -> _Result:
        return _Result(200, [])

    async def _empty_items(self, call: _Call) -> _Result:
        return _Result(200, {"items": []})

    async def _no_content(self, call: _Call) -> _Result:
        if self._channel_payload(int(call.params["channel_id"])) is None:
            raise _ApiError.of(Errors.UNKNOWN_CHANNEL)
        return _Result(204)

    # -- REST: application commands -------------------------------------------------------

    def _command_list(self, call: _Call) -> list[JsonDict]:
        if int(call.params["application_id"]) != APPLICATION_ID:
            raise _ApiError.of(Errors.MISSING_ACCESS)
        if "guild_id" not in call.params:
            return self.global_commands
        guild_id = int(call.params["guild_id"])
        if guild_id not in self.guilds:
            raise _ApiError.of(Errors.MISSING_ACCESS)
        return self.guild_commands.setdefault(guild_id, [])

    def _validate_command(self, raw: Json) -> JsonDict:
        """Field errors Discord would report for one command (empty dict if valid)."""
        if not isinstance(raw, Mapping):
            return _field_error("DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        errors: JsonDict = {}
        name = raw.get("name")
        command_type = raw.get("type", 1)
        if (
            not isinstance(name, str)
            or not re.fullmatch(r"[-_'\w]{1,32}", name)
            or (command_type == 1 and name != name.lower())
        ):
            errors["name"] = _field_error(
                "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"
            )
        if command_type == 1:
            description = raw.get("description")
            if not isinstance(description, str) or not 1 <= len(description) <= 100:
                errors["description"] = _field_error(
                    "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
                )
        option_errors = self._validate_options(raw.get("options") or [])
        if option_errors:
            errors["options"] = option_errors
        return errors

    def _validate_options(self, options: Sequence[Mapping[str, Any]]) -> JsonDict:
        errors: JsonDict = {}
        if len(options) > 25:
            return _field_error("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        seen_optional = False
        names: set[str] = set()
        for index, option in enumerate(options):
            option_errors: JsonDict = {}
            name = option.get("name")
            if (
                not isinstance(name, str)
                or not re.fullmatch(r"[-_'\w]{1,32}", name)
                or name != name.lower()
            ):
                option_errors["name"] = _field_error(
                    "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"
                )
            elif name in names:
                option_errors["name"] = _field_error(
                    "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Option name already exists"
                )
            names.add(str(name))
            description = option.get("description")
            if not isinstance(description, str) or not 1 <= len(description) <= 100:
                option_errors["description"] = _field_error(
                    "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
                )
            if option.get("type") not in (1, 2):
                if option.get("required") and seen_optional:
                    option_errors["required"] = _field_error(
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    )
                seen_optional = seen_optional or not option.get("required")
            if len(option.get("choices") or []) > 25:
                option_errors["choices"] = _field_error(
                    "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
                )
            nested = self._validate_options(option.get("options") or [])
            if nested:
                option_errors["options"] = nested
            if option_errors:
                errors[str(index)] = option_errors
        return errors

    def _store_command(
        self, raw: Mapping[str, Any], guild_id: int | None, existing: Sequence[JsonDict]
    ) -> JsonDict:
        command = dict(raw)
        command.setdefault("type", 1)
        previous = next(
            (c for c in existing if c["name"] == command["name"] and c["type"] == command["type"]),
            None,
        )
        command["id"] = previous["id"] if previous else str(self._ids.next())
        command["application_id"] = str(APPLICATION_ID)
        command["version"] = str(self._ids.next())
        command.setdefault("description", "")
        command.setdefault("default_member_permissions", None)
        command.setdefault("nsfw", False)
        if guild_id is not None:
            command["guild_id"] = str(guild_id)
        else:
            command.setdefault("contexts", None)
            command.setdefault("integration_types", [0])
        return command

    async def _list_commands(self, call: _Call) -> _Result:
        return _Result(200, list(self._command_list(call)))

    async def _bulk_overwrite_commands(self, call: _Call) -> _Result:
        commands = self._command_list(call)
        body = call.json
        if not isinstance(body, list):
            raise _ApiError.form(
                _field_error("LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
            )
        errors: JsonDict = {}
        seen: set[tuple[str, int]] = set()
        for index, raw in enumerate(body):
            command_errors = self._validate_command(raw)
            key = (
                (str(raw.get("name")), int(raw.get("type", 1)))
                if isinstance(raw, Mapping)
                else None
            )
            if key is not None and key in seen:
                command_errors["name"] = _field_error(
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    "Application command names must be unique",
                )
            if key is not None:
                seen.add(key)
            if command_errors:
                errors[str(index)] = command_errors
        if errors:
            raise _ApiError.form(errors)
        guild_id = int(call.params["guild_id"]) if "guild_id" in call.params else None
        stored = [self._store_command(raw, guild_id, commands) for raw in body]
        commands[:] = stored
        return _Result(200, stored)

    async def _upsert_command(self, call: _Call) -> _Result:
        commands = self._command_list(call)
        errors = self._validate_command(call.json)
        if errors:
            raise _ApiError.form(errors)
        guild_id = int(call.params["guild_id"]) if "guild_id" in call.params else None
        command = self._store_command(call.json, guild_id, commands)
        existed = any(c["id"] == command["id"] for c in commands)
        commands[:] = [*(c for c in commands if c["id"] != command["id"]), command]
        return _Result(200 if existed else 201, command)  # Discord: 201 only when created

    def _find_stored_command(self, call: _Call) -> tuple[list[JsonDict], JsonDict]:
        commands = self._command_list(call)
        command = next((c for c in commands if c["id"] == call.params["command_id"]), None)
        if command is None:
            raise _ApiError(404, 10063, "Unknown application command")
        return commands, command

    async def _get_command(self, call: _Call) -> _Result:
        return _Result(200, self._find_stored_command(call)[1])

    async def _edit_command(self, call: _Call) -> _Result:
        _, command = self._find_stored_command(call)
        command.update(
            {k: v for k, v in (call.json or {}).items() if k not in ("id", "application_id")}
        )
        command["version"] = str(self._ids.next())
        return _Result(200, command)

    async def _delete_command(self, call: _Call) -> _Result:
        commands, command = self._find_stored_command(call)
        commands.remove(command)
        return _Result(204)

    # -- messages -------------------------------------------------------------------------

    def _validate_message(
        self, body: Json, files: Sequence[RecordedFile], *, creating: bool
    ) -> None:
        if not isinstance(body, Mapping):
            if creating and not files:
                raise _ApiError(400, 50006, "Cannot send an empty message")
            return
        if not self.validate_messages:
            return
        errors: JsonDict = {}
        content = body.get("content")
        if isinstance(content, str) and len(content) > 2000:
            errors["content"] = _field_error(
                "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length."
            )
        nonce = body.get("nonce")
        if isinstance(nonce, str) and len(nonce) > 25:
            errors["nonce"] = _field_error("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        embeds = body.get("embeds") or []
        if len(embeds) > 10:
            errors["embeds"] = _field_error(
                "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length."
            )
        total = 0
        for index, embed in enumerate(embeds[:10]):
            embed_errors: JsonDict = {}
            limits = {"title": 256, "description": 4096}
            for key, limit in limits.items():
                value = embed.get(key) or ""
                total += len(value)
                if len(value) > limit:
                    embed_errors[key] = _field_error(
                        "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."
                    )
            for key, sub, limit in (("footer", "text", 2048), ("author", "name", 256)):
                value = (embed.get(key) or {}).get(sub) or ""
                total += len(value)
                if len(value) > limit:
                    embed_errors[key] = {
                        sub: _field_error(
                            "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."
                        )
                    }
            fields = embed.get("fields") or []
            if len(fields) > 25:
                embed_errors["fields"] = _field_error(
                    "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
                )
            for field_index, embed_field in enumerate(fields[:25]):
                field_errors: JsonDict = {}
                for key, limit in (("name", 256), ("value", 1024)):
                    value = embed_field.get(key)
                    if not isinstance(value, str) or not value.strip():
                        field_errors[key] = _field_error(
                            "BASE_TYPE_REQUIRED", "This field is required"
                        )
                    elif len(value) > limit:
                        field_errors[key] = _field_error(
                            "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."
                        )
                    else:
                        total += len(value)
                if field_errors:
                    embed_errors.setdefault("fields", {})[str(field_index)] = field_errors
            if embed_errors:
                errors.setdefault("embeds", {})[str(index)] = embed_errors
        if total > 6000 and "embeds" not in errors:
            errors["embeds"] = _field_error(
                "MESSAGE_EMBED_TOTAL_LENGTH", "Embed size exceeds maximum size of 6000"
            )
        components = body.get("components") or []
        if not (body.get("flags") or 0) & FLAG_COMPONENTS_V2:
            if len(components) > 5:
                errors["components"] = _field_error(
                    "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length."
                )
            for index, row in enumerate(components[:5]):
                if row.get("type") != 1 or not 1 <= len(row.get("components") or []) <= 5:
                    errors.setdefault("components", {})[str(index)] = {
                        "components": _field_error(
                            "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length."
                        )
                    }
        for component in _iter_components(components):
            custom_id = component.get("custom_id")
            if custom_id is not None and len(custom_id) > 100:
                errors.setdefault(
                    "components",
                    _field_error(
                        "BASE_TYPE_MAX_LENGTH", "custom_id must be 100 or fewer in length."
                    ),
                )
        if errors:
            raise _ApiError.form(errors)
        if creating and not (
            content or embeds or components or files or body.get("sticker_ids") or body.get("poll")
        ):
            raise _ApiError(400, 50006, "Cannot send an empty message")

    def _attachments_for(
        self, channel_id: int, body: Mapping[str, Any], files: Sequence[RecordedFile]
    ) -> list[JsonDict]:
        declared = {
            str(a.get("id")): a for a in body.get("attachments") or [] if isinstance(a, Mapping)
        }
        attachments: list[JsonDict] = []
        for index, file in enumerate(files):
            match = re.fullmatch(r"files\[(\d+)\]", file.field)
            meta = declared.get(match.group(1) if match else str(index), {})
            attachment_id = self._ids.next()
            filename = meta.get("filename") or file.filename or f"file{index}"
            url = f"{self.base_url}/attachments/{channel_id}/{attachment_id}/{filename}"
            self._attachments[attachment_id] = file.data
            attachments.append(
                {
                    "id": str(attachment_id),
                    "filename": filename,
                    "description": meta.get("description"),
                    "size": len(file.data),
                    "url": url,
                    "proxy_url": url,
                    "content_type": file.content_type or "application/octet-stream",
                    "flags": 0,
                }
            )
        return attachments

    def _create_message(
        self,
        channel_id: int,
        body: Mapping[str, Any],
        files: Sequence[RecordedFile],
        *,
        message_type: int = 0,
        extra_flags: int = 0,
        interaction: InteractionHandle | None = None,
        message_id: int | None = None,
    ) -> JsonDict:
        message_id = message_id if message_id is not None else self._ids.next()
        flags = (int(body.get("flags") or 0) & _SETTABLE_MESSAGE_FLAGS) | extra_flags
        embeds = [{"type": "rich", **embed} for embed in body.get("embeds") or []]
        content = body.get("content") or ""
        message: JsonDict = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "author": self.bot_user.to_payload(),
            "content": content,
            "timestamp": _snowflake_iso(message_id),
            "edited_timestamp": None,
            "tts": bool(body.get("tts")),
            **self._mentions(channel_id, content, body.get("allowed_mentions")),
            "attachments": self._attachments_for(channel_id, body, files),
            "embeds": embeds,
            "reactions": [],
            "pinned": False,
            "type": message_type,
            "flags": flags,
            "components": list(body.get("components") or []),
        }
        if body.get("nonce") is not None:
            message["nonce"] = body["nonce"]
        if body.get("poll") is not None:
            message["poll"] = body["poll"]
        reference = body.get("message_reference")
        if isinstance(reference, Mapping) and reference.get("message_id"):
            referenced = self.messages.get(int(reference["message_id"]))
            if referenced is None and reference.get("fail_if_not_exists", True):
                raise _ApiError.form(
                    {
                        "message_reference": _field_error(
                            "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"
                        )
                    }
                )
            guild = self._guild_of_channel(channel_id)
            message["message_reference"] = {
                "type": 0,
                "message_id": str(reference["message_id"]),
                "channel_id": str(reference.get("channel_id") or channel_id),
                **({"guild_id": str(guild.id)} if guild else {}),
            }
            message["referenced_message"] = dict(referenced) if referenced else None
            if referenced is not None and message_type == 0:
                message["type"] = 19
        if interaction is not None:
            message["webhook_id"] = str(APPLICATION_ID)
            message["application_id"] = str(APPLICATION_ID)
            message["interaction_metadata"] = self._interaction_metadata(interaction)
            interaction.message_ids.append(message_id)
        self.messages[message_id] = message
        self.message_log.append(message)
        self._channel_messages.setdefault(channel_id, []).append(message_id)
        guild = self._guild_of_channel(channel_id)
        channel = guild.find_channel(channel_id) if guild else None
        if channel is not None:
            channel.last_message_id = message_id
            if channel.is_thread and message_id != channel.id:  # the starter is not counted
                channel.message_count += 1
        return message

    def _mentions(self, channel_id: int, content: str, allowed: Any) -> JsonDict:
        """Who a message pings, as Discord computes it from the content and allowed_mentions.

        Without ``allowed_mentions`` everything mentioned is parsed. A role is pinged only if
        it is mentionable or the bot has Mention Everyone in the channel (which @everyone and
        @here need too).
        """
        result: JsonDict = {"mention_everyone": False, "mentions": [], "mention_roles": []}
        if not content:
            return result
        if isinstance(allowed, Mapping):
            parse = set(allowed.get("parse") or [])
            allowed_roles = {str(r) for r in allowed.get("roles") or []}
            allowed_users = {str(u) for u in allowed.get("users") or []}
        else:
            parse, allowed_roles, allowed_users = {"everyone", "roles", "users"}, set(), set()
        guild = self._guild_of_channel(channel_id)
        perms = guild.permissions_for(BOT_USER_ID, channel_id) if guild else 0
        for user_id in dict.fromkeys(re.findall(r"<@!?(\d+)>", content)):
            if ("users" in parse or user_id in allowed_users) and int(user_id) in self.users:
                result["mentions"].append(self.users[int(user_id)].to_payload())
        if guild is not None:
            roles = {str(r.id): r for r in guild.all_roles()}
            for role_id in dict.fromkeys(re.findall(r"<@&(\d+)>", content)):
                role = roles.get(role_id)
                if role is None or not ("roles" in parse or role_id in allowed_roles):
                    continue
                if role.mentionable or perms & MENTION_EVERYONE:
                    result["mention_roles"].append(role_id)
            result["mention_everyone"] = bool(
                "everyone" in parse
                and perms & MENTION_EVERYONE
                and re.search(r"@(everyone|here)\b", content)
            )
        return result

    def _interaction_metadata(self, handle: InteractionHandle) -> JsonDict:
        user = handle.payload.get("member", handle.payload).get("user")
        metadata: JsonDict = {
            "id": str(handle.id),
            "type": handle.type,
            "user": user,
            "authorizing_integration_owners": handle.payload.get(
                "authorizing_integration_owners", {}
            ),
        }
        data = handle.payload.get("data") or {}
        if handle.type == APPLICATION_COMMAND:
            metadata.update(name=data.get("name"), command_type=data.get("type", 1))
        if handle.component_message_id is not None:
            metadata["interacted_message_id"] = str(handle.component_message_id)
        return metadata

    def _edit_message(
        self, message: JsonDict, body: Json, files: Sequence[RecordedFile]
    ) -> JsonDict:
        body = body if isinstance(body, Mapping) else {}
        self._validate_message(body, files, creating=False)
        if "content" in body:
            message["content"] = body["content"] or ""
            message.update(
                self._mentions(
                    int(message["channel_id"]), message["content"], body.get("allowed_mentions")
                )
            )
        if "embeds" in body:
            message["embeds"] = [{"type": "rich", **embed} for embed in body["embeds"] or []]
        if "components" in body:
            message["components"] = list(body["components"] or [])
        if "flags" in body and body["flags"] is not None:
            kept = message["flags"] & FLAG_EPHEMERAL
            message["flags"] = kept | (int(body["flags"]) & _SETTABLE_MESSAGE_FLAGS)
        if "attachments" in body or files:
            keep_ids = {
                str(a.get("id")) for a in body.get("attachments") or [] if isinstance(a, Mapping)
            }
            kept_attachments = [a for a in message["attachments"] if a["id"] in keep_ids]
            if "attachments" not in body:
                kept_attachments = list(message["attachments"])
            message["attachments"] = kept_attachments + self._attachments_for(
                int(message["channel_id"]), body, files
            )
        message["flags"] &= ~FLAG_LOADING
        message["edited_timestamp"] = _now_iso()
        return message

    def _delete_message(self, message_id: int) -> JsonDict:
        message = self.messages.pop(message_id)
        channel_messages = self._channel_messages.get(int(message["channel_id"]), [])
        if message_id in channel_messages:
            channel_messages.remove(message_id)
        return message

    async def _echo(self, event: str, message: JsonDict) -> None:
        """Dispatch MESSAGE_* for the bot's own message, as Discord would (never ephemeral)."""
        guild = self._guild_of_channel(int(message["channel_id"]))
        session = self._sessions.get(self.shard_of(guild.id if guild else None))
        if not self.echo_message_events or session is None or message["flags"] & FLAG_EPHEMERAL:
            return
        if not session.intents & (INTENT_GUILD_MESSAGES if guild else INTENT_DIRECT_MESSAGES):
            return
        if event == "MESSAGE_DELETE":
            data: JsonDict = {"id": message["id"], "channel_id": message["channel_id"]}
        else:
            data = dict(message)
            if guild is not None:
                data["member"] = guild.bot_member(self.bot_user).to_payload(include_user=False)
        if guild is not None:
            data["guild_id"] = str(guild.id)
        await self._dispatch_now(event, data)

    # -- REST: channels -------------------------------------------------------------------

    async def _get_channel(self, call: _Call) -> _Result:
        payload = self._channel_payload(int(call.params["channel_id"]))
        if payload is None:
            raise _ApiError.of(Errors.UNKNOWN_CHANNEL)
        return _Result(200, payload)

    def _check_can_send(self, channel_id: int, files: Sequence[RecordedFile]) -> None:
        guild = self._guild_of_channel(channel_id)
        if guild is None:
            user_id = self._dm_recipients.get(channel_id)
            if user_id is None:
                raise _ApiError.of(Errors.UNKNOWN_CHANNEL)
            if user_id in self._dm_blocked:
                raise _ApiError.of(Errors.CANNOT_DM)
            return
        channel = guild.channel(channel_id)
        perms = guild.permissions_for(BOT_USER_ID, channel_id)
        if self.enforce_permissions:
            if not perms & VIEW_CHANNEL:
                raise _ApiError.of(Errors.MISSING_ACCESS)
            if (
                channel.type == PRIVATE_THREAD
                and not channel.bot_joined
                and not perms & MANAGE_THREADS
            ):
                raise _ApiError.of(Errors.MISSING_ACCESS)
            # In a thread, Send Messages in Threads is what counts -- not Send Messages.
            needed = SEND_MESSAGES_IN_THREADS if channel.is_thread else SEND_MESSAGES
            if not perms & needed or (files and not perms & ATTACH_FILES):
                raise _ApiError.of(Errors.MISSING_PERMISSIONS)
        if channel.type == GUILD_FORUM:
            raise _ApiError.of(Errors.CANNOT_SEND_IN_FORUM)
        if channel.type not in _MESSAGEABLE_CHANNEL_TYPES:
            raise _ApiError.of(Errors.NON_TEXT_CHANNEL)
        if channel.is_thread and channel.locked and not perms & MANAGE_THREADS:
            raise _ApiError.of(Errors.THREAD_LOCKED)

    async def _create_channel_message(self, call: _Call) -> _Result:
        channel_id = int(call.params["channel_id"])
        self._check_can_send(channel_id, call.files)
        self._validate_message(call.json, call.files, creating=True)
        body: Mapping[str, Any] = call.json if isinstance(call.json, Mapping) else {}
        taken = self._nonce_key(channel_id, body)
        if taken is not None:
            earlier = self._nonces.get(taken)
            if (
                earlier is not None
                and time.monotonic() - earlier[1] < self.nonce_window
                and earlier[0] in self.messages
            ):
                # The first message again: nothing created, nothing dispatched.
                return _Result(200, self.messages[earlier[0]])
        guild = self._guild_of_channel(channel_id)
        thread = guild.find_channel(channel_id) if guild else None
        if guild is not None and thread is not None and thread.is_thread and thread.archived:
            # Sending to an archived (unlocked) thread unarchives it.
            thread.archived = False
            await self._dispatch_guild_event("THREAD_UPDATE", thread.to_payload(guild.id))
        message = self._create_message(channel_id, body, call.files)
        if taken is not None:
            self._nonces[taken] = (int(message["id"]), time.monotonic())
        await self._echo("MESSAGE_CREATE", message)
        return _Result(200, message)

    def _nonce_key(self, channel_id: int, body: Mapping[str, Any]) -> tuple[int, int, str] | None:
        """What a create's nonce is unique by, when it asks for it to be enforced."""
        nonce = body.get("nonce")
        if nonce is None or not body.get("enforce_nonce"):
            return None
        return (channel_id, self.bot_user.id, str(nonce))

    # -- REST: threads, forum posts, crossposts -------------------------------------------

    def _thread_parent(self, channel_id: int) -> tuple[GuildSpec, ChannelSpec]:
        guild = self._guild_of_channel(channel_id)
        if guild is None:
            if channel_id in self._dm_recipients:
                raise _ApiError.of(Errors.WRONG_CHANNEL_TYPE)
            raise _ApiError.of(Errors.UNKNOWN_CHANNEL)
        parent = guild.channel(channel_id)
        if parent.type not in (GUILD_TEXT, GUILD_ANNOUNCEMENT, GUILD_FORUM):
            raise _ApiError.of(Errors.WRONG_CHANNEL_TYPE)
        return guild, parent

    def _require(self, guild: GuildSpec, channel_id: int, needed: int) -> None:
        if not self.enforce_permissions:
            return
        perms = guild.permissions_for(BOT_USER_ID, channel_id)
        if not perms & VIEW_CHANNEL:
            raise _ApiError.of(Errors.MISSING_ACCESS)
        if perms & needed != needed:
            raise _ApiError.of(Errors.MISSING_PERMISSIONS)

    @staticmethod
    def _thread_fields(body: Mapping[str, Any], forum: ChannelSpec | None) -> JsonDict:
        errors: JsonDict = {}
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
            errors["name"] = _field_error(
                "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
        duration = body.get("auto_archive_duration") or 1440
        if duration not in (60, 1440, 4320, 10080):
            errors["auto_archive_duration"] = _field_error(
                "BASE_TYPE_CHOICES", "Value must be one of {60, 1440, 4320, 10080}."
            )
        tags = [int(t) for t in body.get("applied_tags") or []]
        if forum is not None and (len(tags) > 5 or not set(tags) <= set(forum.available_tags)):
            errors["applied_tags"] = _field_error(
                "BASE_TYPE_CHOICES", "Tags must be 5 or fewer of the forum's available tags."
            )
        if errors:
            raise _ApiError.form(errors)
        return {
            "name": str(name).strip(),
            "auto_archive_duration": int(duration),
            "rate_limit_per_user": int(body.get("rate_limit_per_user") or 0),
            "applied_tags": tags,
        }

    async def _create_thread(self, call: _Call) -> _Result:
        """A forum post, a thread without a message, or a thread on an existing message."""
        guild, parent = self._thread_parent(int(call.params["channel_id"]))
        body = call.json if isinstance(call.json, Mapping) else {}
        from_message = call.params.get("message_id")
        starter: JsonDict | None = None
        if parent.type == GUILD_FORUM:
            if from_message is not None:
                raise _ApiError.of(Errors.WRONG_CHANNEL_TYPE)
            # "Send Messages" on a forum is "Create Posts".
            self._require(guild, parent.id, SEND_MESSAGES | (ATTACH_FILES if call.files else 0))
            fields = self._thread_fields(body, parent)
            message_body = body.get("message")
            if not isinstance(message_body, Mapping):
                raise _ApiError.form(
                    {"message": _field_error("BASE_TYPE_REQUIRED", "This field is required")}
                )
            self._validate_message(message_body, call.files, creating=True)
            thread_type = PUBLIC_THREAD
        elif from_message is not None:
            self._require(guild, parent.id, CREATE_PUBLIC_THREADS)
            if not from_message.isdigit():
                raise _ApiError.of(Errors.UNKNOWN_MESSAGE)
            starter = self.messages.get(int(from_message))
            if starter is None or int(starter["channel_id"]) != parent.id:
                raise _ApiError.of(Errors.UNKNOWN_MESSAGE)
            if guild.find_channel(int(from_message)) is not None:
                raise _ApiError.of(Errors.THREAD_ALREADY_CREATED)
            fields = self._thread_fields(body, None)
            thread_type = (
                ANNOUNCEMENT_THREAD if parent.type == GUILD_ANNOUNCEMENT else PUBLIC_THREAD
            )
        else:
            requested = int(body.get("type") or PRIVATE_THREAD)
            if parent.type == GUILD_ANNOUNCEMENT and requested != ANNOUNCEMENT_THREAD:
                raise _ApiError.of(Errors.WRONG_CHANNEL_TYPE)
            if parent.type == GUILD_TEXT and requested not in (PUBLIC_THREAD, PRIVATE_THREAD):
                raise _ApiError.form(
                    {"type": _field_error("BASE_TYPE_CHOICES", "Invalid thread type")}
                )
            needed = (
                CREATE_PRIVATE_THREADS if requested == PRIVATE_THREAD else CREATE_PUBLIC_THREADS
            )
            self._require(guild, parent.id, needed)
            fields = self._thread_fields(body, None)
            thread_type = requested
        thread_id = int(from_message) if from_message is not None else self._ids.next()
        thread = ChannelSpec(
            thread_id,
            fields["name"],
            type=thread_type,
            parent_id=parent.id,
            rate_limit_per_user=fields["rate_limit_per_user"],
            owner_id=BOT_USER_ID,
            invitable=bool(body.get("invitable", True)),
            auto_archive_duration=fields["auto_archive_duration"],
            applied_tags=fields["applied_tags"],
        )
        assert guild.channels is not None
        guild.channels.append(thread)
        message: JsonDict | None = None
        if parent.type == GUILD_FORUM:
            # The post's first message has the thread's id, as in Discord.
            message_body = dict(body["message"])
            message = self._create_message(
                thread_id, message_body, call.files, message_id=thread_id
            )
            parent.last_message_id = thread_id
        elif starter is not None:
            starter["thread"] = thread.to_payload(guild.id)
        payload = thread.to_payload(guild.id, member=True)
        await self._dispatch_guild_event("THREAD_CREATE", {**payload, "newly_created": True})
        if message is not None:
            await self._echo("MESSAGE_CREATE", message)
            payload["message"] = message
        return _Result(201, payload)

    async def _crosspost(self, call: _Call) -> _Result:
        """Publish a message in an announcement channel to the channels following it."""
        channel_id = int(call.params["channel_id"])
        guild = self._guild_of_channel(channel_id)
        if guild is None:
            if channel_id in self._dm_recipients:
                raise _ApiError(400, 50003, "Cannot execute action on a DM channel")
            raise _ApiError.of(Errors.UNKNOWN_CHANNEL)
        raw_id = call.params["message_id"]
        message = self.messages.get(int(raw_id)) if raw_id.isdigit() else None
        if message is None or int(message["channel_id"]) != channel_id:
            raise _ApiError.of(Errors.UNKNOWN_MESSAGE)
        own = message["author"]["id"] == str(BOT_USER_ID)
        # Your own messages need Send Messages; anyone else's need Manage Messages.
        self._require(guild, channel_id, SEND_MESSAGES if own else MANAGE_MESSAGES)
        if guild.channel(channel_id).type != GUILD_ANNOUNCEMENT:
            raise _ApiError.of(Errors.WRONG_CHANNEL_TYPE)
        if message["flags"] & FLAG_CROSSPOSTED:
            raise _ApiError.of(Errors.ALREADY_CROSSPOSTED)
        message["flags"] |= FLAG_CROSSPOSTED
        self._published.append(int(message["id"]))
        await self._echo("MESSAGE_UPDATE", message)
        return _Result(200, message)

    async def _list_messages(self, call: _Call) -> _Result:
        channel_id = int(call.params["channel_id"])
        if self._channel_payload(channel_id) is None:
            raise _ApiError.of(Errors.UNKNOWN_CHANNEL)
        limit = int(call.query.get("limit", "50"))
        ids = self._channel_messages.get(channel_id, [])
        newest_first = [self.messages[m] for m in reversed(ids) if m in self.messages]
        return _Result(200, newest_first[:limit])

    async def _channel_message(self, call: _Call) -> _Result:
        channel_id = int(call.params["channel_id"])
        if self._channel_payload(channel_id) is None:
            raise _ApiError.of(Errors.UNKNOWN_CHANNEL)
        message_id = int(call.params["message_id"])
        message = self._message(message_id)
        if int(message["channel_id"]) != channel_id or message["flags"] & FLAG_EPHEMERAL:
            raise _ApiError.of(Errors.UNKNOWN_MESSAGE)
        if call.method == "GET":
            return _Result(200, message)
        if call.method == "DELETE":
            await self._echo("MESSAGE_DELETE", self._delete_message(message_id))
            return _Result(204)
        if message["author"]["id"] != str(BOT_USER_ID):
            raise _ApiError(403, 50005, "Cannot edit a message authored by another user")
        self._edit_message(message, call.json, call.files)
        await self._echo("MESSAGE_UPDATE", message)
        return _Result(200, message)

    async def _react(self, call: _Call) -> _Result:
        self._message(int(call.params["message_id"]))
        return _Result(204)

    # -- REST: guilds ---------------------------------------------------------------------

    def _guild_payload(self, guild: GuildSpec) -> JsonDict:
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "roles": [role.to_payload() for role in guild.all_roles()],
            "emojis": [],
            "stickers": [],
            "features": list(guild.features),
            "application_id": None,
            "system_channel_id": (
                str(guild.system_channel_id) if guild.system_channel_id else None
            ),
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "max_members": 500_000,
            "max_video_channel_users": 25,
            "preferred_locale": guild.preferred_locale,
            "widget_enabled": False,
            "incidents_data": None,
        }

    def _guild_create_payload(self, guild: GuildSpec, intents: int) -> JsonDict:
        payload = self._guild_payload(guild)
        members = [guild.bot_member(self.bot_user)]
        if intents & INTENT_GUILD_MEMBERS:
            members += guild.all_members
        payload.update(
            joined_at=guild.joined_at,
            large=guild.total_members() > 250,
            unavailable=False,
            member_count=guild.total_members(),
            channels=[channel.to_payload() for channel in guild.top_level_channels],
            members=[member.to_payload() for member in members],
            threads=[t.to_payload(guild.id, member=True) for t in self._visible_threads(guild)],
            voice_states=[],
            presences=[],
            stage_instances=[],
            guild_scheduled_events=[],
            soundboard_sounds=[],
            embedded_activities=[],
            lazy=True,
        )
        return payload

    async def _get_guild(self, call: _Call) -> _Result:
        guild = self._guild(int(call.params["guild_id"]))
        payload = self._guild_payload(guild)
        if _truthy_query(call.query.get("with_counts")):
            payload.update(
                approximate_member_count=guild.total_members(), approximate_presence_count=1
            )
        return _Result(200, payload)

    async def _get_guild_channels(self, call: _Call) -> _Result:
        guild = self._guild(int(call.params["guild_id"]))
        return _Result(200, [channel.to_payload(guild.id) for channel in guild.top_level_channels])

    def _visible_threads(self, guild: GuildSpec) -> list[ChannelSpec]:
        """Active threads the bot can see (what GUILD_CREATE and threads/active list)."""
        visible: list[ChannelSpec] = []
        for thread in guild.threads:
            perms = guild.permissions_for(BOT_USER_ID, thread.id)
            if thread.archived or not perms & VIEW_CHANNEL:
                continue
            if thread.type == PRIVATE_THREAD and not (thread.bot_joined or perms & MANAGE_THREADS):
                continue
            visible.append(thread)
        return visible

    async def _get_active_threads(self, call: _Call) -> _Result:
        guild = self._guild(int(call.params["guild_id"]))
        threads = self._visible_threads(guild)
        return _Result(
            200,
            {
                "threads": [t.to_payload(guild.id) for t in threads],
                "members": [t.thread_member_payload() for t in threads if t.bot_joined],
            },
        )

    async def _get_guild_roles(self, call: _Call) -> _Result:
        guild = self._guild(int(call.params["guild_id"]))
        return _Result(200, [role.to_payload() for role in guild.all_roles()])

    async def _get_member(self, call: _Call) -> _Result:
        guild = self._guild(int(call.params["guild_id"]))
        user_id = int(call.params["user_id"])
        member = (
            guild.bot_member(self.bot_user) if user_id == BOT_USER_ID else guild.member(user_id)
        )
        if member is None:
            raise _ApiError.of(Errors.UNKNOWN_MEMBER)
        return _Result(200, member.to_payload())

    # -- REST: interactions and webhooks --------------------------------------------------

    async def _callback(self, call: _Call) -> _Result:
        handle = self.interactions.get(int(call.params["interaction_id"]))
        if handle is None or handle.token != call.params["token"]:
            raise _ApiError.of(Errors.UNKNOWN_INTERACTION)
        if handle.acknowledged:
            raise _ApiError.of(Errors.ALREADY_ACKNOWLEDGED)
        loop = asyncio.get_running_loop()
        if (
            self.interaction_ack_timeout is not None
            and loop.time() - handle.dispatched_at > self.interaction_ack_timeout
        ):
            raise _ApiError.of(Errors.UNKNOWN_INTERACTION)
        body = call.json if isinstance(call.json, Mapping) else {}
        callback_type = body.get("type")
        allowed = set(_ALLOWED_CALLBACKS.get(handle.type, set()))
        if handle.type == MODAL_SUBMIT and handle.component_message_id is None:
            allowed -= {6, 7}
        if callback_type not in allowed:
            raise _ApiError.form(
                {
                    "type": _field_error(
                        "INTERACTION_RESPONSE_TYPE_INVALID", "Invalid interaction response type"
                    )
                }
            )
        raw_data = body.get("data")
        data: Mapping[str, Any] = raw_data if isinstance(raw_data, Mapping) else {}
        message: JsonDict | None = None
        event: str | None = None
        if callback_type == 4:
            self._validate_message(data, call.files, creating=True)
            message_type = 20 if handle.type == APPLICATION_COMMAND else 0
            message = self._create_message(
                handle.channel_id,
                data,
                call.files,
                message_type=message_type,
                extra_flags=int(data.get("flags") or 0) & FLAG_EPHEMERAL,
                interaction=handle,
            )
            handle.original_message_id = int(message["id"])
            event = "MESSAGE_CREATE"
        elif callback_type == 5:
            message_type = 20 if handle.type == APPLICATION_COMMAND else 0
            message = self._create_message(
                handle.channel_id,
                {"content": ""},
                (),
                message_type=message_type,
                extra_flags=FLAG_LOADING | (int(data.get("flags") or 0) & FLAG_EPHEMERAL),
                interaction=handle,
            )
            handle.original_message_id = int(message["id"])
            event = "MESSAGE_CREATE"
        elif callback_type in (6, 7):
            message_id = handle.component_message_id
            assert message_id is not None  # guaranteed by the allowed-types check above
            handle.original_message_id = message_id
            message = self.messages.get(message_id)
            if callback_type == 7 and message is not None:
                self._edit_message(message, data, call.files)
                event = "MESSAGE_UPDATE"
        elif callback_type == 8:
            choices = data.get("choices")
            if (
                not isinstance(choices, list)
                or len(choices) > 25
                or any(not 1 <= len(str(c.get("name", ""))) <= 100 for c in choices)
            ):
                raise _ApiError.form(
                    {"data": {"choices": _field_error("BASE_TYPE_BAD_LENGTH", "Invalid choices")}}
                )
        elif callback_type == 9:
            title = data.get("title")
            if not data.get("custom_id") or not isinstance(title, str) or not 1 <= len(title) <= 45:
                raise _ApiError.form(
                    {"data": {"title": _field_error("BASE_TYPE_BAD_LENGTH", "Invalid modal")}}
                )
        handle.callback_type = callback_type
        if message is not None and event is not None:
            await self._echo(event, message)

        if not _truthy_query(call.query.get("with_response")):
            return _Result(204)
        interaction: JsonDict = {"id": str(handle.id), "type": handle.type}
        if message is not None:
            interaction.update(
                response_message_id=message["id"],
                response_message_loading=bool(message["flags"] & FLAG_LOADING),
                response_message_ephemeral=bool(message["flags"] & FLAG_EPHEMERAL),
            )
        response: JsonDict = {"interaction": interaction}
        if callback_type in (4, 5, 6, 7):
            resource: JsonDict = {"type": callback_type}
            if message is not None:
                resource["message"] = message
            response["resource"] = resource
        return _Result(200, response)

    def _webhook_interaction(self, call: _Call) -> InteractionHandle:
        if int(call.params["application_id"]) != APPLICATION_ID:
            raise _ApiError.of(Errors.UNKNOWN_WEBHOOK)
        handle = next(
            (h for h in self.interactions.values() if h.token == call.params["token"]), None
        )
        if handle is None:
            raise _ApiError(401, 50027, "Invalid Webhook Token")
        if not handle.acknowledged:
            # Discord only opens the interaction webhook once the interaction is answered.
            raise _ApiError.of(Errors.UNKNOWN_WEBHOOK)
        return handle

    async def _followup(self, call: _Call) -> _Result:
        handle = self._webhook_interaction(call)
        body = call.json if isinstance(call.json, Mapping) else {}
        original = handle.original_message
        if original is not None and original["flags"] & FLAG_LOADING:
            # The first followup after a "thinking" deferral replaces the loading message.
            self._validate_message(body, call.files, creating=True)
            message = self._edit_message(original, body, call.files)
            event = "MESSAGE_UPDATE"
        else:
            self._validate_message(body, call.files, creating=True)
            message = self._create_message(
                handle.channel_id,
                body,
                call.files,
                extra_flags=int(body.get("flags") or 0) & FLAG_EPHEMERAL,
                interaction=handle,
            )
            event = "MESSAGE_CREATE"
        await self._echo(event, message)
        if _truthy_query(call.query.get("wait")):
            return _Result(200, message)
        return _Result(204)

    async def _webhook_message(self, call: _Call) -> _Result:
        handle = self._webhook_interaction(call)
        raw_id = call.params["message_id"]
        if raw_id == "@original":
            message_id = handle.original_message_id
        else:
            message_id = int(raw_id)
            if message_id not in handle.message_ids and message_id != handle.original_message_id:
                message_id = None
        if message_id is None or message_id not in self.messages:
            raise _ApiError.of(Errors.UNKNOWN_MESSAGE)
        message = self.messages[message_id]
        if call.method == "GET":
            return _Result(200, message)
        if call.method == "DELETE":
            await self._echo("MESSAGE_DELETE", self._delete_message(message_id))
            return _Result(204)
        self._edit_message(message, call.json, call.files)
        await self._echo("MESSAGE_UPDATE", message)
        return _Result(200, message)

    # -- gateway --------------------------------------------------------------------------

    async def _handle_gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0, timeout=5.0)
        await ws.prepare(request)
        query = dict(request.query)
        compression = query.get("compress") if self.transport_compression else None
        if compression == "zstd-stream":
            try:
                import zstandard  # noqa: F401
            except ImportError:
                compression = None
        elif compression != "zlib-stream":
            compression = None
        info = GatewayConnectionInfo(
            len(self.gateway_connections), request.path, query, compression
        )
        connection = _GatewayConnection(info, ws)
        self.gateway_connections.append(info)
        self._connections.append(connection)
        self._notify()
        try:
            if query.get("v", str(API_VERSION)) != str(API_VERSION):
                await connection.close(4012, "Invalid API version.")
                return ws
            if query.get("encoding", "json") != "json":
                await connection.close(4002, "The stand-in only speaks encoding=json.")
                return ws
            await connection.send(
                {
                    "op": 10,
                    "d": {"heartbeat_interval": self.heartbeat_interval_ms},
                    "s": None,
                    "t": None,
                }
            )
            async for frame in ws:
                if frame.type is not WSMsgType.TEXT:
                    await connection.close(4002, "Error while decoding payload.")
                    break
                try:
                    payload = json.loads(frame.data)
                except ValueError:
                    await connection.close(4002, "Error while decoding payload.")
                    break
                await self._on_gateway_payload(connection, payload)
        finally:
            info.closed = True
            info.close_code = ws.close_code
            self._connections.remove(connection)
            for shard, current in list(self._currents.items()):
                if current is connection:
                    del self._currents[shard]
            self._notify()
        return ws

    async def _on_gateway_payload(self, connection: _GatewayConnection, payload: JsonDict) -> None:
        op = payload.get("op")
        data = payload.get("d")
        token = None
        if isinstance(data, dict) and "token" in data:
            token = data["token"]
            data = {**data, "token": "<redacted>"}
        self.gateway_frames.append(GatewayFrame(connection.info.index, int(op or -1), data, token))
        self._notify()
        if op == 1:
            self.heartbeat_count += 1
            await connection.send({"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            await self._identify(connection, payload.get("d") or {})
        elif op == 6:
            await self._resume(connection, payload.get("d") or {})
        elif connection.session is None:
            await connection.close(4003, "Not authenticated.")
        elif op == 3:
            self.presence = data
        elif op == 4:
            pass  # voice state update: no voice support
        elif op == 8:
            await self._request_members(data or {})
        else:
            await connection.close(4001, "Unknown opcode.")

    def _token_rejection(self, token: str | None) -> tuple[int, str] | None:
        if self._identify_rejection is not None:
            return self._identify_rejection
        if self.valid_token is not None and token != self.valid_token:
            return (4004, "Authentication failed.")
        return None

    async def _identify(self, connection: _GatewayConnection, data: JsonDict) -> None:
        if connection.session is not None:
            await connection.close(4005, "Already authenticated.")
            return
        rejection = self._token_rejection(data.get("token"))
        if rejection is not None:
            await connection.close(*rejection)
            return
        intents = data.get("intents")
        if not isinstance(intents, int):
            await connection.close(4013, "Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS and not self.privileged_intents_enabled:
            await connection.close(4014, "Disallowed intent(s).")
            return
        raw_shard = data.get("shard")
        shard = (int(raw_shard[0]), int(raw_shard[1])) if raw_shard else None
        if shard is not None and not 0 <= shard[0] < shard[1]:
            await connection.close(4010, "Invalid shard.")
            return
        count = shard[1] if shard else None
        for key, other in list(self._sessions.items()):
            if (other.shard[1] if other.shard else None) != count:
                del self._sessions[key]  # a client with another shard count took over
        session = _Session(secrets.token_hex(16), intents, shard)
        self._sessions[_shard_key(shard)] = session
        connection.session = session
        await self._make_current(connection)
        guilds = [
            g for g in self.guilds.values() if shard is None or (g.id >> 22) % shard[1] == shard[0]
        ]
        ready: JsonDict = {
            "v": API_VERSION,
            "user": {**self.bot_user.to_payload(), "verified": True, "mfa_enabled": False},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_gateway_url,
            "application": {"id": str(APPLICATION_ID), "flags": APPLICATION_FLAGS},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "user_settings": {},
            "geo_ordered_rtc_regions": ["local"],
            "_trace": ['["discord-standin",{"micros":0}]'],
        }
        if shard is not None:
            ready["shard"] = list(shard)
        await self._dispatch_now("READY", ready, session=session)
        for guild in guilds:
            await self._dispatch_now(
                "GUILD_CREATE", self._guild_create_payload(guild, intents), session=session
            )
        self.ready_count += 1
        self._notify()

    async def _resume(self, connection: _GatewayConnection, data: JsonDict) -> None:
        rejection = self._token_rejection(data.get("token"))
        if rejection is not None:
            await connection.close(*rejection)
            return
        session = next((s for s in self._sessions.values() if s.id == data.get("session_id")), None)
        if session is None:
            await connection.send({"op": 9, "d": False, "s": None, "t": None})
            return
        connection.session = session
        await self._make_current(connection)
        last_seq = int(data.get("seq") or 0)
        for frame in session.log:
            if frame["s"] > last_seq:
                await connection.send(frame)
        await self._dispatch_now(
            "RESUMED", {"_trace": ['["discord-standin",{"micros":0}]']}, session=session
        )
        self.resume_count += 1
        self._notify()

    async def _make_current(self, connection: _GatewayConnection) -> None:
        assert connection.session is not None
        key = _shard_key(connection.session.shard)
        previous, self._currents[key] = self._currents.get(key), connection
        if previous is not None and previous is not connection:
            # Discord drops the old socket of a session that was resumed/re-identified.
            await previous.close(4000, "Session moved to another connection.")

    async def _request_members(self, data: JsonDict) -> None:
        guild = self.guilds.get(int(data.get("guild_id") or 0))
        if guild is None:
            return
        query = str(data.get("query") or "").lower()
        user_ids = {int(u) for u in data.get("user_ids") or []}
        members = [guild.bot_member(self.bot_user), *guild.all_members]
        found = [
            m
            for m in members
            if (not user_ids or m.user.id in user_ids) and m.user.username.lower().startswith(query)
        ]
        limit = int(data.get("limit") or 0)
        if limit:
            found = found[:limit]
        chunk: JsonDict = {
            "guild_id": str(guild.id),
            "members": [m.to_payload() for m in found],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [str(u) for u in user_ids - {m.user.id for m in found}],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        await self._dispatch_now("GUILD_MEMBERS_CHUNK", chunk)

    @property
    def shard_count(self) -> int:
        """The shard count the client identified with (1 when it does not shard)."""
        for session in self._sessions.values():
            if session.shard is not None:
                return session.shard[1]
        return 1

    def shard_of(self, guild_id: int | None) -> int:
        """The shard whose connection gets events about this server (DMs: shard 0)."""
        return 0 if guild_id is None else (guild_id >> 22) % self.shard_count

    def _shard_for(self, event: str, data: Json) -> int:
        """The shard an event goes to: its server's."""
        guild_id: Any = None
        if isinstance(data, dict):
            guild_id = data.get("guild_id")
            if guild_id is None and event in ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"):
                guild_id = data.get("id")
        return self.shard_of(int(guild_id) if guild_id else None)

    async def _dispatch_now(
        self, event: str, data: Json, *, session: _Session | None = None
    ) -> int:
        if session is None:
            if not self._sessions:
                raise RuntimeError("no gateway session: the client has not identified yet")
            session = self._sessions.get(self._shard_for(event, data))
            if session is None:
                return 0  # its shard is run by no one connected here
        session.seq += 1
        frame: JsonDict = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.log.append(frame)
        connection = self._currents.get(_shard_key(session.shard))
        if connection is not None and connection.session is session:
            await connection.send(frame)
        return session.seq

    async def dispatch(self, event: str, data: Json) -> int:
        """Push a gateway DISPATCH (op 0) event to the bot; returns its sequence number.

        Events sent while the client is disconnected are replayed when it RESUMEs.
        """
        await self._settle()
        return await self._dispatch_now(event, data)

    async def request_reconnect(self, *, shard: int = 0) -> None:
        """Send op 7 RECONNECT: discord.py closes the socket and RESUMEs."""
        current = self._currents.get(shard)
        if current is None:
            raise RuntimeError("no live gateway connection")
        await current.send({"op": 7, "d": None, "s": None, "t": None})

    async def invalidate_session(self, resumable: bool = False, *, shard: int = 0) -> None:
        """Send op 9 INVALID_SESSION; non-resumable forgets the session (client re-IDENTIFYs)."""
        connection = self._currents.get(shard)
        if connection is None:
            raise RuntimeError("no live gateway connection")
        if not resumable:
            self._sessions.pop(shard, None)
        await connection.send({"op": 9, "d": resumable, "s": None, "t": None})

    async def disconnect(self, code: int = 4000, reason: str = "", *, shard: int = 0) -> None:
        """Close the live gateway socket with ``code`` (4000 = resumable unknown error)."""
        if (current := self._currents.get(shard)) is not None:
            await current.close(code, reason)

    # -- interactions ---------------------------------------------------------------------

    def _resolve_context(
        self,
        *,
        guild_id: int | None,
        channel_id: int | None,
        dm: bool,
    ) -> tuple[GuildSpec | None, int]:
        if dm or (not self.guilds and guild_id is None and channel_id is None):
            return None, -1
        if guild_id is None and channel_id is not None:
            guild = self._guild_of_channel(channel_id)
            if guild is None:
                if channel_id in self._dm_recipients:
                    return None, channel_id
                raise ValueError(f"unknown channel {channel_id}")
        elif guild_id is None:
            guild = next(iter(self.guilds.values()))
        else:
            guild = self.guilds.get(guild_id)
            if guild is None:
                raise ValueError(f"unknown guild {guild_id}")
        if channel_id is None:
            channel_id = guild.default_channel().id
        elif guild.find_channel(channel_id) is None:
            raise ValueError(f"channel {channel_id} is not in guild {guild.id}")
        return guild, channel_id

    async def send_interaction(
        self,
        type: int,
        data: Mapping[str, Any] | None,
        *,
        message: Mapping[str, Any] | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
        user: UserSpec | None = None,
        dm: bool = False,
        member_roles: Sequence[int] | None = None,
        member_permissions: int | None = None,
        app_permissions: int | None = None,
        locale: str = "en-US",
    ) -> InteractionHandle:
        """Dispatch a raw INTERACTION_CREATE and return a handle to follow it.

        Guild interactions default to the first guild and its first text channel. The
        invoking member's ``permissions`` and the bot's ``app_permissions`` are computed from
        the guild spec (roles + overwrites) unless given explicitly; ``dm=True`` (or a DM
        ``channel_id``) makes it a DM interaction from ``user``.
        """
        user = user or DEFAULT_USER
        self.users.setdefault(user.id, user)
        guild, resolved_channel = self._resolve_context(
            guild_id=guild_id, channel_id=channel_id, dm=dm
        )
        interaction_id = self._ids.next()
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)
        payload: JsonDict = {
            "id": str(interaction_id),
            "application_id": str(APPLICATION_ID),
            "type": type,
            "token": token,
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if data is not None:
            payload["data"] = dict(data)
        if guild is not None:
            roles = list(member_roles) if member_roles is not None else guild.role_ids_of(user.id)
            member_spec = guild.member(user.id) or MemberSpec(user)
            member_spec = MemberSpec(user, tuple(roles), member_spec.nick, member_spec.joined_at)
            perms = (
                member_permissions
                if member_permissions is not None
                else guild.permissions_for(user.id, resolved_channel, role_ids=roles)
            )
            bot_perms = (
                app_permissions
                if app_permissions is not None
                else guild.permissions_for(BOT_USER_ID, resolved_channel)
            )
            channel_payload = guild.channel(resolved_channel).to_payload(guild.id)
            channel_payload["permissions"] = str(perms)
            payload.update(
                guild_id=str(guild.id),
                guild={
                    "id": str(guild.id),
                    "locale": guild.preferred_locale,
                    "features": guild.features,
                },
                guild_locale=guild.preferred_locale,
                channel_id=str(resolved_channel),
                channel=channel_payload,
                member=member_spec.to_payload(permissions=perms),
                app_permissions=str(bot_perms),
                authorizing_integration_owners={"0": str(guild.id)},
                context=0,
            )
        else:
            dm_channel = (
                resolved_channel if resolved_channel != -1 else self._dm_channel_for(user.id)
            )
            channel_payload = self._dm_payload(dm_channel, self._dm_recipients[dm_channel])
            payload.update(
                channel_id=str(dm_channel),
                channel=channel_payload,
                user=user.to_payload(),
                app_permissions=str(DM_PERMISSIONS if app_permissions is None else app_permissions),
                authorizing_integration_owners={"0": "0", "1": str(user.id)},
                context=1,
            )
        if message is not None:
            payload["message"] = dict(message)
        await self._settle()
        handle = InteractionHandle(self, payload)
        self.interactions[interaction_id] = handle
        await self._dispatch_now("INTERACTION_CREATE", payload)
        return handle

    def find_command(self, name: str, guild_id: int | None = None) -> JsonDict | None:
        """A registered chat-input command by name: the guild's own first, then global."""
        candidates = [
            *(self.guild_commands.get(guild_id, []) if guild_id else []),
            *self.global_commands,
        ]
        return next((c for c in candidates if c["name"] == name and c.get("type", 1) == 1), None)

    def _option_value(
        self, option_type: int, value: Any, guild: GuildSpec | None, resolved: JsonDict
    ) -> Any:
        if option_type == 3:
            return str(value)
        if option_type == 4:
            return int(value)
        if option_type == 10:
            return float(value) if not isinstance(value, int) else value
        if option_type == 5:
            return bool(value)
        if option_type in (6, 7, 8, 9):
            target = value.id if hasattr(value, "id") else int(value)
            key = str(target)
            if option_type in (6, 9) and (target in self.users or isinstance(value, UserSpec)):
                user = value if isinstance(value, UserSpec) else self.users[target]
                resolved.setdefault("users", {})[key] = user.to_payload()
                if guild is not None:
                    member = guild.member(target) or MemberSpec(user)
                    resolved.setdefault("members", {})[key] = member.to_payload(
                        include_user=False, permissions=guild.permissions_for(target)
                    )
                return key
            if option_type in (8, 9) and guild is not None:
                role = next((r for r in guild.all_roles() if r.id == target), None)
                if role is not None:
                    resolved.setdefault("roles", {})[key] = role.to_payload()
                    return key
            if option_type == 7:
                channel = self._channel_payload(target)
                if channel is not None:
                    # Discord resolves a thread with its thread fields (discord.py reads them).
                    fields = ("id", "name", "type", "parent_id", "guild_id") + (
                        THREAD_RESOLVED_FIELDS if channel["type"] in _THREAD_TYPES else ()
                    )
                    channel = {k: channel[k] for k in fields if k in channel}
                    channel["permissions"] = str(
                        guild.permissions_for(DEFAULT_USER_ID, target) if guild else DM_PERMISSIONS
                    )
                    resolved.setdefault("channels", {})[key] = channel
                    return key
            raise ValueError(f"cannot resolve option value {value!r} for option type {option_type}")
        raise ValueError(f"option type {option_type} is not supported; pass raw_options")

    @staticmethod
    def _infer_type(value: Any) -> int:
        if isinstance(value, bool):
            return 5
        if isinstance(value, int):
            return 4
        if isinstance(value, float):
            return 10
        if isinstance(value, UserSpec):
            return 6
        return 3

    def _command_data(
        self,
        qualified_name: str,
        options: Mapping[str, Any],
        *,
        guild: GuildSpec | None,
        focused: str | None,
    ) -> JsonDict:
        root, *path = qualified_name.split()
        command = self.find_command(root, guild.id if guild else None)
        definitions: list[JsonDict] | None = None
        if command is not None:
            definitions = list(command.get("options") or [])
            for part in path:
                sub = next(
                    (o for o in definitions if o["name"] == part and o.get("type") in (1, 2)), None
                )
                if sub is None:
                    raise ValueError(f"/{root} has no subcommand {part!r}")
                definitions = list(sub.get("options") or [])
        resolved: JsonDict = {}
        leaf: list[JsonDict] = []
        for name, value in options.items():
            if definitions is not None:
                definition = next((o for o in definitions if o["name"] == name), None)
                if definition is None:
                    known = [o["name"] for o in definitions]
                    raise ValueError(f"/{qualified_name} has no option {name!r} (options: {known})")
                option_type = int(definition["type"])
            else:
                option_type = self._infer_type(value)
            option: JsonDict = {"name": name, "type": option_type}
            if name == focused:
                option.update(value=str(value), focused=True)
            else:
                option["value"] = self._option_value(option_type, value, guild, resolved)
            leaf.append(option)
        if definitions is not None and focused is None:
            missing = [
                o["name"] for o in definitions if o.get("required") and o["name"] not in options
            ]
            if missing:
                raise ValueError(f"/{qualified_name} requires options {missing}")
        nested: list[JsonDict] = leaf
        for depth in range(len(path) - 1, -1, -1):
            option_type = 1 if depth == len(path) - 1 else 2
            nested = [{"name": path[depth], "type": option_type, "options": nested}]
        data: JsonDict = {
            "id": command["id"] if command else str(self._ids.next()),
            "name": root,
            "type": 1,
            "options": nested,
        }
        if resolved:
            data["resolved"] = resolved
        if command is not None and command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        return data

    def _check_command_permissions(
        self, command: JsonDict | None, handle_kwargs: Mapping[str, Any], guild: GuildSpec | None
    ) -> None:
        if command is None or guild is None or command.get("default_member_permissions") is None:
            return
        required = int(command["default_member_permissions"])
        user: UserSpec = handle_kwargs.get("user") or DEFAULT_USER
        perms = handle_kwargs.get("member_permissions")
        if perms is None:
            perms = guild.permissions_for(user.id, role_ids=handle_kwargs.get("member_roles"))
        if perms & required != required and not perms & ADMINISTRATOR:
            raise PermissionError(
                f"/{command['name']} needs default_member_permissions={required}; Discord would "
                "not let this member run it (pass enforce_command_permissions=False to force)"
            )

    async def send_slash_command(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        raw_options: list[JsonDict] | None = None,
        enforce_command_permissions: bool = True,
        **context: Any,
    ) -> InteractionHandle:
        """Invoke ``/name`` (``"group sub"`` for subcommands) like a user would.

        Option types (and user/channel/role ``resolved`` data) come from the command as the
        bot registered it; unregistered commands get types inferred from the Python values.
        ``context`` is passed to :meth:`send_interaction` (guild_id, channel_id, user, dm, ...).
        """
        guild, _ = self._resolve_context(
            guild_id=context.get("guild_id"),
            channel_id=context.get("channel_id"),
            dm=context.get("dm", False),
        )
        data = self._command_data(name, options or {}, guild=guild, focused=None)
        if raw_options is not None:
            data["options"] = raw_options
        if enforce_command_permissions:
            self._check_command_permissions(
                self.find_command(name.split()[0], guild.id if guild else None), context, guild
            )
        return await self.send_interaction(APPLICATION_COMMAND, data, **context)

    async def send_autocomplete(
        self,
        name: str,
        options: Mapping[str, Any],
        *,
        focused: str,
        **context: Any,
    ) -> InteractionHandle:
        """Autocomplete request while the user types into option ``focused``."""
        if focused not in options:
            raise ValueError(f"focused option {focused!r} must be in options")
        guild, _ = self._resolve_context(
            guild_id=context.get("guild_id"),
            channel_id=context.get("channel_id"),
            dm=context.get("dm", False),
        )
        data = self._command_data(name, options, guild=guild, focused=focused)
        return await self.send_interaction(AUTOCOMPLETE, data, **context)

    def _current_message(self, message: Mapping[str, Any] | int) -> JsonDict:
        message_id = message if isinstance(message, int) else int(message["id"])
        stored = self.messages.get(message_id)
        if stored is not None:
            return dict(stored)
        if isinstance(message, int):
            raise ValueError(f"unknown message {message}")
        return dict(message)

    async def send_component(
        self,
        message: Mapping[str, Any] | int,
        custom_id: str,
        *,
        values: Sequence[str] | None = None,
        component_type: int | None = None,
        **context: Any,
    ) -> InteractionHandle:
        """Click a button / pick select ``values`` on a message (payload or stored id).

        The component must exist on the message's current state and not be disabled -- a user
        could not click it otherwise. The type is taken from the component itself.
        """
        current = self._current_message(message)
        component = next(
            (
                c
                for c in _iter_components(current.get("components"))
                if c.get("custom_id") == custom_id
            ),
            None,
        )
        if component is None and component_type is None:
            known = [
                c["custom_id"]
                for c in _iter_components(current.get("components"))
                if "custom_id" in c
            ]
            raise ValueError(
                f"message {current['id']} has no component {custom_id!r} (has {known})"
            )
        if component is not None and component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled")
        resolved_type = component_type or int(component["type"])  # type: ignore[index]
        data: JsonDict = {"custom_id": custom_id, "component_type": resolved_type}
        if resolved_type in _SELECT_TYPES:
            data["values"] = list(values or [])
        context.setdefault("channel_id", int(current["channel_id"]))
        return await self.send_interaction(MESSAGE_COMPONENT, data, message=current, **context)

    async def click(
        self, message: Mapping[str, Any] | int, custom_id: str, **context: Any
    ) -> InteractionHandle:
        return await self.send_component(message, custom_id, **context)

    async def send_modal_submit(
        self,
        modal: Mapping[str, Any],
        values: Mapping[str, Any],
        *,
        message: Mapping[str, Any] | int | None = None,
        **context: Any,
    ) -> InteractionHandle:
        """Submit a modal the bot opened (``modal`` = the type-9 callback's ``data``).

        ``values`` maps text-input custom_ids to text (select custom_ids to lists of values);
        the submitted component tree mirrors the modal's, as Discord's does.
        """

        def submitted(component: Mapping[str, Any]) -> JsonDict:
            component_type = component.get("type")
            if component_type == 1:
                return {
                    "type": 1,
                    "components": [submitted(c) for c in component.get("components", [])],
                }
            if component_type == 18:
                return {"type": 18, "component": submitted(component["component"])}
            custom_id = component.get("custom_id")
            if component_type == 4:
                return {
                    "type": 4,
                    "custom_id": custom_id,
                    "value": str(values.get(str(custom_id), component.get("value") or "")),
                }
            if component_type in _SELECT_TYPES:
                return {
                    "type": component_type,
                    "custom_id": custom_id,
                    "values": list(values.get(str(custom_id), [])),
                }
            return {"type": component_type, "id": component.get("id")}

        data: JsonDict = {
            "custom_id": modal["custom_id"],
            "components": [submitted(c) for c in modal.get("components", [])],
        }
        current = self._current_message(message) if message is not None else None
        if current is not None:
            context.setdefault("channel_id", int(current["channel_id"]))
        return await self.send_interaction(MODAL_SUBMIT, data, message=current, **context)


# --------------------------------------------------------------------------------------------
# Running a client against the stand-in
# --------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def connected_client(
    client: discord.Client,
    standin: DiscordStandIn,
    *,
    token: str = DEFAULT_TOKEN,
    timeout: float = 10.0,
    guild_ready_timeout: float | None = 0.05,
) -> AsyncIterator[discord.Client]:
    """Log ``client`` in against ``standin``, connect it, and yield once it is ready.

    Applies the endpoint overrides for the duration and restores discord.py's defaults after.
    ``guild_ready_timeout`` shortens discord.py's wait for further GUILD_CREATEs before firing
    ``on_ready`` (2 s by default, pure dead time here); None keeps the client's own setting.
    On exit the client is closed first -- while the stand-in is still up -- so it does not try
    to reconnect; a crash of the connection task is re-raised.
    """
    apply_endpoint_overrides(standin.api_base, standin.gateway_url)
    task: asyncio.Task[None] | None = None
    try:
        if guild_ready_timeout is not None:
            client._connection.guild_ready_timeout = guild_ready_timeout
        await asyncio.wait_for(client.login(token), timeout)
        task = asyncio.create_task(client.connect(reconnect=True), name="discord-standin-client")
        ready = asyncio.ensure_future(client.wait_until_ready())
        done, _ = await asyncio.wait(
            {task, ready}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            if task in done:
                task.result()  # re-raise why the connection ended
            raise TimeoutError(f"client was not ready within {timeout}s")
        yield client
    finally:
        await asyncio.wait_for(client.close(), timeout)
        try:
            if task is not None:
                await asyncio.wait_for(task, timeout)
        finally:
            apply_endpoint_overrides(None, None)
