"""What a digest contains and when it runs (posting it is bot/delivery.py's job).

A run belongs to a slot: a local day in the digest's timezone (daily), a local hour
(hourly), or a batch of the events a poll brought (live). Content depends on the archive and
the digest alone: the same for delivery, /digest preview and the command line.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import render
from bot.digest_content import DigestContent, DigestItem, DigestSection
from storage import Storage
from storage.models import NO_FILTERS, Digest, DigestFilters, DigestRun, EventBrief, NewEvent
from storage.times import utc_iso

log = logging.getLogger(__name__)

ONTHISDAY_ITEMS = 10
NEW_ITEMS = 25  # listed by a daily 'new' digest; the rest are counted
FREQUENT_ITEMS = 50  # by an hourly or live one
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


def new_content(
    events: list[NewEvent], *, limit: int = NEW_ITEMS, search: str | None = "query:*"
) -> DigestContent:
    """New events grouped by story, else by their most frequent entity; at most `limit`
    listed, the rest counted with the /search (`search`: its query and filters) that
    shows them, when there is one."""
    title = "New events"
    if not events:
        return DigestContent("new", title)
    groups: dict[str, list[NewEvent]] = {}
    newest_id: dict[str, int] = {}
    for event in events:
        heading = event.story or event.top_entity or "Other news"
        groups.setdefault(heading, []).append(event)
        newest_id[heading] = max(newest_id.get(heading, 0), event.brief.id)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), -newest_id[kv[0]], kv[0]))
    sections: list[DigestSection] = []
    listed = 0
    for heading, members in ordered:
        room = limit - listed
        if room <= 0:
            break
        newest = sorted(members, key=lambda e: (e.brief.date, e.brief.id), reverse=True)[:room]
        sections.append(
            DigestSection(heading, tuple(_item(e.brief, with_date=True) for e in newest))
        )
        listed += len(newest)
    more = len(events) - listed
    since = min(e.brief.date for e in events)
    hint = f"/search {search} since:{since.isoformat()}" if more and search else None
    return DigestContent(
        "new", title, tuple(sections), more, hint, tuple(e.brief.id for e in events)
    )


def search_for(filters: DigestFilters, entity_names: tuple[str, ...]) -> str | None:
    """The /search options that list what a digest with these filters covers; None when
    /search cannot say it (a category, several entities): a search listing more than the
    digest's events would send readers to the wrong ones."""
    if filters.category or len(entity_names) > 1:
        return None
    query = f"query:{filters.words}" if filters.words else "query:*"
    return f"{query} entity:{entity_names[0]}" if entity_names else query


async def digest_content(
    storage: Storage,
    digest: Digest,
    *,
    slot: str,
    language: str,
    run: DigestRun | None = None,
    waiting_since: dt.datetime | None = None,
) -> tuple[DigestContent, int]:
    """What a digest's run posts, and (for 'new') the watermark once it is sent. A run
    resumed after a failure posts what it was claimed with. Portal items found at or after
    ``waiting_since`` wait for a later run (storage.news_rules)."""
    if digest.kind == "onthisday":
        day = slot_day(slot)
        return await onthisday_content(storage, day, filters=digest.filters, language=language), 0
    if run is not None:
        events, covers_to = await storage.digests.events_by_id(run.items), run.covers_to
    else:
        found = await storage.digests.new_events(
            digest, language=language, waiting_since=waiting_since
        )
        events, covers_to = found.events, found.covers_to
    limit = NEW_ITEMS if digest.every == "daily" else FREQUENT_ITEMS
    search = search_for(digest.filters, digest.entity_names)
    return new_content(events, limit=limit, search=search), covers_to
