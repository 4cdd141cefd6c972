"""When the portal's new items are told: after a later poll has read their page again
(storage.news_rules), as the bot's settings and its last poll say. Read by the alert
sweeps, digests and previews alike."""

from __future__ import annotations

import datetime as dt

from bot.config import Settings
from bot.ingest.portal import EDITIONS
from storage import Storage

# How long a portal item waits at most for a poll to read its page again.
WAITING_AT_MOST = dt.timedelta(hours=1)


async def portal_waiting_since(
    storage: Storage, settings: Settings, now: dt.datetime
) -> dt.datetime | None:
    """While the bot polls the portal, its items found at or after this (the start of the
    last poll that read it) are not told yet (storage.news_rules): the next poll reads their
    page again first, and a vandal's item reverted meanwhile is removed, not announced. Not
    after WAITING_AT_MOST without a poll that read it (the wiki down): then they are told
    unread again, rather than have every alert sweep read all that came since."""
    if not settings.wikipedia_poll_minutes:
        return None
    wiki = EDITIONS[settings.wikipedia_language].language
    since = (await storage.portal.poll_state(wiki)).last_success_at
    if since is None or now - since > WAITING_AT_MOST + dt.timedelta(
        minutes=settings.wikipedia_poll_minutes
    ):
        return None
    return since
