"""A feed's words are shown as they were written: a headline holding Discord's own syntax
(a member's mention, a channel, a role, a timestamp) reaches an alert and a live digest as
text, not drawn as a mention pill, a channel link or a live date; and it pings no one."""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e.harness import FakeClock, dms_to, running_bot, sample
from tests.e2e.news_channels_support import (
    GENERAL,
    NEWS,
    OLD,
    clock_fixture,  # noqa: F401 -- a fixture, found by pytest as `clock`
    descriptions,
    digest_set,
    ingest,
    posts,
    standin_fixture,  # noqa: F401 -- a fixture, found by pytest as `standin`
    wire_fixture,  # noqa: F401 -- a fixture, found by pytest as `wire`
)
from tests.e2e.standin.constants import DEFAULT_USER_ID
from tests.e2e.standin.server import DiscordStandIn
from tests.support.feed_server import FeedServer

HEADLINE = f"Russia: <@{DEFAULT_USER_ID}> in <#{GENERAL}> with <@&1> says it <t:0:R>"
# Discord's syntax as it draws it: <@id>, <@!id>, <@&id>, <#id>, </name:id>, <t:…>.
DRAWN = re.compile(r"(?<!\\)<(?:@[!&]?\d+|#\d+|/[\w -]+:\d+|t:-?\d+(?::\w)?)>")


async def test_a_headline_in_discord_s_syntax_is_shown_as_typed(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        handle = await standin.send_slash_command("subscribe", {"entity": "Russia"})
        assert "follow" in (await handle.callback()).json["data"]["content"]
        await digest_set(standin, kind="new", channel=NEWS, every="live")

        await ingest(bot, clock, wire, [("m-1", HEADLINE), *OLD])

        (alert,) = dms_to(standin, standin.users[DEFAULT_USER_ID])
        (post,) = posts(standin, NEWS)
        for shown in (alert.json["embeds"][0]["description"], descriptions(post)):
            # Nothing of the headline's is drawn (the event's day is written out as text).
            assert "Russia" in shown and DRAWN.findall(shown) == [], shown
            assert f"\\<@{DEFAULT_USER_ID}>" in shown and "\\<t:0:R>" in shown
        # Nobody was pinged, the subscriber included (a DM pings no one).
        assert post["mentions"] == [] and post["mention_roles"] == []
        assert not posts(standin, GENERAL)
