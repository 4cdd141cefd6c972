"""Events -> text, JSON-ready dicts and Discord embeds. Pure functions, no I/O, no SQL.

The command line and the bot render from the same models with the same rules, so
`chronicle show` and `/event` say the same things. Each module renders for one reader:
`text` for the terminal (wrapped by `wrap`), `dicts` for --json, `embeds`, `digests` and
`alerts` for Discord (within `limits`, in `markdown`); `common` holds the words all of them
share. Callers import from here: `from bot import render`.
"""

from bot.render.alerts import ALERT_ITEMS, alert_embed
from bot.render.common import count, cut, day_heading, utc_minute, year_heading, years_ago
from bot.render.dicts import (
    brief_to_dict,
    entity_to_dict,
    event_to_dict,
    feed_to_dict,
    related_to_dict,
    stats_to_dict,
    wikipedia_status_to_dict,
)
from bot.render.digests import DIGEST_DESCRIPTION_BUDGET, digest_messages, digest_text
from bot.render.embeds import (
    about_embed,
    entity_embed,
    error_text,
    event_embed,
    onthisday_page_embed,
    related_line,
    related_page_embed,
    search_page_embed,
    source_lines,
    sources_embed,
)
from bot.render.limits import (
    CHOICE_TEXT_LIMIT,
    CHOICES_LIMIT,
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_COLOUR,
    EMBED_TOTAL_LIMIT,
    EMBEDS_PER_MESSAGE,
    FIELD_COUNT_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    FOOTER_LIMIT,
    PAGE_SIZE,
    SELECT_OPTIONS_LIMIT,
    SELECT_TEXT_LIMIT,
    TITLE_LIMIT,
    choice_label,
    fit_embed,
    lines_within,
)
from bot.render.markdown import discord_date, discord_time, escape, link
from bot.render.text import (
    entity_text,
    event_text,
    hits_text,
    onthisday_text,
    related_lines,
    related_text,
    stats_text,
)
from bot.render.wrap import MIN_ROOM, TEXT_WIDTH, hang

__all__ = [
    "ALERT_ITEMS",
    "CHOICES_LIMIT",
    "CHOICE_TEXT_LIMIT",
    "CONTENT_LIMIT",
    "DESCRIPTION_LIMIT",
    "DIGEST_DESCRIPTION_BUDGET",
    "EMBEDS_PER_MESSAGE",
    "EMBED_COLOUR",
    "EMBED_TOTAL_LIMIT",
    "FIELD_COUNT_LIMIT",
    "FIELD_NAME_LIMIT",
    "FIELD_VALUE_LIMIT",
    "FOOTER_LIMIT",
    "MIN_ROOM",
    "PAGE_SIZE",
    "SELECT_OPTIONS_LIMIT",
    "SELECT_TEXT_LIMIT",
    "TEXT_WIDTH",
    "TITLE_LIMIT",
    "about_embed",
    "alert_embed",
    "brief_to_dict",
    "choice_label",
    "count",
    "cut",
    "digest_messages",
    "digest_text",
    "discord_date",
    "discord_time",
    "entity_embed",
    "entity_text",
    "entity_to_dict",
    "error_text",
    "escape",
    "event_embed",
    "event_text",
    "event_to_dict",
    "feed_to_dict",
    "fit_embed",
    "hang",
    "hits_text",
    "lines_within",
    "link",
    "onthisday_page_embed",
    "onthisday_text",
    "related_line",
    "related_lines",
    "related_page_embed",
    "related_text",
    "related_to_dict",
    "search_page_embed",
    "source_lines",
    "sources_embed",
    "stats_text",
    "stats_to_dict",
    "utc_minute",
    "wikipedia_status_to_dict",
    "year_heading",
    "years_ago",
]
