"""Links stored before from a private feed's items that pointed at the feed itself (a link
"#a1" or "" resolved against its URL, token and all): an upgrade takes the token out, on
both backends."""

from __future__ import annotations

from storage import Storage
from tests.storage.conftest import BACKENDS, OpenArchive
from tests.storage.feeds_support import T0, item, sources, store

# The migration that takes the feed's token out of such links.
LINKS_WITHOUT_TOKENS = {"sqlite": 24, "postgresql": 18}
FEED = "https://alice:pw@a.example/feed.atom?edition=uk&token=T0K&api-key=K3Y"
# What the items' links were: the feed's URL without its login, with its query.
OLD = "https://a.example/feed.atom?edition=uk&token=T0K&api-key=K3Y"
BARE = "https://a.example/feed.atom?edition=uk"


async def identities(storage: Storage, backend: str) -> list[str]:
    rows = await BACKENDS[backend][1](storage, "SELECT identity FROM feed_entries", ())
    return sorted(str(row[0]) for row in rows)


async def test_an_archive_from_before_keeps_no_feed_token_in_its_links(
    open_archive: OpenArchive, backend: str
) -> None:
    """Before, an item linking to an anchor of its private feed (`<link>#harbour</link>`)
    was shown to every member as `…/feed.atom?edition=uk&token=…#harbour`: an upgrade shows
    it as `…/feed.atom?edition=uk#harbour`, and a link the event already has is not kept
    twice; an entry known by that link (it had no GUID) is still the same entry."""
    run = BACKENDS[backend][1]
    storage = await open_archive("upgraded")
    feed = await storage.feeds.add(FEED, "Private", now=T0)
    stored = await store(
        storage,
        feed.id,
        item(f"{OLD}#harbour", link=f"{OLD}#harbour"),
        item("g2", "Earthquake strikes off the coast of Chile", link=OLD),
        item("g3", "Senate passes the railway budget", link="https://a.example/news/3"),
    )
    one, two, three = stored.created
    await run(
        storage,
        "INSERT INTO sources(event_id, position, name, url, from_feed)"
        " VALUES (?, 1, 'Private', ?, ?), (?, 2, 'Elsewhere', ?, ?), (?, 1, 'Private', ?, ?)",
        (two, BARE, True, two, OLD, False, three, f"{OLD}&page=2", True),
    )
    await run(
        storage, "DELETE FROM schema_migrations WHERE version = ?", (LINKS_WITHOUT_TOKENS[backend],)
    )
    await storage.close()
    async with await open_archive("upgraded") as storage:  # the migration runs
        assert await sources(storage, one) == [("Private", f"{BARE}#harbour")]
        assert await sources(storage, two) == [
            ("Private", BARE),  # the link it had already, not twice
            ("Elsewhere", OLD),  # not a feed's: kept as given
        ]
        assert await sources(storage, three) == [
            ("Private", "https://a.example/news/3"),
            ("Private", f"{OLD}&page=2"),  # not the feed's own URL
        ]
        assert await identities(storage, backend) == sorted([f"{BARE}#harbour", "g2", "g3"])
        # The feed's own URL keeps its token: the fetch needs it.
        assert (await storage.feeds.list())[0].url == FEED
