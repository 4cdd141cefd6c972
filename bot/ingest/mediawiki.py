"""The MediaWiki Action API, asked politely: day pages' latest revisions, titles resolved.

Wikimedia's API etiquette, as Chronicle keeps it:

* a descriptive User-Agent naming Chronicle, its version and, when the operator sets
  ``WIKIPEDIA_CONTACT``, how to reach them (:func:`user_agent`);
* one request at a time, each starting at least ``min_interval_s`` (a second) after the
  previous one ended;
* ``maxlag=5`` on every request, and the server's ``Retry-After`` honoured when it answers
  429, 503 or a ``maxlag`` error: the client waits as asked (at most ``max_wait_s``) and
  asks again, up to ``max_retries`` times (then the request fails, as any other; a wait
  longer than ``max_wait_s`` fails it at once, with the wait as ``retry_after``);
* up to 50 titles a request, the limit for clients without bot rights.

A page asked for that is a redirect (a day page moved to a new title) is followed by the API
(``redirects=1``, chains too): its revision is the target's, and ``PageRevision.redirects``
names the way there. A redirect that leads to no page (a loop, a missing or foreign target)
comes back as the redirect page's own revision with ``broken`` saying why.

Requests go through :func:`bot.ingest.feeds.fetch.fetch_feed`, so the fetch rules of feeds
apply: the timeout, the size limit, the redirect limit and the address guard
(``FEED_ALLOW_PRIVATE_ADDRESSES``). Anything else that goes wrong is a
:class:`MediaWikiError` saying what; the caller backs off.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import metadata
from typing import Any, Final, TypeVar

import aiohttp
from yarl import URL

from bot.ingest.feeds.addresses import FetchPolicy
from bot.ingest.feeds.errors import FeedError
from bot.ingest.feeds.fetch import fetch_feed
from bot.ingest.portal import DEFAULT_API_URL
from storage.times import from_timestamp

TITLES_PER_REQUEST: Final = 50
T = TypeVar("T")


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """items in runs of at most size (titles per request, days per batch)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


MAXLAG_SECONDS: Final = 5
_ACCEPT: Final = "application/json"
_REVISIONS: Final = {"prop": "revisions", "rvprop": "content|ids|timestamp", "rvslots": "main"}
_RETRY_STATUSES: Final = frozenset({429, 503})
_DEFAULT_WAIT: Final = 5.0  # when a 429/503/maxlag comes without Retry-After


def user_agent(contact: str | None) -> str:
    """Chronicle's User-Agent for Wikimedia: name/version (contact) library/version."""
    try:
        version = metadata.version("chronicle")
    except metadata.PackageNotFoundError:
        version = "0"
    who = f"contact: {contact}" if contact else "no contact set: WIKIPEDIA_CONTACT"
    return f"Chronicle/{version} (Discord news bot; {who}) aiohttp/{aiohttp.__version__}"


def page_url(api_url: str, title: str) -> str:
    """Where people read a page: ``…/w/api.php`` -> ``…/wiki/Portal:Current_events/…``."""
    base = URL(api_url)
    path = base.path.rsplit("/w/", 1)[0] if "/w/" in base.path else ""
    return str(base.with_path(f"{path}/wiki/{title.replace(' ', '_')}", encoded=False))


