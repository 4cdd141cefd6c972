"""The entity matcher's feed side: the names it knows, loaded from storage as they arrive,
and its verdicts on names used as common words, asked of the archive's headlines (the
rules themselves are bot.services.tagging's)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bot.ingest.feeds.entries import FeedEntry
from bot.services.tagging import EntityMatcher, generic_verdict
from storage import Storage


class FeedMatcher:
    """One EntityMatcher kept up to date with one Storage's entity names."""

    def __init__(self, storage: Storage, matcher: EntityMatcher | None = None):
        self.storage = storage
        self.matcher = matcher if matcher is not None else EntityMatcher()
        # Polls of one round refresh concurrently: one loads, the others then find nothing new.
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        """Load the entity names created since the last look (all of them the first time)."""
        async with self._lock:
            rows = await self.storage.entities.names(after_id=self.matcher.last_entity_id)
            if not rows:
                return
            for row in rows:
                self.matcher.add(row.name, row.canonical, events=row.event_count)
            self.matcher.last_entity_id = rows[-1].id

    async def judge_names(self, entries: Sequence[FeedEntry]) -> None:
        """Whether each name these entries use as a common word ("murder", 警察) is one
        by the archive's headlines, for the names not judged before (see
        bot.services.tagging): a few indexed reads the first time a name is so used."""
        unjudged: list[str] = []
        for entry in entries:
            self.matcher.find(entry.title, entry.summary, unjudged=unjudged)
        for name in dict.fromkeys(unjudged):
            if not self.matcher.judged(name):
                mentions = await self.storage.entities.headline_mentions(name)
                self.matcher.judge(name, generic_verdict(name, mentions))
