"""A real HTTP server on 127.0.0.1 for feed tests.

Serves files from a directory by name, and lets each path misbehave the way real feed
servers do: validators with 304s, redirect chains, error statuses, slow or endless
responses, gzip, odd content types, content that changes between polls.

    async with FeedServer(DATA_DIR) as server:
        server.route("feed.xml", gzip=True)
        server.redirect_chain("start.xml", hops=3, target="feed.xml")
        url = server.url("start.xml")
        ...
        assert server.request_count("feed.xml") == 1

Paths are given without the leading slash. Everything runs in the test's event loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip as gzip_module
import hashlib
import mimetypes
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from email.utils import format_datetime, formatdate
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from tests.support.local_server import LocalServer

__all__ = ["FeedServer", "Route", "StreamStats"]

_CONTENT_TYPES = {
    ".xml": "application/xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".json": "application/json",
    ".html": "text/html",
    ".gz": "application/gzip",
}


_EPOCH = 1_700_000_000  # a fixed "file date", so Last-Modified is deterministic


@dataclass
class Route:
    """How one path behaves. Unset fields mean "serve the file normally"."""

    body: bytes | None = None
    """Served instead of the file of the same name (see FeedServer.set_file)."""
    status: int = 200
    content_type: str | None = None
    """Content-Type header; default from the file extension."""
    headers: dict[str, str] = field(default_factory=dict)
    redirect_to: str | None = None
    """Another path on this server, or an absolute URL (sent verbatim as Location)."""
    redirect_status: int = 302
    delay_s: float = 0.0
    """Sleep before sending the response headers."""
    drip_delay_s: float = 0.0
    """Send the body one small chunk at a time with this pause between chunks."""
    stream_bytes: int | None = None
    """Stream this many filler bytes (chunked, no Content-Length) instead of a file."""
    endless: bool = False
    """Stream filler bytes until the client goes away."""
    gzip: bool = False
    """Compress the body and send Content-Encoding: gzip."""
    conditional: bool = True
    """Send ETag/Last-Modified and answer 304 when the request's validators match."""
    last_modified: str = field(default_factory=lambda: formatdate(_EPOCH, usegmt=True))


@dataclass
class StreamStats:
    """What a streaming route actually wrote before it finished or the client left."""

    bytes_sent: int = 0
    completed: bool = False


