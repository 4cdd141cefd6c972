"""The HTTP core of the REST API: each request goes through :meth:`RoutingMixin._handle_api`,
which matches it against the route table, applies injected faults (:meth:`~RoutingMixin.fail`),
checks the token, enforces the rate limits (:meth:`~RoutingMixin.set_rate_limits`), calls the
route's handler, answers and records the exchange. The attachment CDN is served here too."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import time
from collections.abc import Mapping

from aiohttp import BodyPartReader, web

from tests.e2e.standin.constants import GUILD_FORUM, Json, JsonDict
from tests.e2e.standin.records import (
    Errors,
    Fault,
    RateLimits,
    RecordedFile,
    RecordedRequest,
    _Bucket,
)
from tests.e2e.standin.rest import (
    _ApiError,
    _Call,
    _compile_template,
    _dumps,
    _Handler,
    _Result,
    _Route,
)
from tests.e2e.standin.state import StandInState

_log = logging.getLogger(__name__)


class RoutingMixin(StandInState):
    """Serving REST requests: dispatch to handlers, fault injection and rate limits."""

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

    # -- serving a request ----------------------------------------------------------------

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
                # A stand-in bug. Not a 5xx: discord.py would retry those, sleeping between tries.
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
