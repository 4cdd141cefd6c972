"""Feeds: adding, removing and polling the operator's feeds; entries into events.

Shared by the command line (``chronicle feeds ...``) and the bot's scheduler. Everything
it needs is passed in (the Storage, one aiohttp session from
:func:`bot.ingest.feeds.fetch.make_session`, the :class:`FetchPolicy`, the poll interval); it
holds no globals, so a test, the CLI and the bot can each run their own.

The rules, in one place (numbers in :class:`FeedRules`):

Adding a feed
    The operator is at the keyboard, so the first fetch decides: if it fails for any
    reason (an invalid or refused address, a name that does not resolve, a timeout, any
    HTTP error status, a document that is not a feed, too large, too many redirects),
    ``feeds add`` is refused with what failed and what to do, and nothing is stored; the
    operator tries again when the site is back. Re-adding a disabled feed's URL follows
    the same rule: it is re-activated only by a first fetch that works. Failures after a
    feed is added are the poller's (see "Failing feeds").

    Given an HTML page (``https://site/``) that advertises feeds with ``<link
    rel="alternate" type="application/rss+xml">`` (or Atom, JSON Feed), the first
    advertised feed is added instead, through the same checks and address guard;
    :attr:`AddResult.discovered_from` is then the page's URL. A page that advertises
    nothing is refused, and the refusal says so.

Never twice
    An entry's identity (GUID, else link, else a hash; see ``bot.ingest.feeds.entries``) is stored
    per feed the first time it is seen; a seen identity is skipped forever, whatever the
    feed does to its date or text. An unseen entry whose link is already a source of an
    event joins that event (a link shared by several entries of one document, or a bare
    home page, is not trusted for this). Otherwise an entry whose headline is nearly the
    same as an event's on the same UTC day (folded-token Jaccard >= 0.8, at least four
    tokens) joins that event and adds its link as one more source. Only otherwise is a new
    event made. The same link from two feeds is one source row: the URL is what a reader
    follows, and ``feed_entries`` records which feeds carried it.

Never a flood
    Every unseen entry is stored (nothing is lost); the question is only whether its new
    event is *announced* (``announce = 1``: digests of new events, subscription alerts).
    It is not announced, and is kept as history, when

    * it comes from the feed's first successful fetch (adding a feed, or re-adding a
      disabled one), except the newest ``--backfill N`` entries;
    * one poll brings more than ``flood_cap`` (20) unseen entries: a feed that changed all
      its GUIDs, moved, or dumped its archive is not news;
    * the feed comes back after ``comeback_failures`` (3) or more failed attempts in a
      row, i.e. it was down for at least ~35 minutes of retries: what piled up meanwhile is
      not replayed. One or two failed attempts (a blip) lose nothing;
    * the entry is dated more than ``age_margin`` (a day) before the feed's last success:
      an old item that surfaced late.

Failing feeds
    Every failure is recorded with its kind and reason. The next attempt waits 5 minutes,
    doubling per consecutive failure, capped at a day. After 11 consecutive failures, or
    when a feed has answered with something that is not a feed for more than a day, it is
    disabled with its reason (logged at WARNING; shown by ``feeds list``). A 304 is a
    success with nothing new. A successful poll schedules the next after the poll interval.

Entities
    An event's entities are the entry's categories plus the known entity names (and
    aliases) its headline and summary mention, found by
    :class:`bot.services.tagging.EntityMatcher` (its module has the rules: word forms,
    longest names, generic words, variants). The names come from
    ``storage.entities.names``, loaded once and then as they arrive; whether a name is a
    common word is asked of ``storage.entities.headline_mentions`` the first time an
    entry uses it as one.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from bot.errors import InvalidInput, NotFound
from bot.ingest.archive import slugify
from bot.ingest.feeds.addresses import FetchPolicy
from bot.ingest.feeds.entries import FeedEntry, ParsedFeed
from bot.ingest.feeds.errors import FeedError
from bot.ingest.feeds.fetch import FetchResult, fetch_feed
from bot.ingest.feeds.parse import parse_feed
from bot.services.tagging import EntityMatcher, generic_verdict
from storage import Storage
from storage.keys import make_key
from storage.models import Feed, FeedExistsError, FeedItem, StoredEntries
from storage.textindex import fold, has_cjk
from storage.times import utc_iso

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY: Final = 16
MAX_CATEGORIES: Final = 10
MAX_CATEGORY_CHARS: Final = 80
MAX_ENTITIES: Final = 25
MAX_NAME_CHARS: Final = 100
FUTURE_SLACK: Final = dt.timedelta(days=1)  # entries dated later than this are dated "now"

Clock = Callable[[], dt.datetime]
# not_modified: a 304, or the same bytes as at the last successful poll.
OutcomeStatus = Literal["ok", "not_modified", "failed", "disabled", "removed"]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class FeedRules:
    """The numbers behind the rules in this module's docstring."""

    flood_cap: int = 20
    age_margin: dt.timedelta = dt.timedelta(days=1)
    comeback_failures: int = 3
    backoff_base: dt.timedelta = dt.timedelta(minutes=5)
    backoff_cap: dt.timedelta = dt.timedelta(days=1)
    disable_after_failures: int = 11
    parse_failure_window: dt.timedelta = dt.timedelta(days=1)

    def backoff(self, failures: int) -> dt.timedelta:
        """Wait before the next attempt after ``failures`` consecutive failures (>= 1)."""
        if failures <= 0:
            return dt.timedelta(0)
        # Cap the exponent first: 2**11 minutes is already past any sane cap.
        delay = self.backoff_base * (2 ** min(failures - 1, 20))
        return min(delay, self.backoff_cap)


