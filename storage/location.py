"""Where an archive is: the setting CHRONICLE_DATABASE_URL (or CHRONICLE_DB) read as the
backend and place it names: a SQLite file, or a PostgreSQL database."""

from __future__ import annotations

import re
from pathlib import Path

# A URL's scheme, as SQLAlchemy reads it; anything else is a file path. A database scheme
# written without its "//" is caught too, so that it does not become a file of that name.
_URL = re.compile(r"^([A-Za-z][\w+.-]*)://")
_BARE_SCHEME = re.compile(r"^(sqlite|postgres|postgresql)(\+\w+)?:", re.IGNORECASE)
_SQLITE_SCHEMES = {"sqlite", "sqlite+aiosqlite", "sqlite+pysqlite"}
_POSTGRESQL = {"postgres", "postgresql"}
_POSTGRESQL_SCHEMES = {"postgres", "postgresql", "postgresql+asyncpg"}
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")


def database_location(name: str, value: str) -> Path | str:
    """The SQLite file that `value`, a `sqlite:///` URL or a plain path, names; or, for a
    `postgresql://` URL (also `postgres://`, `postgresql+asyncpg://`), that URL with the
    scheme written `postgresql://`.

    URLs follow SQLAlchemy's convention: `sqlite:///chronicle.db` is relative to the working
    folder, `sqlite:////srv/chronicle.db` (four slashes) is absolute. A value without `://`
    is a file path, taken as written. Raises ValueError with a one-line reason naming the
    setting `name`; the reason never repeats the value, which for a server URL may hold a
    password.
    """
    if (match := _URL.match(value)) is None:
        if _BARE_SCHEME.match(value):
            raise ValueError(
                f"{name} looks like a URL without its '//': write sqlite:///path or"
                " postgresql://user@host/database, or ./path for a file whose name starts"
                " with 'sqlite:'"
            )
        return Path(value)
    scheme = match.group(1).lower()
    if scheme.split("+")[0] in _POSTGRESQL:
        return _postgresql_url(name, value, match.end())
    if scheme not in _SQLITE_SCHEMES:
        raise ValueError(
            f"{name} has the scheme {scheme}://, which Chronicle does not know: use"
            " sqlite:///path/to/chronicle.db (or a plain path) or postgresql://user@host/database"
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


def _postgresql_url(name: str, value: str, after_scheme: int) -> str:
    scheme = value[: after_scheme - 3].lower()
    if scheme not in _POSTGRESQL_SCHEMES:
        raise ValueError(
            f"{name} has the scheme {scheme}://; Chronicle reaches PostgreSQL with asyncpg:"
            " write postgresql://user@host/database"
        )
    rest = value[after_scheme:]
    where, _, path = rest.partition("/")
    database = path.partition("?")[0]
    if not database:
        raise ValueError(
            f"{name} names no database: write postgresql://user@host/database (the"
            " database must exist: createdb chronicle)"
        )
    if not where.rpartition("@")[2] and "host=" not in rest:
        raise ValueError(f"{name} names no server: write postgresql://user@host/database")
    return "postgresql://" + rest
