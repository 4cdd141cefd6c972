"""Reading a file named as an input (an archive page, an article text): a regular file, a
link to one followed, read no further than its limit, so that a device (/dev/zero), a pipe
or a huge file is refused at once rather than read to the end."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path


class FileRefused(Exception):
    """Why the file cannot be read as an input; ``kind`` is 'folder' or 'special' for a
    folder or a device, pipe or socket (each reader says what to do), else ''."""

    def __init__(self, reason: str, kind: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


def read_bounded(path: Path, limit: int, too_large: Callable[[int], str]) -> bytes:
    """The file's bytes, at most ``limit`` of them; FileRefused says why not
    (``too_large(size)`` for a file past the limit)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise FileRefused(f"a link to nothing ({os.readlink(path)})") from None
        raise FileRefused("no such file") from None
    except OSError as exc:
        raise FileRefused(f"cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise FileRefused("a folder", "folder")
    if not stat.S_ISREG(info.st_mode):
        raise FileRefused("not a regular file (a device, a pipe or a socket)", "special")
    if info.st_size > limit:
        raise FileRefused(too_large(info.st_size))
    try:
        with path.open("rb") as file:
            data = file.read(limit + 1)
    except OSError as exc:
        raise FileRefused(f"cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:  # it grew, or its size was not what stat said
        raise FileRefused(too_large(len(data)))
    return data
