"""A PostgreSQL server for the tests: the one CHRONICLE_TEST_DATABASE_URL names, else a
throwaway cluster started from PostgreSQL's binaries in a temporary folder, else none
(the PostgreSQL tests then skip with the reason; CHRONICLE_REQUIRE_POSTGRES=1, which CI
sets, makes that a failure). Each test session gets a fresh database, dropped afterwards;
each archive a test opens is a schema of its own in it."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

URL_SETTING = "CHRONICLE_TEST_DATABASE_URL"
REQUIRE_SETTING = "CHRONICLE_REQUIRE_POSTGRES"


class NoServer(Exception):
    """Why there is no PostgreSQL to test against."""


def required() -> bool:
    return os.environ.get(REQUIRE_SETTING, "").strip().lower() in {"1", "true", "yes", "on"}


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def with_schema(url: str, schema: str) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&search_path={schema}" if parts.query else f"search_path={schema}"
    return urlunsplit(parts._replace(query=query))


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[str]:
    """A cluster of its own in a temporary folder, for machines without a server."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not (initdb and pg_ctl):
        raise NoServer(f"no server configured ({URL_SETTING}) and no PostgreSQL binaries found")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        raise NoServer(f"no server configured ({URL_SETTING}), and initdb refuses to run as root")
    with tempfile.TemporaryDirectory(prefix="chronicle-pg-") as folder:
        data = Path(folder) / "data"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        subprocess.run(
            [initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [pg_ctl, "-D", str(data), "-w", "-l", str(Path(folder) / "log"), "-o",
             f"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "start"],
            check=True,
            capture_output=True,
        )
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run([pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)


async def create_database(server: str) -> str:
    """A fresh database on the server for one test session; its URL."""
    name = f"chronicle_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return with_database(server, name)


async def drop_database(server: str, database: str) -> None:
    name = urlsplit(database).path.lstrip("/")
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def create_schema(database: str, schema: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    finally:
        await conn.close()
