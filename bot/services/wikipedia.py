"""Wikipedia's Current events portal: backfilling any range of days, and the live poll.

Shared by the command line (``chronicle wikipedia pull|status``) and the bot's scheduler;
everything it needs is passed in (the Storage, a MediaWikiClient, the portal's edition).

A pull reads the day pages 50 at a time. A page whose revision has not changed since it
was read is not parsed again, so a pull re-run after an interruption (or a second time)
fetches the revisions and stores nothing twice. Link targets are resolved through the
wiki's redirects once each (``portal_titles``); a redirect's title becomes an alias of its
target, so ``[[ISIL]]`` and ``[[Islamic State of Iraq and the Levant]]`` are one entity.
Which event an item is (new, an edit of an earlier item, the archive's own event, a removal)
is storage.portal_match's rule. A day page that is a redirect (a page moved) is read from
the page it leads to, as the day asked for; one that leads nowhere readable (a loop, a
missing page), out of the day pages, to another day's page or to a page two days lead to is
an unreadable day whose reason names the redirect. A revision that could not be read is
not fetched again while it is the page's latest, but each pull over it still reports it as
a failure. A server that asks to wait longer than the client waits (Retry-After) stops a
pull: the days left are reported, for a later run; one that keeps asking for short waits
until the client gives up fails that batch of days only, and the pull goes on.
Day pages are parsed in a worker thread, off the event loop, so that a huge (vandalised)
page does not hold up the bot's slash commands.

News, not history
    A pull is history unless asked (``--announce``). The live poll reads today's and
    yesterday's pages (UTC) every ``WIKIPEDIA_POLL_MINUTES``, and after an outage every day
    from that of the last successful poll on, at most ``CATCH_UP_DAYS`` (the days before
    those are logged as left unread, with the pull that reads them, and ``status`` names
    them). Its first successful poll is history too, and from then on new events are news:
    they reach "new" digests and subscribers once, never again on a re-poll, an edit or a
    restart. A revision that brings more than ``FLOOD_CAP`` new events at once (a page read
    for the first time after an outage) is history as well, and the days before yesterday
    that a poll catches up on announce at most ``FLOOD_CAP`` events between them (the pages
    after that are history). A poll that fails is retried after 5 minutes, doubling up to a
    day, as feeds are (or later, if the server asked), and each failure is logged once with
    its reason.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import aiohttp

from bot.config import Settings
from bot.errors import InvalidInput
from bot.failures import ArchiveHold, archive_failure
from bot.ingest.feeds.addresses import FetchPolicy
from bot.ingest.mediawiki import (
    TITLES_PER_REQUEST,
    MediaWikiClient,
    MediaWikiError,
    PageRevision,
    chunked,
    page_url,
    user_agent,
)
from bot.ingest.portal import EDITIONS, PortalEdition, PortalFormatError, parse_day
from bot.services.feeds.rules import FeedRules
from bot.services.wikipedia_days import (
    CATCH_UP_DAYS,
    PullFailure,
    PullReport,
    date_range,
    day_span,
    poll_days,
    pull_command,
)
from storage import Storage
from storage.models import (
    EntityError,
    PortalItemRecord,
    PortalPoll,
    PortalRevision,
)
from storage.schedule_rules import rebased
from storage.textindex import fold
from storage.times import Clock, utc_now

log = logging.getLogger(__name__)

BACKOFF = FeedRules()  # failures wait as a feed's do: 5 minutes, doubling, up to a day
FLOOD_CAP = 20  # a poll's revision with more new events than this is history
Progress = Callable[[int, int], None]


@dataclass(slots=True)
class _CatchUp:
    """The days before yesterday that a poll reads after an outage: they announce at most
    ``left`` events between them."""

    before: dt.date  # yesterday: the days before it are the catch-up's
    left: int = FLOOD_CAP


class WikipediaService:
    """One wiki's portal for one Storage."""

    def __init__(
        self,
        storage: Storage,
        client: MediaWikiClient,
        edition: PortalEdition,
        *,
        poll_minutes: float = 10.0,
        rules: FeedRules = BACKOFF,
        clock: Clock = utc_now,
    ):
        self.storage = storage
        self.client = client
        self.edition = edition
        self.wiki = edition.language
        self.poll_minutes = poll_minutes
        self.rules = rules
        self.clock = clock
        self.archive_hold = ArchiveHold()  # after a poll the archive could not store
        # (last attempt, next poll) as counted from when the clock was seen to have gone back.
        self._rebased: tuple[dt.datetime, dt.datetime] | None = None

    # --- backfill -----------------------------------------------------------------------

    async def pull(
        self,
        since: dt.date,
        until: dt.date | None = None,
        *,
        announce: bool = False,
        progress: Progress | None = None,
    ) -> PullReport:
        """Read every day page from since to until (inclusive; until defaults to today)."""
        today = self.clock().astimezone(dt.UTC).date()
        for option, day in (("--since", since), ("--until", until)):
            if day is not None and day > today:
                raise InvalidInput(
                    f"{option} {day.isoformat()} is in the future (today is {today.isoformat()},"
                    " UTC): the portal has no page for it yet."
                )
        until = until or today
        if since > until:
            raise InvalidInput(f"--since {since.isoformat()} is after --until {until.isoformat()}.")
        return await self._read(date_range(since, until), announce=announce, progress=progress)

    async def _read(
        self,
        dates: Sequence[dt.date],
        *,
        announce: bool,
        progress: Progress | None = None,
        flood_cap: int | None = None,
        catch_up: _CatchUp | None = None,
    ) -> PullReport:
        report = PullReport(days=len(dates))
        requests_before = self.client.requests
        batches = list(chunked(dates, TITLES_PER_REQUEST))
        for number, batch in enumerate(batches):
            try:
                await self._read_batch(batch, announce, report, flood_cap, catch_up)
            except MediaWikiError as exc:
                report.request_failed = True
                report.failures.append(PullFailure(day_span(batch), exc.reason))  # the caller tells
                if exc.retry_after is not None:
                    # The server wants a rest longer than a client should wait: stop here.
                    report.retry_after = exc.retry_after
                    left = [d for b in batches[number + 1 :] for d in b]
                    if left:
                        report.failures.append(
                            PullFailure(
                                day_span(left),
                                f"not read: the server asked to wait {exc.retry_after:g} s;"
                                " run the pull again later",
                            )
                        )
                    break
            if progress is not None:
                progress(min(len(dates), (number + 1) * TITLES_PER_REQUEST), len(dates))
        report.requests = self.client.requests - requests_before
        return report

    async def _read_batch(
        self,
        dates: Sequence[dt.date],
        announce: bool,
        report: PullReport,
        flood_cap: int | None,
        catch_up: _CatchUp | None = None,
    ) -> None:
        titles = {self.edition.title(date): date for date in dates}
        # Pages come back by the title asked, so by day, even when one is a redirect.
        pages = await self.client.revisions(list(titles))
        held = await self.storage.portal.revisions(self.wiki, dates)
        now = self.clock()
        fresh: list[PortalRevision] = []
        unchanged: list[dt.date] = []
        shared = Counter(p.title for p in pages.values() if p.redirects and not p.broken)
        for title, date in titles.items():
            page = pages.get(title)
            if page is None:
                report.missing.append(date)
                if date not in held:
                    url = page_url(self.client.api_url, title)
                    await self.storage.portal.record_missing(self.wiki, date, title, url, now=now)
                continue
            known = held.get(date)
            if known is not None and known.revision_id == page.revision_id:
                report.unchanged_days += 1
                unchanged.append(date)
                if known.error is not None:
                    # Not fetched again, but not read either: still a failure to report.
                    reason = f"revision {page.revision_id} of {_way(page)}"
                    reason += f": still unreadable: {known.error}"
                    report.failures.append(PullFailure(date.isoformat(), reason))
                continue
            # The revision is of the page read: a redirect's target, when the day's is one.
            url = page_url(self.client.api_url, page.title)
            revision = PortalRevision(date, page.title, url, page.revision_id, page.timestamp, ())
            try:
                self._check_redirect(date, page, shared[page.title])
                items = await self._parse(date, page)
            except PortalFormatError as exc:
                reason = f"revision {page.revision_id} of {_way(page)}: {exc}"
                report.failures.append(PullFailure(date.isoformat(), reason))
                log.warning("Wikipedia: %s not read: %s", date.isoformat(), reason)
                await self.storage.portal.record_unreadable(self.wiki, revision, str(exc), now=now)
                continue
            fresh.append(replace(revision, items=items))
        await self.storage.portal.record_read(self.wiki, unchanged, now=now)
        if not fresh:
            return
        resolved = await self._resolve({e for r in fresh for i in r.items for e in i.entities})
        for revision in fresh:
            items = tuple(
                replace(item, entities=_unique(resolved.get(e, e) for e in item.entities))
                for item in revision.items
            )
            # A day before yesterday, read by a poll catching up: its share of the budget
            # (which starts at the poll's flood cap and only goes down).
            budget = catch_up if catch_up and revision.date < catch_up.before else None
            cap = budget.left if budget is not None else flood_cap
            outcome = await self.storage.portal.apply_day(
                self.wiki,
                replace(revision, items=items),
                announce=announce,
                now=now,
                flood_cap=cap,
            )
            if budget is not None:
                budget.left -= len(outcome.announced)
            if outcome.flooded:
                log.info(
                    "Wikipedia: %s brought %d new events at once: kept as history%s",
                    revision.title,
                    len(outcome.created),
                    f" (a poll catching up on the days before yesterday announces at most"
                    f" {FLOOD_CAP} of their events)"
                    if budget is not None
                    else "",
                )
            report.add(outcome)

    def _check_redirect(self, date: dt.date, page: PageRevision, sharing: int) -> None:
        """A day page that redirects is read from where it leads, as that day's, but for
        a redirect that leads nowhere readable, out of the portal's day pages, to another
        day's page (read as that day's) or to a page another day's redirect leads to too
        (whose day is unclear): PortalFormatError, saying which."""
        if not page.redirects:
            return
        if page.broken:
            raise PortalFormatError(page.broken)
        if not page.title.startswith(self.edition.prefix):
            raise PortalFormatError(
                f"the day's page redirects to a page outside {self.edition.prefix}:"
                " not read as the day's news"
            )
        other = _day_of(self.edition, page.title)
        if other is not None and other != date:
            raise PortalFormatError(
                f"the day's page redirects to the page of {other.isoformat()}:"
                " its news are that day's, not read as this day's too"
            )
        if sharing > 1:
            raise PortalFormatError(
                f"the pages of {sharing} days redirect to {page.title}: which day it holds"
                " is unclear, not read as any of them"
            )
        log.info(
            "Wikipedia: %s redirects to %s: read as %s's page",
            page.redirects[0],
            page.title,
            date.isoformat(),
        )

    async def _parse(self, date: dt.date, page: PageRevision) -> tuple[PortalItemRecord, ...]:
        if page.content is None:
            raise PortalFormatError("the API gave no wikitext for this revision")
        # In a worker thread: a huge page takes long (FINDINGS, "Portal day pages"), which the
        # event loop (the bot's slash commands, the gateway's heartbeat) must not wait for.
        day = await asyncio.to_thread(parse_day, date, page.content, language=self.wiki)
        for warning in day.warnings:
            log.info("Wikipedia: %s: %s", page.title, warning)
        return day.items

    async def _resolve(self, titles: set[str]) -> dict[str, str | None]:
        """Link targets -> the articles they lead to, asking the wiki only about titles it
        was never asked about; each new redirect becomes an alias of its target (before the
        title is remembered as resolved, so an interruption loses no alias)."""
        known = await self.storage.portal.resolved_titles(self.wiki, sorted(titles))
        unknown = sorted(titles - known.keys())
        if unknown:
            answered = await self.client.resolve(unknown)
            for title, target in answered.items():
                if target is not None and fold(title) != fold(target):
                    await self._alias(title, target)
            await self.storage.portal.store_titles(self.wiki, answered, now=self.clock())
            known.update(answered)
        return known

    async def _alias(self, redirect: str, target: str) -> None:
        found = await self.storage.entities.find(redirect)
        if found is not None and found == await self.storage.entities.find(target):
            return  # one entity already
        try:
            await self.storage.entities.alias(redirect, target)
        except EntityError as exc:
            log.info("Wikipedia: redirect %r -> %r not made an alias: %s", redirect, target, exc)

    # --- the live poll ------------------------------------------------------------------

    async def poll_due(self) -> PullReport | None:
        """Poll if it is time (None if not): today's and yesterday's pages, UTC (and the
        days since the last successful poll, after an outage)."""
        now = self.clock()
        if self.archive_hold.holds(now):
            return None
        state = await self.storage.portal.poll_state(self.wiki)
        due = self._due_at(state, now)
        if due is not None and now < due:
            return None
        return await self.poll(state)

    def _due_at(self, state: PortalPoll, now: dt.datetime) -> dt.datetime | None:
        """The next poll's time; after the clock went back (the last poll ahead of now), its
        wait counted from when that was first seen (storage.schedule_rules), not from a time
        the clock would take the size of its step to reach again."""
        last = state.last_attempt_at
        if state.next_poll_at is None or last is None:
            return state.next_poll_at
        if self._rebased is not None and self._rebased[0] == last:
            return self._rebased[1]
        if (moved := rebased(state.next_poll_at, last, now)) is None:
            return state.next_poll_at
        self._rebased = (last, moved)
        log.info(
            "Wikipedia: the clock went back (the last poll was at %s UTC): the next poll is"
            " at %s UTC",
            f"{last.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S}",
            f"{moved.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S}",
        )
        return moved

    async def poll(self, state: PortalPoll | None = None) -> PullReport:
        """Read today's and yesterday's pages now, and after an outage the days since the
        last successful poll (at most CATCH_UP_DAYS in all). Never raises for what the wiki
        does; a bug surfaces as a failure (logged with its traceback) and is backed off too."""
        state = state or await self.storage.portal.poll_state(self.wiki)
        now = self.clock()
        today = now.astimezone(dt.UTC).date()
        dates, unread = poll_days(today, state.last_success_at)
        try:
            report = await self._read(
                dates,
                announce=state.baseline_done,
                flood_cap=FLOOD_CAP,
                catch_up=_CatchUp(before=today - dt.timedelta(days=1)),
            )
        except Exception as exc:
            if (problem := archive_failure(self.storage, exc)) is not None:
                # Not the wiki's doing: nothing is recorded against it.
                self.archive_hold.hold(now + dt.timedelta(minutes=self.poll_minutes))
                log.error(
                    "Wikipedia: the poll could not be stored: %s; it is tried again in %g minutes",
                    problem,
                    self.poll_minutes,
                )
                return PullReport(days=len(dates))
            log.exception("Wikipedia: the poll failed unexpectedly")
            report = PullReport(days=len(dates), request_failed=True)
            report.failures.append(
                PullFailure(day_span(dates), f"internal error: {type(exc).__name__}: {exc}")
            )
        if report.request_failed:
            failures = state.consecutive_failures + 1
            wait = self.rules.backoff(failures)
            if report.retry_after is not None:
                wait = max(wait, dt.timedelta(seconds=report.retry_after))
            next_poll = now + wait
            reason = "; ".join(f.reason for f in report.failures)
            await self.storage.portal.record_poll(
                self.wiki,
                at=now,
                next_poll_at=next_poll,
                error=reason,
                consecutive_failures=failures,
            )
            log.warning(
                "Wikipedia: poll failed (%d in a row): %s; next attempt at %s UTC",
                failures,
                reason,
                f"{next_poll.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S}",
            )
            return report
        await self.storage.portal.record_poll(
            self.wiki, at=now, next_poll_at=now + dt.timedelta(minutes=self.poll_minutes)
        )
        if unread:
            # Only now: a poll that fails leaves them for the next attempt to read.
            first, last = unread[0], unread[-1]
            log.warning(
                "Wikipedia: the last successful poll was on %s and a poll reads at most %d"
                " days: %s left unread; run `%s` to read them",
                first.isoformat(),
                CATCH_UP_DAYS,
                day_span(unread),
                pull_command(first, last),
            )
        if report.new or report.updated or report.removed:
            log.info(
                "Wikipedia: %d new events (%d announced), %d updated, %d removed",
                report.new,
                len(report.announced),
                report.updated,
                report.removed,
            )
        return report


