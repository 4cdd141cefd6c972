"""A 'new' digest's stories cut short, end to end: the real ChronicleBot over the loopback
Discord and a real SQLite database. Under each story cut short members read "… and N more
about <story>", its name as the heading shows it, mentioning no one; the last line counts
only the rest; /digest preview shows the same; a forum post of several messages keeps each
story's count with it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.client import ChronicleBot
from tests.e2e.harness import FakeClock, fire, only_digest, running_bot, sample
from tests.e2e.news_channels_support import (
    FORUM,
    NEWS,
    NEWS_ROLE,
    clock_fixture,  # noqa: F401 -- a fixture, found by pytest as `clock`
    digest_set,
    standin_fixture,  # noqa: F401 -- a fixture, found by pytest as `standin`
    wire_fixture,  # noqa: F401 -- a fixture, found by pytest as `wire`
)
from tests.e2e.standin.server import DiscordStandIn
from tests.e2e.test_digest_contents import daily, feed, polled, preview
from tests.support.feed_server import FeedServer

MORE = re.compile(r"^… and (\d+) more")
STORY_MORE = re.compile(r"^… and \d+ more (?:about|in) (.+)$")
HINT = "/search query:* since:2026-06-16"


async def arrive(
    bot: ChronicleBot,
    wire: FeedServer,
    clock: FakeClock,
    stories: Sequence[tuple[str | None, int]],
    headline: str = "news from",
) -> int:
    """Each (story, count) arrives in turn, an event a minute (None: naming nothing); how
    many in all."""
    feed_id = await feed(bot, wire, clock)
    n = 0
    for story, count in stories:
        for _ in range(count):
            n += 1
            at = clock() + dt.timedelta(minutes=n)
            about = (story,) if story else ()
            title = f"Item {n}: {headline} {story or 'the region'}"
            await polled(bot, feed_id, at, [(f"i-{n}", title, about)])
    return n


def lines_of(messages: Sequence[dict[str, Any]]) -> list[str]:
    """The lines members read, message after message, embed after embed."""
    return [
        line
        for message in messages
        for embed in message["embeds"]
        for line in (embed.get("description") or "").splitlines()
    ]


def not_items(lines: Sequence[str]) -> list[str]:
    return [line for line in lines if not line.startswith("• ")]


def listed_and_counted(lines: Sequence[str]) -> int:
    items = sum(line.startswith("• ") for line in lines)
    return items + sum(int(m[1]) for line in lines if (m := MORE.match(line)))


STORIES: list[tuple[str | None, int]] = [
    ("Syria", 12),
    ("Russia", 8),
    ("Iraq", 5),
    ("Iran", 5),
    ("Egypt", 3),
    ("Turkey", 2),
    (None, 10),
]


async def test_each_story_cut_short_says_how_many_more_in_the_post_and_its_preview(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    """45 events in a day: Syria lists 5 of its 12 and says "… and 7 more about Syria",
    Russia 5 of 8; the stories listed whole say nothing; the last line counts the 10 of
    "Other news", which had no line (the post had ended "… and 20 more", nothing saying
    whose). The preview shows the manager the same."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        digest_id = await daily(standin, bot)
        total = await arrive(bot, wire, clock, STORIES)
        shown = await preview(standin)
        await fire(bot, clock, digest_id)
    (call,) = standin.requests_to("POST", rf"/channels/{NEWS}/messages")
    lines = lines_of([call.json])
    assert not_items(lines) == [
        "**Syria**",
        "… and 7 more about Syria",
        "**Russia**",
        "… and 3 more about Russia",
        "**Iran**",
        "**Iraq**",
        "**Egypt**",
        "**Turkey**",
        f"… and 10 more besides: `{HINT}`",
    ]
    assert lines[lines.index("… and 7 more about Syria") - 1].startswith("• ")
    assert listed_and_counted(lines) == total == 45
    assert call.json["allowed_mentions"] == {"parse": []}
    assert lines_of(shown) == lines


async def test_a_long_forum_post_keeps_each_storys_count_with_it_and_pings_no_one(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    """A forum's daily post of long headlines, over several messages: a story named with
    bold, a role's mention, @everyone and a link lists 15 of its 20 and says "… and 5 more
    about" its name, escaped as its heading is (drawing none of it, pinging no one); each
    story's count follows its own items or its "(continued)" heading; all 35 are counted
    once."""
    name = f"**Breaking** <@&{NEWS_ROLE}> @everyone [vote](https://evil.example) _now_"
    escaped = rf"\*\*Breaking\*\* \<@&{NEWS_ROLE}> @everyone \[vote\](https://evil.example) \_now\_"
    words = "officials say the talks will resume after a long pause in the capital " * 3
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await digest_set(
            standin, kind="new", channel=FORUM, every="daily", time="23:00", timezone="UTC"
        )
        digest_id = await only_digest(bot)
        total = await arrive(bot, wire, clock, [(name, 20), ("Geneva", 15)], headline=words)
        await fire(bot, clock, digest_id)
    (created,) = standin.requests_to("POST", rf"/channels/{FORUM}/threads")
    thread = int(created.response["id"])
    calls = [created.json["message"]] + [
        r.json for r in standin.requests_to("POST", rf"/channels/{thread}/messages")
    ]
    assert len(calls) >= 2  # a post of several messages
    assert all(call["allowed_mentions"] == {"parse": []} for call in calls)
    lines = lines_of(calls)
    assert [line for line in lines if STORY_MORE.match(line)] == [
        f"… and 5 more about {escaped}",
        "… and 5 more about Geneva",
    ]
    assert lines[-1] == f"All of them: `{HINT}`"
    assert listed_and_counted(lines) == total == 35
    for call in calls:
        for embed in call["embeds"]:
            own = (embed.get("description") or "").splitlines()
            for index, line in enumerate(own):
                if found := STORY_MORE.match(line):
                    before = own[index - 1] if index else ""
                    assert before.startswith("• ") or before == f"**{found[1]}** (continued)"
    heading = None
    for line in lines:
        if line.startswith("**"):
            heading = line.removesuffix(" (continued)")
        elif found := STORY_MORE.match(line):
            assert heading == f"**{found[1]}**"