class MediaWikiError(Exception):
    """A request to the API failed; ``reason`` says what, for the operator."""

    def __init__(self, reason: str, *, kind: str = "api_error", retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.kind = kind  # a FeedError kind (network, timeout, too_large, ...) or api_error
        # The server asked to wait this long (seconds), longer than the client waits: set
        # only then, not when short waits went on until the retries ran out.
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class PageRevision:
    """A page's latest revision; content None when the API gave none (hidden, or not text).

    ``title`` is the page the revision is of: the title as asked, or, when that is a
    redirect, the page it leads to. ``redirects`` are the redirect pages on the way there,
    the one asked for first (normalised; a loop's end with the title closing it); empty
    when the page asked is no redirect. When the redirects lead to no page to read,
    ``broken`` says why and the revision is the asked redirect page's own (so that what
    could not be read is remembered by its revision)."""

    title: str
    revision_id: int
    timestamp: dt.datetime | None
    content: str | None
    redirects: tuple[str, ...] = ()
    broken: str | None = None


Sleep = Callable[[float], Awaitable[object]]


class MediaWikiClient:
    """One wiki's API, through one session, one request at a time."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        policy: FetchPolicy,
        api_url: str = DEFAULT_API_URL,
        *,
        min_interval_s: float = 1.0,
        max_retries: int = 3,
        max_wait_s: float = 120.0,
        sleep: Sleep = asyncio.sleep,
    ):
        self.session = session
        self.policy = policy
        self.api_url = api_url
        self.min_interval_s = min_interval_s
        self.max_retries = max_retries
        self.max_wait_s = max_wait_s
        self.sleep = sleep
        self.requests = 0  # made, retries included
        self._turn = asyncio.Lock()
        self._last_end: float | None = None

    async def revisions(self, titles: Sequence[str]) -> dict[str, PageRevision]:
        """The latest revision of each page that exists, by the title as asked,
        TITLES_PER_REQUEST titles a request (fewer when an answer is too large).
        Redirects are followed (see :class:`PageRevision`)."""
        found: dict[str, PageRevision] = {}
        broken: dict[str, tuple[tuple[str, ...], str]] = {}  # asked -> (redirects, why)
        chunks = list(chunked(list(dict.fromkeys(titles)), TITLES_PER_REQUEST))
        while chunks:
            chunk = chunks.pop(0)
            try:
                answer = await self._query(
                    {**_REVISIONS, "redirects": "1", "titles": "|".join(chunk)}
                )
            except MediaWikiError as exc:
                if exc.kind != "too_large" or len(chunk) == 1:
                    raise
                half = len(chunk) // 2
                chunks[:0] = [chunk[:half], chunk[half:]]
                continue
            with _shape(self.api_url):
                normalized = {n["from"]: n["to"] for n in answer.get("normalized", [])}
                redirects = {r["from"]: r["to"] for r in answer.get("redirects", [])}
                pages = {p["title"]: p for p in answer["pages"]}
                # Keyed by each title as asked, never by the answer's (normalised, redirect
                # target) title: several titles asked may lead to one page.
                for title in chunk:
                    way, end = _follow(normalized.get(title, title), redirects)
                    page = pages.get(end, {}) if end is not None else {}
                    revision = _revision(page, title if not way else end, way)
                    if revision is not None:
                        found[title] = revision
                    elif way:
                        broken[title] = (way, _why_broken(way, end, page))
        if broken:
            found.update(await self._redirect_pages(broken))
        return found

    async def _redirect_pages(
        self, broken: Mapping[str, tuple[tuple[str, ...], str]]
    ) -> dict[str, PageRevision]:
        """The own revisions of redirect pages that lead nowhere readable, so that what could
        not be read is remembered by its revision, as an unreadable page is (one more
        request, only when there are such redirects)."""
        found: dict[str, PageRevision] = {}
        for chunk in chunked(list(broken), TITLES_PER_REQUEST):
            # Asked by their normalised titles (the first of each way), answered so.
            names = list(dict.fromkeys(broken[title][0][0] for title in chunk))
            answer = await self._query({**_REVISIONS, "titles": "|".join(names)})
            with _shape(self.api_url):
                pages = {p["title"]: p for p in answer["pages"]}
                for title in chunk:
                    way, why = broken[title]
                    revision = _revision(pages.get(way[0], {}), title, ())
                    if revision is None:
                        continue  # deleted meanwhile: missing
                    if (revision.content or "#").lstrip().startswith("#"):
                        revision = replace(revision, redirects=way, broken=why)
                    # else: no redirect any more (edited meanwhile): the page itself is read.
                    found[title] = revision
        return found

    async def resolve(self, titles: Sequence[str]) -> dict[str, str | None]:
        """Each title -> the article it leads to, through a redirect if it is one (None:
        not an article: interwiki, another namespace, invalid). A page that does not exist
        yet is still an article."""
        resolved: dict[str, str | None] = {}
        for chunk in chunked(list(dict.fromkeys(titles)), TITLES_PER_REQUEST):
            answer = await self._query({"redirects": "1", "titles": "|".join(chunk)})
            with _shape(self.api_url):
                normalized = {n["from"]: n["to"] for n in answer.get("normalized", [])}
                redirects = {r["from"]: r["to"] for r in answer.get("redirects", [])}
                interwiki = {i["title"] for i in answer.get("interwiki", [])}
                pages = {p["title"]: p for p in answer.get("pages", [])}
                for title in chunk:
                    name = normalized.get(title, title)
                    _, target = _follow(name, redirects)  # None: a redirect loop
                    page = pages.get(target, {}) if target is not None else {}
                    not_article = page.get("invalid") or page.get("ns", 0) != 0
                    unknown = target is None or name in interwiki or target in interwiki
                    resolved[title] = None if unknown or not_article else target
        return resolved

    async def _query(self, params: Mapping[str, str]) -> dict[str, Any]:
        """An action=query request's ``query`` object, with its continuations (the API
        splits an answer that is too large to send at once) merged in."""
        merged: dict[str, Any] = {}
        pages: dict[str, dict[str, Any]] = {}
        more: Mapping[str, str] = {}
        while True:
            answer = await self._request({**params, **more})
            with _shape(self.api_url):
                query = answer.get("query", {})
                for name, value in query.items():
                    if name != "pages":
                        merged.setdefault(name, []).extend(value)
                for page in query.get("pages", []):
                    known = pages.setdefault(page["title"], {})
                    known.update({k: v for k, v in page.items() if v or k not in known})
                more = {str(k): str(v) for k, v in answer.get("continue", {}).items()}
            if not more:
                merged["pages"] = list(pages.values())
                return merged

    async def _request(self, params: Mapping[str, str]) -> dict[str, Any]:
        """One request's answer, retried as the server asks."""
        url = str(
            URL(self.api_url).update_query(
                {
                    "action": "query",
                    **params,
                    "format": "json",
                    "formatversion": "2",
                    "maxlag": str(MAXLAG_SECONDS),
                }
            )
        )
        for attempt in range(self.max_retries + 1):
            wait: float | None = None
            async with self._turn:
                await self._space()
                try:
                    self.requests += 1
                    result = await fetch_feed(self.session, url, policy=self.policy, accept=_ACCEPT)
                except FeedError as exc:
                    # Reasons name the API, not the 50 titles a request carries.
                    why = exc.reason.replace(url, self.api_url)
                    if exc.http_status not in _RETRY_STATUSES:
                        raise MediaWikiError(why, kind=exc.kind) from None
                    wait = exc.retry_after
                else:
                    answer = _json(result.body, self.api_url)
                    error = answer.get("error")
                    if not isinstance(error, dict):
                        return answer
                    if error.get("code") != "maxlag":
                        raise MediaWikiError(
                            f"the API at {self.api_url} refused the request"
                            f" ({error.get('code')}): {error.get('info', '')}"
                        )
                    wait, why = result.retry_after, f"the wiki is lagging: {error.get('info')}"
                finally:
                    self._last_end = time.monotonic()
                if attempt == self.max_retries:
                    break
                wait = _DEFAULT_WAIT if wait is None else wait
                if wait > self.max_wait_s:
                    raise MediaWikiError(
                        f"{why}; the server asks to wait {wait:g} s", retry_after=wait
                    )
                # The turn is held while waiting: no other request goes out meanwhile.
                await self.sleep(max(wait, self.min_interval_s))
        # Short waits, each waited out: no retry_after, which is only for a wait longer
        # than a client should make (the caller stops there); this request failed, and
        # the caller goes on with its next.
        raise MediaWikiError(f"{why}; still so after {self.max_retries + 1} attempts")

    async def _space(self) -> None:
        if self._last_end is None:
            return
        pause = self._last_end + self.min_interval_s - time.monotonic()
        if pause > 0:
            await self.sleep(pause)