class FeedServer(LocalServer):
    def __init__(self, root: Path | str | None = None, *, host: str = "127.0.0.1") -> None:
        super().__init__(host=host)
        self.root = Path(root).resolve() if root is not None else None
        self._routes: dict[str, Route] = {}
        self._requests: Counter[str] = Counter()
        self._last_headers: dict[str, CIMultiDictProxy[str]] = {}
        self._streams: dict[str, StreamStats] = {}
        self._clock = _EPOCH  # fake time for Last-Modified, advanced by set_file

    # -- configuration -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}/{quote(path.lstrip('/'))}"

    def route(self, path: str, **changes: Any) -> Route:
        """Set fields of the path's Route (creating it), e.g. ``route("a.xml", gzip=True)``."""
        key = path.lstrip("/")
        current = self._routes.get(key, Route())
        self._routes[key] = replace(current, **changes)
        return self._routes[key]

    def set_file(self, path: str, body: bytes, *, content_type: str | None = None) -> None:
        """Serve ``body`` at ``path`` from now on: a new ETag and a later Last-Modified, so
        both kinds of conditional request see the change."""
        self._clock += 60
        changes: dict[str, Any] = {
            "body": body,
            "last_modified": formatdate(self._clock, usegmt=True),
        }
        if content_type is not None:
            changes["content_type"] = content_type
        self.route(path, **changes)

    def set_status(self, path: str, status: int, body: bytes = b"") -> None:
        self.route(path, status=status, body=body)

    def redirect(self, path: str, target: str, *, status: int = 302) -> None:
        self.route(path, redirect_to=target, redirect_status=status)

    def redirect_chain(self, start: str, *, hops: int, target: str, status: int = 302) -> None:
        """``start`` redirects ``hops`` times in total, the last hop going to ``target``."""
        names = [start.lstrip("/")] + [f"_hop/{start.lstrip('/')}/{i}" for i in range(1, hops)]
        for name, nxt in zip(names, [*names[1:], target], strict=True):
            self.redirect(name, nxt, status=status)

    # -- observations --------------------------------------------------------------------

    def request_count(self, path: str) -> int:
        return self._requests[path.lstrip("/")]

    @property
    def requests(self) -> Counter[str]:
        return self._requests

    def last_headers(self, path: str) -> CIMultiDictProxy[str]:
        """Request headers of the last request to ``path``."""
        return self._last_headers[path.lstrip("/")]

    def stream_stats(self, path: str) -> StreamStats:
        return self._streams.setdefault(path.lstrip("/"), StreamStats())

    # -- serving -------------------------------------------------------------------------

    def _file_body(self, path: str) -> bytes | None:
        if self.root is None:
            return None
        candidate = (self.root / path).resolve()
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            return None
        return candidate.read_bytes()

    def _default_content_type(self, path: str) -> str:
        suffix = Path(path).suffix.lower()
        return _CONTENT_TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "text/plain"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        self._requests[path] += 1
        self._last_headers[path] = request.headers
        route = self._routes.get(path, Route())

        if route.delay_s:
            await asyncio.sleep(route.delay_s)

        if route.redirect_to is not None:
            target = route.redirect_to
            location = target if "://" in target else "/" + quote(target.lstrip("/"))
            return web.Response(status=route.redirect_status, headers={"Location": location})

        if route.stream_bytes is not None or route.endless:
            return await self._stream(request, path, route)

        body = route.body if route.body is not None else self._file_body(path)
        if body is None:
            return web.Response(status=404, text=f"no such file: {path}")

        headers: CIMultiDict[str] = CIMultiDict(route.headers)
        headers.setdefault("Content-Type", route.content_type or self._default_content_type(path))
        if route.status == 200 and route.conditional:
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            headers["ETag"] = etag
            headers["Last-Modified"] = route.last_modified
            if_none_match = request.headers.get("If-None-Match")
            if_modified_since = request.headers.get("If-Modified-Since")
            # RFC 9110: If-None-Match wins when present; otherwise If-Modified-Since.
            if (if_none_match is not None and etag in if_none_match) or (
                if_none_match is None and if_modified_since == route.last_modified
            ):
                return web.Response(
                    status=304, headers={"ETag": etag, "Last-Modified": route.last_modified}
                )

        if route.gzip:
            body = gzip_module.compress(body)
            headers["Content-Encoding"] = "gzip"

        if route.drip_delay_s:
            response = web.StreamResponse(status=route.status, headers=headers)
            await response.prepare(request)
            for start in range(0, len(body), 16):
                await response.write(body[start : start + 16])
                await asyncio.sleep(route.drip_delay_s)
            await response.write_eof()
            return response

        return web.Response(status=route.status, body=body, headers=headers)

    async def _stream(self, request: web.Request, path: str, route: Route) -> web.StreamResponse:
        stats = self._streams[path] = StreamStats()
        response = web.StreamResponse(
            status=route.status,
            headers={"Content-Type": route.content_type or "application/rss+xml"},
        )
        response.enable_chunked_encoding()  # no Content-Length: the client must count
        await response.prepare(request)
        chunk = b"<rss><channel>" + b" " * (64 * 1024 - 14)
        total = route.stream_bytes or 0
        # When the client hangs up (what a size limit should make it do), write() raises or
        # the handler is cancelled; either way `completed` stays False.
        while route.endless or stats.bytes_sent < total:
            if not route.endless:
                chunk = chunk[: total - stats.bytes_sent]
            await response.write(chunk)
            stats.bytes_sent += len(chunk)
            chunk = b" " * len(chunk)
            # Yield so a client that has gone away is noticed between chunks.
            await asyncio.sleep(0)
        await response.write_eof()
        stats.completed = True
        return response


def wire_rss(items: Sequence[tuple[str, str]], now: dt.datetime | None = None) -> bytes:
    """An RSS document of a news wire with (guid, title) items, newest first, a minute apart
    and dated just before `now` (the current time if None)."""
    now = now or dt.datetime.now(dt.UTC)
    body = "".join(
        f"<item><guid>{guid}</guid><title>{escape(title)}</title>"
        f"<link>https://wire.example/{guid}</link>"
        f"<pubDate>{format_datetime(now - dt.timedelta(minutes=n))}</pubDate></item>"
        for n, (guid, title) in enumerate(items)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
        f"<link>https://wire.example/</link>{body}</channel></rss>"
    ).encode()
