"""pgbouncer in transaction mode in front of the test server, as README's "Running at scale"
sets it up: started from Debian's binary when it is installed."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.support.local_server import free_port

BINARIES = ("pgbouncer", "/usr/sbin/pgbouncer")


def binary() -> str | None:
    for name in BINARIES:
        if found := shutil.which(name):
            return found
    return None


def _configuration(url: str, port: int, pool_size: int) -> Path:
    """A folder with pgbouncer.ini and its users, readable by the user pgbouncer runs as
    (it refuses to run as root)."""
    server = urlsplit(url)
    user = server.username or "postgres"
    folder = Path(tempfile.mkdtemp(prefix="chronicle-pgbouncer-"))
    folder.chmod(0o755)
    (folder / "users.txt").write_text(f'"{user}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={server.hostname or '127.0.0.1'} port={server.port or 5432}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\n"
        f"auth_type = trust\nauth_file = {folder / 'users.txt'}\n"
        f"pool_mode = transaction\ndefault_pool_size = {pool_size}\n"
        "ignore_startup_parameters = extra_float_digits\n"
    )
    for name in ("users.txt", "pgbouncer.ini"):
        (folder / name).chmod(0o644)
    return folder


@asynccontextmanager
async def transaction_pooler(url: str, *, pool_size: int = 4) -> AsyncIterator[str]:
    """pgbouncer (pool_mode = transaction) in front of the server of a URL; yields the URL
    through it, with the statement cache off as the README says."""
    found = binary()
    assert found is not None, "pgbouncer is not installed"
    server = urlsplit(url)
    user = server.username or "postgres"
    port = free_port()
    folder = _configuration(url, port, pool_size)
    run_as = ["-u", "postgres"] if os.geteuid() == 0 else []
    process = await asyncio.create_subprocess_exec(
        found,
        *run_as,
        str(folder / "pgbouncer.ini"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with asyncio.timeout(10):
            while True:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    await asyncio.sleep(0.05)
                    continue
                writer.close()
                break
        netloc = f"{user}@127.0.0.1:{port}"
        yield urlunsplit(server._replace(netloc=netloc, query="statement_cache_size=0"))
    finally:
        process.terminate()
        await process.wait()
        shutil.rmtree(folder, ignore_errors=True)
