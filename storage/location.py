"""Where an archive is: the setting CHRONICLE_DATABASE_URL (or CHRONICLE_DB) read as the
backend and place it names: a SQLite file, or a PostgreSQL database."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

# A URL's scheme, as SQLAlchemy reads it; anything else is a file path. A database scheme
# written without its "//" is caught too, so that it does not become a file of that name.
_URL = re.compile(r"^([A-Za-z][\w+.-]*)://")
_BARE_SCHEME = re.compile(r"^(sqlite|postgres|postgresql)(\+\w+)?:", re.IGNORECASE)
_SQLITE_SCHEMES = {"sqlite", "sqlite+aiosqlite", "sqlite+pysqlite"}
_POSTGRESQL = {"postgres", "postgresql"}
_POSTGRESQL_SCHEMES = {"postgres", "postgresql", "postgresql+asyncpg"}
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_IPV6_HOST = re.compile(r"\[([^\]]+)\](?::(.*))?")
_DIGITS = re.compile(r"[0-9]+")
# What a '/', '?', '#' or '@' in a user name or password has to be written as in a URL.
_ESCAPES = "a '/', '?', '#' or '@' in the user or password is written %2F, %3F, %23, %40"


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
    if (problem := server_problem("postgresql://" + rest)) is not None:
        raise ValueError(f"{name}: {problem}")
    return "postgresql://" + rest


def server_problem(url: str) -> str | None:
    """What is wrong with the hosts and ports of a postgresql:// URL, as asyncpg reads them
    (the part after the "@", and the query's host= and port=), or None. Said without the
    URL's text, apart from a port that is all digits: the rest may be part of a password."""
    try:
        parts = urlsplit(url)
    except ValueError:  # the host is "[::1" or the like
        if "[" in url or "]" in url:
            return "an IPv6 address is written whole, in brackets: [::1] or [::1]:5432"
        return f"the server part (user:password@host:port) is not a URL's; {_ESCAPES}"
    hosts = parts.netloc.partition("@")[2] if "@" in parts.netloc else parts.netloc
    if hosts and (problem := _hosts_problem(hosts, unquoted=True)):
        return problem
    try:
        query = parse_qs(parts.query, keep_blank_values=True)
    except ValueError:
        return None  # not Chronicle's to say: the query's own problems are told on connecting
    if port := query.get("port", [""])[-1]:
        for each in port.split(","):
            if (problem := _port_problem(each, "port=")) is not None:
                return problem
    if host := query.get("host", [""])[-1]:
        return _hosts_problem(host, unquoted=False)
    return None


def _hosts_problem(hosts: str, *, unquoted: bool) -> str | None:
    for host in hosts.split(","):
        if not host:
            return "a list of hosts holds an empty one (host1,host2: one comma between two)"
        if host.startswith("/"):  # a Unix socket's folder
            continue
        if host.startswith("["):
            if (ipv6 := _IPV6_HOST.fullmatch(host)) is None:
                return "an IPv6 address is written whole, in brackets: [::1] or [::1]:5432"
            port = ipv6.group(2) or ""
        elif "]" in host or host.count(":") > 1:
            return "an IPv6 address is written whole, in brackets: [::1] or [::1]:5432"
        else:
            port = host.partition(":")[2]
        if port and (problem := _port_problem(unquote(port) if unquoted else port)):
            return problem
    return None


def _port_problem(port: str, parameter: str | None = None) -> str | None:
    if not _DIGITS.fullmatch(port):
        if parameter is not None:
            return f"{parameter} is not a port number (port=5432)"
        return f"the port after the host is not a number (write host:5432); {_ESCAPES}"
    if not 1 <= int(port) <= 65535:
        shown = port if len(port) <= 12 else port[:12] + "…"
        return f"port {shown} is not a port (1-65535)"
    return None
