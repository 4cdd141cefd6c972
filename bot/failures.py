"""Failures of the bot's background work (digests, polls, sweeps), logged to be acted on."""

from __future__ import annotations

import logging

from storage import Storage
from storage.problems import Problem


def archive_failure(storage: Storage | None, exc: BaseException) -> Problem | None:
    """The archive's transient failure behind ``exc`` (a full disk, a lock held too long,
    the server gone), if that is what it is: the same work may succeed later untouched."""
    problem = storage.explain(exc) if storage is not None else None
    return problem if problem is not None and problem.transient else None


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
