"""The archive failing under the bot's work (commands, digests, polls): told apart from bugs,
logged to be acted on, waited out."""

from __future__ import annotations

import datetime as dt
import logging

import discord

from storage import Storage
from storage.problems import Problem


def archive_failure(storage: Storage | None, exc: BaseException) -> Problem | None:
    """The archive's transient failure behind ``exc`` (a full disk, a lock held too long,
    the server gone), if that is what it is: the same work may succeed later untouched."""
    problem = storage.explain(exc) if storage is not None else None
    return problem if problem is not None and problem.transient else None


def interaction_archive_failure(
    interaction: discord.Interaction, exc: BaseException
) -> Problem | None:
    """archive_failure for the archive of the bot an interaction came to."""
    return archive_failure(getattr(interaction.client, "storage", None), exc)


class ArchiveHold:
    """A poller's pause after a round the archive could not store: nothing of it was
    recorded, so polling again at the next check would fetch the same things for nothing."""

    def __init__(self) -> None:
        self._until: dt.datetime | None = None

    def hold(self, until: dt.datetime) -> None:
        self._until = until

    def holds(self, now: dt.datetime) -> bool:
        return self._until is not None and now < self._until


def log_failure(
    logger: logging.Logger, storage: Storage, what: str, exc: BaseException, *, then: str
) -> bool:
    """Log that ``what`` failed. A transient failure of the archive (a full disk, a lock held
    too long, the server gone) is one line: its cause, what to do, and ``then``, what
    happens to the work next; a traceback would say nothing more. Anything else is logged
    with its traceback. Returns whether it was the archive's."""
    if (problem := archive_failure(storage, exc)) is not None:
        logger.error("%s failed, the archive's doing: %s; %s", what, problem, then)
        return True
    logger.error("%s failed", what, exc_info=exc)
    return False
