"""`chronicle` as the end-to-end tests run it in a process of its own: the real command line
(``python -m tests.e2e.bot_process run --shard-count 2 --shards 0-0``), with the bot's
periodic work sped up so that a test sees in seconds what takes minutes:

* CHRONICLE_TEST_CHECK_SECONDS: how often the bot looks for due feeds, looks at the portal
  and sweeps for alerts (bot.client's FEED_CHECK_MINUTES, PORTAL_CHECK_MINUTES and
  ALERT_SWEEP_MINUTES: a minute each);
* CHRONICLE_TEST_FEED_POLL_SECONDS: how long after a poll a feed is due again (the
  FEED_POLL_MINUTES setting, which is at least a minute).

Nothing else differs from ``python -m bot``."""

from __future__ import annotations

import os
import sys
from typing import Any

import bot.client
from bot.cli import main
from bot.services.feeds.service import FeedService


def speed_up(environ: dict[str, str] | os._Environ[str] = os.environ) -> None:
    if check := environ.get("CHRONICLE_TEST_CHECK_SECONDS"):
        minutes = float(check) / 60
        bot.client.FEED_CHECK_MINUTES = minutes
        bot.client.PORTAL_CHECK_MINUTES = minutes
        bot.client.ALERT_SWEEP_MINUTES = minutes
    if poll := environ.get("CHRONICLE_TEST_FEED_POLL_SECONDS"):
        poll_minutes = float(poll) / 60

        class QuickFeeds(FeedService):
            def __init__(self, *args: Any, **kwargs: Any):
                kwargs["poll_minutes"] = poll_minutes
                super().__init__(*args, **kwargs)

        bot.client.FeedService = QuickFeeds  # type: ignore[misc]


if __name__ == "__main__":
    speed_up()
    sys.exit(main())
