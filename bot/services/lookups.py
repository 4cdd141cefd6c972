"""The lookups people make, shared by the slash commands and the command line.

Each function takes what a person typed, checks it, asks storage, and returns plain data
for the renderers; anything wrong with the input raises a UserError that says what and,
where it can, what was probably meant.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass

from bot.errors import InvalidInput, NotFound
from storage import Storage
from storage.keys import parse_key
from storage.models import EntityProfile, Event, EventBrief, RelatedEvent, SearchFilter, SearchHit
from storage.query import MAX_TERMS, Problem, parse_query, typed_text
from storage.textindex import same_script

RELATED_SHOWN = 10
MAX_LIMIT = 100
DATE_HELP = "use YYYY-MM-DD, e.g. 2017-06-16"
DAY_HELP = "use MM-DD or YYYY-MM-DD, e.g. 06-16"
SUGGESTIONS = 5
# Autocomplete's value for an entity whose name a choice's value cannot hold (100 characters).
ENTITY_CHOICE_PREFIX = "entity:"


@dataclass(frozen=True, slots=True)
class EventCard:
    event: Event
    related: list[RelatedEvent]
    portal_page: str | None = None  # the Current events day page that lists the event


def row_id(text: str) -> int | None:
    """An id as typed: ASCII digits (not "²", which isdigit() takes) that fit a database
    integer; None for anything else."""
    text = text.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        return None
    return int(text)


def _digits(text: str, most: int) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= most


def parse_date(text: str, *, what: str = "date") -> dt.date:
    text = typed_text(text).strip()  # fullwidth digits, as a Chinese keyboard types them
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    parts = text.split("-")
    if len(parts) == 3 and all(_digits(p, 9) for p in parts):
        _check_year_first(parts, f"The {what} {text[:40]!r}", DATE_HELP)
        try:
            return dt.date(int(parts[0]), int(parts[1]), int(parts[2]))
        except (ValueError, OverflowError) as exc:
            raise InvalidInput(f"The {what} {text[:40]!r} is not a real date ({exc}).") from None
    raise InvalidInput(f"The {what} {text[:40]!r} is not a date: {DATE_HELP}.")


def _check_year_first(parts: list[str], named: str, help_text: str) -> None:
    """Refuse a date whose year is not first and four digits: 17-12-31 is not the year 17,
    and 16-06-2017 (day first) or 06-16-2017 (month first) is a real day in another order."""
    if len(parts[0]) == 4:
        return
    if len(parts[-1]) != 4:
        raise InvalidInput(f"{named} needs its year in four digits: {help_text}.")
    first, second = int(parts[0]), int(parts[1])
    example = "e.g. 2017-06-16"
    if (first > 12) != (second > 12):  # only one reading is a month and a day
        month, day = (second, first) if first > 12 else (first, second)
        with contextlib.suppress(ValueError):
            example = f"{dt.date(int(parts[2]), month, day).isoformat()} for that day"
    raise InvalidInput(f"{named} has its year last: the order is YYYY-MM-DD, {example}.")


def parse_day(text: str) -> tuple[int, int, int | None]:
    """'MM-DD' or 'YYYY-MM-DD' -> (month, day, the year or None); fullwidth digits too."""
    parts = typed_text(text).strip().split("-")
    if not (2 <= len(parts) <= 3 and all(_digits(p, 9) for p in parts)):
        raise InvalidInput(f"{text[:40]!r} is not a day: {DAY_HELP}.")
    if len(parts) == 3:
        _check_year_first(parts, repr(text[:40]), DAY_HELP)
    numbers = [int(p) for p in parts]
    month, day = numbers[-2:]
    year = numbers[0] if len(numbers) == 3 else None
    try:
        dt.date(2000 if year is None else year, month, day)  # 2000: 02-29 is a real day
    except (ValueError, OverflowError) as exc:
        raise InvalidInput(f"{text[:40]!r} is not a real day ({exc}).") from None
    return month, day, year


def parse_month_day(text: str) -> tuple[int, int]:
    """'MM-DD' or 'YYYY-MM-DD' -> (month, day)."""
    month, day, _ = parse_day(text)
    return month, day


def _check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"The limit must be between 1 and {MAX_LIMIT}.")
    return limit


async def find_event(storage: Storage, query: str, *, language: str | None = None) -> Event:
    """The event a key names (in any language), or the best match for the words among the
    events in a language ('en', 'zh'; 'all' or None: both)."""
    query = query.strip()
    if not query:
        raise InvalidInput("Say which event: a key such as 2017/06/16/<slug>, or some words.")
    if parse_key(query) is not None:
        event = await storage.events.get_by_key(query)
        if event is not None:
            return event
    check_search_words(query)  # words /search would refuse ("s*", "-Russia") are refused here too
    hits = await storage.search.search(SearchFilter(text=query, language=language), limit=1)
    if hits:
        event = await storage.events.get(hits[0].event.id)
        if event is not None:
            return event
    closest = await storage.search.closest(query, limit=SUGGESTIONS, language=language)
    raise NotFound(
        f"No event matches {_quote(query)}.",
        [f"{b.date.isoformat()} {b.headline}" for b in closest],
        [b.key for b in closest],
    )


async def event_card(
    storage: Storage, query: str, *, related: int = RELATED_SHOWN, language: str | None = None
) -> EventCard:
    return await card_for(
        storage, await find_event(storage, query, language=language), related=related
    )


async def card_for(storage: Storage, event: Event, *, related: int = RELATED_SHOWN) -> EventCard:
    """What an event's card shows: the event, its top related events, its portal page."""
    page = await storage.portal.page_of(event.id)
    return EventCard(
        event,
        await storage.events.related(event.id, limit=related),
        portal_page=page[0] if page else None,
    )


