"""The command line's grammar: every command, its arguments and the handler it runs."""

from __future__ import annotations

import argparse
import functools
import importlib
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from bot.cli.migrate import positive, postgresql_url
from bot.config import Settings
from bot.services import lookups
from bot.services.ledgers import LEDGERS_KEPT
from storage import Storage
from storage.location import database_location
from storage.models import LANGUAGES

Handler = Callable[[argparse.Namespace, Settings, Storage], Awaitable[int]]


class LazyHandler:
    """A command's handler, imported when its command runs: `chronicle stats` need not load
    the feeds' HTTP client, the portal's parser or discord.py first."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    async def __call__(self, args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
        handler: Handler = getattr(importlib.import_module(self.module), self.name)
        return await handler(args, settings, storage)


cmd_digest_preview = LazyHandler("bot.cli.digests", "cmd_digest_preview")
cmd_entities_alias = LazyHandler("bot.cli.entities", "cmd_entities_alias")
cmd_entities_show = LazyHandler("bot.cli.entities", "cmd_entities_show")
cmd_feeds_add = LazyHandler("bot.cli.feeds", "cmd_feeds_add")
cmd_feeds_list = LazyHandler("bot.cli.feeds", "cmd_feeds_list")
cmd_feeds_poll = LazyHandler("bot.cli.feeds", "cmd_feeds_poll")
cmd_feeds_remove = LazyHandler("bot.cli.feeds", "cmd_feeds_remove")
cmd_import = LazyHandler("bot.cli.imports", "cmd_import")
cmd_import_articles = LazyHandler("bot.cli.imports", "cmd_import_articles")
cmd_entity = LazyHandler("bot.cli.lookups", "cmd_entity")
cmd_onthisday = LazyHandler("bot.cli.lookups", "cmd_onthisday")
cmd_related = LazyHandler("bot.cli.lookups", "cmd_related")
cmd_search = LazyHandler("bot.cli.lookups", "cmd_search")
cmd_show = LazyHandler("bot.cli.lookups", "cmd_show")
cmd_stats = LazyHandler("bot.cli.lookups", "cmd_stats")
cmd_migrate = LazyHandler("bot.cli.migrate", "cmd_migrate")
cmd_prune = LazyHandler("bot.cli.prune", "cmd_prune")
cmd_run = LazyHandler("bot.cli.run", "cmd_run")
cmd_wikipedia_pull = LazyHandler("bot.cli.wikipedia", "cmd_wikipedia_pull")
cmd_wikipedia_status = LazyHandler("bot.cli.wikipedia", "cmd_wikipedia_status")


class WordsParser(argparse.ArgumentParser):
    """A parser whose words argument (`words`: the dest of a nargs="+" positional) takes
    every argument that only looks like an option: `chronicle search -Russia` searches for
    events without Russia, where argparse would stop at an unknown option "-R". The
    parser's own options, spelled out (-h, --limit, --json ...), stay options; an unknown
    --option is still a mistake; `--` still ends the options. Words that come after an
    option (`search Syria --limit 5 -Russia`) join the ones before it."""

    words: str | None = None

    def _parse_optional(self, arg_string: str) -> Any:
        if (
            self.words is not None
            and arg_string.startswith("-")
            and not arg_string.startswith("--")
            and arg_string not in self._option_string_actions
        ):
            return None  # a word
        return super()._parse_optional(arg_string)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        if self.words is None or not extras:
            return parsed, extras
        # Left over: the words after an option (the positional had taken those before it),
        # and unknown --options, which stay a mistake.
        more = [a for a in extras if not a.startswith("--")]
        if more:
            setattr(parsed, self.words, [*getattr(parsed, self.words), *more])
        return parsed, [a for a in extras if a.startswith("--") and a != "--"]


SEARCH_HELP = f"""\
Search headlines, summaries and articles, best matches first.

TEXT is what to look for (several arguments are one text):
  Baghdadi Raqqa        plain words: all of them must appear
  "Islamic State"       a phrase, as written (quote it for the shell too: '"Islamic State"')
  Russ*                 a prefix (two letters at least)
  Syria -Russia         -word leaves out events with the word (not on its own)
  Syria OR Iraq         either word
  *                     everything: --entity and the dates alone decide
Anything else is text. Chinese and Japanese are searched by characters.

