"""Guilds, channels, threads and members over REST (``/guilds/...``, ``GET /channels/{id}``,
creating threads and forum posts, ``/users/...``), GUILD_CREATE's payload, and changing
channels, roles and permissions while the bot is connected (dispatched on the gateway so
discord.py's cache follows)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from tests.e2e.standin.constants import (
    ANNOUNCEMENT_THREAD,
    ATTACH_FILES,
    BOT_USER_ID,
    CREATE_PRIVATE_THREADS,
    CREATE_PUBLIC_THREADS,
    GUILD_ANNOUNCEMENT,
    GUILD_FORUM,
    GUILD_TEXT,
    MANAGE_THREADS,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    JsonDict,
)
from tests.e2e.standin.gateway import INTENT_GUILD_MEMBERS
from tests.e2e.standin.model import ChannelSpec, GuildSpec, MemberSpec, Overwrite, RoleSpec
from tests.e2e.standin.records import Errors
from tests.e2e.standin.rest import _ApiError, _Call, _field_error, _Result, _truthy_query
from tests.e2e.standin.state import StandInState


class GuildsMixin(StandInState):
    """Guild, channel, thread, member and user routes, and live changes to guilds."""

    # -- REST: users ----------------------------------------------------------------------

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
        """Every user is a member of every guild until remove_member: a test declares
        members only where their roles or nicknames matter."""
        guild = self._guild(int(call.params["guild_id"]))
        user_id = int(call.params["user_id"])
        member = (
            guild.bot_member(self.bot_user) if user_id == BOT_USER_ID else guild.member(user_id)
        )
        if member is None and (guild.id, user_id) not in self.departed:
            member = MemberSpec(self._user(user_id))
        if member is None:
            raise _ApiError.of(Errors.UNKNOWN_MEMBER)
        return _Result(200, member.to_payload())

    # -- REST: channels, threads, forum posts ---------------------------------------------

    async def _get_channel(self, call: _Call) -> _Result:
        payload = self._channel_payload(int(call.params["channel_id"]))
        if payload is None:
            raise _ApiError.of(Errors.UNKNOWN_CHANNEL)
        return _Result(200, payload)

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

    # -- changing guilds while the bot is connected ---------------------------------------

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

    async def remove_member(self, user_id: int, *, guild_id: int | None = None) -> None:
        """A member leaves (or is kicked from) a guild (first guild by default): later
        GET /guilds/{id}/members/{user_id} answers 404 10007 Unknown Member. The gateway
        says so (GUILD_MEMBER_REMOVE) only to a session with the GUILD_MEMBERS intent."""
        guild = self.guilds[guild_id] if guild_id is not None else next(iter(self.guilds.values()))
        member = guild.member(user_id) or MemberSpec(self._user(user_id))
        self.departed.add((guild.id, user_id))
        guild.members = [m for m in guild.all_members if m.user.id != user_id]
        session = self._sessions.get(self.shard_of(guild.id))
        if session is not None and session.intents & INTENT_GUILD_MEMBERS:
            await self._settle()
            await self._dispatch_now(
                "GUILD_MEMBER_REMOVE",
                {"guild_id": str(guild.id), "user": member.user.to_payload()},
            )

    async def remove_guild(self, guild_id: int) -> None:
        """The bot is removed from a guild (kicked, or the guild deleted): GUILD_DELETE
        without ``unavailable`` (discord.py's on_guild_remove); from then on REST knows
        neither the guild nor its channels (Unknown Guild, Unknown Channel)."""
        if self.guilds.pop(guild_id, None) is None:
            raise KeyError(f"no guild {guild_id}")
        await self._dispatch_guild_event("GUILD_DELETE", {"id": str(guild_id)}, settle=True)

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
