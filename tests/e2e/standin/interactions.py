"""Interactions: dispatching INTERACTION_CREATE like a user's action
(:meth:`InteractionsMixin.send_interaction`, component clicks, modal submits), following what
the bot does about one (:class:`InteractionHandle`), and the routes it does that with -- the
interaction callback and the interaction webhook (followups, ``@original``)."""

# Every wait here takes an explicit ``timeout=`` (tests must never hang, and the brief API is
# ``await handle.callback(timeout=...)``), which is exactly what ASYNC109 objects to.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tests.e2e.standin.constants import (
    APPLICATION_COMMAND,
    APPLICATION_ID,
    AUTOCOMPLETE,
    BOT_USER_ID,
    DM_PERMISSIONS,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    PING,
    JsonDict,
)
from tests.e2e.standin.messages import FLAG_EPHEMERAL, FLAG_LOADING, _iter_components
from tests.e2e.standin.model import DEFAULT_USER, GuildSpec, MemberSpec, UserSpec
from tests.e2e.standin.records import Errors, RecordedRequest
from tests.e2e.standin.rest import _ApiError, _Call, _field_error, _Result, _truthy_query
from tests.e2e.standin.state import StandInState

__all__ = ["InteractionHandle"]


# The interaction-callback types each interaction type accepts.
_ALLOWED_CALLBACKS: dict[int, set[int]] = {
    PING: {1},
    APPLICATION_COMMAND: {4, 5, 9, 12},
    MESSAGE_COMPONENT: {4, 5, 6, 7, 9, 12},
    AUTOCOMPLETE: {8},
    MODAL_SUBMIT: {4, 5, 6, 7},
}

_SELECT_TYPES = {3, 5, 6, 7, 8}


# --------------------------------------------------------------------------------------------
# Interaction handle
# --------------------------------------------------------------------------------------------


class InteractionHandle:
    """An INTERACTION_CREATE the stand-in dispatched, and what the bot did about it."""

    def __init__(self, standin: StandInState, payload: JsonDict) -> None:
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


class InteractionsMixin(StandInState):
    """Sending interactions to the bot, and the routes it answers them on."""

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
