"""The gateway: websocket connections (zlib-stream/zstd-stream transport compression when
asked for), HELLO, heartbeats, IDENTIFY/READY/GUILD_CREATE and RESUME, sessions and shards
(one session and live connection per shard), dispatching events to the shard they concern,
and the ``/gateway`` and ``/gateway/bot`` routes."""

# Every wait here takes an explicit ``timeout=`` (tests must never hang), which is exactly
# what ASYNC109 objects to.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import zlib
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.e2e.standin.constants import (
    API_VERSION,
    APPLICATION_FLAGS,
    APPLICATION_ID,
    Json,
    JsonDict,
)
from tests.e2e.standin.records import GatewayConnectionInfo, GatewayFrame
from tests.e2e.standin.rest import _Call, _dumps, _Result
from tests.e2e.standin.state import StandInState

# Gateway intents (only the ones the stand-in looks at).
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT
# Intent the channel/thread/role events need.
INTENT_GUILDS = 1 << 0


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


class GatewayMixin(StandInState):
    """The gateway side of the stand-in: sessions, shards and dispatching events."""

    # -- waiting for the client -----------------------------------------------------------

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

    # -- REST: gateway --------------------------------------------------------------------

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

    # -- gateway --------------------------------------------------------------------------

    def reject_identify(
        self, close_code: int | None = 4004, reason: str = "Authentication failed."
    ) -> None:
        """Close the gateway with ``close_code`` on IDENTIFY/RESUME (None: accept again)."""
        self._identify_rejection = None if close_code is None else (close_code, reason)

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
