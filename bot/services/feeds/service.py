"""The feed service: adding and removing feeds, polling them (concurrently, each within
its own limits), and storing what is new (the rules are the package docstring's)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Final

import aiohttp

from bot.errors import InvalidInput, NotFound
from bot.failures import ArchiveHold, archive_failure
from bot.ingest.feeds.addresses import FetchPolicy
from bot.ingest.feeds.credentials import masked, masked_in
from bot.ingest.feeds.entries import ParsedFeed
from bot.ingest.feeds.errors import FeedError
from bot.ingest.feeds.fetch import FetchResult, fetch_feed
from bot.ingest.feeds.parse import parse_feed
from bot.services.feeds.adding import check_feed_url, choose_name, not_added
from bot.services.feeds.failures import record_failure
from bot.services.feeds.items import entry_texts, feed_items
from bot.services.feeds.matching import FeedMatcher
from bot.services.feeds.reports import AddResult, FeedOutcome, PollReport
from bot.services.feeds.rules import FeedRules
from bot.services.feeds.stories import same_story
from bot.services.tagging import EntityMatcher
from storage import Storage
from storage.models import Feed, FeedExistsError
from storage.times import Clock, utc_now

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY: Final = 16
_DEFAULT_RULES: Final = FeedRules()
# FeedOutcome.error_kind of a poll the archive could not store (a full disk, a lock held).
ARCHIVE_FAILED: Final = "archive"


class FeedService:
    """Feeds for one Storage, fetched through one session with one policy."""

    def __init__(
        self,
        storage: Storage,
        session: aiohttp.ClientSession,
        policy: FetchPolicy,
        *,
        poll_minutes: float = 10.0,
        rules: FeedRules = _DEFAULT_RULES,
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
        self.names = FeedMatcher(storage)
        self.archive_hold = ArchiveHold()  # after a round the archive could not store

    @property
    def matcher(self) -> EntityMatcher:
        """The entity matcher that tags this service's feed items."""
        return self.names.matcher

    async def _refresh_matcher(self) -> None:
        await self.names.refresh()

    # --- operating feeds ----------------------------------------------------------------

    async def add_feed(self, url: str, name: str | None = None, backfill: int = 0) -> AddResult:
        """Add a feed and fetch it once.

        Its current entries become events kept as history (announce=0), except the newest
        ``backfill``, which are news. If the first fetch fails for any reason, nothing is
        added (InvalidInput saying what failed and what to do). An HTML page that
        advertises a feed adds that feed instead (``discovered_from`` is the page's URL),
        and a feed that moved for good (301, 308) is added at its new URL (``moved_from``
        is the one given). Adding a disabled feed's URL again re-activates it, under the
        same rule.
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
                raise InvalidInput(not_added(exc)) from None
            # An HTML page that advertises its feed: add that one, under the same rules.
            discovered_from, url = url, exc.feed_links[0]
            existing = await self._addable(url, f"advertised by {masked(discovered_from)}")
            try:
                fetched = await self._fetch(url, None, None)
            except FeedError as advertised_exc:
                raise InvalidInput(
                    not_added(advertised_exc, advertised=(discovered_from, url))
                ) from None

        moved_from: str | None = None
        moved_to = fetched[0].moved_to
        if moved_to is not None and moved_to != url:
            # Moved for good: the old address may go away, the new one is the feed's.
            moved_from, url = url, moved_to
            existing = await self._addable(url, f"where {masked(moved_from)} moved for good")

        # Only now, with a feed to store: a refused add need not load every entity name.
        await self._refresh_matcher()
        feed_name = choose_name(name, fetched[1], url)
        if existing is not None:
            feed = await self.storage.feeds.reactivate(existing.id, now=now, backfill=backfill)
            if feed is None:
                raise NotFound(f"Feed {existing.id} was removed meanwhile.")
            log.info("feed %d re-activated: %s", feed.id, masked(url))
        else:
            try:
                feed = await self.storage.feeds.add(url, feed_name, now=now, backfill=backfill)
            except FeedExistsError as exc:  # added by someone else meanwhile
                raise InvalidInput(f"{masked(url)} is already feed {exc.feed.id}.") from None
            log.info(
                "feed %d added: %s (%s)%s%s",
                feed.id,
                masked(url),
                feed.name,
                f", advertised by {masked(discovered_from)}" if discovered_from else "",
                f", moved for good from {masked(moved_from)}" if moved_from else "",
            )

        outcome = await self._guarded(feed, now, self._store(feed, now, *fetched))
        outcome.elapsed_s = time.monotonic() - started
        refreshed = await self.storage.feeds.get(feed.id)
        return AddResult(
            refreshed or feed,
            outcome,
            reactivated=existing is not None,
            discovered_from=discovered_from,
            moved_from=moved_from,
        )

    async def _addable(self, url: str, how: str | None = None) -> Feed | None:
        """The disabled feed with this URL (to re-activate), or None for a new one;
        InvalidInput if an active feed already has it (``how`` the URL came to be asked
        for: "advertised by …")."""
        existing = await self.storage.feeds.get_by_url(url)
        if existing is not None and existing.active:
            where = f" ({how})" if how else ""
            raise InvalidInput(
                f"{masked(url)}{where} is already feed {existing.id} ({existing.name})."
            )
        return existing

    async def remove_feed(self, ref: str | int) -> Feed:
        """Remove a feed by id or URL. Its events stay in the archive."""
        feed = await self.find_feed(ref)
        await self.storage.feeds.remove(feed.id)
        log.info("feed %d removed: %s", feed.id, masked(feed.url))
        return feed

    async def find_feed(self, ref: str | int) -> Feed:
        text = str(ref).strip()
        feed: Feed | None = None
        if text.isdigit():
            feed = await self.storage.feeds.get(int(text))
        if feed is None:
            feed = await self.storage.feeds.get_by_url(text)
        if feed is None:
            raise NotFound(
                f"No feed has the id or URL {masked(text)[:200]!r}; see `chronicle feeds list`."
            )
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
        at = now or self.clock()
        if self.archive_hold.holds(at):
            return PollReport()
        feeds = await self.storage.feeds.due(at, limit=limit)
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
        unstored = [o for o in report.outcomes if o.error_kind == ARCHIVE_FAILED]
        if unstored:
            self.archive_hold.hold((now or self.clock()) + self.poll_interval)
            log.error(
                "the polls of %d of %d feeds were not stored: %s; they are fetched again"
                " in %g minutes",
                len(unstored),
                len(feeds),
                unstored[0].error,
                self.poll_interval.total_seconds() / 60,
            )
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
            return await record_failure(
                self.storage,
                self.rules,
                feed,
                at,
                exc.kind,
                exc.reason,
                retry_after=exc.retry_after,
            )
        moved_to = fetched[0].moved_to
        if moved_to is not None and moved_to != feed.url:
            followed = await self._follow(feed, moved_to, at)
            if isinstance(followed, FeedOutcome):
                return followed
            feed = followed
        return await self._store(feed, at, *fetched)

    async def _follow(self, feed: Feed, url: str, at: dt.datetime) -> Feed | FeedOutcome:
        """The feed at the URL it moved to for good (every redirect a 301 or 308), or what
        became of it. Another feed with that URL already: a disabled one gives it up (it is
        removed; its events stay), an active one polls the feed there already, so this
        one is disabled, saying why (the operator removes it)."""
        try:
            moved = await self.storage.feeds.move(feed.id, url)
        except FeedExistsError as exc:
            if exc.feed.active:
                return await self._disable_moved(feed, url, exc.feed, at)
            await self.storage.feeds.remove(exc.feed.id)
            log.warning(
                "feed %d (%s) removed: disabled (%s), it had the address feed %d moved to for good",
                exc.feed.id,
                masked(exc.feed.url),
                masked_in(exc.feed.disabled_reason or "by its failures"),
                feed.id,
            )
            try:
                moved = await self.storage.feeds.move(feed.id, url)
            except FeedExistsError as again:  # added again meanwhile
                return await self._disable_moved(feed, url, again.feed, at)
        if moved is None:
            return FeedOutcome(feed.id, feed.url, feed.name, "removed")
        log.info(
            "feed %d moved for good (a permanent redirect) from %s to %s; polled there from now on",
            feed.id,
            masked(feed.url),
            masked(url),
        )
        return moved

    async def _disable_moved(
        self, feed: Feed, url: str, other: Feed, at: dt.datetime
    ) -> FeedOutcome:
        """A feed that moved to an address another feed polls: disabled, saying so."""
        reason = (
            f"moved for good to {masked(url)}, which feed {other.id} ({other.name}) polls"
            f" already; remove this one: chronicle feeds remove {feed.id}"
        )
        disabled = await self.storage.feeds.disable(feed.id, at=at, reason=reason)
        if disabled is None:
            return FeedOutcome(feed.id, feed.url, feed.name, "removed")
        log.warning("feed %d (%s) disabled: %s", feed.id, masked(feed.url), reason)
        return FeedOutcome(feed.id, feed.url, feed.name, "disabled", disabled_reason=reason)

    async def _guarded(
        self, feed: Feed, at: dt.datetime, work: Coroutine[Any, Any, FeedOutcome]
    ) -> FeedOutcome:
        """Run one feed's work; a bug (not the feed's doing) becomes a recorded failure of
        kind 'internal', logged with its traceback and backed off like any other, so one
        feed can never break a round. The archive failing (a full disk) is recorded
        nowhere: the outcome says so, and the next round tries again."""
        try:
            return await work
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if (problem := archive_failure(self.storage, exc)) is not None:
                # The archive failed, not the feed: nothing of the poll was stored, its
                # validators neither, so the next round fetches the same entries again.
                log.debug("feed %d (%s): not stored: %s", feed.id, masked(feed.url), problem)
                return FeedOutcome(
                    feed.id,
                    feed.url,
                    feed.name,
                    "failed",
                    error_kind=ARCHIVE_FAILED,
                    error=str(problem),
                    consecutive_failures=feed.consecutive_failures,
                    next_poll_at=feed.next_poll_at,
                )
            log.exception("feed %d (%s): unexpected error", feed.id, masked(feed.url))
            return await record_failure(
                self.storage,
                self.rules,
                feed,
                at,
                "internal",
                f"internal error: {type(exc).__name__}: {exc}",
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
                f"parsing the feed took longer than {self.policy.timeout_s:g} s ({masked(url)})",
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
            log.debug(
                "feed %d (%s): not modified (HTTP %d)", feed.id, masked(feed.url), result.status
            )
            return outcome

        outcome.entries = len(parsed.entries)
        outcome.warning = parsed.warning
        unseen_ids = await self.storage.feeds.unseen(
            feed.id, [entry.identity for entry in parsed.entries]
        )
        unseen = [entry for entry in parsed.entries if entry.identity in unseen_ids]
        outcome.unseen = len(unseen)
        # An entry seen before whose text is no longer its event's corrects it (the rules
        # are storage.feed_steps'): asked first, so that only those are tagged again.
        seen = [entry for entry in parsed.entries if entry.identity not in unseen_ids]
        retold_ids = await self.storage.feeds.retold(feed.id, entry_texts(seen)) if seen else set()
        retold = [entry for entry in seen if entry.identity in retold_ids]
        await self.names.judge_names([*unseen, *retold])
        items, outcome.history_reason = feed_items(
            feed, parsed.entries, unseen, at, rules=self.rules, matcher=self.matcher
        )
        corrections = entry_texts(retold, parsed.entries, matcher=self.matcher)
        stored = await self.storage.feeds.record_success(
            feed.id,
            at=at,
            next_poll_at=next_poll_at,
            etag=result.etag,
            last_modified=result.last_modified,
            items=items,
            body_sha256=body_sha256,
            same_story=same_story,
            carried=[entry.identity for entry in parsed.entries],
            corrections=corrections,
        )
        if stored is None:
            outcome.status = "removed"
            return outcome
        outcome.fill(stored)
        if unseen:
            log.info(
                "feed %d (%s): %d entries, %d unseen: %d new events (%d announced),"
                " %d joined existing events%s",
                feed.id,
                masked(feed.url),
                outcome.entries,
                outcome.unseen,
                len(outcome.created),
                len(outcome.announced),
                outcome.merged,
                f"; kept as history: {outcome.history_reason}" if outcome.history_reason else "",
            )
        if outcome.corrected:
            log.info(
                "feed %d (%s): %d events corrected as their entries now tell them: %s",
                feed.id,
                masked(feed.url),
                len(outcome.corrected),
                ", ".join(map(str, outcome.corrected)),
            )
        if parsed.warning:
            log.debug(
                "feed %d (%s): read despite problems: %s",
                feed.id,
                masked(feed.url),
                parsed.warning,
            )
        return outcome


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
