"""A real HTTP stand-in for the MediaWiki Action API (Wikipedia's ``api.php``) for tests.

Speaks just enough of ``action=query`` with ``format=json&formatversion=2`` to look up
page revisions and resolve redirects, the way real MediaWiki answers: title normalisation
(with ``query.normalized``), redirects with ``redirects=1`` (each hop of a chain in
``query.redirects``, with ``tofragment``; the page answered is where the chain ends, and a
loop answers no page at all, as MediaWiki's ApiPageSet does), also together with
``prop=revisions``, missing pages, the 50-title limit, and the ``maxlag`` protocol. Anything
else a client sends is answered with a ``badvalue`` API error, so client mistakes fail
loudly instead of being quietly tolerated.

    async with MediaWikiStandIn() as wiki:
        wiki.set_page("Portal:Current events/2026 January 1", "* Something happened.")
        wiki.set_redirect("USA", "United States", fragment="History")
        wiki.fail_next(429, retry_after="2")
        ...  # point the client at wiki.api_url
        assert len(wiki.page_requests()) == 2

Scripted misbehaviour (``fail_next``, ``maxlag_next``, ``garbage_next``) is queued in one
first-in-first-out queue, consumed one entry per API request, in the order it was
scripted. Everything runs in the test's event loop.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from aiohttp import web
from multidict import CIMultiDict

from tests.support.local_server import LocalServer

__all__ = ["API_PATH", "MediaWikiStandIn", "RecordedRequest", "normalise_title"]

API_PATH = "/w/api.php"
"""The one path the stand-in answers (every other path is a 404)."""

_TITLE_LIMIT = 50
"""MediaWiki's limit on ``titles`` for clients without the apihighlimits right."""

_PORTAL_NS = 100
_JSON = "application/json; charset=utf-8"
_HTML = "text/html; charset=utf-8"
_SERVED_BY = "mw-api-int"
_LAG_HOST = "10.64.16.8"
_DOCREF = (
    "See http://127.0.0.1/w/api.php for API usage. This is a test stand-in, not a real MediaWiki."
)

_CLOCK_START = datetime(2026, 1, 1, tzinfo=UTC)
"""The fake clock: the first ``set_page`` revision is stamped with this time."""
_CLOCK_STEP = timedelta(minutes=1)

_SYNTHETIC_REVID_BASE = 900_000
"""Revisions the stand-in makes up (redirect pages, implicit redirect targets) get
``900000 + pageid``, so they never collide with the ``set_page`` revids (1001, 1002...)."""
_SYNTHETIC_TIMESTAMP = "2025-12-31T00:00:00Z"

_ILLEGAL_TITLE_CHARS = re.compile(r"[<>\[\]{}|\x00-\x1f\x7f]")
_WHITESPACE = re.compile(r"\s+")

# Parameters understood in every request; anything not listed is a badvalue error.
_BASE_PARAMS = frozenset({"action", "format", "formatversion", "maxlag"})
# Harmless parameters that do not change the answer.
_IGNORED_PARAMS = frozenset({"utf8", "continue", "rvcontinue", "maxage", "smaxage", "origin"})
_REVISION_PARAMS = frozenset({"prop", "rvprop", "rvslots"})
_RVPROP = frozenset({"content", "ids", "timestamp"})


@dataclass
class RecordedRequest:
    """One request the stand-in received (scripted failures and 404s included)."""

    method: str
    params: dict[str, str]
    """Query-string parameters, decoded (for a repeated name, the last value, like PHP)."""
    headers: dict[str, str]
    """Request headers with their names as received (aiohttp sends e.g. ``User-Agent``).
    Use :meth:`header` for a case-insensitive lookup."""
    started: float
    """``time.monotonic()`` when the handler started."""
    finished: float
    """``time.monotonic()`` when the response was prepared (or the handler was cancelled)."""
    status: int
    """HTTP status sent; 0 while the request is still being handled or when the client
    went away before an answer was sent."""
    path: str = API_PATH
    headers_ci: CIMultiDict[str] = field(default_factory=CIMultiDict, repr=False)
    """All request headers, case-insensitive and with repeated names kept."""

    @property
    def titles(self) -> list[str]:
        """The ``titles`` parameter split on ``|`` (``[]`` when absent or empty)."""
        raw = self.params.get("titles")
        return raw.split("|") if raw else []

    def header(self, name: str, default: str | None = None) -> str | None:
        """The request header ``name``, looked up case-insensitively."""
        return self.headers_ci.get(name, default)