# Labels that blogs and CMSs put on everything: never a topic.
_GENERIC_CATEGORIES: Final = frozenset(
    {"uncategorized", "uncategorised", "general", "news", "misc", "other", "default", "blog"}
)


def section_labels(entries: Sequence[FeedEntry]) -> set[str]:
    """Folded categories that more than half the entries of a document carry: sections of
    the publication ("World news", "Opinion"), not what an entry is about. Tagging events
    with them would make every event of a feed related to every other."""
    if len(entries) < 4:
        return set()
    counts = Counter(fold(c) for entry in entries for c in {fold(c): c for c in entry.categories})
    return {name for name, count in counts.items() if count * 2 > len(entries)}


def clean_categories(
    categories: Sequence[str], skip: set[str] | frozenset[str] = frozenset()
) -> list[str]:
    """Feed categories usable as entity names: not empty, not numbers, not essays, not a
    generic label or one of ``skip`` (folded)."""
    out: list[str] = []
    for category in categories:
        name = " ".join(category.split())
        folded = fold(name)
        if (
            not name
            or len(name) > MAX_CATEGORY_CHARS
            or not any(ch.isalpha() for ch in name)
            or folded in _GENERIC_CATEGORIES
            or folded in skip
        ):
            continue
        out.append(name)
        if len(out) >= MAX_CATEGORIES:
            break
    return out


# --- reports --------------------------------------------------------------------------------


@dataclass(slots=True)
class FeedOutcome:
    """What one poll (or the fetch when adding) of one feed did."""

    feed_id: int
    url: str
    name: str
    status: OutcomeStatus
    entries: int = 0  # entries in the document
    unseen: int = 0  # entries this feed never carried before
    created: list[int] = field(default_factory=list)  # new events
    announced: list[int] = field(default_factory=list)  # new events that are news
    merged: int = 0  # unseen entries that joined an existing event (same story)
    history_reason: str | None = None  # why unseen entries were kept as history
    error_kind: str | None = None
    error: str | None = None
    warning: str | None = None  # the document had problems but was read
    consecutive_failures: int = 0
    disabled_reason: str | None = None
    next_poll_at: dt.datetime | None = None
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "not_modified")

    def as_dict(self) -> dict[str, Any]:
        return {
            "feed_id": self.feed_id,
            "url": self.url,
            "name": self.name,
            "status": self.status,
            "entries": self.entries,
            "unseen": self.unseen,
            "new_events": len(self.created),
            "announced": len(self.announced),
            "announced_ids": list(self.announced),
            "merged": self.merged,
            "history_reason": self.history_reason,
            "error_kind": self.error_kind,
            "error": self.error,
            "warning": self.warning,
            "consecutive_failures": self.consecutive_failures,
            "disabled_reason": self.disabled_reason,
            "next_poll_at": utc_iso(self.next_poll_at),
            "elapsed_s": round(self.elapsed_s, 3),
        }


