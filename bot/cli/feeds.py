"""The `feeds` commands: add, list, remove and poll RSS/Atom feeds."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot import render
from bot.cli.output import print_json, when
from bot.config import Settings
from bot.ingest.feeds.addresses import FetchPolicy
from bot.ingest.feeds.credentials import masked, masked_in
from bot.ingest.feeds.fetch import make_session
from bot.services.feeds.reports import FeedOutcome, PollReport
from bot.services.feeds.service import ARCHIVE_FAILED, FeedService, run_poll_loop
from storage import Storage
from storage.models import Feed

log = logging.getLogger("chronicle")


@asynccontextmanager
async def feed_service(settings: Settings, storage: Storage) -> AsyncIterator[FeedService]:
    """The feed service with one HTTP session, built from the settings (as the bot does)."""
    policy = FetchPolicy(allow_private_addresses=settings.feed_allow_private_addresses)
    async with make_session(policy) as session:
        yield FeedService(storage, session, policy, poll_minutes=settings.feed_poll_minutes)


def shown(feed: Feed) -> Feed:
    """The feed as `feeds` prints it: its URL's login and tokens masked, in the URL and in
    what it says of failures (reasons stored before they were masked too)."""
    return dataclasses.replace(
        feed,
        url=masked(feed.url),
        last_error=masked_in(feed.last_error) if feed.last_error else feed.last_error,
        disabled_reason=(
            masked_in(feed.disabled_reason) if feed.disabled_reason else feed.disabled_reason
        ),
    )


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
        if outcome.corrected:
            line += f"; {render.count(len(outcome.corrected), 'event')} corrected"
        if outcome.history_reason:
            line += f" [history: {outcome.history_reason}]"
        if outcome.warning:
            line += f"\n              read despite problems: {outcome.warning}"
        return line
    if outcome.status == "failed":
        return (
            f"FAILED        {who}: {outcome.error_kind}: {outcome.error}"
            f" ({outcome.consecutive_failures} in a row;"
            f" next attempt {when(outcome.next_poll_at)})"
        )
    if outcome.status == "disabled":
        return f"DISABLED      {who}: {outcome.disabled_reason}"
    return f"removed       {who}"


async def cmd_feeds_add(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    async with feed_service(settings, storage) as service:
        result = await service.add_feed(args.url, name=args.name, backfill=args.backfill)
    feed, outcome = shown(result.feed), result.outcome
    discovered_from = masked(result.discovered_from) if result.discovered_from else None
    moved_from = masked(result.moved_from) if result.moved_from else None
    if args.json:
        print_json(
            {
                "feed": render.feed_to_dict(feed),
                "reactivated": result.reactivated,
                "discovered_from": discovered_from,
                "moved_from": moved_from,
                "outcome": outcome.as_dict(),
            }
        )
        return 0
    verb = "Re-activated" if result.reactivated else "Added"
    print(f"{verb} feed {feed.id}: {feed.name} <{feed.url}>")
    if discovered_from:
        print(f"  the feed {discovered_from} advertises (it is a web page, not a feed)")
    if moved_from:
        print(f"  moved for good from {moved_from} (a permanent redirect): polled here")
    if outcome.ok:
        print(
            f"  {render.count(outcome.entries, 'entry', 'entries')}:"
            f" {render.count(len(outcome.created), 'new event')},"
            f" {len(outcome.announced)} announced as news,"
            f" {outcome.merged} joined existing events"
        )
        if outcome.warning:
            print(f"  read despite problems: {outcome.warning}")
        print(f"  next poll {when(feed.next_poll_at)}")
    elif outcome.error_kind == ARCHIVE_FAILED:
        print(f"  its entries could not be stored: {outcome.error}")
        print(f"  they are fetched again at its next poll, {when(outcome.next_poll_at)}")
    else:
        print(
            f"  the first fetch failed ({outcome.error_kind}: {outcome.error});"
            f" next attempt {when(outcome.next_poll_at)}"
        )
    return 0


async def cmd_feeds_list(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    feeds = [shown(feed) for feed in await storage.feeds.list()]
    if args.json:
        print_json([render.feed_to_dict(feed) for feed in feeds])
        return 0
    if not feeds:
        print("No feeds yet: add one with `chronicle feeds add URL`.")
        return 0
    for feed in feeds:
        status = "active" if feed.active else "DISABLED"
        print(f"{feed.id:>4}  {status:<8}  {feed.name} <{feed.url}>")
        pad = " " * 16
        next_poll = f" · next poll {when(feed.next_poll_at)}" if feed.active else ""
        print(
            f"{pad}last success {when(feed.last_success_at)}{next_poll}"
            f" · {render.count(feed.events_added, 'event')} added"
        )
        if feed.last_error:
            print(
                f"{pad}last error {when(feed.last_error_at)} ({feed.last_error_kind}):"
                f" {feed.last_error}"
                f" · {render.count(feed.consecutive_failures, 'consecutive failure')}"
            )
        if not feed.active:
            print(f"{pad}disabled {when(feed.disabled_at)}: {feed.disabled_reason}")
    return 0


async def cmd_feeds_remove(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    async with feed_service(settings, storage) as service:
        feed = shown(await service.remove_feed(args.feed))
    if args.json:
        print_json(render.feed_to_dict(feed))
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
                print_json(report.as_dict())
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
