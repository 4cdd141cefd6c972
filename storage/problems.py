"""What went wrong with an archive's database: a cause the bot can tell its members, and a
line for the people who run it."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Cause(enum.Enum):
    BUSY = "busy"  # another writer held the archive longer than a write waits
    NO_SPACE = "no space"  # the disk (or the server's) is full
    READ_ONLY = "read-only"  # the file, its folder or the login may not be written
    UNREACHABLE = "unreachable"  # the server is down, or the file cannot be opened
    OTHER = "other"  # anything else: a damaged database, or a bug


@dataclass(frozen=True, slots=True)
class Problem:
    cause: Cause
    detail: str  # what failed and what to do, in one line, for the bot's operators

    @property
    def transient(self) -> bool:
        """Whether the same work may well succeed later, untouched (once the disk has room,
        the lock is free, the server is back): the archive's state, not the work, failed."""
        return self.cause is not Cause.OTHER

    def __str__(self) -> str:
        return self.detail
