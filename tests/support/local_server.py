"""The real HTTP server on 127.0.0.1 that the test servers (feeds, MediaWiki) are built on."""

from __future__ import annotations

import socket
from types import TracebackType
from typing import Self

from aiohttp import web

__all__ = ["LocalServer", "free_port"]


def free_port() -> int:
    """A port of 127.0.0.1 free a moment ago: nobody listens there now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LocalServer:
    """A real aiohttp server on a free port of ``host``, serving while used as an async
    context manager; every path (and ``method``) goes to the subclass's ``_handle``."""

    method = "GET"

    def __init__(self, *, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> Self:
        """Start serving on a free port of ``host``."""
        app = web.Application()
        app.router.add_route(self.method, "/{path:.*}", self._handle)
        # handler_cancellation: a handler that is sleeping or streaming stops as soon as
        # the client gives up, so tests never wait for abandoned responses.
        self._runner = web.AppRunner(
            app, handle_signals=False, shutdown_timeout=0.5, handler_cancellation=True
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        address = self._runner.addresses[0]
        self.port = int(address[1])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raise NotImplementedError