def wikipedia_policy(settings: Settings) -> FetchPolicy:
    """The feeds' fetch rules, with Chronicle's User-Agent for Wikimedia."""
    return FetchPolicy(
        allow_private_addresses=settings.feed_allow_private_addresses,
        user_agent=user_agent(settings.wikipedia_contact),
    )


def wikipedia_service(
    storage: Storage,
    session: aiohttp.ClientSession,
    settings: Settings,
    *,
    clock: Clock = utc_now,
) -> WikipediaService:
    """The portal service as the settings describe it (the bot and the command line)."""
    return WikipediaService(
        storage,
        MediaWikiClient(session, wikipedia_policy(settings), settings.wikipedia_api_url),
        EDITIONS[settings.wikipedia_language],
        poll_minutes=settings.wikipedia_poll_minutes,
        clock=clock,
    )


def _way(page: PageRevision) -> str:
    """The page read, named by the way there when the day's page is a redirect."""
    if page.broken or not page.redirects:
        return page.title
    return " → ".join((*page.redirects, page.title))


def _day_of(edition: PortalEdition, title: str) -> dt.date | None:
    """The day whose page title is this (edition.title's inverse), or None."""
    year, _, rest = title.removeprefix(edition.prefix).partition(" ")
    day = rest.rpartition(" ")[2]
    if not (title.startswith(edition.prefix) and year.isdigit() and day.isdigit()):
        return None
    for month in range(1, 13):
        try:
            date = dt.date(int(year), month, int(day))
        except ValueError:
            continue
        if edition.title(date) == title:
            return date
    return None


def _unique(names: Iterable[str | None]) -> tuple[str, ...]:
    """Names in order, each once (folded), None dropped."""
    seen: dict[str, str] = {}
    for name in names:
        if name is not None:
            seen.setdefault(fold(name), name)
    return tuple(seen.values())
