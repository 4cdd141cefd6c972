"""The `wikipedia` commands: pull a range of the portal's days, and its status."""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot import render
from bot.cli.output import print_json, when
from bot.config import Settings
from bot.console import TerminalProgress
from bot.ingest.feeds.fetch import make_session
from bot.services import lookups
from bot.services.wikipedia import WikipediaService, wikipedia_policy, wikipedia_service
from bot.services.wikipedia_days import (
    PullReport,
    day_span,
    portal_status,
    pull_command,
    spans,
)
from storage import Storage


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
        print_json(report.as_dict())
    else:
        summary = pull_summary(report)
        print(summary, file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else 1


async def cmd_wikipedia_status(
    args: argparse.Namespace, settings: Settings, storage: Storage
) -> int:
    status = await portal_status(storage, settings)
    if args.json:
        print_json(render.wikipedia_status_to_dict(status))
        return 0
    poll = status.poll
    print(f"Wikipedia's Current events portal, from {status.api_url}")
    if not status.poll_minutes:
        print("  the bot does not poll it (WIKIPEDIA_POLL_MINUTES=0)")
    print(f"  last poll {when(poll.last_attempt_at)}, last success {when(poll.last_success_at)}")
    if poll.last_error:
        print(
            f"  last error {when(poll.last_error_at)}: {poll.last_error}"
            f" · {render.count(poll.consecutive_failures, 'consecutive failure')}"
        )
    if status.poll_minutes:
        next_poll = when(poll.next_poll_at) if poll.next_poll_at else "when the bot starts"
        print(f"  next poll {next_poll}, then every {status.poll_minutes:g} minutes")
    for first, last in spans(status.unread):
        print(f"  left unread: {day_span((first, last))}: run `{pull_command(first, last)}`")
    if not status.days:
        print("No day page read yet: `chronicle wikipedia pull --since YYYY-MM-DD`.")
    for day in status.days:
        if day.revision_id is None:
            held = "no page"
        else:
            held = (
                f"revision {day.revision_id} ({when(day.revision_at)}):"
                f" {render.count(day.items, 'event')}"
            )
        error = f" · could not be read: {day.error}" if day.error else ""
        print(f"  {day.date.isoformat()}  {held}{error} · read {when(day.fetched_at)}")
    return 0
