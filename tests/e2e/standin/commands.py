"""The application and its commands: ``/applications/...`` (the application itself, command
sync with Discord's validation, emojis, entitlements), and invoking commands like a user does
(:meth:`CommandsMixin.send_slash_command`, ``send_autocomplete``), with options typed and
resolved from the commands the bot registered."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tests.e2e.standin.constants import (
    _THREAD_TYPES,
    ADMINISTRATOR,
    APPLICATION_COMMAND,
    APPLICATION_FLAGS,
    APPLICATION_ID,
    AUTOCOMPLETE,
    DEFAULT_USER_ID,
    DM_PERMISSIONS,
    THREAD_RESOLVED_FIELDS,
    Json,
    JsonDict,
)
from tests.e2e.standin.model import DEFAULT_USER, OWNER_USER, GuildSpec, MemberSpec, UserSpec
from tests.e2e.standin.records import Errors
from tests.e2e.standin.rest import _ApiError, _Call, _field_error, _Result
from tests.e2e.standin.state import StandInState

if TYPE_CHECKING:
    from tests.e2e.standin.interactions import InteractionHandle


class CommandsMixin(StandInState):
    """The application's routes, command sync, and invoking commands."""

    # -- REST: application ----------------------------------------------------------------

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

    # -- invoking commands ----------------------------------------------------------------

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
