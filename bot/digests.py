"""What a digest contains and when it runs (posting it is bot/delivery.py's job).

A run belongs to a slot: a local day in the digest's timezone (daily), a local hour
(hourly), or a batch of the events a poll brought (live). Content depends on the archive and
the digest alone: the same for delivery, /digest preview and the command line.
"""

from __future__ import annotations

import datetime as dt
import heapq
import logging
from collections.abc import Iterable
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import render
from bot.digest_content import DigestContent, DigestItem, DigestSection
from storage import Storage
from storage.api_delivery import NEW_EVENTS_BATCH
from storage.models import NO_FILTERS, Digest, DigestFilters, DigestRun, EventBrief, NewEvent
from storage.times import utc_iso

log = logging.getLogger(__name__)

ONTHISDAY_ITEMS = 10
NEW_ITEMS = 25  # listed by a daily 'new' digest; the rest are counted
FREQUENT_ITEMS = 50  # by an hourly or live one
GROUP_TURN = 5  # lines a group of a 'new' digest lists at each turn
OTHER_NEWS = "Other news"  # the events of no story or entity, always the last group
RETRY_DELAYS = (60.0, 300.0, 900.0)  # seconds before the 2nd, 3rd and 4th attempt
# --- when -------------------------------------------------------------------------------------


def known_zone(timezone: str) -> bool:
    """Whether this machine's zone database has the zone: a stored one may be newer than
    its tzdata (set by a process with newer data, a database restored here) or dropped by it."""
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder ("America")
        return False
    return True


def zone(timezone: str) -> dt.tzinfo:
    """A stored timezone; UTC, with a warning, when this machine does not know it (one
    unknown zone must not fail every lookup and digest that reads it)."""
    if known_zone(timezone):
        return ZoneInfo(timezone)
    log.warning(
        "the timezone %r is unknown to this machine's zone database (tzdata); UTC is used"
        " instead until tzdata is updated or the timezone is set again",
        timezone,
    )
    return dt.UTC


def local_moment(day: dt.date, time: dt.time, tz: dt.tzinfo) -> dt.datetime:
    """The instant a local time happens on a day. A time skipped by a DST change (02:30 on
    the spring-forward day) happens as late as the clock jump implies (03:30), not never; a
    time that happens twice (autumn) happens the first time."""
    return dt.datetime.combine(day, time, tzinfo=tz).astimezone(dt.UTC)


def next_run(time: dt.time, timezone: str, after: dt.datetime) -> tuple[dt.datetime, dt.date]:
    """The first run strictly after `after`: (instant in UTC, local date it belongs to)."""
    tz = zone(timezone)
    day = after.astimezone(tz).date() - dt.timedelta(days=1)
    for _ in range(4):
        moment = local_moment(day, time, tz)
        if moment > after:
            return moment, day
        day += dt.timedelta(days=1)
    raise AssertionError("a daily time recurs within three days")


def previous_run(time: dt.time, timezone: str, at: dt.datetime) -> tuple[dt.datetime, dt.date]:
    """The last run at or before `at`: (instant in UTC, local date)."""
    tz = zone(timezone)
    day = at.astimezone(tz).date() + dt.timedelta(days=1)
    for _ in range(4):
        moment = local_moment(day, time, tz)
        if moment <= at:
            return moment, day
        day -= dt.timedelta(days=1)
    raise AssertionError("a daily time recurs within three days")


def local_today(timezone: str, now: dt.datetime) -> dt.date:
    return now.astimezone(zone(timezone)).date()


def next_hourly(minute: int, timezone: str, after: dt.datetime) -> tuple[dt.datetime, str]:
    """The first run of an hourly digest strictly after `after`, at `minute` past a local
    hour: (instant in UTC, slot). Hours are counted in UTC, so a DST change neither skips
    nor repeats one; the slot names the local hour."""
    tz = zone(timezone)
    local = after.astimezone(tz)
    moment = local.replace(minute=minute, second=0, microsecond=0).astimezone(dt.UTC)
    while moment <= after:
        moment += dt.timedelta(hours=1)
    return moment, hour_slot(moment, timezone)


