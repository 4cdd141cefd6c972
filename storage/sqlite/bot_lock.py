"""One bot process to a SQLite file.

Two `chronicle run` on one file (one left running in a terminal, another started as a
service) would both log in with the one token, both poll, and both post. The bot holds an
exclusive lock on a file beside the database for its life, taken before the database is
opened (a newer Chronicle started by mistake must not upgrade the schema under an older
bot); the operating system releases it when the process ends, however it ends. The lock
file holds the holder's process id, for the message. `chronicle migrate` holds it too, as a
bot would change the file under the copy; the other commands take no lock and run beside
the bot.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from storage.models import StorageError


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".bot-lock")


@contextmanager
def bot_lock(database: Path, *, create: bool = True) -> Iterator[None]:
    """Hold the database for this bot process; StorageError when another holds it. Nothing
    is held where there is nothing to protect: no database yet (and ``create`` off), or a
    folder no lock file can be made in, where the database cannot be written either (opening
    it says so)."""
    path = lock_path(database.resolve())  # one lock for the file, whichever link names it
    if not create and not database.exists():
        yield
        return
    try:
        handle = open(path, "a+", encoding="ascii")  # noqa: SIM115 -- held for the bot's life
    except OSError:
        yield
        return
    try:
        if not _try_lock(handle):
            raise StorageError(
                f"{os.path.abspath(database)} is in use by a Chronicle bot ({_holder(path)})"
            )
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()  # and with it the lock


def _try_lock(handle: IO[str]) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(path: Path) -> str:
    try:
        pid = path.read_text(encoding="ascii").strip()
    except OSError:  # Windows: the holder's lock covers what it wrote
        return "its process id unknown"
    return f"process {pid}" if pid.isdigit() else "its process id unknown"