def _follow(title: str, redirects: Mapping[str, str]) -> tuple[tuple[str, ...], str | None]:
    """The redirect pages from title on (none when it is no redirect), and the page they
    lead to; for a loop, None, the way ending with the title that closes it (the API
    answers no page for a loop)."""
    way: list[str] = []
    while title in redirects:
        way.append(title)
        title = redirects[title]
        if title in way:
            return (*way, title), None
    return tuple(way), title


def _revision(
    page: Mapping[str, Any], title: str | None, way: tuple[str, ...]
) -> PageRevision | None:
    """The answer's page as a PageRevision named title (None: no revision to read)."""
    revisions = page.get("revisions") or []
    if title is None or page.get("missing") or page.get("invalid") or not revisions:
        return None
    content = revisions[0].get("slots", {}).get("main", {}).get("content")
    return PageRevision(
        title=title,
        revision_id=int(revisions[0]["revid"]),
        timestamp=_timestamp(revisions[0].get("timestamp")),
        content=content if isinstance(content, str) else None,
        redirects=way,
    )


def _why_broken(way: tuple[str, ...], end: str | None, page: Mapping[str, Any]) -> str:
    """Why redirects lead to no page to read, for the operator."""
    path = " → ".join(way if end is None else (*way, end))
    if end is None:
        return f"a redirect loop ({path})"
    if page.get("missing"):
        return f"a redirect to a page that does not exist ({path})"
    if page.get("invalid"):
        return f"a redirect to an invalid title ({path})"
    return f"a redirect to a page with no revision to read, on another wiki or special ({path})"


@contextlib.contextmanager
def _shape(api_url: str) -> Iterator[None]:
    """An answer that is JSON but not in the shape the API documents is the API's fault,
    told as such, not a crash."""
    try:
        yield
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise MediaWikiError(
            f"the API at {api_url} answered in an unexpected shape ({type(exc).__name__}: {exc})"
        ) from None


def _json(body: bytes | None, url: str) -> dict[str, Any]:
    try:
        answer = json.loads(body or b"")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MediaWikiError(
            f"the API answered something that is not JSON ({exc}; {url})"
        ) from None
    if not isinstance(answer, dict):
        raise MediaWikiError(f"the API answered JSON that is not an object ({url})")
    return answer


def _timestamp(value: object) -> dt.datetime | None:
    try:
        return from_timestamp(value) if isinstance(value, str) else None
    except ValueError:
        return None