async def related_events(
    storage: Storage,
    query: str,
    *,
    limit: int = RELATED_SHOWN,
    offset: int = 0,
    language: str | None = None,
) -> tuple[Event, list[RelatedEvent]]:
    """The event (found as find_event finds it, in a language) and the events related to it,
    in every language: the rule ranks by shared entities, whatever the edition."""
    event = await find_event(storage, query, language=language)
    return event, await storage.events.related(event.id, limit=_check_limit(limit), offset=offset)


def entity_choice_id(value: str) -> int | None:
    """The entity id an autocomplete value names (`entity:<id>`); None for a name."""
    if not value.startswith(ENTITY_CHOICE_PREFIX):
        return None
    return row_id(value[len(ENTITY_CHOICE_PREFIX) :])


async def find_entity(storage: Storage, name: str) -> tuple[int, str] | None:
    """(id, canonical name) of the entity a typed name means, or an autocomplete value
    (`entity:<id>`) names; None when none does."""
    ident = entity_choice_id(name)
    if ident is not None:
        return await storage.entities.find_by_id(ident)
    return await storage.entities.find(name)


async def entity_ids(storage: Storage, name: str) -> tuple[int, ...]:
    """The entity a typed name (or an autocomplete value) means; unknown names get the
    closest known ones."""
    return ((await known_entity(storage, name))[0],)


async def known_entity(storage: Storage, name: str) -> tuple[int, str]:
    """The entity (id, canonical name) a typed name (or an autocomplete value) means;
    unknown names are refused with the closest known ones."""
    if not name.strip():
        raise InvalidInput("Give an entity's name: a person, group, place or story.")
    found = await find_entity(storage, name)
    if found is None and entity_choice_id(name) is not None:
        raise NotFound("That entity is no longer in the archive.")
    if found is None:
        # More than are shown: those in another script than the name's are left out.
        closest = await storage.entities.closest(name, limit=SUGGESTIONS * 4)
        in_script = [n for n in closest if same_script(name, n)][:SUGGESTIONS]
        raise NotFound(f"No entity is called {_quote(name)}.", in_script)
    return found