@dataclass(slots=True)
class PollReport:
    outcomes: list[FeedOutcome] = field(default_factory=list)

    @property
    def new_event_ids(self) -> list[int]:
        """New events that are news (announce=1): for "new events" digests and alerts."""
        return [event_id for o in self.outcomes for event_id in o.announced]

    @property
    def created_ids(self) -> list[int]:
        return [event_id for o in self.outcomes for event_id in o.created]

    @property
    def failed(self) -> list[FeedOutcome]:
        return [o for o in self.outcomes if o.status in ("failed", "disabled")]

    def as_dict(self) -> dict[str, Any]:
        return {
            "feeds": len(self.outcomes),
            "failed": len(self.failed),
            "new_events": len(self.created_ids),
            "announced_ids": self.new_event_ids,
            "outcomes": [o.as_dict() for o in self.outcomes],
        }


@dataclass(slots=True)
class AddResult:
    feed: Feed
    outcome: FeedOutcome
    reactivated: bool = False  # the URL was a disabled feed, now active again
    discovered_from: str | None = None
    """The HTML page the operator gave, when ``feed`` is the feed that page advertises."""


# --- the service ----------------------------------------------------------------------------


def check_feed_url(url: str) -> str:
    """The URL, stripped, if it can be a feed's; InvalidInput saying why otherwise."""
    text = url.strip()
    try:
        parsed = URL(text)
    except (ValueError, TypeError):
        raise InvalidInput(f"{text[:200]!r} is not a valid URL.") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidInput(
            f"{text[:200]!r} is not a feed URL: give an http:// or https:// address."
        )
    return text


