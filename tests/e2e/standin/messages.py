"""Messages: creating them in channels, threads and DMs (permission checks, Discord's
validation, enforced nonces, mentions, attachments), editing and deleting them, reactions,
crossposts, the MESSAGE_* events the bot's own messages cause, and what tests ask about them
(:meth:`MessagesMixin.messages_in`, ``duplicate_messages``, ``published_messages`` ...)."""

# Every wait here takes an explicit ``timeout=`` (tests must never hang), which is exactly
# what ASYNC109 objects to.
# ruff: noqa: ASYNC109

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tests.e2e.standin.constants import (
    _MESSAGEABLE_CHANNEL_TYPES,
    APPLICATION_COMMAND,
    APPLICATION_ID,
    ATTACH_FILES,
    BOT_USER_ID,
    GUILD_ANNOUNCEMENT,
    GUILD_FORUM,
    MANAGE_MESSAGES,
    MANAGE_THREADS,
    MENTION_EVERYONE,
    PRIVATE_THREAD,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    VIEW_CHANNEL,
    Json,
    JsonDict,
    _snowflake_iso,
)
from tests.e2e.standin.gateway import INTENT_DIRECT_MESSAGES, INTENT_GUILD_MESSAGES
from tests.e2e.standin.records import Errors, RecordedFile
from tests.e2e.standin.rest import _ApiError, _Call, _dumps, _field_error, _Result
from tests.e2e.standin.state import StandInState

if TYPE_CHECKING:
    from tests.e2e.standin.interactions import InteractionHandle

__all__ = ["FLAG_CROSSPOSTED"]

# Message flags.
FLAG_CROSSPOSTED = 1 << 0
FLAG_SUPPRESS_EMBEDS, FLAG_EPHEMERAL, FLAG_LOADING = 1 << 2, 1 << 6, 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS, FLAG_COMPONENTS_V2 = 1 << 12, 1 << 15
_SETTABLE_MESSAGE_FLAGS = FLAG_SUPPRESS_EMBEDS | FLAG_SUPPRESS_NOTIFICATIONS | FLAG_COMPONENTS_V2


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _iter_components(components: Sequence[Mapping[str, Any]] | None) -> Iterator[Mapping[str, Any]]:
    """Walk a component tree: action rows, and Components V2 containers/sections/labels."""
    for component in components or ():
        yield component
        yield from _iter_components(component.get("components"))
        for key in ("accessory", "component"):
            child = component.get(key)
            if isinstance(child, Mapping):
                yield from _iter_components([child])


class MessagesMixin(StandInState):
    """Channel and DM messages: the routes, and what tests look at."""

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

    def block_dms(self, user_id: int) -> None:
        """Sends to this user's DM channel answer 403 50007 (DMs closed / bot blocked)."""
        self._dm_blocked.add(user_id)

    def unblock_dms(self, user_id: int) -> None:
        """The user opens their DMs again: sends to them go through."""
        self._dm_blocked.discard(user_id)

    # -- REST: DMs and typing -------------------------------------------------------------

    async def _create_dm(self, call: _Call) -> _Result:
        recipient = (call.json or {}).get("recipient_id")
        if recipient is None:
            raise _ApiError.form(
                {"recipient_id": _field_error("BASE_TYPE_REQUIRED", "This field is required")}
            )
        user_id = int(recipient)
        return _Result(200, self._dm_payload(self._dm_channel_for(user_id), user_id))

    async def _no_content(self, call: _Call) -> _Result:
        if self._channel_payload(int(call.params["channel_id"])) is None:
            raise _ApiError.of(Errors.UNKNOWN_CHANNEL)
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

    # -- REST: channel messages and crossposts --------------------------------------------

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
