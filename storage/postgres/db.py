"""The PostgreSQL connection pool, migrations and transactions.

Connections come from one asyncpg pool per process; statements are prepared (asyncpg's
statement cache) unless the URL says ``statement_cache_size=0``, as a transaction-mode pooler
(pgbouncer) needs. Transactions are short: one per write the repositories make.

Prepared statements are planned for their parameters every time (plan_cache_mode
force_custom_plan): after five runs PostgreSQL may otherwise keep one generic plan, and for
a tsquery it cannot see a generic plan walks the primary key newest first testing every
event (`search @@ $1 ... ORDER BY id DESC LIMIT $2`: 280 ms for a word in no event at
100,000 events, against 0.06 ms by the GIN index). Planning each time costs well under a
millisecond.

They run without JIT compilation (jit off), which PostgreSQL starts for any plan it guesses
costly: Chronicle's statements read a few hundred rows at most, and the compilation took
longer than running them. The word-counting trigger has it off in itself (migration 0010),
for connections through a pooler, which take no settings at startup.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

import asyncpg

from storage.location import server_problem
from storage.models import StorageError
from storage.problems import Cause, Problem
from storage.redaction import MASK, mask_query, split_authority

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

# What repositories are handed: a pooled connection, in a transaction.
Connection: TypeAlias = "PoolConnectionProxy[asyncpg.Record]"

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# Processes starting together take turns at migrating: the key of the advisory lock they hold.
MIGRATION_LOCK = 0x6368726F6E  # "chron"
POOL_MIN, POOL_MAX = 1, 10
# Set on every connection of a prepared-statement cache (see above).
SERVER_SETTINGS = {"plan_cache_mode": "force_custom_plan", "jit": "off"}
# How long a statement waits for a lock another session holds (an index being built, an
# operator's transaction left open) before it fails as busy: as long as a write waits on
# SQLite (busy_timeout). Waiting for ever held a member's command "thinking…" and a
# pooled connection with it, until every connection of the pool waited so.
LOCK_WAIT = "10s"
# Rows written per statement by bulk writes (executemany runs them as one pipeline).
BATCH = 1000
# Where `chronicle migrate` (storage.postgres.transfer) keeps how far its copy has come:
# while it is there, the database holds part of an archive, and its counters are not kept.
COPY_PROGRESS = "migration_progress"


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every PostgreSQL migration shipped, in order."""
    found = []
    for entry in resources.files("storage.postgres.migrations").iterdir():
        if match := _MIGRATION_NAME.match(entry.name):
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if len(set(versions)) != len(versions):
        raise StorageError(f"two migrations share a number: {versions}")
    return found


async def _after_migration(conn: Connection, version: int) -> None:
    """What a migration needs done in Python after its SQL, in its transaction
    (storage.postgres.reindex, storage.postgres.feed_links, storage.postgres.variant_markup)."""
    if version == 17:
        # Imported here: the re-indexing builds on the modules built on this one.
        from storage.postgres.reindex import index_hangul_again

        await index_hangul_again(conn)
    elif version == 18:
        # Imported here too: the step builds on this module.
        from storage.postgres.feed_links import clean_feed_links

        await clean_feed_links(conn)
    elif version == 19:
        # Imported here too: the step builds on the modules built on this one.
        from storage.postgres.variant_markup import clean_variant_markup

        await clean_variant_markup(conn)


def chunked(items: Sequence[Any], size: int = BATCH) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# Query parameters that hold a secret, in the names libpq and asyncpg read them by: the
# server password, and the passphrase of the client's TLS key.
SECRET_PARAMETERS = frozenset({"password", "sslpassword"})