Keys (2017/06/16/<slug>) are shown with --keys; --json always carries them.
At most {lookups.MAX_LIMIT} events are shown (--limit)."""


def add_command(
    group: argparse._SubParsersAction[WordsParser],
    name: str,
    handler: Handler,
    help_text: str,
    *,
    json_flag: bool = True,
    **kwargs: Any,
) -> WordsParser:
    """A command (or a group's action) with its handler and --json; its --help describes it
    with its one-line help unless given a `description`."""
    kwargs.setdefault("description", help_text)
    p = group.add_parser(name, help=help_text, **kwargs)
    p.set_defaults(handler=handler)
    if json_flag:
        p.add_argument("--json", action="store_true", help="print JSON")
    # Taken after the command too, where --json goes (`chronicle stats --db a.db`); not
    # listed twice in --help.
    p.add_argument(
        "--db", type=archive_location, default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    return p


def archive_location(value: str) -> Path | str:
    """--db read as the settings are: a path, a sqlite:/// URL or a postgresql:// URL."""
    try:
        return database_location("--db", value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--db").lstrip(" :")) from None


def build_parser() -> argparse.ArgumentParser:
    parser = WordsParser(
        prog="chronicle",
        description="Chronicle: a news archive and the Discord bot that serves it.",
    )
    parser.add_argument(
        "--db",
        type=archive_location,
        metavar="FILE|URL",
        help="the archive: a SQLite file, or a postgresql:// URL (default:"
        " $CHRONICLE_DATABASE_URL, $CHRONICLE_DB or ./chronicle.db)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    command = functools.partial(add_command, sub)

    def lookup(p: WordsParser, words: str, metavar: str, help_text: str) -> None:
        """A lookup's words (several arguments, a leading -word included) and --keys."""
        p.words = words
        p.add_argument(words, nargs="+", metavar=metavar, help=help_text)
        keys_flag(p)

    def language_flag(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--language",
            choices=LANGUAGES,
            default="all",
            help="only events of the English (en) or Chinese (zh) edition, or both (all, the"
            " default); an event named by its key is found in any",
        )

    def keys_flag(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--keys",
            action="store_true",
            help="show each event's key (2017/06/16/<slug>); --json always has them",
        )

    p = command(
        "run",
        cmd_run,
        "run the Discord bot (imports the sample archive into an empty database)",
        json_flag=False,
    )
    p.add_argument(
        "--shard-count",
        type=int,
        metavar="N",
        help="the bot's shards over all processes (default: $DISCORD_SHARD_COUNT, else as many"
        " as Discord recommends)",
    )
    p.add_argument(
        "--shards",
        metavar="IDS",
        help="the shards this process runs, as A-B or A,B (default: $DISCORD_SHARD_IDS, else"
        " all); several processes need CHRONICLE_DATABASE_URL=postgresql://...",
    )
    p = command(
        "import",
        cmd_import,
        "import archive files or whole folders (Markdown pages and day indexes)",
    )
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument(
        "--announce",
        action="store_true",
        help="treat new events as news: digests and subscription alerts announce them "
        "(default: an import is history)",
    )
    p = command(
        "import-articles",
        cmd_import_articles,
        "attach full article texts to the events they report",
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--event", metavar="KEY", help="attach to this event instead of matching")
    p = command("show", cmd_show, "an event: a key such as 2017/06/16/<slug>, or words")
    lookup(p, "query", "QUERY", "a key, or words of its headline")
    language_flag(p)
    p = command(
        "search",
        cmd_search,
        "search headlines, summaries and articles",
        description=SEARCH_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lookup(p, "text", "TEXT", 'words, "a phrase", word* (prefix), -word (exclude), OR; see above')
    p.add_argument(
        "--entity",
        metavar="NAME",
        help="only events naming this entity (a name or an alias; TEXT may be '')",
    )
    p.add_argument("--since", metavar="DATE", help="only events on or after DATE (YYYY-MM-DD)")
    p.add_argument("--until", metavar="DATE", help="only events on or before DATE (YYYY-MM-DD)")
    p.add_argument(
        "--limit",
        type=int,
        default=10,
        metavar="N",
        help=f"show at most N events, 1 to {lookups.MAX_LIMIT} (default 10)",
    )
    language_flag(p)
    p = command(
        "onthisday",
        cmd_onthisday,
        "events on a month and day in any year, newest first;"
        " YYYY-MM-DD: in that year and earlier ones",
    )
    p.add_argument(
        "day",
        nargs="?",
        metavar="[YYYY-]MM-DD",
        help="default: today; with a year, only events up to that year. 02-28 of a year"
        " without 02-29 (this year, if none is given) shows 02-29's events too",
    )
    p.add_argument("--limit", type=int, default=50, metavar="N")
    keys_flag(p)
    language_flag(p)
    p = command("related", cmd_related, "events related to one, by shared entities")
    lookup(p, "query", "QUERY", "a key, or words of its headline")
    p.add_argument("--limit", type=int, default=10, metavar="N")
    p = command("entity", cmd_entity, "an entity: its events, dates and companions")
    lookup(p, "name", "NAME", "a name or an alias")
    command("stats", cmd_stats, "what the archive holds")
    p = command(
        "prune",
        cmd_prune,
        "delete the digest runs and deliveries nothing needs any more (the bot does it daily)",
        description="Delete the digest runs and deliveries (the ledgers that keep every post"
        f" and alert to one) older than {LEDGERS_KEPT.days} days that nothing can look up any"
        " more, a short transaction at a time: it may run beside the bot, which does the same"
        " once a day. The space they took is used again for new rows; --vacuum also makes a"
        " SQLite file smaller.",
    )
    p.add_argument(
        "--vacuum",
        action="store_true",
        help="then rewrite a SQLite file without the free space (VACUUM), and say how much it"
        " gave back; stop the bot first, and have about the file's size free on disk",
    )

    feeds = sub.add_parser(
        "feeds",
        help="RSS/Atom feeds: add, list, remove, poll",
        description="The RSS/Atom feeds whose new entries become events.",
    )
    feeds_sub = feeds.add_subparsers(dest="feeds_command", required=True, metavar="ACTION")

    p = add_command(
        feeds_sub,
        "add",
        cmd_feeds_add,
        "add a feed and fetch it once; its current entries are stored as history",
    )
    p.add_argument("url", metavar="URL")
    p.add_argument("--name", metavar="NAME", help="publisher name (default: the feed's title)")
    p.add_argument(
        "--backfill",
        type=int,
        default=0,
        metavar="N",
        help="announce the newest N current entries as news (default 0)",
    )
    add_command(feeds_sub, "list", cmd_feeds_list, "every feed with its health and schedule")
    p = add_command(feeds_sub, "remove", cmd_feeds_remove, "remove a feed (its events stay)")
    p.add_argument("feed", metavar="URL|ID")
    p = add_command(
        feeds_sub, "poll", cmd_feeds_poll, "poll due feeds every minute until Ctrl-C (or all once)"
    )
    p.add_argument("--once", action="store_true", help="poll every active feed now, once, and exit")

    wikipedia = sub.add_parser(
        "wikipedia",
        help="Wikipedia's Current events portal: pull a range of days, status",
        description="Wikipedia's Current events portal, read through the MediaWiki API.",
    )
    wikipedia_sub = wikipedia.add_subparsers(
        dest="wikipedia_command", required=True, metavar="ACTION"
    )
    p = add_command(
        wikipedia_sub,
        "pull",
        cmd_wikipedia_pull,
        "read the day pages of a range of days (history, unless --announce)",
        description="Read the portal's day pages from --since to --until (inclusive), 50 a"
        " request. Re-running a pull (after an interruption, say) stores nothing twice.",
    )
    p.add_argument("--since", required=True, metavar="YYYY-MM-DD")
    p.add_argument("--until", metavar="YYYY-MM-DD", help="default: today (UTC)")
    p.add_argument(
        "--announce",
        action="store_true",
        help="treat new events as news: digests and subscription alerts announce them",
    )
    add_command(
        wikipedia_sub,
        "status",
        cmd_wikipedia_status,
        "the last poll, failures, the next poll and the recent days held",
        description=None,
    )

    digest = sub.add_parser("digest", help="digests: preview what one would post")
    digest_sub = digest.add_subparsers(dest="digest_command", required=True, metavar="ACTION")
    p = add_command(
        digest_sub,
        "preview",
        cmd_digest_preview,
        "what a digest would post (today, or --date)",
        description=None,
    )
    p.add_argument("kind", choices=["onthisday", "new"])
    p.add_argument("--date", metavar="YYYY-MM-DD", help="onthisday: the day (default today, UTC)")
    p.add_argument(
        "--entity", action="append", metavar="NAME", help="only events about it (repeatable)"
    )
    p.add_argument("--category", help="only events of this category")
    p.add_argument(
        "--words", help="only events matching these words, the search syntax (--words=-word)"
    )
    p.add_argument("--language", choices=LANGUAGES, default="all", help="en, zh or all (default)")

    entities = sub.add_parser("entities", help="entity names: aliases, merges")
    entities_sub = entities.add_subparsers(dest="entities_command", required=True, metavar="ACTION")
    for name, help_text, source, target in (
        ("alias", "make ALIAS another name of CANONICAL", "ALIAS", "CANONICAL"),
        ("merge", "fold entity SOURCE (and its aliases) into TARGET", "SOURCE", "TARGET"),
    ):
        p = add_command(entities_sub, name, cmd_entities_alias, help_text, description=None)
        p.add_argument("source", metavar=source)
        p.add_argument("target", metavar=target)
    p = add_command(
        entities_sub,
        "show",
        cmd_entities_show,
        "an entity: its canonical name, aliases and events",
        description=None,
    )
    lookup(p, "name", "NAME", "a name or an alias")

    p = command(
        "migrate",
        cmd_migrate,
        "copy the SQLite archive (--db) into an empty PostgreSQL database, and check the copy",
        json_flag=False,
        description="Copy the SQLite archive (--db, else $CHRONICLE_DATABASE_URL or"
        " $CHRONICLE_DB) into an empty PostgreSQL database, then compare the two: every"
        " table's rows, and lookups of a sample of events and entities. Stop the bot first."
        " An interrupted copy continues where it stopped when the command is run again.",
    )
    p.add_argument(
        "--to", required=True, type=postgresql_url, metavar="URL",
        help=(
            "the PostgreSQL database: postgresql://user@host:5432/database (its password in"
            " PGPASSWORD or ~/.pgpass, not in the URL, which ps shows)"
        ),
    )
    p.add_argument(
        "--batch", type=positive, default=5000, metavar="N",
        help="rows copied per transaction (default 5000)",
    )
    p.add_argument(
        "--sample", type=positive, default=50, metavar="N",
        help="events whose lookups are compared after the copy (default 50)",
    )
    return parser
