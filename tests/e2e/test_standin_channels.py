"""The stand-in's news-channel surface, driven by the real discord.py client.

Forum posts, threads, announcement crossposts, role mentions, enforced rate limits and
permission changes while the bot is connected -- each checked the way a digest poster would
meet them on Discord.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands

from tests.e2e.fixtures import make_standin_fixture
from tests.e2e.standin.constants import (
    BOT_USER_ID,
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_CHANNEL_ID,
    DEFAULT_EVERYONE_PERMISSIONS,
    DEFAULT_GUILD_ID,
    DEFAULT_TOKEN,
    GUILD_ANNOUNCEMENT,
    GUILD_FORUM,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    VIEW_CHANNEL,
)
from tests.e2e.standin.messages import FLAG_CROSSPOSTED
from tests.e2e.standin.model import ChannelSpec, GuildSpec, RoleSpec, make_guild, make_thread
from tests.e2e.standin.records import RateLimits, RecordedRequest
from tests.e2e.standin.server import DiscordStandIn, connected_client
from tests.e2e.standin_support import (
    restore_discord_endpoints_fixture,  # noqa: F401 -- autouse, undoes the endpoint overrides
)

WAIT = 5.0
GENERAL = DEFAULT_CHANNEL_ID
ANNOUNCEMENTS = DEFAULT_GUILD_ID + 11
FORUM = DEFAULT_GUILD_ID + 12
THREAD = DEFAULT_GUILD_ID + 13
PRIVATE_THREAD_ID = DEFAULT_GUILD_ID + 14
DAILY_TAG = DEFAULT_GUILD_ID + 50
NEWS_ROLE = DEFAULT_GUILD_ID + 60
QUIET_ROLE = DEFAULT_GUILD_ID + 61
MESSAGES = r"/channels/\d+/messages"


def news_guild(**overrides: Any) -> GuildSpec:
    """#general, an announcement channel, a forum with a tag, and two threads under #general."""
    guild = make_guild(
        channels=[
            "general",
            ChannelSpec(ANNOUNCEMENTS, "announcements", type=GUILD_ANNOUNCEMENT, position=1),
            ChannelSpec(
                FORUM, "digests", type=GUILD_FORUM, position=2, available_tags={DAILY_TAG: "daily"}
            ),
            make_thread(GENERAL, THREAD, "world-news"),
            make_thread(GENERAL, PRIVATE_THREAD_ID, "editors", private=True, bot_joined=False),
        ],
        roles=[
            RoleSpec(NEWS_ROLE, "news", position=2, mentionable=True),
            RoleSpec(QUIET_ROLE, "quiet", position=3, mentionable=False),
        ],
        **overrides,
    )
    guild.system_channel_id = GENERAL
    guild.preferred_locale = "en-GB"
    return guild


def new_client() -> discord.Client:
    return discord.Client(intents=discord.Intents.default())


standin = make_standin_fixture(guilds=lambda: [news_guild()])


@pytest.fixture
async def client(standin: DiscordStandIn) -> AsyncIterator[discord.Client]:
    bot = new_client()
    async with connected_client(bot, standin, timeout=WAIT):
        yield bot


def guild_of(client: discord.Client) -> discord.Guild:
    guild = client.get_guild(DEFAULT_GUILD_ID)
    assert guild is not None
    return guild


def text_channel(client: discord.Client, channel_id: int) -> discord.TextChannel:
    channel = guild_of(client).get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)
    return channel


def posts(standin: DiscordStandIn, channel_id: int) -> list[RecordedRequest]:
    return standin.requests_to("POST", rf"/channels/{channel_id}/messages")


# --------------------------------------------------------------------------------------------
# Guild state
# --------------------------------------------------------------------------------------------


