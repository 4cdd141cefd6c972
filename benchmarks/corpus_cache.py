"""Each corpus generated once and kept in the work folder: its Markdown tree, its database."""

from __future__ import annotations

import hashlib
import json
import time
from importlib import resources
from pathlib import Path
from typing import Any

from benchmarks.corpus_model import Corpus, CorpusSpec, Progress
from benchmarks.corpus_text import PROFILE_PATH
from storage import open_storage


def fingerprint(spec: CorpusSpec) -> str:
    """Changes whenever the generated archive would: the spec, the version, the profile."""
    digest = hashlib.sha256(PROFILE_PATH.read_bytes()).hexdigest()[:12]
    return f"{spec.name}-p{digest}"


def schema_fingerprint() -> str:
    """A digest of Chronicle's migrations (they are edited in place during development)."""
    digest = hashlib.sha256()
    for entry in sorted(
        resources.files("storage.sqlite.migrations").iterdir(), key=lambda e: e.name
    ):
        if entry.name.endswith(".sql"):
            digest.update(entry.name.encode() + entry.read_bytes())
    return digest.hexdigest()[:12]


def ensure_markdown(
    spec: CorpusSpec, workdir: Path, progress: Progress | None = None, corpus: Corpus | None = None
) -> tuple[Path, dict[str, Any]]:
    """The corpus's Markdown tree under workdir, generated once (a marker file records a
    finished write, so an interrupted one is redone)."""
    root = workdir / fingerprint(spec) / "archive"
    marker = root / ".complete.json"
    if marker.exists():
        return root, json.loads(marker.read_text())
    corpus = corpus or Corpus(spec)
    if root.exists():
        import shutil

        shutil.rmtree(root)
    root.mkdir(parents=True)
    files = corpus.write_markdown(root, progress)
    meta = corpus.describe() | {"files": files}
    marker.write_text(json.dumps(meta, indent=1))
    return root, meta


async def ensure_database(
    spec: CorpusSpec, workdir: Path, progress: Progress | None = None, corpus: Corpus | None = None
) -> tuple[Path, dict[str, Any], float]:
    """The corpus imported straight into a database, built once: (path, shape, seconds the
    build took, 0 when it came from the cache)."""
    # Keyed by the schema too: a database built by older migrations is not this one.
    path = workdir / fingerprint(spec) / f"direct-{schema_fingerprint()}.db"
    marker = path.with_suffix(".complete.json")
    if marker.exists() and path.exists():
        return path, json.loads(marker.read_text()), 0.0
    if path.parent.exists():  # older schemas' databases: gigabytes at a million events
        for stale in path.parent.glob("direct-*"):
            stale.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    corpus = corpus or Corpus(spec)
    started = time.perf_counter()
    storage = await open_storage(path)
    try:
        await corpus.write_database(storage, progress=progress)
    finally:
        await storage.close()
    seconds = time.perf_counter() - started
    meta = corpus.describe() | {"seconds": seconds}
    marker.write_text(json.dumps(meta, indent=1))
    return path, meta, seconds