def redacted(url: str) -> str:
    """The URL without its secrets, for messages and logs: the password before the ``@``
    (``user:***@host``) and every ``password=`` or ``sslpassword=`` in the query string
    (however its name is written: ``PassWord``, ``pass%77ord``), whatever else the URL holds;
    never raises, even on a URL that does not parse."""
    head, userinfo, host, tail = split_authority(url)
    if userinfo is not None:
        user, colon, _ = userinfo.partition(":")
        host = f"{user}:{MASK}@{host}" if colon else f"{userinfo}@{host}"
    return head + host + mask_query(tail, _is_secret_parameter)


def _is_secret_parameter(name: str) -> bool:
    return unquote_plus(name).strip().lower() in SECRET_PARAMETERS


def _pool_options(url: str) -> tuple[str, dict[str, Any]]:
    """The DSN for asyncpg, and Chronicle's own options taken out of its query string.
    A host or port asyncpg cannot read is refused here, with the URL redacted."""
    if (problem := server_problem(url)) is not None:
        raise StorageError(f"the database URL {redacted(url)}: {problem}")
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    options: dict[str, Any] = {}
    kept = []
    for name, value in query:
        if name == "statement_cache_size":
            if not value.isdigit():
                raise StorageError("statement_cache_size in the database URL must be a number")
            options["statement_cache_size"] = int(value)
        else:
            kept.append((name, value))
    if options.get("statement_cache_size") != 0:
        # Not through a pooler (which may refuse startup parameters it does not know): its
        # unnamed statements are planned for their parameters anyway.
        options["server_settings"] = {**SERVER_SETTINGS, "lock_timeout": LOCK_WAIT}
    return urlunsplit(parts._replace(query=urlencode(kept))), options


class ServerUnreachable(Exception):
    """A connection to the server could not be made (it is down, or refuses): raised by
    the pool instead of the OSError, which could be anything's."""


async def _connect(*args: Any, **kwargs: Any) -> asyncpg.Connection:
    """The pool's connect: asyncpg.connect, its failure to reach the server told apart."""
    try:
        return await asyncpg.connect(*args, **kwargs)
    except OSError as exc:
        raise ServerUnreachable(str(exc) or type(exc).__name__) from exc


def database_problem(url: str, exc: BaseException) -> Problem:
    """What went wrong with the PostgreSQL server, and what to do."""
    where = redacted(url)
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return Problem(
            Cause.OTHER, f"the database of {where} does not exist: create it (createdb) first"
        )
    if isinstance(
        exc, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError
    ):
        return Problem(
            Cause.OTHER, f"PostgreSQL refused the login of {where}: check the user and password"
        )
    if isinstance(exc, asyncpg.DiskFullError):
        return Problem(
            Cause.NO_SPACE, f"the PostgreSQL server of {where} is out of disk space: free some"
        )
    if isinstance(exc, asyncpg.ReadOnlySQLTransactionError):
        return Problem(
            Cause.READ_ONLY,
            f"the server of {where} takes no writes ({exc}): a standby, or set read-only;"
            " point Chronicle at the primary",
        )
    if isinstance(exc, asyncpg.InsufficientPrivilegeError):
        return Problem(
            Cause.READ_ONLY, f"the user of {where} may not do this ({exc}): grant it the rights"
        )
    if isinstance(
        exc,
        asyncpg.LockNotAvailableError
        | asyncpg.QueryCanceledError
        | asyncpg.TransactionRollbackError
        | asyncpg.InsufficientResourcesError,
    ):
        return Problem(Cause.BUSY, f"the PostgreSQL server of {where} is busy: {exc}")
    if isinstance(
        exc,
        OSError
        | ServerUnreachable
        | asyncpg.OperatorInterventionError
        | asyncpg.PostgresConnectionError,
    ) or (isinstance(exc, asyncpg.InterfaceError) and "connection is closed" in str(exc)):
        return Problem(
            Cause.UNREACHABLE,
            f"cannot reach the PostgreSQL server of {where}: {exc}; check that it runs",
        )
    return Problem(Cause.OTHER, f"the database {where} failed: {exc}")


