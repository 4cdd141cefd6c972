"""`chronicle run`: the Discord bot, on the sample archive when the database is empty."""

from __future__ import annotations

import argparse
import logging
from importlib import resources
from pathlib import Path

from bot import render
from bot.config import Settings
from bot.services import imports
from storage import Storage

log = logging.getLogger("chronicle")


def sample_archive() -> Path:
    """The small real archive bundled with Chronicle, imported into an empty database."""
    return Path(str(resources.files("bot") / "sample"))


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
