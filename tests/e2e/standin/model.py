"""The world the stand-in serves: the specs of users, roles, channel overwrites, channels
(threads included), members and guilds that tests build (:func:`make_guild`,
:func:`make_thread`), with Discord's permission algorithm (:meth:`GuildSpec.permissions_for`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from tests.e2e.standin.constants import (
    _MESSAGEABLE_CHANNEL_TYPES,
    _THREAD_TYPES,
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    ANNOUNCEMENT_THREAD,
    BOT_USER_ID,
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    DEFAULT_GUILD_ID,
    DEFAULT_USER_ID,
    GUILD_ANNOUNCEMENT,
    GUILD_FORUM,
    GUILD_STAGE_VOICE,
    GUILD_TEXT,
    GUILD_VOICE,
    OWNER_USER_ID,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    VIEW_CHANNEL,
    JsonDict,
    _snowflake_iso,
)

__all__ = [
    "DEFAULT_USER",
    "OWNER_USER",
    "ChannelSpec",
    "GuildSpec",
    "MemberSpec",
    "Overwrite",
    "RoleSpec",
    "UserSpec",
    "make_guild",
    "make_thread",
]


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
