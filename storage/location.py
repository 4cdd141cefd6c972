"""Where an archive is: the setting CHRONICLE_DATABASE_URL (or CHRONICLE_DB) read as the
backend and place it names."""

from __future__ import annotations

import re
from pathlib import Path

# A URL's scheme, as SQLAlchemy reads it; anything else is a file path. A database scheme
# written without its "//" is caught too, so that it does not become a file of that name.
_URL = re.compile(r"^([A-Za-z][\w+.-]*)://")
_BARE_SCHEME = re.compile(r"^(sqlite|postgres|postgresql)(\+\w+)?:", re.IGNORECASE)
_SQLITE_SCHEMES = {"sqlite", "sqlite+aiosqlite", "sqlite+pysqlite"}
_POSTGRESQL = {"postgres", "postgresql"}
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")


def database_path(name: str, value: str) -> Path:
    """The SQLite file that `value`, a `sqlite:///` URL or a plain path, names.

    URLs follow SQLAlchemy's convention: `sqlite:///chronicle.db` is relative to the working
    folder, `sqlite:////srv/chronicle.db` (four slashes) is absolute. A value without `://`
    is a file path, taken as written. Raises ValueError with a one-line reason naming the
    setting `name`; the reason never repeats the value, which for a server URL may hold a
    password.
    """
    if (match := _URL.match(value)) is None:
        if bare := _BARE_SCHEME.match(value):
            if bare.group(1).lower() in _POSTGRESQL:
                raise ValueError(_postgresql(name))
            raise ValueError(
                f"{name} looks like a URL without its '//': write sqlite:///path, or"
                " ./path for a file whose name starts with 'sqlite:'"
            )
        return Path(value)
    scheme = match.group(1).lower()
    if scheme.split("+")[0] in _POSTGRESQL:
        raise ValueError(_postgresql(name))
    if scheme not in _SQLITE_SCHEMES:
        raise ValueError(
            f"{name} has the scheme {scheme}://, which Chronicle does not know: SQLite is"
            " the backend (sqlite:///path/to/chronicle.db, or a plain path)"
        )
    rest = value[match.end() :]
    host, slash, database = rest.partition("/")
    if host:
        raise ValueError(
            f"{name}: a sqlite URL names no host; write sqlite:///relative/path or"
            " sqlite:////absolute/path"
        )
    if "?" in database:
        raise ValueError(
            f"{name}: Chronicle takes no options in a sqlite URL's query string ('?...');"
            " remove it (a file whose name holds '?' can be given as a plain path)"
        )
    if _PERCENT.search(database):
        # SQLAlchemy keeps %XX as written and other tools decode it: refused rather than
        # guessed, since the two readings name different files.
        raise ValueError(
            f"{name}: a sqlite URL's path cannot be percent-encoded (%XX); write the path as"
            " it is, or give it as a plain path"
        )
    if not slash or not database or database == ":memory:":
        raise ValueError(
            f"{name}: the URL names no file (Chronicle keeps its archive in one); write"
            " sqlite:///chronicle.db"
        )
    return Path(database)


def _postgresql(name: str) -> str:
    return (
        f"{name} is a PostgreSQL URL: PostgreSQL support is not in this version of Chronicle;"
        " SQLite is the backend (sqlite:///path/to/chronicle.db, or a plain path)"
    )