async def test_guild_create_carries_threads_forum_and_guild_settings(
    standin: DiscordStandIn, client: discord.Client
) -> None:
    guild = guild_of(client)
    assert guild.preferred_locale is discord.Locale.british_english
    assert guild.system_channel is not None and guild.system_channel.id == GENERAL

    forum = guild.get_channel(FORUM)
    assert isinstance(forum, discord.ForumChannel)
    assert [t.name for t in forum.available_tags] == ["daily"]
    assert text_channel(client, ANNOUNCEMENTS).is_news()

    # Threads come in GUILD_CREATE's "threads" (not "channels"); the private one the bot is
    # not a member of is not visible to it.
    thread = guild.get_thread(THREAD)
    assert thread is not None and thread.parent_id == GENERAL
    assert thread.type is discord.ChannelType.public_thread
    assert thread.me is not None and thread.owner_id == BOT_USER_ID
    assert guild.get_thread(PRIVATE_THREAD_ID) is None
    assert guild.get_channel(THREAD) is None

    fetched = await asyncio.wait_for(client.fetch_channel(THREAD), WAIT)
    assert isinstance(fetched, discord.Thread) and fetched.name == "world-news"
    listed = await asyncio.wait_for(guild.fetch_channels(), WAIT)
    assert {c.id for c in listed} == {GENERAL, ANNOUNCEMENTS, FORUM}


# --------------------------------------------------------------------------------------------
# Forum posts
# --------------------------------------------------------------------------------------------


async def test_forum_post_creates_thread_with_first_message(
    standin: DiscordStandIn, client: discord.Client
) -> None:
    forum = guild_of(client).get_channel(FORUM)
    assert isinstance(forum, discord.ForumChannel)
    tag = forum.get_tag(DAILY_TAG)
    assert tag is not None
    created_event = asyncio.ensure_future(client.wait_for("thread_create", timeout=WAIT))

    post = await asyncio.wait_for(
        forum.create_thread(
            name="Digest for 16 June",
            content="Today's top stories",
            embeds=[discord.Embed(title="Iraq"), discord.Embed(title="Syria")],
            applied_tags=[tag],
            allowed_mentions=discord.AllowedMentions.none(),
        ),
        WAIT,
    )
    thread, message = post.thread, post.message
    assert thread.id == message.id  # a forum post's first message has the thread's id
    assert thread.parent_id == FORUM and thread.type is discord.ChannelType.public_thread
    assert [t.id for t in thread.applied_tags] == [DAILY_TAG]
    assert message.content == "Today's top stories"
    assert [e.title for e in message.embeds] == ["Iraq", "Syria"]
    assert (await created_event).id == thread.id  # THREAD_CREATE reached discord.py's cache
    assert guild_of(client).get_thread(thread.id) is not None

    request = standin.requests_to("POST", rf"/channels/{FORUM}/threads")[0]
    assert request.status == 201 and request.query == {"use_nested_fields": "1"}
    assert request.json["name"] == "Digest for 16 June"
    assert request.json["message"]["allowed_mentions"] == {"parse": []}
    assert request.response["message"]["id"] == request.response["id"]
    assert [m["id"] for m in standin.messages_in(thread.id)] == [str(thread.id)]
    spec = standin.guilds[DEFAULT_GUILD_ID].channel(thread.id)
    assert spec.parent_id == FORUM and spec.message_count == 0

    # With a file the same request goes out as multipart.
    with_file = await asyncio.wait_for(
        forum.create_thread(
            name="Digest (CSV)", file=discord.File(io.BytesIO(b"a,b\n"), filename="d.csv")
        ),
        WAIT,
    )
    assert with_file.message.attachments[0].filename == "d.csv"
    assert standin.requests_to("POST", rf"/channels/{FORUM}/threads")[1].files[0].data == b"a,b\n"

    # A forum takes posts, not messages.
    with pytest.raises(discord.HTTPException) as direct:
        await asyncio.wait_for(client.get_partial_messageable(FORUM).send("hello"), WAIT)
    assert (direct.value.status, direct.value.code) == (400, 40058)

    # Unknown tags are refused like Discord does.
    with pytest.raises(discord.HTTPException) as bad_tag:
        await asyncio.wait_for(
            forum.create_thread(
                name="x", content="y", applied_tags=[discord.ForumTag(name="nope")]
            ),
            WAIT,
        )
    assert bad_tag.value.code == 50035


