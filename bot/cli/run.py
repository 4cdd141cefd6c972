"""`chronicle run`: the Discord bot, on the sample archive when the database is empty."""

from __future__ import annotations

import argparse
import logging
import sys
from importlib import resources
from pathlib import Path

from bot import render
from bot.config import ConfigError, Settings, token_problem
from bot.services import imports
from bot.shards import sqlite_refusal
from storage import Storage

log = logging.getLogger("chronicle")


def sample_archive() -> Path:
    """The small real archive bundled with Chronicle, imported into an empty database."""
    return Path(str(resources.files("bot") / "sample"))


# bot_state: "started" once the sample's import began, "done" once it ended. A run stopped
# in between (Ctrl-C) leaves part of the sample, and events that an empty-database check
# would take for the operator's own: the next run finishes it.
SAMPLE_STATE = "sample.import"


async def import_sample_if_empty(storage: Storage) -> None:
    state = await storage.subscriptions.state(SAMPLE_STATE)
    sample = sample_archive()
    if state == "started":
        log.info(
            "the bundled sample archive is only partly imported (a run was stopped while"
            " importing it): importing the rest from %s",
            sample,
        )
    elif state is None and not (await storage.stats()).events:
        await storage.subscriptions.set_state(SAMPLE_STATE, "started")
        log.info("the database is empty: importing the bundled sample archive from %s", sample)
    else:
        return
    report = await imports.import_archive(storage, [sample / "news"])
    await imports.import_articles(storage, sorted((sample / "articles").glob("*.txt")))
    await storage.subscriptions.set_state(SAMPLE_STATE, "done")
    if state == "started" and report.ok:  # its counts would be of the rest only
        return
    log.info(
        "sample archive: %s, %d failed; %d more known only by links to them",
        render.count(report.new, "new event"),
        len(report.failed),
        report.incomplete,
    )


def run_refusal(args: argparse.Namespace, settings: Settings) -> str | None:
    """Why `chronicle run` cannot start with these flags and settings (checked before the
    database is opened, so that a refused start creates no file): a DISCORD_TOKEN that is
    no token (Discord would refuse it, or be asked nothing while it cannot be reached), bad
    shard flags, or shards on SQLite."""
    if settings.discord_token and (problem := token_problem(settings.discord_token)):
        return f"chronicle: Invalid setting: {problem}"
    try:
        settings = settings.with_shards(args.shard_count, args.shards)
    except ConfigError as exc:
        return f"chronicle: {exc}"
    what = "--shards" if args.shards is not None else "DISCORD_SHARD_IDS"
    return sqlite_refusal(settings.database, settings.shard_ids, settings.shard_count, what)


async def cmd_run(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    settings = settings.with_shards(args.shard_count, args.shards)  # checked by run_refusal
    await import_sample_if_empty(storage)  # the database held (bot.cli.app._why_alone)
    from bot.client import run_bot  # discord.py is only needed to run the bot

    await storage.close()  # the bot opens its own, in setup_hook
    status = await run_bot(settings)
    if not settings.discord_token and (note := missing_dotenv(settings)):
        print(note, file=sys.stderr)
    return status


def missing_dotenv(settings: Settings) -> str | None:
    """What to say when there is no .env where Chronicle looked: the usual reason for a token
    "not set" that the operator did set, running Chronicle from another folder."""
    if Path(".env").exists():
        return None
    used = (
        f" The database is found from there too: this run used {settings.database.resolve()}."
        if isinstance(settings.database, Path)
        else ""
    )
    return (
        f"There is no .env in {Path.cwd()}, the folder Chronicle was run in, which is where"
        f" it reads one: run it from the folder that holds yours.{used}"
    )
