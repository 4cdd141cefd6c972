"""The `chronicle` command line: run the bot, import, and look things up.

Lookups print what the bot would say, as text or (with --json) as JSON. Exit status: 0
when all went well, 1 when something was not found, was invalid or failed to import, 2 for
a command-line mistake.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import functools
import json
import logging
import shutil
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from bot import render
from bot.config import ConfigError, Settings
from bot.console import (
    TerminalProgress,
    as_typed,
    configure_logging,
    not_text,
    pipe_closed,
    protect_stderr,
)
from bot.errors import InvalidInput, UserError
from bot.ingest.feeds.addresses import FetchPolicy
from bot.ingest.feeds.fetch import make_session
from bot.services import imports, lookups
from bot.services.digests import preview_content, resolve_filters
from bot.services.feeds import (
    FeedOutcome,
    FeedService,
    PollReport,
    run_poll_loop,
)
from bot.services.wikipedia import (
    PullReport,
    WikipediaService,
    portal_status,
    wikipedia_policy,
    wikipedia_service,
)
from storage import Storage, StorageError, open_storage
from storage.models import LANGUAGES, EntityError

log = logging.getLogger("chronicle")

Handler = Callable[[argparse.Namespace, Settings, Storage], Awaitable[int]]


def sample_archive() -> Path:
    """The small real archive bundled with Chronicle, imported into an empty database."""
    return Path(str(resources.files("bot") / "sample"))


def _width() -> int:
    """The columns text is wrapped to: the terminal's (or $COLUMNS), else render's 88."""
    return shutil.get_terminal_size((render.TEXT_WIDTH, 24)).columns or render.TEXT_WIDTH


def _words(value: str | list[str]) -> str:
    """A query typed as several arguments (`chronicle search Syria -Russia`) as one text."""
    return value if isinstance(value, str) else " ".join(value)


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def print_import_report(report: imports.ImportReport, as_json: bool) -> None:
    if as_json:
        _print_json(report.as_dict())
        return
    print(
        f"Imported {render.count(report.files, 'file')}: {report.new} new, {report.updated} updated, "
        f"{report.incomplete} incomplete, {report.unchanged} unchanged, "
        f"{len(report.failed)} failed"
        + (f", {len(report.suspect)} suspect" if report.suspect else "")
        + (f", {report.replaced} older versions folded in" if report.replaced else "")
        + (f", {report.superseded} outdated versions skipped" if report.superseded else "")
    )
    for failure in report.failed:
        print(f"  failed: {failure.path}: {failure.reason}", file=sys.stderr)
    for suspect in report.suspect:
        print(f"  suspect: {suspect.path}: {suspect.reason}", file=sys.stderr)


# --- commands ---------------------------------------------------------------------------------


async def cmd_import(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    progress = TerminalProgress("importing") if not args.json else None
    report = await imports.import_archive(
        storage, args.paths, progress=progress, announce=args.announce
    )
    print_import_report(report, args.json)
    return 0 if report.ok else 1


async def cmd_import_articles(
    args: argparse.Namespace, settings: Settings, storage: Storage
) -> int:
    outcomes = await imports.import_articles(storage, args.files, event_key=args.event)
    if args.json:
        _print_json(
            [
                {
                    "path": o.path,
                    "event": o.event_key,
                    "score": o.score,
                    "attached": o.attached,
                    "already_attached": o.already,
                    "reason": o.reason,
                    "candidates": [{"key": k, "score": round(s, 3)} for k, s in o.candidates],
                }
                for o in outcomes
            ]
        )
    else:
        for o in outcomes:
            score = f" (score {o.score:.2f})" if o.score is not None else ""
            if o.reason:
                print(f"unmatched: {o.path}: {o.reason}")
            elif o.already:
                print(f"already attached: {o.path} -> {o.event_key}")
            else:
                print(f"attached: {o.path} -> {o.event_key}{score}\n  {o.headline}")
    return 0 if all(o.reason is None for o in outcomes) else 1


async def cmd_show(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    card = await lookups.event_card(storage, _words(args.query), language=args.language)
    if args.json:
        _print_json(render.event_to_dict(card.event, card.related, portal_page=card.portal_page))
    else:
        print(render.event_text(card, width=_width(), keys=args.keys))
    return 0


async def cmd_search(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    hits = await lookups.search(
        storage,
        _words(args.text),
        entity=args.entity,
        since=args.since,
        until=args.until,
        limit=args.limit,
        language=args.language,
    )
    if args.json:
        _print_json([render.brief_to_dict(h.event) for h in hits])
    else:
        print(render.hits_text(hits, width=_width(), keys=args.keys))
    return 0


async def cmd_onthisday(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    today = dt.date.today()
    month, day, events = await lookups.on_this_day(
        storage, args.day, today=today, limit=args.limit, language=args.language
    )
    if args.json:
        _print_json([render.brief_to_dict(b) for b in events])
    else:
        up_to = lookups.parse_day(args.day)[2] if args.day else None
        print(
            render.onthisday_text(
                month, day, events, today, up_to=up_to, width=_width(), keys=args.keys
            )
        )
    return 0


async def cmd_related(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    event, related = await lookups.related_events(storage, _words(args.query), limit=args.limit)
    if args.json:
        _print_json([render.related_to_dict(r) for r in related])
    else:
        print(render.related_text(event, related, width=_width(), keys=args.keys))
    return 0


async def cmd_entity(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    profile = await lookups.entity_profile(storage, _words(args.name))
    if args.json:
        _print_json(render.entity_to_dict(profile))
    else:
        print(render.entity_text(profile, width=_width(), keys=args.keys))
    return 0


async def cmd_stats(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    stats = await storage.stats()
    if args.json:
        _print_json(render.stats_to_dict(stats))
    else:
        print(render.stats_text(stats))
    return 0


# --- feeds ------------------------------------------------------------------------------------


@asynccontextmanager
async def feed_service(settings: Settings, storage: Storage) -> AsyncIterator[FeedService]:
    """The feed service with one HTTP session, built from the settings (as the bot does)."""
    policy = FetchPolicy(allow_private_addresses=settings.feed_allow_private_addresses)
    async with make_session(policy) as session:
        yield FeedService(storage, session, policy, poll_minutes=settings.feed_poll_minutes)


def _when(moment: dt.datetime | None) -> str:
    return render.utc_minute(moment) if moment else "never"


def outcome_line(outcome: FeedOutcome) -> str:
    """One line per polled feed: what happened and, if it failed, what comes next."""
    who = f"{outcome.name} <{outcome.url}>"
    if outcome.status == "not_modified":
        return f"not modified  {who}"
    if outcome.status == "ok":
        line = f"ok            {who}: {render.count(outcome.entries, 'entry', 'entries')},"
        line += f" {outcome.unseen} unseen"
        if outcome.unseen:
            line += (
                f": {render.count(len(outcome.created), 'new event')}"
                f" ({len(outcome.announced)} announced)"
            )
            if outcome.merged:
                joined = "an existing event" if outcome.merged == 1 else "existing events"
                line += f", {outcome.merged} joined {joined}"
        if outcome.history_reason:
            line += f" [history: {outcome.history_reason}]"
        return line
    if outcome.status == "failed":
        return (
            f"FAILED        {who}: {outcome.error_kind}: {outcome.error}"
            f" ({outcome.consecutive_failures} in a row;"
            f" next attempt {_when(outcome.next_poll_at)})"
        )
    if outcome.status == "disabled":
        return f"DISABLED      {who}: {outcome.disabled_reason}"
    return f"removed       {who}"


async def cmd_feeds_add(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    async with feed_service(settings, storage) as service:
        result = await service.add_feed(args.url, name=args.name, backfill=args.backfill)
    feed, outcome = result.feed, result.outcome
    if args.json:
        _print_json(
            {
                "feed": render.feed_to_dict(feed),
                "reactivated": result.reactivated,
                "discovered_from": result.discovered_from,
                "outcome": outcome.as_dict(),
            }
        )
        return 0
    verb = "Re-activated" if result.reactivated else "Added"
    print(f"{verb} feed {feed.id}: {feed.name} <{feed.url}>")
    if result.discovered_from:
        print(f"  the feed {result.discovered_from} advertises (it is a web page, not a feed)")
    if outcome.ok:
        print(
            f"  {render.count(outcome.entries, 'entry', 'entries')}:"
            f" {render.count(len(outcome.created), 'new event')},"
            f" {len(outcome.announced)} announced as news,"
            f" {outcome.merged} joined existing events"
        )
        print(f"  next poll {_when(feed.next_poll_at)}")
    else:
        print(
            f"  the first fetch failed ({outcome.error_kind}: {outcome.error});"
            f" next attempt {_when(outcome.next_poll_at)}"
        )
    return 0


async def cmd_feeds_list(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    feeds = await storage.feeds.list()
    if args.json:
        _print_json([render.feed_to_dict(feed) for feed in feeds])
        return 0
    if not feeds:
        print("No feeds yet: add one with `chronicle feeds add URL`.")
        return 0
    for feed in feeds:
        status = "active" if feed.active else "DISABLED"
        print(f"{feed.id:>4}  {status:<8}  {feed.name} <{feed.url}>")
        pad = " " * 16
        next_poll = f" · next poll {_when(feed.next_poll_at)}" if feed.active else ""
        print(
            f"{pad}last success {_when(feed.last_success_at)}{next_poll}"
            f" · {render.count(feed.events_added, 'event')} added"
        )
        if feed.last_error:
            print(
                f"{pad}last error {_when(feed.last_error_at)} ({feed.last_error_kind}):"
                f" {feed.last_error}"
                f" · {render.count(feed.consecutive_failures, 'consecutive failure')}"
            )
        if not feed.active:
            print(f"{pad}disabled {_when(feed.disabled_at)}: {feed.disabled_reason}")
    return 0


async def cmd_feeds_remove(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    async with feed_service(settings, storage) as service:
        feed = await service.remove_feed(args.feed)
    if args.json:
        _print_json(render.feed_to_dict(feed))
    else:
        stay = "stays" if feed.events_added == 1 else "stay"
        print(
            f"Removed feed {feed.id}: {feed.name} <{feed.url}>"
            f" (its {render.count(feed.events_added, 'event')} {stay} in the archive)"
        )
    return 0


async def cmd_feeds_poll(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    def show(outcome: FeedOutcome) -> None:
        # In the loop, quiet feeds (304, nothing unseen) would drown what matters.
        if not args.json and (args.once or outcome.unseen or not outcome.ok):
            print(outcome_line(outcome), flush=True)

    async with feed_service(settings, storage) as service:
        if args.once:
            report = await service.poll_all(on_outcome=show)
            if args.json:
                _print_json(report.as_dict())
            else:
                print(
                    f"Polled {render.count(len(report.outcomes), 'feed')}:"
                    f" {render.count(len(report.created_ids), 'new event')}"
                    f" ({len(report.new_event_ids)} announced), {len(report.failed)} failed"
                )
            return 1 if report.failed else 0

        def summary(report: PollReport) -> None:
            if args.json:
                print(json.dumps(report.as_dict(), ensure_ascii=False), flush=True)

        log.info(
            "polling due feeds every minute (each feed every %g minutes); Ctrl-C stops",
            settings.feed_poll_minutes,
        )
        await run_poll_loop(service, stop=asyncio.Event(), on_report=summary, on_outcome=show)
    return 0


# --- Wikipedia --------------------------------------------------------------------------------


@asynccontextmanager
async def portal_service(settings: Settings, storage: Storage) -> AsyncIterator[WikipediaService]:
    """The portal service with its own HTTP session, built from the settings (as the bot)."""
    async with make_session(wikipedia_policy(settings)) as session:
        yield wikipedia_service(storage, session, settings)


def pull_summary(report: PullReport) -> str:
    line = (
        f"Pulled {render.count(report.days, 'day')}: {report.fetched} read,"
        f" {report.unchanged_days} unchanged"
        f" since the last read, {len(report.missing)} missing;"
        f" events: {report.new} new ({len(report.announced)} announced), {report.updated}"
        f" updated, {report.unchanged} unchanged, {report.removed} removed;"
        f" {len(report.failures)} failed ({render.count(report.requests, 'request')})"
    )
    for failure in report.failures:
        line += f"\n  failed: {failure.what}: {failure.reason}"
    if report.missing and len(report.missing) <= 10:
        line += "\n  missing: " + ", ".join(d.isoformat() for d in report.missing)
    return line


async def cmd_wikipedia_pull(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    since = lookups.parse_date(args.since, what="--since date")
    until = lookups.parse_date(args.until, what="--until date") if args.until else None
    progress = None if args.json else TerminalProgress("pulling", unit="days", quiet_below=100)
    async with portal_service(settings, storage) as service:
        report = await service.pull(since, until, announce=args.announce, progress=progress)
    if args.json:
        _print_json(report.as_dict())
    else:
        summary = pull_summary(report)
        print(summary, file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else 1


async def cmd_wikipedia_status(
    args: argparse.Namespace, settings: Settings, storage: Storage
) -> int:
    status = await portal_status(storage, settings)
    if args.json:
        _print_json(render.wikipedia_status_to_dict(status))
        return 0
    poll = status.poll
    print(f"Wikipedia's Current events portal, from {status.api_url}")
    if not status.poll_minutes:
        print("  the bot does not poll it (WIKIPEDIA_POLL_MINUTES=0)")
    print(f"  last poll {_when(poll.last_attempt_at)}, last success {_when(poll.last_success_at)}")
    if poll.last_error:
        print(
            f"  last error {_when(poll.last_error_at)}: {poll.last_error}"
            f" · {render.count(poll.consecutive_failures, 'consecutive failure')}"
        )
    if status.poll_minutes:
        next_poll = _when(poll.next_poll_at) if poll.next_poll_at else "when the bot starts"
        print(f"  next poll {next_poll}, then every {status.poll_minutes:g} minutes")
    if not status.days:
        print("No day page read yet: `chronicle wikipedia pull --since YYYY-MM-DD`.")
    for day in status.days:
        if day.revision_id is None:
            held = "no page"
        else:
            held = (
                f"revision {day.revision_id} ({_when(day.revision_at)}):"
                f" {render.count(day.items, 'event')}"
            )
        error = f" · could not be read: {day.error}" if day.error else ""
        print(f"  {day.date.isoformat()}  {held}{error} · read {_when(day.fetched_at)}")
    return 0


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
    )
    if args.json:
        _print_json(
            {
                "kind": content.kind,
                "title": content.title,
                "sections": [
                    {"heading": s.heading, "items": [i.text.removeprefix("• ") for i in s.items]}
                    for s in content.sections
                ],
                "more": content.more,
                "events": list(content.event_ids),
            }
        )
    else:
        print(render.digest_text(content, width=_width()))
    return 0


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
        _print_json(
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
    (entity_id,) = await lookups.entity_ids(storage, _words(args.name))
    profile = await storage.entities.profile(entity_id, recent=5)
    if args.json:
        _print_json(render.entity_to_dict(profile))
    else:
        print(render.entity_text(profile, width=_width(), keys=args.keys))
    return 0


async def import_sample_if_empty(storage: Storage) -> None:
    if (await storage.stats()).events:
        return
    sample = sample_archive()
    log.info("the database is empty: importing the bundled sample archive from %s", sample)
    report = await imports.import_archive(storage, [sample / "news"])
    log.info(
        "sample archive: %s, %d incomplete, %d failed",
        render.count(report.new, "new event"),
        report.incomplete,
        len(report.failed),
    )
    await imports.import_articles(storage, sorted((sample / "articles").glob("*.txt")))


async def cmd_run(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    await import_sample_if_empty(storage)
    from bot.client import run_bot  # discord.py is only needed to run the bot

    await storage.close()  # the bot opens its own, in setup_hook
    return await run_bot(settings)


# --- parser -----------------------------------------------------------------------------------


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
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = WordsParser(
        prog="chronicle",
        description="Chronicle: a news archive and the Discord bot that serves it.",
    )
    parser.add_argument(
        "--db",
        type=Path,
        help="SQLite file (default: $CHRONICLE_DATABASE_URL, $CHRONICLE_DB or ./chronicle.db)",
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

    command(
        "run",
        cmd_run,
        "run the Discord bot (imports the sample archive into an empty database)",
        json_flag=False,
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
        help="default: today; with a year, only events up to that year",
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
    return parser


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    try:
        storage = await open_storage(settings.database, create=args.handler in CREATE_DATABASE)
    except StorageError as exc:
        print(f"chronicle: {exc}", file=sys.stderr)
        return 1
    try:
        return await args.handler(args, settings, storage)
    except UserError as exc:
        print(f"chronicle: {exc.message}", file=sys.stderr)
        if exc.suggestions:
            print("Did you mean:", file=sys.stderr)
            for suggestion in exc.suggestions:
                print(f"  {suggestion}", file=sys.stderr)
        return 1
    except Exception as exc:
        if (problem := storage.explain(exc)) is None:
            raise
        log.debug("the database failed", exc_info=True)
        print(f"chronicle: {problem}", file=sys.stderr)
        return 1
    finally:
        await storage.close()


# Commands that bring events in may start a new database; lookups of a path that holds
# none say so, rather than making an empty one.
CREATE_DATABASE = frozenset({cmd_import, cmd_run, cmd_feeds_add, cmd_wikipedia_pull})


def main(argv: Sequence[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    if (bad := next((a for a in raw if not_text(a)), None)) is not None:
        print(
            f"chronicle: the argument '{as_typed(bad)}' is not text in UTF-8; type it again"
            " (or set your terminal to UTF-8)",
            file=sys.stderr,
        )
        return 2
    args = build_parser().parse_args(raw)
    try:
        settings = Settings.load()
    except ConfigError as exc:
        print(f"chronicle: {exc}", file=sys.stderr)
        return 2
    if args.db is not None:
        settings = dataclasses.replace(settings, database=args.db, database_notice=None)
    protect_stderr(settings.discord_token)
    configure_logging(settings.log_level_number)
    if settings.database_notice:
        log.warning(settings.database_notice)
    try:
        return asyncio.run(_dispatch(args, settings))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return pipe_closed()
    except Exception as exc:  # a bug: one line here, the traceback in the log at DEBUG
        log.debug("unexpected error", exc_info=True)
        print(
            f"chronicle: unexpected error ({type(exc).__name__}: {exc});"
            " LOG_LEVEL=DEBUG shows where",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
