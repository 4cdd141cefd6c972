"""The archive failing under the bot's work (commands, digests, polls): told apart from bugs,
logged to be acted on, waited out. And Discord refusing a post: what its error may show
(discord_error_text), and what a digest's notice says of it (refusal, way_out)."""

from __future__ import annotations

import datetime as dt
import logging
import math

import discord

from storage import Storage
from storage.problems import Problem
from storage.redaction import clean_error_text

# Discord's error codes for a channel that refuses every post, whatever it holds: a forum
# that requires tags, a channel of a type that takes no messages. Any other Bad Request is
# about one post (AutoMod blocking a word, say): that run is retried, the channel kept.
CHANNEL_REFUSALS = frozenset({40067, 50024})
THREAD_LOCKED = 160005  # Discord: the thread is locked (and Chronicle may not unlock it)
# A 429 that is not Discord's own rate limit (a Cloudflare ban) is waited out for its
# Retry-After: BAN_WAIT when it has none that reads as a number, BAN_WAIT_MOST at most (a
# longer one is a mistake, and would overflow a date).
BAN_WAIT = 900.0
BAN_WAIT_MOST = 86_400.0


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


class ChannelRefused(Exception):
    """The digest's channel exists but cannot take its posts."""


class MissingPermissions(ChannelRefused):
    """The channel would take a post but not as it is meant (its embeds dropped)."""

    def __init__(self, channel_id: int, labels: list[str]):
        self.labels = labels
        super().__init__(
            f"Chronicle lacks {', '.join(labels)} in channel {channel_id}, so Discord would"
            " post its digests blank"
        )


def discord_error_text(text: str | None, token: str | None) -> str:
    """What Discord (or a proxy in front of it) answered, as notices, logs and the archive
    may hold it: the bot's token and any credential header masked, a page cut short."""
    return clean_error_text(text or "", [token])


def describe_error(error: BaseException, token: str | None) -> str:
    """An error in one short line: its kind and its cleaned text."""
    return f"{type(error).__name__}: {discord_error_text(str(error), token)}"


def refusal(error: Exception, channel_id: int, token: str | None) -> str:
    """Why a channel refused a digest, as its pause reason says."""
    text = discord_error_text(getattr(error, "text", None), token)
    if isinstance(error, discord.NotFound):
        return f"Discord answered 404 ({text or 'Unknown Channel'}): channel {channel_id} is gone"
    if isinstance(error, discord.Forbidden):
        return (
            f"Discord answered 403 ({text or 'Missing Access'}): "
            f"Chronicle may not post in channel {channel_id}"
        )
    if isinstance(error, discord.HTTPException):
        return f"Discord refused the post ({error.status}: {text or 'Bad Request'})"
    return discord_error_text(str(error), token)


def is_locked(error: Exception, channel: object) -> bool:
    """Whether what stops the posts is a thread's lock, which only a moderator lifts."""
    if isinstance(error, discord.HTTPException) and error.code == THREAD_LOCKED:
        return True
    return isinstance(channel, discord.Thread) and channel.locked


def way_out(error: Exception, channel: object, needed: str, several: bool) -> str:
    """What the person who set a refused channel's digests can do about it."""
    them = "them" if several else "it"
    if isinstance(error, discord.NotFound):
        return f"Remove {them} with `/digest remove`, or run `/digest set` for another channel."
    resume = (
        "then run `/digest set` again for one of them: that resumes them all."
        if several
        else "then run `/digest set` again to resume it."
    )
    if is_locked(error, channel):
        return f"The thread is locked: unlock it (or pick another channel), {resume}"
    if isinstance(error, discord.HTTPException) and error.code in CHANNEL_REFUSALS:
        return f"Change that in the channel's settings (or pick another channel), {resume}"
    if isinstance(error, MissingPermissions):
        needed = ", ".join(error.labels)
    return f"Give Chronicle {needed} there (or pick another channel), {resume}"


def ban_wait(error: discord.HTTPException) -> float:
    """The seconds a 429 that is not Discord's own rate limit asks to wait (Retry-After),
    from a second to a day."""
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None) or {}
    try:
        wait = float(headers.get("Retry-After", BAN_WAIT))
    except ValueError:
        return BAN_WAIT
    return min(max(1.0, wait), BAN_WAIT_MOST) if math.isfinite(wait) else BAN_WAIT