class Database:
    """Owns the connection pool of one PostgreSQL database (or schema)."""

    def __init__(self, url: str, pool: asyncpg.Pool):
        self.url = url
        self.pool = pool
        # related(): entities with more events than this have them packed in entity_postings.
        self.packed_postings_min = 256
        self._closed = False

    @classmethod
    async def open(
        cls, url: str, *, create: bool = True, unfinished_copy: bool = False
    ) -> Database:
        """The database at url, migrated to this Chronicle's schema. With ``create`` False,
        a database without Chronicle's tables is refused rather than set up. A database
        holding an unfinished `chronicle migrate` is refused unless ``unfinished_copy``
        (migrate's own, which goes on with it)."""
        dsn, options = _pool_options(url)
        try:
            pool = await asyncpg.create_pool(
                dsn, min_size=POOL_MIN, max_size=POOL_MAX, connect=_connect, **options
            )
        except (OSError, ServerUnreachable, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StorageError(str(database_problem(url, exc))) from None
        try:
            async with pool.acquire() as conn:
                if not unfinished_copy:
                    await cls._refuse_unfinished_copy(conn, url)
                await cls._migrate(conn, url, create=create)
        except BaseException:
            await pool.close()
            raise
        return cls(url, pool)

    @staticmethod
    async def _refuse_unfinished_copy(conn: Connection, url: str) -> None:
        """Its counters read 0 until the copy ends (the bot would take it for empty and
        import the sample archive into it), and a row written into it now breaks the copy."""
        if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", COPY_PROGRESS):
            return
        origin = await conn.fetchval(
            f"SELECT last_key FROM {COPY_PROGRESS} WHERE step = 'source'"
        )
        raise StorageError(
            f"{redacted(url)} holds an unfinished `chronicle migrate` of"
            f" {origin or 'a SQLite archive'}: run it again to finish, or drop the database"
            " (dropdb) to start over"
        )

    @staticmethod
    async def _migrate(conn: Connection, url: str, *, create: bool) -> None:
        where = redacted(url)
        async with conn.transaction():
            # Processes starting together wait out one another's migrations, however long.
            await conn.execute("SET LOCAL lock_timeout = 0")
            await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            present = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
            if not present:
                others = await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                    " ORDER BY tablename LIMIT 4"
                )
                if others:
                    held = ", ".join(r[0] for r in others[:3]) + (", ..." if len(others) > 3 else "")
                    raise StorageError(
                        f"{where} holds another program's tables ({held}): Chronicle leaves"
                        " them as they are; give it a database (or schema) of its own"
                    )
                if not create:
                    raise StorageError(
                        f"{where} holds no archive yet: make one with `chronicle import` or"
                        " `chronicle run`"
                    )
                await conn.execute(
                    "CREATE TABLE schema_migrations (version integer PRIMARY KEY,"
                    " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
                )
            applied = {r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")}
            known = migrations()
            newest_known = known[-1][0] if known else 0
            if applied and max(applied) > newest_known:
                raise StorageError(
                    f"{where} was written by a newer Chronicle (schema {max(applied)}, this one"
                    f" knows up to {newest_known}); upgrade Chronicle before using it"
                )
            for version, name, sql in known:
                if version in applied:
                    continue
                log.info("applying migration %s to %s", name, where)
                try:
                    await conn.execute(sql)
                    await _after_migration(conn, version)
                except asyncpg.PostgresError as exc:
                    raise StorageError(f"migration {name} failed on {where}: {exc}") from None
                await conn.execute(
                    "INSERT INTO schema_migrations(version, name) VALUES ($1, $2)", version, name
                )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A connection in a transaction, committed when the block ends without error."""
        async with self.pool.acquire() as conn, conn.transaction():
            yield conn

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return list(await self.pool.fetch(sql, *args))

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self.pool.fetchrow(sql, *args)
        return row

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self.pool.fetchval(sql, *args)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.pool.close()
