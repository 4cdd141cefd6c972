"""The state every part of the stand-in shares, initialised in one place: :class:`StandInState`,
the base of every mixin :class:`~tests.e2e.standin.server.DiscordStandIn` is composed of. It
also holds the addresses the stand-in serves on, waiting for changes to that state, and the
lookups route handlers share; and it declares, for the type checker, what the mixins call on
one another."""

# Every wait here takes an explicit ``timeout=`` (tests must never hang, and the brief API is
# ``await handle.callback(timeout=...)``), which is exactly what ASYNC109 objects to.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web

from tests.e2e.standin.constants import (
    API_VERSION,
    APPLICATION_ID,
    BOT_USER_ID,
    DM,
    NONCE_WINDOW,
    VIEW_CHANNEL,
    Json,
    JsonDict,
    _Snowflakes,
)
from tests.e2e.standin.model import DEFAULT_USER, OWNER_USER, GuildSpec, UserSpec, make_guild
from tests.e2e.standin.records import (
    Errors,
    Fault,
    GatewayConnectionInfo,
    GatewayFrame,
    RateLimits,
    RateLimitStats,
    RecordedFile,
    RecordedRequest,
    _Bucket,
)
from tests.e2e.standin.rest import _ApiError, _Route

if TYPE_CHECKING:
    from tests.e2e.standin.gateway import _GatewayConnection, _Session
    from tests.e2e.standin.interactions import InteractionHandle

T = TypeVar("T")

# How many event-loop turns to yield before pushing a gateway event (see ``_settle``).
_SETTLE_YIELDS = 25


class StandInState:
    """The options and state of a stand-in (see ``DiscordStandIn`` for the options)."""

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
        self.departed: set[tuple[int, int]] = set()  # (guild id, user id): remove_member
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

    def _require(self, guild: GuildSpec, channel_id: int, needed: int) -> None:
        if not self.enforce_permissions:
            return
        perms = guild.permissions_for(BOT_USER_ID, channel_id)
        if not perms & VIEW_CHANNEL:
            raise _ApiError.of(Errors.MISSING_ACCESS)
        if perms & needed != needed:
            raise _ApiError.of(Errors.MISSING_PERMISSIONS)

    # -- what the mixins call on one another ----------------------------------------------

    if TYPE_CHECKING:
        # Declared for the type checker only; each is implemented in the module named.

        def _register_routes(self) -> None: ...  # server

        def set_rate_limits(self, limits: RateLimits | None) -> None: ...  # routing

        async def _dispatch_now(  # gateway
            self, event: str, data: Json, *, session: _Session | None = None
        ) -> int: ...

        def shard_of(self, guild_id: int | None) -> int: ...  # gateway

        async def _dispatch_guild_event(  # gateway
            self, event: str, data: JsonDict, *, settle: bool = False
        ) -> None: ...

        def _guild_create_payload(self, guild: GuildSpec, intents: int) -> JsonDict: ...  # guilds

        def _validate_message(  # messages
            self, body: Json, files: Sequence[RecordedFile], *, creating: bool
        ) -> None: ...

        def _create_message(  # messages
            self,
            channel_id: int,
            body: Mapping[str, Any],
            files: Sequence[RecordedFile],
            *,
            message_type: int = 0,
            extra_flags: int = 0,
            interaction: InteractionHandle | None = None,
            message_id: int | None = None,
        ) -> JsonDict: ...

        def _edit_message(  # messages
            self, message: JsonDict, body: Json, files: Sequence[RecordedFile]
        ) -> JsonDict: ...

        def _delete_message(self, message_id: int) -> JsonDict: ...  # messages

        async def _echo(self, event: str, message: JsonDict) -> None: ...  # messages

        def _resolve_context(  # interactions
            self, *, guild_id: int | None, channel_id: int | None, dm: bool
        ) -> tuple[GuildSpec | None, int]: ...

        async def send_interaction(  # interactions
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
        ) -> InteractionHandle: ...
