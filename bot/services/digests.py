"""Digest settings as people type them, checked and resolved; previews. Shared by /digest
and `chronicle digest`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.digest_content import DigestContent
from bot.digests import NEW_ITEMS, NewGrouping, items_for, onthisday_content, search_for
from bot.errors import InvalidInput
from bot.services.lookups import check_search_words, known_entity
from storage import Storage
from storage.models import LANGUAGES, Digest, DigestFilters

MAX_WORDS_CHARS = 200


async def resolve_filters(
    storage: Storage,
    *,
    entities: Sequence[str] = (),
    category: str | None = None,
    words: str | None = None,
    language: str | None = None,
) -> tuple[DigestFilters, tuple[str, ...]]:
    """Filters from what was typed, and the canonical names of their entities. Unknown
    entities and categories, and words the search cannot read, are refused with a way on."""
    ids: list[int] = []
    names: list[str] = []
    for typed in (e.strip() for e in entities):
        if not typed:
            continue
        found = await known_entity(storage, typed)  # a name, or autocomplete's entity:<id>
        if found[0] not in ids:
            ids.append(found[0])
            names.append(found[1])
    category = " ".join(category.split()) if category else None
    if (
        category
        and not await storage.digests.has_category(category)
        and await storage.entities.find(category) is None
    ):
        known = await storage.digests.categories(category[:3])
        raise InvalidInput(
            f"No event has the category {category[:80]!r}: use one of the portal's"
            " (e.g. Armed conflicts and attacks) or a feed's.",
            known[:5],
        )
    words = " ".join(words.split()) if words else None
    if words:
        if len(words) > MAX_WORDS_CHARS:
            raise InvalidInput(f"The words are too long: at most {MAX_WORDS_CHARS} characters.")
        check_search_words(words)
    if language is not None and language not in LANGUAGES:
        raise InvalidInput(f"{language[:20]!r} is not a language here: use en, zh or all.")
    filters = DigestFilters(tuple(ids), category, words, language)
    return filters, tuple(names)


async def find_digest(
    storage: Storage,
    guild_id: int,
    *,
    kind: str,
    filters: DigestFilters,
    channel_id: int | None = None,
) -> Digest | None:
    """The server's digest of this kind and filters (in that channel, when one is given)."""
    return next(
        (
            d
            for d in await storage.digests.for_guild(guild_id)
            if d.kind == kind
            and d.filters.key == filters.key
            and channel_id in (None, d.channel_id)
        ),
        None,
    )


def describe_filters(filters: DigestFilters, entity_names: Sequence[str]) -> str:
    """The filters as a person reads them; empty for none."""
    parts = []
    if entity_names:
        parts.append("about " + " or ".join(entity_names))
    if filters.category:
        parts.append(f"in {filters.category}")
    if filters.words:
        parts.append(f"matching “{filters.words}”")
    if filters.language:
        parts.append(f"language {filters.language}")
    return ", ".join(parts)


async def preview_content(
    storage: Storage,
    *,
    kind: str,
    filters: DigestFilters,
    entity_names: tuple[str, ...],
    language: str,
    today: dt.date,
    now: dt.datetime,
    existing: Digest | None = None,
    server_language: str | None = None,
    waiting_since: dt.datetime | None = None,
) -> DigestContent:
    """What a digest of this kind and filters would post now: on this day today, or the
    new events after the existing digest's last post (none yet: of the last day), as many
    listed as its post lists, without the portal items found at or after ``waiting_since``
    (they wait for the next poll, storage.news_rules). ``server_language``: what the
    server's /search reads."""
    if kind == "onthisday":
        return await onthisday_content(storage, today, filters=filters, language=language)
    grouping = NewGrouping(items_for(existing.every) if existing else NEW_ITEMS)
    async for events in storage.digests.preview_batches(
        existing, filters, language=language, now=now, waiting_since=waiting_since
    ):
        grouping.add(events)
    return grouping.content(search_for(filters, entity_names, server_language))