def hour_slot(moment: dt.datetime, timezone: str) -> str:
    """The local hour a moment is in; the second of an hour repeated when the clocks go
    back (zoneinfo's fold) is a slot of its own, marked ``+``."""
    local = moment.astimezone(zone(timezone))
    return local.strftime("%Y-%m-%dT%H") + ("+" if local.fold else "")


def day_slot(day: dt.date) -> str:
    return day.isoformat()


def current_slot(digest: Digest, now: dt.datetime) -> str:
    """The slot a daily or hourly digest's run belongs to at this moment."""
    if digest.every == "hourly":
        return hour_slot(now, digest.timezone)
    return day_slot(local_today(digest.timezone, now))


def live_slot(now: dt.datetime) -> str:
    return f"live:{utc_iso(now)}"


def slot_day(slot: str) -> dt.date:
    """The local day of a daily or hourly slot."""
    return dt.date.fromisoformat(slot[:10])


# --- what -------------------------------------------------------------------------------------


# The 'new' digests of many channels list much the same events: each line is made once.
@lru_cache(maxsize=4096)
def _item(brief: EventBrief, with_date: bool = False) -> DigestItem:
    date = f"{render.discord_date(brief.date, 'd')} " if with_date else ""
    headline = render.cut(brief.headline, 300)
    markdown = f"• {date}{render.link(headline, brief.url)}"
    if len(markdown) > render.DIGEST_ITEM_LIMIT:  # a link too long to show whole: no link
        markdown = f"• {date}{render.link(headline, None)}"
    return DigestItem(
        markdown=markdown,
        lead=f"• {brief.date.isoformat()}  " if with_date else "• ",
        headline=brief.headline,
        event_id=brief.id,
    )


async def onthisday_content(
    storage: Storage,
    local_date: dt.date,
    *,
    filters: DigestFilters = NO_FILTERS,
    language: str = "all",
    limit: int = ONTHISDAY_ITEMS,
) -> DigestContent:
    """Events on this local month and day in earlier years that pass the filters: the ones
    the archive says most about, shown newest year first under "N years ago — YYYY". On
    February 28 of a common year, February 29's are among them, under their own date."""
    best = await storage.digests.on_this_day_best(
        local_date.month,
        local_date.day,
        before_year=local_date.year,
        limit=limit,
        filters=filters,
        language=language,
    )
    title = f"On this day: {local_date:%B} {local_date.day}"
    if not best:
        return DigestContent("onthisday", title)
    # A year's events; those of another day this one covers (a leap day's) apart, dated.
    groups: dict[tuple[int, bool], list[EventBrief]] = {}
    for brief in sorted(best, key=lambda b: (b.date, b.id), reverse=True):
        other_day = (brief.date.month, brief.date.day) != (local_date.month, local_date.day)
        groups.setdefault((brief.date.year, other_day), []).append(brief)
    sections = tuple(
        DigestSection(
            heading=render.day_heading(
                briefs[0].date, local_date.month, local_date.day, local_date
            ),
            items=tuple(_item(b) for b in briefs),
        )
        for briefs in groups.values()
    )
    return DigestContent("onthisday", title, sections, event_ids=tuple(b.id for b in best))


