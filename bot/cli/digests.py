"""The `digest` commands: preview what a digest would post."""

from __future__ import annotations

import argparse
import datetime as dt

from bot import render
from bot.cli.output import print_json, text_width
from bot.config import Settings
from bot.services import lookups
from bot.services.digests import preview_content, resolve_filters
from bot.services.portal_news import portal_waiting_since
from storage import Storage


async def cmd_digest_preview(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    now = dt.datetime.now(dt.UTC)
    filters, names = await resolve_filters(
        storage,
        entities=args.entity or [],
        category=args.category,
        words=args.words,
        language=args.language,
    )
    content = await preview_content(
        storage,
        kind=args.kind,
        filters=filters,
        entity_names=names,
        language=args.language,
        today=lookups.parse_date(args.date) if args.date else now.date(),
        now=now,
        # What the bot's digests would leave out (storage.news_rules), as the bot sees it.
        waiting_since=await portal_waiting_since(storage, settings, now),
    )
    if args.json:
        print_json(
            {
                "kind": content.kind,
                "title": content.title,
                "sections": [
                    {
                        "heading": s.heading,
                        "items": [i.text.removeprefix("• ") for i in s.items],
                        "more": s.more,  # of the group's; counted in the digest's too
                    }
                    for s in content.sections
                ],
                "more": content.more,
                "events": list(content.event_ids),
            }
        )
    else:
        print(render.digest_text(content, width=text_width()))
    return 0