@dataclass
class _Revision:
    revid: int
    parentid: int
    timestamp: str
    content: str


@dataclass(frozen=True)
class _Redirect:
    target: str
    fragment: str | None


@dataclass(frozen=True)
class _Scripted:
    kind: Literal["fail", "maxlag", "garbage"]
    status: int = 200
    body: bytes = b""
    retry_after: str | None = None
    lag: int = 0


class _ApiError(Exception):
    """An API error, answered as HTTP 200 JSON like MediaWiki does."""

    def __init__(
        self,
        code: str,
        info: str,
        *,
        headers: dict[str, str] | None = None,
        payload: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {info}")
        self.code = code
        self.headers = headers or {}
        self.payload: dict[str, Any] = payload or {
            "error": {"code": code, "info": info, "docref": _DOCREF},
            "servedby": _SERVED_BY,
        }


class _InvalidTitle(ValueError):
    """A title MediaWiki would reject; the message is MediaWiki's ``invalidreason``."""


def _ucfirst(text: str) -> str:
    return text[:1].upper() + text[1:]


def normalise_title(raw: str) -> str:
    """The title as MediaWiki would normalise it.

    Underscores become spaces, runs of whitespace collapse to one space, the ends are
    stripped, a ``#fragment`` is dropped and the first character is upper-cased (only that
    one). A ``Portal:`` prefix (any case) is namespace 100 (see ``_namespace``); every other
    title is namespace 0 (other namespace prefixes are kept as part of the text). Raises
    ``_InvalidTitle``.
    """
    text = _WHITESPACE.sub(" ", raw.replace("_", " ")).strip()
    text = text.split("#", 1)[0].strip()
    match = _ILLEGAL_TITLE_CHARS.search(text)
    if match:
        raise _InvalidTitle(
            f'The requested page title contains invalid characters: "{match.group()}".'
        )
    if text.startswith(":"):
        text = text[1:].strip()
    prefix, colon, rest = text.partition(":")
    if colon and prefix.strip().lower() == "portal":
        text = "Portal:" + _ucfirst(rest.strip())
        if not rest.strip():
            text = ""
    else:
        text = _ucfirst(text)
    if not text:
        raise _InvalidTitle(
            "The requested page title is empty or contains only the name of a namespace."
        )
    return text


def _namespace(title: str) -> int:
    """The namespace of an already normalised title."""
    return _PORTAL_NS if title.startswith("Portal:") else 0


class MediaWikiStandIn(LocalServer):
    """A real aiohttp server on ``host`` (a free port) answering like Wikipedia's api.php.

    Use as an async context manager; configure pages, redirects, lag and scripted failures
    with the methods below at any time (also while requests are in flight), and inspect
    ``requests`` / ``max_in_flight`` afterwards.
    """

    method = "*"  # every method reaches _respond, which answers 405 but for GET

    def __init__(self, *, host: str = "127.0.0.1") -> None:
        super().__init__(host=host)
        self.delay_s: float = 0.0
        """Sleep this long before answering every request (scripted ones too)."""
        self.requests: list[RecordedRequest] = []
        """Every request received, in order of arrival."""
        self.max_in_flight: int = 0
        """The largest number of requests being handled at the same moment."""
        self.in_flight: int = 0
        """The number of requests being handled right now."""
        self._pages: dict[str, list[_Revision]] = {}
        self._redirects: dict[str, _Redirect] = {}
        self._implicit_targets: set[str] = set()
        self._pageids: dict[str, int] = {}
        self._next_revid = 1001
        self._clock = _CLOCK_START
        self._lag = 0
        self._script: deque[_Scripted] = deque()

    @property
    def api_url(self) -> str:
        """The endpoint, e.g. ``http://127.0.0.1:PORT/w/api.php``."""
        return f"http://{self.host}:{self.port}{API_PATH}"

    # -- wiki content --------------------------------------------------------------------

    def set_page(self, title: str, content: str, *, timestamp: str | None = None) -> int:
        """Store a new revision of ``title`` (normalised) and return its revid.

        Revids come from one counter for all pages: 1001, 1002, ... one per call. The
        default timestamp comes from a fake clock that starts at 2026-01-01T00:00:00Z and
        advances one minute per call (also when ``timestamp`` is given). Saving content
        over a redirect makes the page an ordinary article again.
        """
        name = normalise_title(title)
        stamp = self._clock.strftime("%Y-%m-%dT%H:%M:%SZ")
        self._clock += _CLOCK_STEP
        history = self._pages.setdefault(name, [])
        revision = _Revision(
            revid=self._next_revid,
            parentid=history[-1].revid if history else 0,
            timestamp=timestamp if timestamp is not None else stamp,
            content=content,
        )
        self._next_revid += 1
        history.append(revision)
        self._redirects.pop(name, None)
        self._pageid(name)
        return revision.revid

    def remove_page(self, title: str) -> None:
        """Delete ``title``: it is missing from now on (as an article, a redirect and an
        implicit redirect target). Its revision history goes too; its pageid is kept."""
        name = normalise_title(title)
        self._pages.pop(name, None)
        self._redirects.pop(name, None)
        self._implicit_targets.discard(name)

    def set_redirect(self, source: str, target: str, fragment: str | None = None) -> None:
        """Make ``source`` a redirect to ``target`` (optionally to a section ``fragment``;
        a ``#fragment`` in ``target`` works too). Both titles are normalised.

        The source need not exist beforehand. The target counts as an existing article
        even without ``set_page`` (its made-up content is a placeholder sentence). A target
        that is a redirect itself makes a chain, followed to its end; one that leads back
        makes a loop.
        """
        if fragment is None and "#" in target:
            target, _, fragment = target.partition("#")
        source_name = normalise_title(source)
        target_name = normalise_title(target)
        if fragment is not None:
            fragment = fragment.replace("_", " ").strip() or None
        self._redirects[source_name] = _Redirect(target_name, fragment)
        self._implicit_targets.add(target_name)
        self._pageid(source_name)
        self._pageid(target_name)

    def set_lag(self, seconds: int) -> None:
        """The replication lag compared with a request's ``maxlag`` (default 0)."""
        self._lag = seconds

    # -- scripted misbehaviour -----------------------------------------------------------

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after: str | None = None,
        body: bytes = b"",
    ) -> None:
        """The next ``times`` API requests answer HTTP ``status`` with ``body`` (as
        ``text/html``) and, when given, a ``Retry-After`` header."""
        self._queue(times, _Scripted("fail", status=status, body=body, retry_after=retry_after))

    def maxlag_next(self, *, times: int = 1, retry_after: str = "1", lag: int = 7) -> None:
        """The next ``times`` API requests see a replication lag of ``lag`` seconds instead
        of ``set_lag``'s, and ``Retry-After: retry_after`` when they get the maxlag error.

        As in MediaWiki, the error is sent when the request has a ``maxlag`` parameter
        below the lag (a client that sends ``maxlag=5`` always gets it with the default
        ``lag=7``). A request without ``maxlag`` still uses up its queue entry and gets a
        normal answer, so a client that forgets ``maxlag`` shows up in the tests.
        """
        self._queue(times, _Scripted("maxlag", retry_after=retry_after, lag=lag))

    def garbage_next(self, body: bytes = b"<html>not json</html>", *, times: int = 1) -> None:
        """The next ``times`` API requests answer 200 ``text/html`` with ``body``."""
        self._queue(times, _Scripted("garbage", body=body))

    def _queue(self, times: int, entry: _Scripted) -> None:
        if times < 0:
            raise ValueError(f"times must be >= 0, not {times}")
        self._script.extend([entry] * times)

    # -- observations --------------------------------------------------------------------

    def page_requests(self) -> list[RecordedRequest]:
        """The recorded API requests with ``prop=revisions``."""
        return [
            r for r in self.requests if r.path == API_PATH and r.params.get("prop") == "revisions"
        ]

    def title_requests(self) -> list[RecordedRequest]:
        """The recorded API requests with ``redirects`` and no ``prop``: title lookups."""
        return [
            r
            for r in self.requests
            if r.path == API_PATH and "redirects" in r.params and "prop" not in r.params
        ]

    # -- serving -------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            key = str(name)
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        record = RecordedRequest(
            method=request.method,
            params=dict(request.query),
            headers=headers,
            started=time.monotonic(),
            finished=0.0,
            status=0,
            path=request.path,
            headers_ci=CIMultiDict(request.headers),
        )
        self.requests.append(record)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay_s > 0:
                await asyncio.sleep(self.delay_s)
            response = self._respond(request, record.params)
            await response.prepare(request)
            record.status = response.status
            record.finished = time.monotonic()
            await response.write_eof()
            return response
        finally:
            self.in_flight -= 1
            if not record.finished:
                record.finished = time.monotonic()

    def _respond(self, request: web.Request, params: dict[str, str]) -> web.Response:
        if request.path != API_PATH:
            return web.Response(status=404, text=f"no such path: {request.path}\n")
        if request.method != "GET":
            return web.Response(
                status=405, headers={"Allow": "GET"}, text="the stand-in only answers GET\n"
            )

        lag = self._lag
        retry_after: str | None = None
        if self._script:
            entry = self._script.popleft()
            if entry.kind == "fail":
                headers = {"Content-Type": _HTML}
                if entry.retry_after is not None:
                    headers["Retry-After"] = entry.retry_after
                return web.Response(status=entry.status, body=entry.body, headers=headers)
            if entry.kind == "garbage":
                return web.Response(status=200, body=entry.body, headers={"Content-Type": _HTML})
            lag, retry_after = entry.lag, entry.retry_after

        try:
            payload = self._api(params, lag=lag, retry_after=retry_after)
        except _ApiError as error:
            headers = {"Content-Type": _JSON, "MediaWiki-API-Error": error.code, **error.headers}
            return web.Response(status=200, body=_dump(error.payload), headers=headers)
        return web.Response(status=200, body=_dump(payload), headers={"Content-Type": _JSON})

    def _api(self, params: dict[str, str], *, lag: int, retry_after: str | None) -> dict[str, Any]:
        """Answer one API request, or raise _ApiError."""
        _expect(params, "action", "query")
        _expect(params, "format", "json")
        _expect(params, "formatversion", "2")

        if "maxlag" in params:
            maxlag = _integer(params, "maxlag")
            if lag > maxlag:
                # MediaWiki's ApiMain: Retry-After is max(maxlag, 5) unless scripted.
                wait = retry_after if retry_after is not None else str(max(maxlag, 5))
                raise _ApiError(
                    "maxlag",
                    "",
                    headers={"Retry-After": wait, "X-Database-Lag": str(lag)},
                    payload={
                        "error": {
                            "code": "maxlag",
                            "info": f"Waiting for {_LAG_HOST}: {lag} seconds lagged.",
                            "host": _LAG_HOST,
                            "lag": lag,
                            "type": "db",
                        },
                        "servedby": _SERVED_BY,
                    },
                )

        with_revisions = "prop" in params
        resolve = "redirects" in params  # a MediaWiki boolean: present means true
        allowed = _BASE_PARAMS | _IGNORED_PARAMS | {"titles", "redirects"}
        if with_revisions:
            allowed |= _REVISION_PARAMS
            _expect(params, "prop", "revisions")
            rvprop = params.get("rvprop", "")
            if frozenset(rvprop.split("|")) != _RVPROP:
                raise _ApiError(
                    "badvalue",
                    f'The stand-in answers only rvprop=content|ids|timestamp, not "{rvprop}".',
                )
            _expect(params, "rvslots", "main")
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise _ApiError(
                "badvalue",
                "Unrecognized parameters for this stand-in: " + ", ".join(unknown) + ".",
            )
        if not with_revisions and not resolve:
            raise _ApiError(
                "badvalue",
                "The stand-in answers only prop=revisions and/or redirects=1 queries.",
            )
        if "titles" not in params:
            raise _ApiError("badvalue", 'The "titles" parameter must be set.')

        raw_titles = params["titles"].split("|") if params["titles"] else []
        if len(raw_titles) > _TITLE_LIMIT:
            raise _ApiError(
                "toomanyvalues",
                f'Too many values supplied for parameter "titles". The limit is {_TITLE_LIMIT}.',
            )
        return self._query(raw_titles, with_revisions=with_revisions, resolve=resolve)

    def _query(
        self, raw_titles: list[str], *, with_revisions: bool, resolve: bool
    ) -> dict[str, Any]:
        normalized: list[dict[str, Any]] = []
        redirects: list[dict[str, Any]] = []
        pages: list[dict[str, Any]] = []
        seen_raw: set[str] = set()
        seen_sources: set[str] = set()
        seen_pages: set[str] = set()

        for raw in raw_titles:
            if raw in seen_raw:
                continue
            seen_raw.add(raw)
            try:
                title = normalise_title(raw)
            except _InvalidTitle as invalid:
                pages.append({"title": raw, "invalidreason": str(invalid), "invalid": True})
                continue
            if title != raw:
                normalized.append({"fromencoded": False, "from": raw, "to": title})
            end: str | None = title
            if resolve:
                end = self._follow(title, redirects, seen_sources)
            if end is not None and end not in seen_pages:
                seen_pages.add(end)
                pages.append(self._page(end, with_revisions=with_revisions))

        query: dict[str, Any] = {}
        if normalized:
            query["normalized"] = normalized
        if redirects:
            query["redirects"] = redirects
        if pages:
            query["pages"] = pages
        answer: dict[str, Any] = {"batchcomplete": True}
        if query:
            answer["query"] = query
        return answer

    def _follow(
        self, title: str, redirects: list[dict[str, Any]], seen_sources: set[str]
    ) -> str | None:
        """Where title's redirects end (title itself when it is no redirect), each hop added
        to ``redirects`` once per answer; None for a loop, whose pages are all redirects, so
        MediaWiki answers none of them (only their ``redirects`` entries)."""
        visited = {title}
        while (redirect := self._redirects.get(title)) is not None:
            if title not in seen_sources:
                seen_sources.add(title)
                entry: dict[str, Any] = {"from": title, "to": redirect.target}
                if redirect.fragment:
                    entry["tofragment"] = redirect.fragment
                redirects.append(entry)
            title = redirect.target
            if title in visited:
                return None
            visited.add(title)
        return title

    def _exists(self, title: str) -> bool:
        return title in self._pages or title in self._redirects or title in self._implicit_targets

    def _page(self, title: str, *, with_revisions: bool) -> dict[str, Any]:
        namespace = _namespace(title)
        if not self._exists(title):
            return {"ns": namespace, "title": title, "missing": True}
        page: dict[str, Any] = {"pageid": self._pageid(title), "ns": namespace, "title": title}
        if with_revisions:
            page["revisions"] = [_revision_json(self._latest(title))]
        return page

    def _latest(self, title: str) -> _Revision:
        """The latest revision of an existing page, made up for redirect pages and for
        implicit redirect targets that never had ``set_page``."""
        redirect = self._redirects.get(title)
        synthetic = _SYNTHETIC_REVID_BASE + self._pageid(title)
        if redirect is not None:
            link = redirect.target + (f"#{redirect.fragment}" if redirect.fragment else "")
            return _Revision(synthetic, 0, _SYNTHETIC_TIMESTAMP, f"#REDIRECT [[{link}]]")
        history = self._pages.get(title)
        if history:
            return history[-1]
        return _Revision(
            synthetic,
            0,
            _SYNTHETIC_TIMESTAMP,
            f"'''{title}''' is a stand-in article (a redirect target without set_page).",
        )

    def _pageid(self, title: str) -> int:
        """A stable page id per normalised title, assigned on first use (1, 2, ...)."""
        return self._pageids.setdefault(title, len(self._pageids) + 1)


def _revision_json(revision: _Revision) -> dict[str, Any]:
    return {
        "revid": revision.revid,
        "parentid": revision.parentid,
        "timestamp": revision.timestamp,
        "slots": {
            "main": {
                "contentmodel": "wikitext",
                "contentformat": "text/x-wiki",
                "content": revision.content,
            }
        },
    }


def _expect(params: dict[str, str], name: str, value: str) -> None:
    actual = params.get(name)
    if actual != value:
        shown = "missing" if actual is None else f'"{actual}"'
        raise _ApiError(
            "badvalue",
            f'The stand-in needs {name}={value}; the parameter "{name}" is {shown}.',
        )


def _integer(params: dict[str, str], name: str) -> int:
    raw = params[name]
    try:
        return int(raw.strip())
    except ValueError:
        raise _ApiError(
            "badinteger", f'Invalid value "{raw}" for integer parameter "{name}".'
        ) from None


def _dump(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")