async def test_forum_post_needs_send_messages(
    standin: DiscordStandIn, client: discord.Client
) -> None:
    forum = guild_of(client).get_channel(FORUM)
    assert isinstance(forum, discord.ForumChannel)
    await standin.set_bot_overwrite(FORUM, deny=SEND_MESSAGES)  # "Create Posts" off
    with pytest.raises(discord.Forbidden) as denied:
        await asyncio.wait_for(forum.create_thread(name="x", content="y"), WAIT)
    assert (denied.value.status, denied.value.code) == (403, 50013)

    await standin.set_bot_overwrite(FORUM, deny=VIEW_CHANNEL)
    with pytest.raises(discord.Forbidden) as hidden:
        await asyncio.wait_for(forum.create_thread(name="x", content="y"), WAIT)
    assert hidden.value.code == 50001
    assert not [t for t in standin.guilds[DEFAULT_GUILD_ID].threads if t.parent_id == FORUM]


# --------------------------------------------------------------------------------------------
# Threads
# --------------------------------------------------------------------------------------------


async def test_thread_send_needs_send_messages_in_threads(
    standin: DiscordStandIn, client: discord.Client
) -> None:
    guild = guild_of(client)
    thread = guild.get_thread(THREAD)
    assert thread is not None and guild.me is not None
    general = text_channel(client, GENERAL)

    # Without Send Messages in the parent the bot can still post in its threads...
    updated = asyncio.ensure_future(client.wait_for("guild_channel_update", timeout=WAIT))
    await standin.set_bot_overwrite(GENERAL, deny=SEND_MESSAGES)
    await updated
    assert not general.permissions_for(guild.me).send_messages
    with pytest.raises(discord.Forbidden):
        await asyncio.wait_for(general.send("in the channel"), WAIT)
    sent = await asyncio.wait_for(thread.send("in the thread"), WAIT)
    assert sent.channel.id == THREAD
    assert [m["content"] for m in standin.messages_in(THREAD)] == ["in the thread"]
    assert standin.guilds[DEFAULT_GUILD_ID].channel(THREAD).message_count == 1

    # ...but not without Send Messages in Threads, which discord.py's cache sees too.
    updated = asyncio.ensure_future(client.wait_for("guild_channel_update", timeout=WAIT))
    await standin.set_bot_overwrite(GENERAL, deny=SEND_MESSAGES_IN_THREADS)
    await updated
    assert not thread.permissions_for(guild.me).send_messages_in_threads
    with pytest.raises(discord.Forbidden) as denied:
        await asyncio.wait_for(thread.send("again"), WAIT)
    assert (denied.value.status, denied.value.code) == (403, 50013)

    # A private thread the bot was never added to is out of reach.
    private = client.get_partial_messageable(PRIVATE_THREAD_ID)
    await standin.set_bot_overwrite(GENERAL)  # back to the role permissions
    with pytest.raises(discord.Forbidden) as private_denied:
        await asyncio.wait_for(private.send("psst"), WAIT)
    assert private_denied.value.code == 50001


async def test_threads_started_in_a_text_channel(
    standin: DiscordStandIn, client: discord.Client
) -> None:
    general = text_channel(client, GENERAL)
    thread = await asyncio.wait_for(
        general.create_thread(name="Live: elections", type=discord.ChannelType.public_thread),
        WAIT,
    )
    assert thread.parent_id == GENERAL
    await asyncio.wait_for(thread.send("first update"), WAIT)

    starter = await asyncio.wait_for(general.send("Election results"), WAIT)
    from_message = await asyncio.wait_for(starter.create_thread(name="Discussion"), WAIT)
    assert from_message.id == starter.id
    with pytest.raises(discord.HTTPException) as again:
        await asyncio.wait_for(starter.create_thread(name="Twice"), WAIT)
    assert again.value.code == 160004
    assert standin.message_counts() == {GENERAL: 1, thread.id: 1}


