"""What a member is told at their next command: notices kept one by one, taken together.

Each backend keeps every notice until it is told; taking them joins as many (oldest first)
as one Discord message holds, and leaves the rest for the member's next command."""

from __future__ import annotations

from collections.abc import Sequence

NOTICE_LIMIT = 2000  # Discord: characters in one message's content
SEPARATOR = "\n\n"


def fitting(texts: Sequence[str], limit: int = NOTICE_LIMIT) -> int:
    """How many of the notices, oldest first, are taken at once: all that fit in one
    message together, and always the first (cut by ``joined`` if alone it is too long)."""
    size = 0
    for count, text in enumerate(texts):
        size += len(text) + (len(SEPARATOR) if count else 0)
        if size > limit:
            return max(count, 1)
    return len(texts)


def joined(texts: Sequence[str], limit: int = NOTICE_LIMIT) -> str | None:
    """The notices as one message (the same text twice said once), within ``limit``."""
    unique = list(dict.fromkeys(texts))
    if not unique:
        return None
    text = SEPARATOR.join(unique)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
