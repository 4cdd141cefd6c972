"""Links stored before from a private feed's items that pointed at the feed itself (a link
"#a1" or "" resolved against its URL, token and all): an upgrade takes the token out, on
both backends, whichever way the fetch had written the feed's URL."""

from __future__ import annotations

import pytest

from bot.ingest.feeds.parse import parse_feed
from storage import Storage
from tests.storage.conftest import BACKENDS, OpenArchive
from tests.storage.feeds_support import T0, item, sources, store

# The migration that takes the feed's token out of such links.
LINKS_WITHOUT_TOKENS = {"sqlite": 24, "postgresql": 18}
FEED = "https://alice:pw@a.example/feed.atom?edition=uk&token=T0K&api-key=K3Y"
# What the items' links were: the feed's URL without its login, with its query.
OLD = "https://a.example/feed.atom?edition=uk&token=T0K&api-key=K3Y"
BARE = "https://a.example/feed.atom?edition=uk"
HEADLINES = ("Harbour reopens after the storm", "Senate passes the railway budget")


async def identities(storage: Storage, backend: str) -> list[str]:
    rows = await BACKENDS[backend][1](storage, "SELECT identity FROM feed_entries", ())
    return sorted(str(row[0]) for row in rows)


async def test_an_archive_from_before_keeps_no_feed_token_in_its_links(
    open_archive: OpenArchive, backend: str
) -> None:
    """Before, an item linking to an anchor of its private feed (`<link>#harbour</link>`)
    was shown to every member as `…/feed.atom?edition=uk&token=…#harbour`: an upgrade shows
    it as `…/feed.atom?edition=uk#harbour`, and a link the event already has is not kept
    twice; an entry known by that link (it had no GUID) is still the same entry. Any link
    of the feed's events that carried the operator's token loses it."""
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
            ("Private", f"{BARE}&page=2"),  # another page of the feed: its token goes too
        ]
        assert await identities(storage, backend) == sorted([f"{BARE}#harbour", "g2", "g3"])
        # The feed's own URL keeps its token: the fetch needs it.
        assert (await storage.feeds.list())[0].url == FEED


async def stored_before_the_upgrade(
    open_archive: OpenArchive, backend: str, feed_url: str, *links: str
) -> list[int]:
    """The events of a private feed's items with these links (and no GUID: each known by
    its link), in an archive that has not had the upgrade yet; the archive closed."""
    run = BACKENDS[backend][1]
    storage = await open_archive("upgraded")
    feed = await storage.feeds.add(feed_url, "Private", now=T0)
    stored = await store(
        storage,
        feed.id,
        *(
            item(link, headline, link=link)
            for headline, link in zip(HEADLINES[: len(links)], links, strict=True)
        ),
    )
    await run(
        storage, "DELETE FROM schema_migrations WHERE version = ?", (LINKS_WITHOUT_TOKENS[backend],)
    )
    await storage.close()
    return list(stored.created)


@pytest.mark.parametrize(
    ("feed_url", "stored", "shown"),
    [
        # A token in base64, its "/" written %2F: the fetch wrote it "/".
        (
            "https://a.example/feed.atom?edition=uk&token=ab%2Fcd%3D%3D",
            "https://a.example/feed.atom?edition=uk&token=ab/cd%3D%3D#harbour",
            "https://a.example/feed.atom?edition=uk#harbour",
        ),
        # The host as typed, and the default port: the fetch wrote neither so.
        (
            "https://News.Example.com:443/feed.atom?token=T0K",
            "https://news.example.com/feed.atom?token=T0K#harbour",
            "https://news.example.com/feed.atom#harbour",
        ),
        # %7E in the path and a token in letters beyond ASCII, written again both ways.
        (
            "https://a.example/%7Ealice/feed.atom?token=café",
            "https://a.example/~alice/feed.atom?token=caf%C3%A9#harbour",
            "https://a.example/~alice/feed.atom#harbour",
        ),
        # The feed had moved for a while: its items' links were resolved against the
        # redirect's target, which carried the token too.
        (
            "https://a.example/feed.atom?token=T0K",
            "https://cdn.example/private/feed.atom?v=2&token=T0K&sig=X9#harbour",
            "https://cdn.example/private/feed.atom?v=2#harbour",
        ),
    ],
)
async def test_links_as_the_fetch_wrote_the_feed_url_lose_the_token(
    open_archive: OpenArchive, backend: str, feed_url: str, stored: str, shown: str
) -> None:
    """An item linking to an anchor of its private feed had been resolved against the URL
    as the fetch wrote it (or as a redirect gave it), not as the operator typed it: after
    the upgrade its source shows it without the token, all else as it was, and the entry
    (known by its link) is still the same entry."""
    (one,) = await stored_before_the_upgrade(open_archive, backend, feed_url, stored)
    async with await open_archive("upgraded") as storage:  # the migration runs
        assert await sources(storage, one) == [("Private", shown)]
        assert await identities(storage, backend) == [shown]


async def test_links_that_carry_none_of_the_feed_secrets_are_kept(
    open_archive: OpenArchive, backend: str
) -> None:
    """The private feed's other links are shown as they were, even one with a token of its
    own (the article's, not the operator's) or a query value that is not a secret."""
    links = (
        "https://a.example/news/3?page=T0K",  # the token's value, but not as a secret
        "https://b.example/story?token=OTHER#top",  # a site's own token
    )
    created = await stored_before_the_upgrade(
        open_archive, backend, "https://a.example/feed.atom?token=T0K", *links
    )
    async with await open_archive("upgraded") as storage:
        assert [await sources(storage, event) for event in created] == [
            [("Private", link)] for link in links
        ]
        assert await identities(storage, backend) == sorted(links)


PERMALINK = "https://a.example/news/1?token=T0K"
PERMALINK_RSS = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>P</title>
<item><title>Harbour reopens after the storm</title><guid>{PERMALINK}</guid>
<description>The harbour reopened on Monday.</description></item></channel></rss>"""


async def test_an_entry_known_by_a_guid_carrying_the_token_is_the_same_entry_after_the_upgrade(
    open_archive: OpenArchive, backend: str
) -> None:
    """A private feed whose GUIDs are permalinks carrying the reader's token: the upgrade
    takes the token out of the stored identity, and the next poll reads the same identity
    (the token out of it too), so the item is one the archive has, not news told again."""
    feed_url = "https://a.example/feed.rss?token=T0K"
    storage = await open_archive("upgraded")
    feed = await storage.feeds.add(feed_url, "Private", now=T0)
    stored = await store(storage, feed.id, item(PERMALINK, "Harbour reopens after the storm"))
    assert len(stored.announced) == 1
    await BACKENDS[backend][1](
        storage, "DELETE FROM schema_migrations WHERE version = ?", (LINKS_WITHOUT_TOKENS[backend],)
    )
    await storage.close()

    parsed = await parse_feed(PERMALINK_RSS.encode(), url=feed_url, content_type=None)
    (entry,) = parsed.entries
    assert "T0K" not in entry.identity
    async with await open_archive("upgraded") as storage:  # the migration runs
        again = await store(storage, feed.id, item(entry.identity, entry.title))
        assert again.already_seen == 1 and not again.created and not again.announced, again
