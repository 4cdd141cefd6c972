"""Entity names: the shipped alias file, applied wherever new names may have arrived."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from storage import Storage
from storage.models import EntityError
from storage.textindex import fold

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
    changed, _ = await apply_alias_pairs(storage, read_alias_file(path or default_alias_file()))
    return changed


async def apply_alias_pairs(
    storage: Storage, pairs: Sequence[tuple[str, str]]
) -> tuple[int, list[tuple[str, str]]]:
    """Apply the (alias, canonical) pairs either of whose names the archive knows: (how
    many changed something, the pairs whose names have not appeared yet). A pair applied
    can make another's name known (its canonical name is created): the pairs are gone
    through again until none applies, so that the order names arrive in does not matter."""
    changed = 0
    waiting = [p for p in pairs if fold(p[0]) != fold(p[1])]  # one name already
    while waiting:
        # One query for every name: an import asks after each batch.
        known = await storage.entities.known(name for pair in waiting for name in pair)
        ready = [p for p in waiting if fold(p[0]) in known or fold(p[1]) in known]
        if not ready:
            break
        waiting = [p for p in waiting if p not in ready]
        for alias, canonical in ready:
            try:
                result = await storage.entities.alias(alias, canonical)
            except EntityError as error:
                log.warning("alias %r -> %r not applied: %s", alias, canonical, error)
                continue
            if result.moved_links or result.created:
                changed += 1
    return changed, waiting
