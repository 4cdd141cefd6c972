"""A deterministic synthetic archive of N events, shaped like the real one.

    python -m benchmarks.corpus --events 100000 --out /tmp/corpus        # Markdown files
    python -m benchmarks.corpus --events 100000 --db /tmp/corpus.db      # straight into SQLite

Everything is drawn from ``benchmarks/profile.json`` (measured on ../shared/data by
``benchmarks/profile_data.py``) with one seed, so the same arguments always give the same
archive, byte for byte:

- headline and summary lengths, word frequencies (the sample's words by their counts, and a
  made-up Zipf tail so that a large archive has rare words too), sources per event with
  their publishers and cover images, the share of events with a summary, format variants
  (``Formats:`` preambles, ``### Source:``/``### Sources:``, ``### Changes:`` lists with older
  slugs, ``##### Story`` lines, HTML entities);
- entities per event, with a long tail: the head of the popularity curve is the sample's own
  (ranked counts of the Chinese edition, which is complete enough to have one), continued
  as Zipf s=1 up to one entity per 12 links, so at 1M events a few entities are in tens of
  thousands of events and the median one in a handful;
- stories: most events belong to a story (a cluster of core entities over a stretch of
  time), which is what makes Related items share 2-4 entities, as in the sample;
- Related lists of 5 or 10 (Chinese: 0-10) items whose contexts are the shared entities,
  ordered as each edition's generator did (English: most shared first, then the date path
  compared as text; Chinese: newest first). Items are the best of a bounded candidate pool
  (story neighbours and a few events of each entity), not of the whole archive: computing
  the exact rule for a million events is what the benchmark measures Chronicle doing;
- dates spread over 1990-2026 (later years a little busier), about 5% Chinese events
  (the Chinese edition's names and character bigrams) in ``news-zh/``;
- day ``index.md`` files listing every event of the day with its story, and its summary
  or, without one, its full ``_Context:_`` entity list (the Chinese edition lists neither).

Two outputs from one model: Markdown files in the archive layout (``news/YYYY/MM/D/<slug>.md``
and ``index.md``; ``news-zh/...``), and the very records parsing those files gives, imported
through ``Storage`` and ``EventRepository.import_batch`` in large batches (no files, no
parsing: for speed). Both go through files/records in the order ``chronicle import`` reads
them, so the two databases hold the same archive.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.corpus_model import Corpus, CorpusSpec
from storage import open_storage


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.corpus",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--events", type=int, required=True, metavar="N")
    parser.add_argument("--seed", type=int, default=1990)
    parser.add_argument("--zh-fraction", type=float, default=0.05)
    parser.add_argument("--out", type=Path, help="write the Markdown archive under this folder")
    parser.add_argument("--db", type=Path, help="import the corpus into this SQLite file")
    args = parser.parse_args(argv)
    if args.out is None and args.db is None:
        parser.error("say where: --out FOLDER and/or --db FILE")
    spec = CorpusSpec(args.events, args.seed, args.zh_fraction)

    def show(done: int, total: int) -> None:
        print(f"\r  {done:,}/{total:,}", end="", file=sys.stderr, flush=True)

    started = time.perf_counter()
    corpus = Corpus(spec, progress=show)
    print(f"\rmodel built in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    print(json.dumps(corpus.describe(), indent=1))
    if args.out:
        files = corpus.write_markdown(args.out, show)
        print(f"\rwrote {files:,} files under {args.out}", file=sys.stderr)
    if args.db:

        async def build() -> None:
            async with await open_storage(args.db) as storage:
                await corpus.write_database(storage, progress=show)

        asyncio.run(build())
        print(f"\rimported into {args.db}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