# --------------------------------------------------------------------------------------------
# Announcement channels and role mentions
# --------------------------------------------------------------------------------------------


async def test_crosspost_in_announcement_channel(
    standin: DiscordStandIn, client: discord.Client
) -> None:
    announcements = text_channel(client, ANNOUNCEMENTS)
    first = await asyncio.wait_for(announcements.send("Breaking: ceasefire agreed"), WAIT)
    await asyncio.wait_for(announcements.send("Not published"), WAIT)
    await asyncio.wait_for(first.publish(), WAIT)

    crosspost = standin.requests_to("POST", rf"/channels/{ANNOUNCEMENTS}/messages/\d+/crosspost")
    assert [r.status for r in crosspost] == [200]
    assert crosspost[0].response["flags"] & FLAG_CROSSPOSTED
    assert [m["content"] for m in standin.published_messages()] == ["Breaking: ceasefire agreed"]
    assert standin.published_messages(GENERAL) == []

    with pytest.raises(discord.HTTPException) as twice:
        await asyncio.wait_for(first.publish(), WAIT)
    assert (twice.value.status, twice.value.code) == (400, 40033)

    # Only announcement channels publish.
    plain = await asyncio.wait_for(text_channel(client, GENERAL).send("plain"), WAIT)
    with pytest.raises(discord.HTTPException) as wrong_type:
        await asyncio.wait_for(plain.publish(), WAIT)
    assert (wrong_type.value.status, wrong_type.value.code) == (400, 50024)

    # Publishing your own message needs Send Messages.
    second = await asyncio.wait_for(announcements.send("Later"), WAIT)
    await standin.set_bot_overwrite(ANNOUNCEMENTS, deny=SEND_MESSAGES)
    with pytest.raises(discord.Forbidden) as denied:
        await asyncio.wait_for(second.publish(), WAIT)
    assert denied.value.code == 50013
    assert len(standin.published_messages(ANNOUNCEMENTS)) == 1


async def test_role_mentions_follow_allowed_mentions(
    standin: DiscordStandIn, client: discord.Client
) -> None:
    general = text_channel(client, GENERAL)
    text = f"<@&{NEWS_ROLE}> <@&{QUIET_ROLE}> new digest"

    pinged = await asyncio.wait_for(general.send(text), WAIT)
    # The quiet role is not mentionable and the bot lacks Mention Everyone.
    assert [r.id for r in pinged.role_mentions] == [NEWS_ROLE]

    silent = await asyncio.wait_for(
        general.send(text, allowed_mentions=discord.AllowedMentions.none()), WAIT
    )
    assert silent.role_mentions == []
    only = discord.AllowedMentions(roles=[discord.Object(NEWS_ROLE)], everyone=False)
    chosen = await asyncio.wait_for(general.send(text, allowed_mentions=only), WAIT)
    assert standin.messages[chosen.id]["mention_roles"] == [str(NEWS_ROLE)]
    # Same text three times: the stand-in flags that as duplicates.
    assert [len(g) for g in standin.duplicate_messages(GENERAL)] == [3]


# --------------------------------------------------------------------------------------------
# Enforced rate limits
# --------------------------------------------------------------------------------------------


