"""Errors people cause, as opposed to bugs: each carries a message fit to show them."""

from __future__ import annotations


class UserError(Exception):
    """Expected: bad input or nothing found. Shown to the user, never logged as a failure."""

    def __init__(
        self, message: str, suggestions: list[str] | None = None, keys: list[str] | None = None
    ):
        super().__init__(message)
        self.message = message
        self.suggestions = suggestions or []
        self.keys = keys or []  # of the suggested events, when they are events: one each


class NotFound(UserError):
    pass


class InvalidInput(UserError):
    pass