class FeedService:
    """Feeds for one Storage, fetched through one session with one policy."""

    def __init__(
        self,
        storage: Storage,
        session: aiohttp.ClientSession,
        policy: FetchPolicy,
        *,
        poll_minutes: float = 10.0,
        rules: FeedRules = FeedRules(),
        clock: Clock = utc_now,
    ):
        if poll_minutes <= 0:
            raise ValueError("poll_minutes must be positive")
        self.storage = storage
        self.session = session
        self.policy = policy
        self.poll_interval = dt.timedelta(minutes=poll_minutes)
        self.rules = rules
        self.clock = clock
        self.matcher = EntityMatcher()
        self._matcher_lock = asyncio.Lock()

    # --- operating feeds ----------------------------------------------------------------

    async def add_feed(self, url: str, name: str | None = None, backfill: int = 0) -> AddResult:
        """Add a feed and fetch it once.

        Its current entries become events kept as history (announce=0), except the newest
        ``backfill``, which are news. If the first fetch fails for any reason, nothing is
        added (InvalidInput saying what failed and what to do). An HTML page that
        advertises a feed adds that feed instead (``discovered_from`` is the page's URL).
        Adding a disabled feed's URL again re-activates it, under the same rule.
        """
        if backfill < 0:
            raise InvalidInput("--backfill must be 0 or more.")
        url = check_feed_url(url)
        existing = await self._addable(url)
        now = self.clock().astimezone(dt.UTC)
        started = time.monotonic()
        discovered_from: str | None = None
        try:
            fetched = await self._fetch(url, None, None)
        except FeedError as exc:
            if not exc.feed_links:
                raise InvalidInput(_not_added(exc)) from None
            # An HTML page that advertises its feed: add that one, under the same rules.
            discovered_from, url = url, exc.feed_links[0]
            existing = await self._addable(url, advertised_by=discovered_from)
            try:
                fetched = await self._fetch(url, None, None)
            except FeedError as advertised_exc:
                raise InvalidInput(
                    _not_added(advertised_exc, advertised=(discovered_from, url))
                ) from None

        # Only now, with a feed to store: a refused add need not load every entity name.
        await self._refresh_matcher()
        feed_name = _feed_name(name, fetched[1], url)
        if existing is not None:
            feed = await self.storage.feeds.reactivate(existing.id, now=now, backfill=backfill)
            if feed is None:
                raise NotFound(f"Feed {existing.id} was removed meanwhile.")
            log.info("feed %d re-activated: %s", feed.id, url)
        else:
            try:
                feed = await self.storage.feeds.add(url, feed_name, now=now, backfill=backfill)
            except FeedExistsError as exc:  # added by someone else meanwhile
                raise InvalidInput(f"{url} is already feed {exc.feed.id}.") from None
            log.info(
                "feed %d added: %s (%s)%s",
                feed.id,
                url,
                feed.name,
                f", advertised by {discovered_from}" if discovered_from else "",
            )

        outcome = await self._guarded(feed, now, self._store(feed, now, *fetched))
        outcome.elapsed_s = time.monotonic() - started
        refreshed = await self.storage.feeds.get(feed.id)
        return AddResult(
            refreshed or feed,
            outcome,
            reactivated=existing is not None,
            discovered_from=discovered_from,
        )

    async def _addable(self, url: str, *, advertised_by: str | None = None) -> Feed | None:
        """The disabled feed with this URL (to re-activate), or None for a new one;
        InvalidInput if an active feed already has it."""
        existing = await self.storage.feeds.get_by_url(url)
        if existing is not None and existing.active:
            where = f" (advertised by {advertised_by})" if advertised_by else ""
            raise InvalidInput(f"{url}{where} is already feed {existing.id} ({existing.name}).")
        return existing

    async def remove_feed(self, ref: str | int) -> Feed:
        """Remove a feed by id or URL. Its events stay in the archive."""
        feed = await self.find_feed(ref)
        await self.storage.feeds.remove(feed.id)
        log.info("feed %d removed: %s", feed.id, feed.url)
        return feed

    async def find_feed(self, ref: str | int) -> Feed:
        text = str(ref).strip()
        feed: Feed | None = None
        if text.isdigit():
            feed = await self.storage.feeds.get(int(text))
        if feed is None:
            feed = await self.storage.feeds.get_by_url(text)
        if feed is None:
            raise NotFound(f"No feed has the id or URL {text[:200]!r}; see `chronicle feeds list`.")
        return feed

    async def list_feeds(self) -> list[Feed]:
        return await self.storage.feeds.list()

    # --- polling ------------------------------------------------------------------------

    async def poll_due(
        self,
        now: dt.datetime | None = None,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        limit: int | None = None,
        on_outcome: Callable[[FeedOutcome], None] | None = None,
    ) -> PollReport:
        """Poll every active feed whose next poll is due at ``now``."""
        feeds = await self.storage.feeds.due(now or self.clock(), limit=limit)
        return await self.poll_many(feeds, now=now, concurrency=concurrency, on_outcome=on_outcome)

    async def poll_all(
        self,
        now: dt.datetime | None = None,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_outcome: Callable[[FeedOutcome], None] | None = None,
    ) -> PollReport:
        """Poll every active feed now, due or not (``feeds poll --once``)."""
        feeds = await self.storage.feeds.active()
        return await self.poll_many(feeds, now=now, concurrency=concurrency, on_outcome=on_outcome)

    async def poll_many(
        self,
        feeds: Sequence[Feed],
        *,
        now: dt.datetime | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_outcome: Callable[[FeedOutcome], None] | None = None,
    ) -> PollReport:
        """Poll feeds, at most ``concurrency`` at a time. Each poll has its own time limit
        and catches its own errors, so a slow or broken feed holds one slot for at most
        that long and never stops the others."""
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        report = PollReport()
        if not feeds:
            return report
        gate = asyncio.Semaphore(concurrency)

        async def one(feed: Feed) -> FeedOutcome:
            async with gate:
                outcome = await self.poll_feed(feed, now)
            if on_outcome is not None:
                on_outcome(outcome)
            return outcome

        report.outcomes = list(await asyncio.gather(*(one(feed) for feed in feeds)))
        return report

    async def poll_feed(self, feed: Feed, now: dt.datetime | None = None) -> FeedOutcome:
        """Fetch one feed (conditionally), store what is new, record how it went.

        Never raises for anything the feed or its server does; a bug surfaces as a failure
        of kind 'internal' (logged with its traceback) and is backed off like any other.
        """
        started = time.monotonic()
        current = await self.storage.feeds.get(feed.id)
        if current is None:
            return FeedOutcome(feed.id, feed.url, feed.name, "removed")
        if not current.active:
            return FeedOutcome(
                current.id,
                current.url,
                current.name,
                "disabled",
                disabled_reason=current.disabled_reason,
            )
        at = (now or self.clock()).astimezone(dt.UTC)  # stored and shown as UTC
        # Cheap (an indexed "id > last" read) and it lets each poll of a round tag with the
        # names the polls before it brought in.
        await self._refresh_matcher()
        outcome = await self._guarded(current, at, self._poll(current, at))
        outcome.elapsed_s = time.monotonic() - started
        return outcome

    # --- inside a poll ------------------------------------------------------------------

    async def _poll(self, feed: Feed, at: dt.datetime) -> FeedOutcome:
        try:
            fetched = await self._fetch(
                feed.url,
                feed.etag,
                feed.last_modified,
                known_body=feed.body_sha256 if feed.baseline_done else None,
            )
        except FeedError as exc:
            return await self._record_failure(feed, at, exc.kind, exc.reason)
        return await self._store(feed, at, *fetched)

    async def _guarded(
        self, feed: Feed, at: dt.datetime, work: Coroutine[Any, Any, FeedOutcome]
    ) -> FeedOutcome:
        """Run one feed's work; a bug (not the feed's doing) becomes a recorded failure of
        kind 'internal', logged with its traceback and backed off like any other, so one
        feed can never break a round."""
        try:
            return await work
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("feed %d (%s): unexpected error", feed.id, feed.url)
            return await self._record_failure(
                feed, at, "internal", f"internal error: {type(exc).__name__}: {exc}"
            )

    async def _fetch(
        self,
        url: str,
        etag: str | None,
        last_modified: str | None,
        *,
        known_body: str | None = None,
    ) -> tuple[FetchResult, ParsedFeed | None, str | None]:
        """Fetch (bounded by the policy's timeout) and parse (bounded by the same again).

        Returns the fetch, the parsed feed (None when nothing changed: a 304, or the very
        bytes whose SHA-256 is ``known_body``) and the body's SHA-256.
        """
        result = await fetch_feed(
            self.session, url, etag=etag, last_modified=last_modified, policy=self.policy
        )
        if result.not_modified or result.body is None:
            return result, None, None
        digest = hashlib.sha256(result.body).hexdigest()
        if digest == known_body:
            # Many servers ignore conditional GET but send the same bytes: parsing them
            # again (the costly part of a poll) could only find entries already seen.
            return result, None, digest
        try:
            async with asyncio.timeout(self.policy.timeout_s):
                parsed = await parse_feed(
                    result.body,
                    url=result.final_url,
                    content_type=result.content_type,
                    max_bytes=self.policy.max_bytes,
                )
        except TimeoutError:
            raise FeedError(
                "timeout",
                f"parsing the feed took longer than {self.policy.timeout_s:g} s ({url})",
            ) from None
        return result, parsed, digest

    async def _store(
        self,
        feed: Feed,
        at: dt.datetime,
        result: FetchResult,
        parsed: ParsedFeed | None,
        body_sha256: str | None,
    ) -> FeedOutcome:
        next_poll_at = at + self.poll_interval
        outcome = FeedOutcome(feed.id, feed.url, feed.name, "ok", next_poll_at=next_poll_at)
        if parsed is None:
            outcome.status = "not_modified"
            await self.storage.feeds.record_success(
                feed.id,
                at=at,
                next_poll_at=next_poll_at,
                etag=result.etag,
                last_modified=result.last_modified,
                body_sha256=body_sha256,
            )
            log.debug("feed %d (%s): not modified (HTTP %d)", feed.id, feed.url, result.status)
            return outcome

        outcome.entries = len(parsed.entries)
        outcome.warning = parsed.warning
        unseen_ids = await self.storage.feeds.unseen(
            feed.id, [entry.identity for entry in parsed.entries]
        )
        unseen = [entry for entry in parsed.entries if entry.identity in unseen_ids]
        outcome.unseen = len(unseen)
        await self._judge_names(unseen)
        items, outcome.history_reason = self._items(feed, parsed.entries, unseen, at)
        stored = await self.storage.feeds.record_success(
            feed.id,
            at=at,
            next_poll_at=next_poll_at,
            etag=result.etag,
            last_modified=result.last_modified,
            items=items,
            body_sha256=body_sha256,
        )
        if stored is None:
            outcome.status = "removed"
            return outcome
        _fill(outcome, stored)
        if unseen:
            log.info(
                "feed %d (%s): %d entries, %d unseen: %d new events (%d announced),"
                " %d joined existing events%s",
                feed.id,
                feed.url,
                outcome.entries,
                outcome.unseen,
                len(outcome.created),
                len(outcome.announced),
                outcome.merged,
                f"; kept as history: {outcome.history_reason}" if outcome.history_reason else "",
            )
        if parsed.warning:
            log.debug("feed %d (%s): read despite problems: %s", feed.id, feed.url, parsed.warning)
        return outcome

    def _items(
        self,
        feed: Feed,
        entries: Sequence[FeedEntry],
        unseen: Sequence[FeedEntry],
        at: dt.datetime,
    ) -> tuple[list[FeedItem], str | None]:
        """Unseen entries as items to store, with the announce decision (see the module
        docstring) and why anything was kept as history."""
        rules = self.rules
        moments = [_moment(entry, at) for entry in unseen]
        announce = [True] * len(unseen)
        reason: str | None = None
        if not feed.baseline_done:
            # Newest first; entries without a date count as seen now, i.e. newest.
            order = sorted(range(len(unseen)), key=lambda i: moments[i], reverse=True)
            keep = set(order[: feed.backfill])
            announce = [i in keep for i in range(len(unseen))]
            reason = "first fetch of the feed" + (
                f" (newest {len(keep)} announced)" if keep else ""
            )
        elif len(unseen) > rules.flood_cap:
            announce = [False] * len(unseen)
            reason = f"{len(unseen)} unseen entries at once (more than {rules.flood_cap})"
        elif feed.consecutive_failures >= rules.comeback_failures:
            announce = [False] * len(unseen)
            reason = f"back after {feed.consecutive_failures} failed attempts"
        elif feed.last_success_at is not None:
            cutoff = feed.last_success_at - rules.age_margin
            announce = [moment >= cutoff for moment in moments]
            old = announce.count(False)
            if old:
                counted = "1 entry" if old == 1 else f"{old} entries"
                reason = f"{counted} dated before {cutoff:%Y-%m-%d %H:%M} UTC"

        # A link several entries share (a feed pointing every item to one page) or a bare
        # home page cannot tell stories apart.
        link_counts = Counter(entry.link for entry in entries if entry.link)
        sections = section_labels(entries)
        items: list[FeedItem] = []
        for entry, moment, news in zip(unseen, moments, announce, strict=True):
            date = moment.date()
            lang = "zh" if has_cjk(entry.title) else "en"
            slug = slugify(entry.title, lang) or "entry"
            entities = clean_categories(entry.categories, sections)
            entities += self.matcher.find(entry.title, entry.summary)
            items.append(
                FeedItem(
                    identity=entry.identity,
                    key=make_key(date, slug),
                    date=date,
                    headline=entry.title,
                    summary=entry.summary,
                    lang=lang,
                    link=entry.link,
                    entities=tuple(_unique_names(entities)[:MAX_ENTITIES]),
                    announce=news,
                    link_identifies=entry.link is not None
                    and link_counts[entry.link] == 1
                    and urlsplit(entry.link).path not in ("", "/"),
                )
            )
        return items, reason

    async def _record_failure(
        self, feed: Feed, at: dt.datetime, kind: str, reason: str
    ) -> FeedOutcome:
        rules = self.rules
        failures = feed.consecutive_failures + 1
        first_parse = feed.first_parse_failure_at
        if kind == "not_a_feed" and first_parse is None:
            first_parse = at
        next_poll_at = at + rules.backoff(failures)
        disabled: str | None = None
        if failures >= rules.disable_after_failures:
            disabled = f"{failures} consecutive failures; the last: {reason}"
        elif (
            kind == "not_a_feed"
            and first_parse is not None
            and at - first_parse > rules.parse_failure_window
        ):
            disabled = (
                f"not a feed since {first_parse:%Y-%m-%d %H:%M} UTC"
                f" (more than {_span(rules.parse_failure_window)}): {reason}"
            )
        await self.storage.feeds.record_failure(
            feed.id,
            at=at,
            kind=kind,
            reason=reason,
            consecutive_failures=failures,
            first_parse_failure_at=first_parse,
            next_poll_at=next_poll_at,
            disabled_reason=disabled,
        )
        if disabled:
            log.warning("feed %d (%s) disabled: %s", feed.id, feed.url, disabled)
        else:
            log.info(
                "feed %d (%s) failed (%d in a row), %s: %s; next attempt at %s",
                feed.id,
                feed.url,
                failures,
                kind,
                reason,
                f"{next_poll_at:%Y-%m-%d %H:%M:%S} UTC",
            )
        return FeedOutcome(
            feed.id,
            feed.url,
            feed.name,
            "disabled" if disabled else "failed",
            error_kind=kind,
            error=reason,
            consecutive_failures=failures,
            disabled_reason=disabled,
            next_poll_at=None if disabled else next_poll_at,
        )

    async def _refresh_matcher(self) -> None:
        """Load the entity names created since the last look (all of them the first time)."""
        async with self._matcher_lock:
            rows = await self.storage.entities.names(after_id=self.matcher.last_entity_id)
            if not rows:
                return
            for row in rows:
                self.matcher.add(row.name, row.canonical, events=row.event_count)
            self.matcher.last_entity_id = rows[-1].id

    async def _judge_names(self, entries: Sequence[FeedEntry]) -> None:
        """Whether each name these entries use as a common word ("murder", 警察) is one
        by the archive's headlines, for the names not judged before (see
        bot.services.tagging): a few indexed reads the first time a name is so used."""
        unjudged: list[str] = []
        for entry in entries:
            self.matcher.find(entry.title, entry.summary, unjudged=unjudged)
        for name in dict.fromkeys(unjudged):
            if not self.matcher.judged(name):
                mentions = await self.storage.entities.headline_mentions(name)
                self.matcher.judge(name, generic_verdict(name, mentions))


