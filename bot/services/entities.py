"""Entity names: the shipped alias file, applied wherever new names may have arrived."""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

from storage import Storage
from storage.entities import EntityError

log = logging.getLogger(__name__)


def default_alias_file() -> Path:
    return Path(str(resources.files("bot") / "aliases.tsv"))


def read_alias_file(path: Path) -> list[tuple[str, str]]:
    """(alias, canonical) pairs; '#' starts a comment. A bad line is logged and skipped."""
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split("\t") if p.strip()]
        if len(parts) != 2:
            log.warning("%s:%d: expected ALIAS<tab>CANONICAL, found %r", path, number, line)
            continue
        pairs.append((parts[0], parts[1]))
    return pairs


async def apply_aliases(storage: Storage, path: Path | None = None) -> int:
    """Fold the file's aliases into their canonical entities, for names the archive knows.
    Returns how many pairs changed something."""
    changed = 0
    for alias, canonical in read_alias_file(path or default_alias_file()):
        if (
            await storage.entities.find(alias) is None
            and await storage.entities.find(canonical) is None
        ):
            continue  # neither name has appeared yet
        try:
            result = await storage.entities.alias(alias, canonical)
        except EntityError as error:
            log.warning("alias %r -> %r not applied: %s", alias, canonical, error)
            continue
        if result.moved_links or result.created:
            changed += 1
    return changed