async def test_channel_limit_paces_discord_py_without_429s() -> None:
    limits = RateLimits(global_per_second=None, channel_messages=(5, 0.5))
    async with DiscordStandIn(guilds=[news_guild()], rate_limits=limits) as standin:
        client = new_client()
        async with connected_client(client, standin, timeout=WAIT):
            general = text_channel(client, GENERAL)
            started = time.monotonic()
            for n in range(12):
                await asyncio.wait_for(general.send(f"story {n}"), WAIT)
            elapsed = time.monotonic() - started

        sent = posts(standin, GENERAL)
        # Every message arrived exactly once, in order, and discord.py never hit the limit:
        # it read the true X-RateLimit-* headers and slept when Remaining reached 0.
        assert [m["content"] for m in standin.messages_in(GENERAL)] == [
            f"story {n}" for n in range(12)
        ]
        assert standin.duplicate_messages() == []
        assert standin.message_counts() == {GENERAL: 12}
        assert [r.status for r in sent] == [200] * 12
        assert standin.rate_limit_stats.total_429s == 0
        headers = [r.response_headers for r in sent]
        assert [h["X-RateLimit-Remaining"] for h in headers] == [
            "4", "3", "2", "1", "0", "4", "3", "2", "1", "0", "4", "3",
        ]  # fmt: skip
        assert {h["X-RateLimit-Limit"] for h in headers} == {"5"}
        assert len({h["X-RateLimit-Bucket"] for h in headers}) == 1
        assert all(0 < float(h["X-RateLimit-Reset-After"]) <= 0.5 for h in headers)
        # Three windows of 0.5 s: messages 6 and 11 waited for the bucket to refill.
        assert sent[5].at - sent[0].at >= 0.45
        assert sent[10].at - sent[5].at >= 0.45
        assert sent[4].at - sent[0].at < 0.45  # no needless waiting inside a window
        assert 0.9 <= elapsed < 2.5
        assert not standin.internal_errors


async def test_forum_posts_count_against_the_forum_bucket() -> None:
    limits = RateLimits(global_per_second=None, channel_messages=(2, 0.3))
    async with DiscordStandIn(guilds=[news_guild()], rate_limits=limits) as standin:
        client = new_client()
        async with connected_client(client, standin, timeout=WAIT):
            forum = guild_of(client).get_channel(FORUM)
            assert isinstance(forum, discord.ForumChannel)
            for n in range(3):
                await asyncio.wait_for(
                    forum.create_thread(name=f"post {n}", content="digest"), WAIT
                )
            await asyncio.wait_for(text_channel(client, GENERAL).send("elsewhere"), WAIT)

        created = standin.requests_to("POST", rf"/channels/{FORUM}/threads")
        assert [r.status for r in created] == [201] * 3
        assert [r.response_headers["X-RateLimit-Remaining"] for r in created] == ["1", "0", "1"]
        assert created[2].at - created[0].at >= 0.25  # discord.py waited for the refill
        # Same kind of bucket as channel messages, but #general has its own.
        general = posts(standin, GENERAL)[0].response_headers
        assert general["X-RateLimit-Remaining"] == "1"
        assert {r.response_headers["X-RateLimit-Bucket"] for r in created} == {
            general["X-RateLimit-Bucket"]
        }
        assert standin.rate_limit_stats.total_429s == 0
        assert not standin.internal_errors


async def test_concurrent_sends_to_one_channel_arrive_once() -> None:
    limits = RateLimits(global_per_second=None, channel_messages=(5, 0.3))
    async with DiscordStandIn(guilds=[news_guild()], rate_limits=limits) as standin:
        client = new_client()
        async with connected_client(client, standin, timeout=WAIT):
            general = text_channel(client, GENERAL)
            await asyncio.wait_for(
                asyncio.gather(*(general.send(f"item {n}") for n in range(12))), WAIT
            )
        contents = sorted(m["content"] for m in standin.messages_in(GENERAL))
        assert contents == sorted(f"item {n}" for n in range(12))
        assert standin.rate_limit_stats.channel_429s == 0
        assert all(r.status == 200 for r in posts(standin, GENERAL))
        assert not standin.internal_errors