def check_search_words(text: str) -> None:
    """Refuse words the search cannot use, saying how to write them."""
    problem = parse_query(text).problem()
    if problem is None:
        return
    match problem.kind:
        case Problem.ONLY_EXCLUSIONS:
            raise InvalidInput(
                f"{_quote(text)} only says what to leave out (-word excludes events with the"
                " word): give a word to find too, e.g. Syria -Russia."
            )
        case Problem.SHORT_PREFIX:
            raise InvalidInput(
                f"{_quote(' '.join(problem.terms))} would match almost every event: give a"
                " prefix at least two letters, or search for the word itself."
            )
        case Problem.TOO_MANY_WORDS:
            raise InvalidInput(
                f"A search takes {MAX_TERMS} words at most (little words such as “the” aside):"
                f" {_quote(' '.join(problem.terms))} is more. Leave out some words."
            )
        case Problem.NOTHING_TO_FIND:
            raise InvalidInput(
                f"There is nothing to search for in {_quote(text)}: type some words, "
                '"a phrase", word* for a prefix, -word to exclude.'
            )


async def search(
    storage: Storage,
    text: str,
    *,
    entity: str | None = None,
    since: str | dt.date | None = None,
    until: str | dt.date | None = None,
    limit: int = 10,
    offset: int = 0,
    language: str | None = None,
) -> list[SearchHit]:
    """Events matching the words and filters, in a language ('en', 'zh'; 'all' or None:
    both)."""
    if (
        text.strip() == "*"
    ):  # "everything": the filters alone decide (digests and alerts link to it)
        text = ""
    since_date = parse_date(since, what="since date") if isinstance(since, str) else since
    until_date = parse_date(until, what="until date") if isinstance(until, str) else until
    if since_date and until_date and since_date > until_date:
        raise InvalidInput(
            f"The since date {since_date.isoformat()} is after"
            f" the until date {until_date.isoformat()}."
        )
    if text.strip():
        check_search_words(text)
    if not text.strip() and entity is None and since_date is None and until_date is None:
        raise InvalidInput("Type some words to search for, or give an entity or dates.")
    ids = await entity_ids(storage, entity) if entity else None
    query = SearchFilter(
        text=text, entity_ids=ids, since=since_date, until=until_date, language=language
    )
    return await storage.search.search(query, limit=_check_limit(limit), offset=offset)


async def on_this_day(
    storage: Storage,
    day: str | None = None,
    *,
    today: dt.date | None = None,
    earlier_years_only: bool = False,
    limit: int = 50,
    offset: int = 0,
    language: str | None = None,
) -> tuple[int, int, list[EventBrief]]:
    """Events on a month and day, newest year first: (month, day, events). A day with a
    year (YYYY-MM-DD) asks for that year and earlier ones: events up to that date. Only
    events in a language ('en', 'zh'; 'all' or None: both). February 28 of a common year
    (the year given, else today's) shows February 29's events too, dated as they are."""
    today = today or dt.date.today()
    month, day_of_month, year = parse_day(day) if day else (today.month, today.day, None)
    before = today.year if earlier_years_only else None
    if year is not None and year < dt.MAXYEAR:
        before = min(year + 1, before or year + 1)
    events = await storage.events.on_this_day(
        month,
        day_of_month,
        year=today.year if year is None else year,
        before_year=before,
        limit=_check_limit(limit),
        offset=offset,
        language=language,
    )
    return month, day_of_month, events


async def entity_profile(
    storage: Storage, name: str, *, language: str | None = None
) -> EntityProfile:
    """An entity's profile; its recent events only in a language ('en', 'zh'; 'all' or
    None: every one)."""
    (entity_id,) = await entity_ids(storage, name)
    return await storage.entities.profile(entity_id, language=language)


def _quote(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return f"“{text[:limit]}…”" if len(text) > limit else f"“{text}”"
