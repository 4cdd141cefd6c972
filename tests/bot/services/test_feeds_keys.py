"""The key a feed item's event gets (shown under its card, typed to `chronicle show`): made
from its headline, in the headline's own letters when they are not Latin."""

from __future__ import annotations

from bot.services.feeds.service import FeedService
from storage import Storage
from storage.keys import make_key
from tests.bot.services.feeds_support import (
    NOW,
    clock_fixture,  # noqa: F401 -- a fixture, found by pytest as `clock`
    entry,
    rss,
    server_fixture,  # noqa: F401 -- a fixture, found by pytest as `server`
    service_fixture,  # noqa: F401 -- a fixture, found by pytest as `service`
    session_fixture,  # noqa: F401 -- a fixture, found by pytest as `session`
)
from tests.support.feed_server import FeedServer


async def test_a_headline_in_other_letters_keeps_them_in_its_key(
    storage: Storage, server: FeedServer, service: FeedService
) -> None:
    server.set_file(
        "world.xml",
        rss(
            entry("r1", "Путин заявил о выборах", link="https://w.example/1", date=NOW),
            entry("r2", "Трамп сказал о налогах", link="https://w.example/2", date=NOW),
            entry("j1", "岸田首相が辞任を表明", link="https://w.example/3", date=NOW),
            entry("e1", "Shinzō Abe visits Paris", link="https://w.example/4", date=NOW),
        ),
    )
    result = await service.add_feed(server.url("world.xml"))
    events = [await storage.events.get(i) for i in result.outcome.created]
    assert [e.key for e in events if e] == [
        make_key(NOW.date(), "путин-заявил-о-выборах"),
        make_key(NOW.date(), "трамп-сказал-о-налогах"),
        make_key(NOW.date(), "岸田首相が辞任を表明"),
        # Latin letters with accents still as the archive's English keys have them.
        make_key(NOW.date(), "shinza-abe-visits-paris"),
    ]