class NewGrouping:
    """New events gathered a batch at a time into a digest's groups: by story, else by their
    most frequent entity, else "Other news". It keeps each group's count and newest events
    (at most what could be listed of it), and every id the run covers."""

    def __init__(self, limit: int = NEW_ITEMS) -> None:
        self.limit = limit
        self.counts: dict[str, int] = {}
        self.newest: dict[str, list[tuple[dt.date, int, NewEvent]]] = {}  # a heap each
        self.event_ids: list[int] = []
        self.since: dt.date | None = None

    def add(self, events: Iterable[NewEvent]) -> None:
        for event in events:
            heading = event.story or event.top_entity or OTHER_NEWS
            self.counts[heading] = self.counts.get(heading, 0) + 1
            kept = self.newest.setdefault(heading, [])
            entry = (event.brief.date, event.brief.id, event)
            if len(kept) < self.limit:
                heapq.heappush(kept, entry)
            else:
                heapq.heappushpop(kept, entry)
            self.event_ids.append(event.brief.id)
            if self.since is None or event.brief.date < self.since:
                self.since = event.brief.date

    def content(self, search: str | None = "query:*") -> DigestContent:
        """At most `limit` listed, the rest counted with the /search (`search`: its query
        and filters) that shows them, when there is one: each group cut short counts its
        own, so that a reader knows which story has more. The largest groups come first,
        "Other news" last, and each takes GROUP_TURN lines at a turn, so that one busy story
        cannot fill the digest alone."""
        title = "New events"
        if not self.event_ids:
            return DigestContent("new", title)
        newest_id = {h: max(e[1] for e in kept) for h, kept in self.newest.items()}
        order = sorted(
            (h for h in self.counts if h != OTHER_NEWS),
            key=lambda h: (-self.counts[h], -newest_id[h], h),
        )
        if OTHER_NEWS in self.counts:
            order.append(OTHER_NEWS)
        shown = dict.fromkeys(order, 0)
        room = self.limit
        while room:
            turns = 0
            for heading in order:
                take = min(GROUP_TURN, len(self.newest[heading]) - shown[heading], room)
                if take > 0:
                    shown[heading] += take
                    room -= take
                    turns += 1
            if not turns:
                break
        # The digest's last line counts only the groups given no line (more_elsewhere), so
        # that no event is counted twice.
        sections = tuple(
            DigestSection(
                heading,
                tuple(
                    _item(event.brief, with_date=True)
                    for _, _, event in heapq.nlargest(shown[heading], self.newest[heading])
                ),
                more=self.counts[heading] - shown[heading],
                story=heading != OTHER_NEWS,
            )
            for heading in order
            if shown[heading]
        )
        more = len(self.event_ids) - sum(shown.values())
        hint = f"/search {search} since:{self.since}" if more and search else None
        return DigestContent("new", title, sections, more, hint, tuple(self.event_ids))


def new_content(
    events: Iterable[NewEvent], *, limit: int = NEW_ITEMS, search: str | None = "query:*"
) -> DigestContent:
    """The 'new' digest of these events (NewGrouping)."""
    grouping = NewGrouping(limit)
    grouping.add(events)
    return grouping.content(search)


def search_for(
    filters: DigestFilters, entity_names: tuple[str, ...], server_language: str | None = None
) -> str | None:
    """The /search options that list what a digest with these filters covers; None when
    /search cannot say it (a category, several entities, a language of the digest's own
    other than the server's, which /search reads; an unknown server language counts as
    other): a search listing other events than the digest's would send readers astray."""
    if filters.category or len(entity_names) > 1:
        return None
    if filters.language is not None and filters.language != server_language:
        return None
    query = f"query:{filters.words}" if filters.words else "query:*"
    return f"{query} entity:{entity_names[0]}" if entity_names else query


def items_for(every: str) -> int:
    """How many events a 'new' digest posted this often lists."""
    return NEW_ITEMS if every == "daily" else FREQUENT_ITEMS


async def digest_content(
    storage: Storage,
    digest: Digest,
    *,
    slot: str,
    language: str,
    run: DigestRun | None = None,
    waiting_since: dt.datetime | None = None,
    server_language: str | None = None,
) -> tuple[DigestContent, int]:
    """What a digest's run posts, and (for 'new') the watermark once it is sent. A run
    resumed after a failure posts what it was claimed with. Portal items found at or after
    ``waiting_since`` wait for a later run (storage.news_rules). The server's language
    (what its /search lists), when not given, is the one a manager saved, if any."""
    if digest.kind == "onthisday":
        day = slot_day(slot)
        return await onthisday_content(storage, day, filters=digest.filters, language=language), 0
    grouping = NewGrouping(items_for(digest.every))
    if run is not None:
        covers_to = run.covers_to
        for start in range(0, len(run.items), NEW_EVENTS_BATCH):
            chunk = run.items[start : start + NEW_EVENTS_BATCH]
            grouping.add(await storage.digests.events_by_id(chunk))
    else:
        covers_to = digest.last_event_id
        async for found in storage.digests.new_event_batches(
            digest, language=language, waiting_since=waiting_since
        ):
            grouping.add(found.events)
            covers_to = found.covers_to
    if digest.filters.language is None:
        server_language = language
    elif server_language is None:
        server_language = (await storage.settings.get(digest.guild_id)).language
    search = search_for(digest.filters, digest.entity_names, server_language)
    return grouping.content(search), covers_to
