"""The `entities` commands: aliases, merges, and an entity's names and events."""

from __future__ import annotations

import argparse

from bot import render
from bot.cli.lookups import print_profile
from bot.cli.output import print_json, words
from bot.config import Settings
from bot.errors import InvalidInput
from bot.services import lookups
from storage import Storage
from storage.models import EntityError


async def cmd_entities_alias(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    try:
        if args.entities_command == "merge":
            result = await storage.entities.merge(args.source, args.target)
        else:
            # Two names the archive does not know are most likely a typo: refused, rather
            # than making two new entities that no event names.
            result = await storage.entities.alias(args.source, args.target, require_known=True)
    except EntityError as error:
        raise InvalidInput(str(error)) from None
    if args.json:
        print_json(
            {
                "alias": result.alias,
                "canonical": result.canonical,
                "moved_links": result.moved_links,
            }
        )
    else:
        print(
            f"“{result.alias}” is now a name of “{result.canonical}”"
            f" ({render.count(result.moved_links, 'event link')} moved)."
        )
    return 0


async def cmd_entities_show(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    (entity_id,) = await lookups.entity_ids(storage, words(args.name))
    print_profile(await storage.entities.profile(entity_id, recent=5), args)
    return 0
