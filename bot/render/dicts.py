"""Models -> JSON-ready dicts: the CLI's --json, a public interface."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from storage.models import ArchiveStats, EntityProfile, Event, EventBrief, RelatedEvent
from storage.times import utc_iso

if TYPE_CHECKING:
    from bot.services.wikipedia_days import WikipediaStatus
    from storage.models import Feed


def brief_to_dict(brief: EventBrief) -> dict[str, Any]:
    return {
        "key": brief.key,
        "date": brief.date.isoformat(),
        "headline": brief.headline,
        "complete": brief.complete,
        "url": brief.url,
    }


def related_to_dict(item: RelatedEvent) -> dict[str, Any]:
    return {**brief_to_dict(item.event), "shared": list(item.shared)}


def event_to_dict(
    event: Event, related: Sequence[RelatedEvent] = (), *, portal_page: str | None = None
) -> dict[str, Any]:
    images = [s.url for s in event.sources if s.is_image]
    return {
        "key": event.key,
        "date": event.date.isoformat(),
        "headline": event.headline,
        "summary": event.summary,  # as stored: "" when the page has none
        "story": event.story,
        "category": event.category,
        "complete": event.complete,
        "portal_page": portal_page,
        "removed_at": utc_iso(event.removed_at),
        "entities": list(event.entities),
        "sources": [{"name": s.name, "url": s.url} for s in event.sources if not s.is_image],
        "image": images[0] if images else None,
        "images": images,  # every cover image, one a source at most
        "related": [related_to_dict(r) for r in related],
        "articles": [
            {"title": a.title, "text": a.text, "publisher": a.publisher, "score": a.score}
            for a in event.articles
        ],
    }


def feed_to_dict(feed: Feed) -> dict[str, Any]:
    return {
        "id": feed.id,
        "name": feed.name,
        "url": feed.url,
        "status": feed.status,
        "disabled_reason": feed.disabled_reason,
        "disabled_at": utc_iso(feed.disabled_at),
        "added_at": utc_iso(feed.added_at),
        "last_success_at": utc_iso(feed.last_success_at),
        "last_attempt_at": utc_iso(feed.last_attempt_at),
        "last_error": feed.last_error,
        "last_error_kind": feed.last_error_kind,
        "last_error_at": utc_iso(feed.last_error_at),
        "consecutive_failures": feed.consecutive_failures,
        "next_poll_at": utc_iso(feed.next_poll_at) if feed.active else None,
        "events_added": feed.events_added,
        "entries_seen": feed.entries_seen,
    }


def wikipedia_status_to_dict(status: WikipediaStatus) -> dict[str, Any]:
    poll = status.poll
    return {
        "api_url": status.api_url,
        "poll_minutes": status.poll_minutes,
        "last_poll_at": utc_iso(poll.last_attempt_at),
        "last_success_at": utc_iso(poll.last_success_at),
        "last_error": poll.last_error,
        "last_error_at": utc_iso(poll.last_error_at),
        "consecutive_failures": poll.consecutive_failures,
        "next_poll_at": utc_iso(poll.next_poll_at) if status.poll_minutes else None,
        "days": [
            {
                "date": d.date.isoformat(),
                "title": d.title,
                "url": d.page_url,
                "revision": d.revision_id,
                "revision_at": utc_iso(d.revision_at),
                "events": d.items,
                "error": d.error,
                "fetched_at": utc_iso(d.fetched_at),
            }
            for d in status.days
        ],
    }


def entity_to_dict(profile: EntityProfile) -> dict[str, Any]:
    return {
        "name": profile.name,
        "aliases": list(profile.aliases),
        "events": profile.event_count,
        "first_date": profile.first_date.isoformat() if profile.first_date else None,
        "last_date": profile.last_date.isoformat() if profile.last_date else None,
        "recent": [brief_to_dict(b) for b in profile.recent],
        "co_entities": [{"name": n, "events": c} for n, c in profile.co_entities],
    }


def stats_to_dict(stats: ArchiveStats) -> dict[str, Any]:
    return {
        "events": stats.events,
        "complete": stats.events - stats.incomplete,
        "incomplete": stats.incomplete,
        "entities": stats.entities,
        "sources": stats.sources,
        "articles": stats.articles,
        "first_date": stats.first_date.isoformat() if stats.first_date else None,
        "last_date": stats.last_date.isoformat() if stats.last_date else None,
        **stats.extra,
        "wikipedia_read_at": utc_iso(stats.portal_read_at),
    }
