"""Links stored from a private feed's items that carry the feed's token: what an upgrade makes
of them (SQLite's migration 0024, PostgreSQL's 0018; the steps that read and write the rows
are storage.sqlite.feed_links and storage.postgres.feed_links).

A private feed's items whose link was empty or only a fragment (``<link>#a1</link>``, Atom's
``<link href=''/>``) were resolved against the feed's URL, token and all
(``…/feed.atom?token=…#a1``), and every member saw it in the event's sources. The URL they
were resolved against is the one the fetch used: the operator's as a URL parser writes it
again (``%2F`` as ``/``, the host in lower case, a default port dropped) or a redirect's
target, so such links are told by the feed's secret values, compared unquoted, not by the
text of the feed's URL. Such a link loses its secret query parameters, everything else kept
(its fragment too); a link the event already has is not kept twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from storage.redaction import without_secret_values


class StoredSource(NamedTuple):
    event_id: int
    position: int
    url: str
    from_feed: bool


class Cleaned(NamedTuple):
    """What becomes of a batch's sources: (event_id, position) of those that go (the event
    has their link already), and (event_id, position, url) of those whose link changes."""

    removed: list[tuple[int, int]]
    changed: list[tuple[int, int, str]]


def cleaned_sources(sources: Iterable[StoredSource], secrets: frozenset[str]) -> Cleaned:
    """The from-feed sources among ``sources`` (every source of their events, in order of
    event and position) that carry one of the feed's ``secrets``, without them."""
    removed: list[tuple[int, int]] = []
    changed: list[tuple[int, int, str]] = []
    by_event: dict[int, list[StoredSource]] = {}
    for source in sources:
        by_event.setdefault(source.event_id, []).append(source)
    for event_id, rows in by_event.items():
        bare = {
            row.position: url
            for row in rows
            if row.from_feed and (url := without_secret_values(row.url, secrets)) is not None
        }
        # The links the event keeps as they are, then each cleaned one in order of position:
        # a cleaned link the event has already goes, as the same link twice would show.
        seen = {row.url for row in rows if row.position not in bare}
        for position, url in sorted(bare.items()):
            if url in seen:
                removed.append((event_id, position))
            else:
                seen.add(url)
                changed.append((event_id, position, url))
    return Cleaned(removed, changed)


def cleaned_identities(identities: Iterable[str], secrets: frozenset[str]) -> list[tuple[str, str]]:
    """(old, new) for the entries' identities that carry one of the feed's ``secrets``: an
    entry without a GUID is known by its link, and follows it."""
    return [
        (identity, bare)
        for identity in identities
        if (bare := without_secret_values(identity, secrets)) is not None
    ]
