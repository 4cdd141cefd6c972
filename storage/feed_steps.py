"""Storing a feed's unseen entries, the same on every backend: which event each entry
joins (the same story) or makes, and what that adds. The backends give the reads and
writes (their SQL) in the poll's transaction; the order and the decisions are here.

Two rules are applied here, before the caller's ``same_story`` decision, because they
need what only the transaction knows:

* **A re-emitted entry is not news again.** Some feeds give an entry a new identity on
  every fetch (rotating GUIDs; GUID-less entries whose links carry a per-fetch parameter).
  An unseen entry is the same story as an event this same feed carried before when that
  event is of the entry's day, its folded headline is the entry's (or, for an event the
  feed joined rather than made, nearly the same: that is how the feed joined it), and none
  of the identities by which the feed carried it is still in the document (``carried``):
  the entry took that identity's place. Two entries the document carries at once stay two
  events whatever their headlines ("M 4.5 - 10 km SW of Ridgecrest, CA" twice), and a
  generic headline ("Live updates", "Morning briefing") on another day is another story.
  The entry joins that event: no new event, nothing announced, no source added.
* **A link names a story only for its teller's account of it.** The event already citing
  the entry's link is offered to ``same_story`` (``same_link``) only when the headlines
  are the same story (folded alike, or nearly the same by the day index's rule), or when
  the event is not this feed's alone (the archive or another feed told it: "the same story
  from two feeds") and is dated within LINK_DAYS of the entry. An event this feed alone
  made is never joined by a new identity with another headline: a status feed whose every
  item links to ``/history`` makes one event per item. Nor is a page cited long ago (a
  section page such as ``/world`` an archive event once cited).

And one rule for the entries the feed carried before:

* **A corrected entry corrects its event, in place.** An entry still in the document
  whose headline or summary is no longer its event's (a wire's "kills 10" corrected to
  "kills 100") gives the event its new headline, summary and language (searched by them
  from then on; its key, date and sources stay, nothing is announced again), and its links
  become the names the new text mentions: all of its links came from its entry's text, so
  a name the correction drops ("Russia recalls..." corrected to "Belarus recalls...") is
  unlinked, and a name it brings is linked, which alerts that entity's subscribers
  (storage.subscription_rules). Only an event this feed alone told: made by its entries
  (``origin = 'feed'``), carried by no other feed, not listed by the portal, not taken off;
  an event of the archive or the portal, or one another feed joined, keeps its text (whose
  telling wins is not the feed's to say). Nor when the document's entries of one event
  (a re-emitted identity beside the old one) say different things.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from storage.headline_index import MIN_HEADLINE_TOKENS
from storage.models import EntryText, EventBrief, FeedItem, StoredEntries
from storage.textindex import NEAR_DUPLICATE, at_least_as_similar, fold, headline_tokens

# Which existing event an item is the same story as, if any: given the event one of whose
# sources is the item's link (when that link can name the item's story, see above), and
# the events of its day, then of the day either side, with nearly its headline.
SameStory = Callable[[FeedItem, int | None, Sequence[EventBrief]], int | None]

# Days apart an entry and an event told by someone else may be and still be joined by a
# shared link alone: two tellings of one article are dated a day or so apart, a page cited
# over a longer span (a section, a history page) names no one story.
LINK_DAYS: Final = 2


@dataclass(frozen=True, slots=True)
class LinkedEvent:
    """The live event one of whose sources is a link, as placing an entry needs it."""

    id: int
    date: dt.date
    headline: str
    feed_only: bool  # made by this feed (origin 'feed') and carried by no other feed


@dataclass(frozen=True, slots=True)
class OwnEvent:
    """A complete, live event of one day that this feed carried before."""

    id: int
    headline: str
    feed_only: bool  # made by this feed and carried by no other feed
    identities: tuple[str, ...]  # this feed's identities that became or joined it


@dataclass(frozen=True, slots=True)
class ToldEvent:
    """The event an entry of the feed made or joined, as correcting it needs it."""

    id: int
    date: dt.date
    headline: str
    summary: str
    feed_only: bool  # made by this feed, carried by no other, not on the portal, live


def retold(texts: Iterable[EntryText], told: Mapping[str, ToldEvent]) -> dict[int, EntryText]:
    """The events these entries correct (see above), each with its new text: ``told`` is
    the event each identity made or joined (identities of no event left out)."""
    by_event: dict[int, list[EntryText]] = {}
    for text in texts:
        event = told.get(text.identity)
        if event is not None and event.feed_only:
            by_event.setdefault(event.id, []).append(text)
    corrections: dict[int, EntryText] = {}
    for event_id, group in by_event.items():
        if len({(text.headline, text.summary) for text in group}) > 1:
            continue  # the document tells it two ways: neither is the correction
        event, text = told[group[0].identity], group[0]
        if (event.headline, event.summary) != (text.headline, text.summary):
            corrections[event_id] = text
    return corrections


def own_events(rows: Iterable[Any]) -> list[OwnEvent]:
    """Rows of (event id, headline, one identity of this feed's, feed only), one per
    identity, as one OwnEvent per event, in the rows' order of events."""
    events: dict[int, tuple[str, bool, list[str]]] = {}
    for event_id, headline, identity, feed_only in rows:
        events.setdefault(int(event_id), (str(headline), bool(feed_only), []))[2].append(
            str(identity)
        )
    return [
        OwnEvent(event_id, headline, feed_only, tuple(identities))
        for event_id, (headline, feed_only, identities) in events.items()
    ]


class EntrySQL(Protocol):
    """What placing entries needs of a backend, for one feed, in one transaction."""

    async def same_link(self, link: str | None) -> LinkedEvent | None:
        """The first live event one of whose sources is this link."""
        ...

    async def alike(self, item: FeedItem, mine: set[int]) -> Sequence[EventBrief]:
        """Events with nearly the item's headline, told by someone else (not in ``mine``,
        nor carried by this feed before): of the item's day, most similar first, then of
        the day before and after."""
        ...

    async def own_events(self, date: dt.date) -> Sequence[OwnEvent]:
        """Complete live events of the day that this feed carried before, by id."""
        ...

    async def add_source(self, event_id: int, link: str) -> int:
        """The link as one more source of the event, credited to the feed; how many
        sources were added."""
        ...

    async def is_feed_event(self, event_id: int) -> bool: ...

    async def create_event(self, item: FeedItem) -> int: ...

    async def told(self, identities: Sequence[str]) -> dict[str, ToldEvent]:
        """The live event each of these identities of the feed made or joined."""
        ...

    async def correct(self, event: ToldEvent, text: EntryText) -> None:
        """The event's headline, summary and language as the text has them, searched so;
        its links the text's names, and no others (the entities it gains kept as
        corrected links, storage.subscription_rules)."""
        ...


@dataclass(slots=True)
class Placed:
    """Where a poll's unseen entries went, and what is left to write of it."""

    stored: StoredEntries = field(default_factory=StoredEntries)
    entries: list[tuple[str, int]] = field(default_factory=list)  # (identity, event), new
    links: list[tuple[int, str]] = field(default_factory=list)  # (event, entity name)
    mine: set[int] = field(default_factory=set)  # events the feed made or joined


def same_headline(a: str, b: str, *, near: bool = True) -> bool:
    """Whether two headlines tell one story: folded alike, or (``near``) nearly the same
    by the day index's rule (folded-token Jaccard >= NEAR_DUPLICATE, four tokens each)."""
    if fold(a) == fold(b):
        return True
    if not near:
        return False
    ta, tb = headline_tokens(a), headline_tokens(b)
    if len(ta) < MIN_HEADLINE_TOKENS or len(tb) < MIN_HEADLINE_TOKENS:
        return False
    return at_least_as_similar(ta, tb, NEAR_DUPLICATE)


def link_names_story(item: FeedItem, event: LinkedEvent) -> bool:
    """Whether the event citing the item's link may be offered as its story (see above)."""
    if same_headline(item.headline, event.headline):
        return True
    if event.feed_only:
        return False
    return abs((item.date - event.date).days) <= LINK_DAYS


def _own_twin(
    item: FeedItem, own: Sequence[OwnEvent], carried: Collection[str], mine: set[int]
) -> int | None:
    """The event this feed carried before that the item re-emits (see above), if any."""
    for event in own:
        if event.id in mine or any(identity in carried for identity in event.identities):
            continue
        if same_headline(item.headline, event.headline, near=not event.feed_only):
            return event.id
    return None


async def place_entries(
    items: Sequence[FeedItem],
    seen: set[str],
    same_story: SameStory | None,
    sql: EntrySQL,
    carried: Collection[str] | None = None,
    corrections: Sequence[EntryText] = (),
) -> Placed:
    """Each item not ``seen`` (identities the feed carried before; the set is added to)
    joins the event of its story, or makes one; ``same_story`` None makes every item a new
    event. ``carried`` is every identity of the document the items come from; without it
    no entry is recognised as a re-emission of the feed's own event. ``corrections``, what
    entries the feed carried before say now, correct their events first (see above)."""
    placed = Placed()
    await correct_events(corrections, sql, placed)
    stored = placed.stored
    own_by_day: dict[dt.date, Sequence[OwnEvent]] = {}
    documented = frozenset(carried) if carried is not None else None
    for item in items:
        if item.identity in seen:
            stored.already_seen += 1
            continue
        seen.add(item.identity)
        event_id: int | None = None
        if same_story is not None and documented is not None:
            if item.date not in own_by_day:
                own_by_day[item.date] = await sql.own_events(item.date)
            twin = _own_twin(item, own_by_day[item.date], documented, placed.mine)
            if twin is not None:
                # The feed's own story again under a new identity: recorded, nothing added.
                placed.mine.add(twin)
                stored.merged.append(twin)
                placed.entries.append((item.identity, twin))
                continue
        if same_story is not None:
            linked = await sql.same_link(item.link)
            same_link = linked.id if linked and link_names_story(item, linked) else None
            alike = await sql.alike(item, placed.mine)
            event_id = same_story(item, same_link, alike)
            if event_id is not None and event_id != same_link:
                if event_id not in {event.id for event in alike}:
                    raise ValueError(f"event {event_id} was not a candidate for {item.key}")
                if item.link:  # joined by its headline: its link is one more source
                    stored.sources_added += await sql.add_source(event_id, item.link)
        if event_id is not None:
            placed.mine.add(event_id)
            stored.merged.append(event_id)
            if await sql.is_feed_event(event_id):
                # The same story told by another feed may name more entities; archive
                # events keep the archive's own (curated) list.
                placed.links.extend((event_id, name) for name in item.entities)
        else:
            event_id = await sql.create_event(item)
            placed.mine.add(event_id)
            stored.created.append(event_id)
            if item.announce:
                stored.announced.append(event_id)
            placed.links.extend((event_id, name) for name in item.entities)
        placed.entries.append((item.identity, event_id))
    return placed


async def correct_events(corrections: Sequence[EntryText], sql: EntrySQL, placed: Placed) -> None:
    """The events these entries carried before correct (see above), corrected, and linked
    to the names their new texts mention; their ids go to ``placed.stored.corrected``."""
    if not corrections:
        return
    told = await sql.told([text.identity for text in corrections])
    for event_id, text in retold(corrections, told).items():
        await sql.correct(told[text.identity], text)
        placed.stored.corrected.append(event_id)
        placed.mine.add(event_id)