async def test_channel_limit_answers_a_real_429(
    standin: DiscordStandIn, client: discord.Client
) -> None:
    standin.set_rate_limits(RateLimits(global_per_second=None, channel_messages=(5, 0.4)))
    url = f"{standin.api_base}/channels/{GENERAL}/messages"
    headers = {"Authorization": f"Bot {DEFAULT_TOKEN}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        statuses: list[int] = []
        for n in range(7):
            async with session.post(url, json={"content": f"burst {n}"}) as response:
                statuses.append(response.status)
    assert statuses == [200] * 5 + [429] * 2

    limited = [r for r in posts(standin, GENERAL) if r.status == 429]
    assert [r.rate_limited for r in limited] == ["channel_messages"] * 2
    body = limited[0].response
    assert body["global"] is False and body["message"] == "You are being rate limited."
    assert 0 < body["retry_after"] <= 0.4
    answered = limited[0].response_headers
    assert answered["Retry-After"] == "1"
    assert answered["X-RateLimit-Scope"] == "user"
    assert answered["X-RateLimit-Limit"] == "5" and answered["X-RateLimit-Remaining"] == "0"
    assert (
        answered["X-RateLimit-Bucket"]
        == posts(standin, GENERAL)[0].response_headers["X-RateLimit-Bucket"]
    )
    assert "Via" in answered and "X-RateLimit-Global" not in answered
    stats = standin.rate_limit_stats
    assert (stats.channel_429s, stats.global_429s, stats.by_channel) == (2, 0, {GENERAL: 2})

    # discord.py meeting the exhausted bucket waits retry_after and succeeds on its retry.
    sent = await asyncio.wait_for(text_channel(client, GENERAL).send("after the burst"), WAIT)
    assert sent.content == "after the burst"
    assert [r.status for r in posts(standin, GENERAL)[7:]] == [429, 200]
    assert len(standin.messages_in(GENERAL)) == 6
    assert stats.by_channel == {GENERAL: 3}


async def test_global_limit_burst_across_channels() -> None:
    channel_names = [f"region-{n}" for n in range(8)]
    guild = make_guild(channels=channel_names)
    async with DiscordStandIn(guilds=[guild]) as standin:
        client = new_client()
        async with connected_client(client, standin, timeout=WAIT):
            # Turned on once connected, so logging in is not part of the measurement.
            standin.set_rate_limits(
                RateLimits(global_per_second=10, global_window=0.25, channel_messages=(5, 0.25))
            )
            channels = [text_channel(client, DEFAULT_GUILD_ID + 10 + n) for n in range(8)]
            await asyncio.wait_for(
                asyncio.gather(*(c.send(f"digest {k}") for c in channels for k in range(3))),
                WAIT,
            )

        for channel in channels:
            contents = sorted(m["content"] for m in standin.messages_in(channel.id))
            assert contents == ["digest 0", "digest 1", "digest 2"]
        assert standin.duplicate_messages() == []
        stats = standin.rate_limit_stats
        assert stats.global_429s > 0 and stats.channel_429s == 0
        limited = [r for r in standin.requests_to("POST", MESSAGES) if r.status == 429]
        assert len(limited) == stats.global_429s
        for request in limited:
            assert request.rate_limited == "global"
            assert request.response["global"] is True
            assert 0 < request.response["retry_after"] <= 0.25
            assert request.response_headers["X-RateLimit-Global"] == "true"
            assert request.response_headers["X-RateLimit-Scope"] == "global"
            assert "Via" in request.response_headers
        admitted = [r for r in standin.requests_to("POST", MESSAGES) if r.status == 200]
        assert len(admitted) == 24
        # 24 requests at 10 per 0.25 s window need at least three windows.
        assert admitted[-1].at - admitted[0].at >= 0.45
        assert not standin.internal_errors


async def test_interaction_callbacks_are_exempt_from_the_global_limit() -> None:
    client = new_client()
    tree = app_commands.CommandTree(client)

    @tree.command(name="ping", description="ping")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong")

    async with DiscordStandIn(guilds=[news_guild()]) as standin:
        async with connected_client(client, standin, timeout=WAIT):
            await asyncio.wait_for(tree.sync(), WAIT)
            standin.set_rate_limits(RateLimits(global_per_second=1, global_window=30.0))
            await asyncio.wait_for(text_channel(client, GENERAL).send("uses the only slot"), WAIT)
            handles = [await standin.send_slash_command("ping") for _ in range(2)]
            # Interactions work inside threads too.
            handles.append(await standin.send_slash_command("ping", channel_id=THREAD))
            for handle in handles:
                assert (await handle.callback(WAIT)).status == 200
            in_thread = await standin.wait_for_messages(THREAD, 1, WAIT)
            assert [m["content"] for m in in_thread] == ["pong"]
        assert standin.rate_limit_stats.total_429s == 0


# --------------------------------------------------------------------------------------------
# Permission and channel changes while connected
# --------------------------------------------------------------------------------------------


async def test_permission_revoked_at_runtime(
    standin: DiscordStandIn, client: discord.Client
) -> None:
    guild = guild_of(client)
    assert guild.me is not None
    general = text_channel(client, GENERAL)
    await asyncio.wait_for(general.send("before"), WAIT)
    assert general.permissions_for(guild.me).send_messages

    updated = asyncio.ensure_future(client.wait_for("guild_channel_update", timeout=WAIT))
    await standin.set_bot_overwrite(GENERAL, deny=SEND_MESSAGES)
    await updated
    assert not general.permissions_for(guild.me).send_messages
    with pytest.raises(discord.Forbidden) as denied:
        await asyncio.wait_for(general.send("after"), WAIT)
    assert (denied.value.status, denied.value.code) == (403, 50013)

    # Role permissions too: take View Channel away from @everyone and the bot's role.
    await standin.set_bot_overwrite(GENERAL)
    role_updates = asyncio.gather(
        *(
            client.wait_for(
                "guild_role_update",
                check=lambda _, after, role_id=role_id: after.id == role_id,
                timeout=WAIT,
            )
            for role_id in (DEFAULT_GUILD_ID, standin.guilds[DEFAULT_GUILD_ID].bot_role_id)
        )
    )
    await standin.set_role_permissions(
        DEFAULT_GUILD_ID, DEFAULT_EVERYONE_PERMISSIONS & ~VIEW_CHANNEL
    )
    await standin.set_bot_permissions(DEFAULT_BOT_PERMISSIONS & ~VIEW_CHANNEL)
    await role_updates
    assert not general.permissions_for(guild.me).view_channel
    with pytest.raises(discord.Forbidden) as hidden:
        await asyncio.wait_for(general.send("hidden"), WAIT)
    assert hidden.value.code == 50001
    assert [m["content"] for m in standin.messages_in(GENERAL)] == ["before"]


async def test_channel_deleted_at_runtime(standin: DiscordStandIn, client: discord.Client) -> None:
    guild = guild_of(client)
    deleted = asyncio.ensure_future(client.wait_for("guild_channel_delete", timeout=WAIT))
    thread_gone = asyncio.ensure_future(client.wait_for("thread_delete", timeout=WAIT))
    await standin.delete_channel(GENERAL)
    assert (await deleted).id == GENERAL
    assert (await thread_gone).id == THREAD  # its threads go with it
    assert guild.get_channel(GENERAL) is None and guild.get_thread(THREAD) is None

    for channel_id in (GENERAL, THREAD):
        with pytest.raises(discord.NotFound) as unknown:
            await asyncio.wait_for(client.get_partial_messageable(channel_id).send("x"), WAIT)
        assert (unknown.value.status, unknown.value.code) == (404, 10003)

    created = asyncio.ensure_future(client.wait_for("guild_channel_create", timeout=WAIT))
    await standin.create_channel(ChannelSpec(DEFAULT_GUILD_ID + 99, "world"))
    channel = await created
    assert isinstance(channel, discord.TextChannel)
    await asyncio.wait_for(channel.send("hello again"), WAIT)
