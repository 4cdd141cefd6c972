"""The lookups: show, search, onthisday, related, entity, stats."""

from __future__ import annotations

import argparse
import datetime as dt

from bot import render
from bot.cli.output import print_json, text_width, words
from bot.config import Settings
from bot.services import lookups
from storage import Storage
from storage.models import EntityProfile


async def cmd_show(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    card = await lookups.event_card(storage, words(args.query), language=args.language)
    if args.json:
        print_json(render.event_to_dict(card.event, card.related, portal_page=card.portal_page))
    else:
        print(render.event_text(card, width=text_width(), keys=args.keys))
    return 0


async def cmd_search(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    hits = await lookups.search(
        storage,
        words(args.text),
        entity=args.entity,
        since=args.since,
        until=args.until,
        limit=args.limit,
        language=args.language,
    )
    if args.json:
        print_json([render.brief_to_dict(h.event) for h in hits])
    else:
        print(render.hits_text(hits, width=text_width(), keys=args.keys))
    return 0


async def cmd_onthisday(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    today = dt.date.today()
    month, day, events = await lookups.on_this_day(
        storage, args.day, today=today, limit=args.limit, language=args.language
    )
    if args.json:
        print_json([render.brief_to_dict(b) for b in events])
    else:
        up_to = lookups.parse_day(args.day)[2] if args.day else None
        print(
            render.onthisday_text(
                month, day, events, today, up_to=up_to, width=text_width(), keys=args.keys
            )
        )
    return 0


async def cmd_related(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    event, related = await lookups.related_events(storage, words(args.query), limit=args.limit)
    if args.json:
        print_json([render.related_to_dict(r) for r in related])
    else:
        print(render.related_text(event, related, width=text_width(), keys=args.keys))
    return 0


async def cmd_entity(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    print_profile(await lookups.entity_profile(storage, words(args.name)), args)
    return 0


def print_profile(profile: EntityProfile, args: argparse.Namespace) -> None:
    """An entity's profile, as JSON or text (`entity` and `entities show` alike)."""
    if args.json:
        print_json(render.entity_to_dict(profile))
    else:
        print(render.entity_text(profile, width=text_width(), keys=args.keys))


async def cmd_stats(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    stats = await storage.stats()
    if args.json:
        print_json(render.stats_to_dict(stats))
    else:
        print(render.stats_text(stats))
    return 0