async def run_poll_loop(
    service: FeedService,
    *,
    stop: asyncio.Event,
    interval_s: float = 60.0,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_report: Callable[[PollReport], None] | None = None,
    on_outcome: Callable[[FeedOutcome], None] | None = None,
) -> None:
    """Poll due feeds every ``interval_s`` until ``stop`` is set (``feeds poll``)."""
    while not stop.is_set():
        report = await service.poll_due(concurrency=concurrency, on_outcome=on_outcome)
        if on_report is not None:
            on_report(report)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_s)


# --- small helpers --------------------------------------------------------------------------


def _not_added(exc: FeedError, *, advertised: tuple[str, str] | None = None) -> str:
    """Why a feed was not added and what the operator can do; ``advertised`` is the page
    the operator gave and the feed it advertises, when that feed is what failed."""
    reason = exc.reason
    if advertised is not None:
        page, feed_url = advertised
        reason = f"{page} advertises the feed {feed_url}, which failed: {reason}"
    hint = _add_hint(exc)
    return f"Not added: {reason}" + (f"; {hint}" if hint else "")


def _add_hint(exc: FeedError) -> str | None:
    if exc.kind in ("timeout", "network"):
        return "check the address, or try again later"
    if exc.kind == "http_status":
        status = exc.http_status
        # 4xx says "this URL is wrong" (404, 410, 401, 403); 408 and 429 say "try later".
        if status is not None and 400 <= status < 500 and status not in (408, 429):
            return "check the address"
        return "try again later"  # 5xx, 408, 429: the site is down or busy right now
    # The reason says it all: not a feed (an HTML page says what it advertises), too
    # large, too many redirects, an invalid URL; a refused address names its setting.
    return None


def _feed_name(given: str | None, parsed: ParsedFeed | None, url: str) -> str:
    for candidate in (given, parsed.title if parsed else None, urlsplit(url).hostname, url):
        text = " ".join((candidate or "").split())
        if text:
            return text[:MAX_NAME_CHARS]
    return url[:MAX_NAME_CHARS]


def _moment(entry: FeedEntry, at: dt.datetime) -> dt.datetime:
    """When the entry happened: its date, else now; a date far in the future is a broken
    clock on the server, not news from tomorrow."""
    published = entry.published
    if published is None or published > at + FUTURE_SLACK:
        return at.astimezone(dt.UTC)
    return published.astimezone(dt.UTC)


def _unique_names(names: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for name in names:
        key = fold(name)
        if key and key not in seen:
            seen.add(key)
            out.append(name)
    return out


def _fill(outcome: FeedOutcome, stored: StoredEntries) -> None:
    outcome.created = list(stored.created)
    outcome.announced = list(stored.announced)
    outcome.merged = len(stored.merged)


def _span(delta: dt.timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours == 24:
        return "a day"
    return f"{hours / 24:g} days" if hours > 24 and hours % 24 == 0 else f"{hours:g} hours"
