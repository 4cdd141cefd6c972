"""Failures of the bot's background work (digests, polls, sweeps), logged to be acted on."""

from __future__ import annotations

import logging

from storage import Storage


def log_failure(
    logger: logging.Logger, storage: Storage, what: str, exc: BaseException, *, then: str
) -> bool:
    """Log that ``what`` failed. A passing failure of the archive (a full disk, a lock held
    too long, the server gone) is one line: its cause, what to do, and ``then``, what
    happens to the work next; a traceback would say nothing more. Anything else is logged
    with its traceback. Returns whether it was the archive's."""
    problem = storage.explain(exc)
    if problem is not None and problem.passing:
        logger.error("%s failed, the archive's doing: %s; %s", what, problem, then)
        return True
    logger.error("%s failed", what, exc_info=exc)
    return False
