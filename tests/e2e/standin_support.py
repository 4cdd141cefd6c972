"""What the tests proving that the Discord stand-in works with the real discord.py client
share (test_standin_connection.py, test_standin_interactions.py, test_standin_faults.py,
test_standin_nonces.py).

A minimal ``commands.Bot`` (default, non-privileged intents), exercising each interaction
flavour, is logged in and connected to the stand-in through ``apply_endpoint_overrides``, in a
server with a #general and a #news the bot may not post in; the tests then act as Discord
users and assert on what the bot sent over REST.

The fixtures are `standin` and `bot`, and the autouse `_restore_discord_endpoints`; a test
module imports their functions (`standin_fixture`, `bot_fixture`,
`restore_discord_endpoints_fixture`) for pytest to find them by those names.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.discord_endpoints import apply_endpoint_overrides
from tests.e2e.fixtures import make_standin_fixture
from tests.e2e.standin.constants import DEFAULT_CHANNEL_ID, SEND_MESSAGES
from tests.e2e.standin.model import make_guild
from tests.e2e.standin.server import DiscordStandIn, connected_client

NEWS_CHANNEL_ID = DEFAULT_CHANNEL_ID + 1  # make_guild's second channel
TOPICS = ["ukraine", "uk politics", "united nations", "elections"]
WAIT = 5.0  # upper bound for any single wait; the happy path takes milliseconds


def build_bot() -> commands.Bot:
    """A tiny bot exercising each interaction flavour; fresh commands per instance."""
    bot = commands.Bot(command_prefix=commands.when_mentioned, intents=discord.Intents.default())

    @bot.tree.command(name="ping", description="Check that the bot is alive")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            "pong", allowed_mentions=discord.AllowedMentions.none()
        )

    async def topic_autocomplete(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        matches = [t for t in TOPICS if t.startswith(current.lower())]
        return [app_commands.Choice(name=t, value=t) for t in matches][:25]

    @bot.tree.command(name="search", description="Search the archive")
    @app_commands.describe(topic="Topic to search for", limit="How many results")
    @app_commands.autocomplete(topic=topic_autocomplete)
    async def search(interaction: discord.Interaction, topic: str, limit: int = 5) -> None:
        await interaction.response.send_message(
            f"searching {topic} (limit {limit})", ephemeral=True
        )

    class ConfirmView(discord.ui.View):
        @discord.ui.button(label="Confirm", style=discord.ButtonStyle.success, custom_id="confirm")
        async def confirm(
            self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmView]
        ) -> None:
            await interaction.response.edit_message(content="confirmed", view=None)

    @bot.tree.command(name="menu", description="Ask for confirmation")
    async def menu(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Confirm?", view=ConfirmView(timeout=60))

    @bot.tree.command(name="digest", description="Build a digest (slow)")
    async def digest(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send("digest ready")
        await interaction.followup.send("second part", embed=discord.Embed(title="Top story"))

    @bot.tree.command(name="status", description="Check feed health (private)")
    async def status(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.edit_original_response(content="all feeds healthy")

    feed = app_commands.Group(name="feed", description="Manage feeds")

    @feed.command(name="add", description="Follow a feed")
    async def feed_add(
        interaction: discord.Interaction, url: str, channel: discord.TextChannel | None = None
    ) -> None:
        target = channel.id if channel else interaction.channel_id
        await interaction.response.send_message(f"added {url} to {target}")

    bot.tree.add_command(feed)

    class FeedbackModal(discord.ui.Modal, title="Feedback"):
        text: discord.ui.TextInput[FeedbackModal] = discord.ui.TextInput(
            label="Your feedback", custom_id="feedback_text"
        )

        async def on_submit(self, interaction: discord.Interaction) -> None:
            await interaction.response.send_message(f"thanks: {self.text.value}", ephemeral=True)

    @bot.tree.command(name="feedback", description="Send feedback")
    async def feedback(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(FeedbackModal())

    @bot.tree.command(name="admin", description="Server admins only")
    @app_commands.default_permissions(manage_guild=True)
    async def admin(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("admin ok", ephemeral=True)

    return bot


@pytest.fixture(autouse=True, name="_restore_discord_endpoints")
def restore_discord_endpoints_fixture() -> Iterator[None]:
    # apply_endpoint_overrides patches discord.py classes process-wide; never leak them.
    yield
    apply_endpoint_overrides(None, None)


standin_fixture = make_standin_fixture(
    guilds=lambda: [make_guild(channels=["general", "news"], deny_bot={"news": SEND_MESSAGES})]
)


@pytest.fixture(name="bot")
async def bot_fixture(standin: DiscordStandIn) -> AsyncIterator[commands.Bot]:
    client = build_bot()
    async with connected_client(client, standin, timeout=WAIT):
        yield client
