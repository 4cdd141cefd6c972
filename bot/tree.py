"""The command tree, and the one place slash-command errors become replies."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, Final, cast

import discord
from discord import app_commands

from bot.errors import UserError
from bot.failures import interaction_archive_failure, log_failure
from bot.render import CONTENT_LIMIT, cut_escaped, error_text, escape_reason
from storage import Storage
from storage.problems import Cause

log = logging.getLogger(__name__)

GENERIC_FAILURE = "Something went wrong on our side and it has been logged. Please try again later."

# When the archive, not the command, failed, and its state passes (a lock, a full disk, a
# server restarting): the same command will work later.
ARCHIVE_FAILURES: Final[Mapping[Cause, str]] = {
    Cause.BUSY: "The archive is busy with other work, so this could not be done."
    " Please try again in a minute.",
    Cause.NO_SPACE: "The archive is out of disk space, so this could not be done. It is in"
    " the log for the bot's operators; please try again later.",
    Cause.READ_ONLY: "The archive cannot be written to right now, so this could not be done."
    " It is in the log for the bot's operators; please try again later.",
    Cause.UNREACHABLE: "The archive cannot be reached right now, so this could not be done."
    " Please try again in a minute.",
}


def describe(interaction: discord.Interaction) -> str:
    """Who did what where, for log lines that can be acted on."""
    command = interaction.command.qualified_name if interaction.command else None
    data: Mapping[str, object] = interaction.data or {}
    what = f"/{command}" if command else f"component {data.get('custom_id')!r}"
    options = data.get("options")
    return (
        f"{what} by user {interaction.user.id} in guild {interaction.guild_id} "
        f"channel {interaction.channel_id}" + (f" with options {options}" if options else "")
    )


# Interaction.extras key: the command deferred, and its answer is still to come. The first
# followup of a deferred command takes the place of its "thinking…": a notice sent then would
# be overwritten by the answer.
AWAITING_ANSWER = "chronicle.awaiting_answer"


def answered(interaction: discord.Interaction) -> bool:
    """Whether the member has the interaction's first answer, not a deferral's."""
    return interaction.response.is_done() and not interaction.extras.get(AWAITING_ANSWER)


async def send_ephemeral(interaction: discord.Interaction, text: str) -> None:
    """Answer privately, whether or not the interaction was already answered or deferred."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True)
            interaction.extras[AWAITING_ANSWER] = False
        else:
            await interaction.response.send_message(text, ephemeral=True)
    except discord.HTTPException:
        log.warning(
            "could not tell the user about an error: %s", describe(interaction), exc_info=True
        )


def expected_message(error: Exception) -> str | None:
    """The reply for an error people cause; None for a bug."""
    if isinstance(error, UserError):
        return error_text(error.message, error.suggestions)
    if isinstance(error, app_commands.MissingPermissions):
        missing = ", ".join(error.missing_permissions).replace("_", " ")
        return f"You need the {missing} permission for this."
    if isinstance(error, app_commands.BotMissingPermissions):
        missing = ", ".join(error.missing_permissions).replace("_", " ")
        return f"I am missing the {missing} permission here."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works in servers, not in direct messages."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down: try again in {error.retry_after:.0f} seconds."
    if isinstance(error, app_commands.TransformerError):
        return f"{error.value!r} is not a valid value for this option."
    if isinstance(error, app_commands.CheckFailure):
        return "You cannot use this command here."
    return None


async def handle_error(interaction: discord.Interaction, error: Exception) -> None:
    """Expected errors become a short private message; anything else is logged and gets a
    generic reply, so a bug never leaves someone looking at 'The application did not respond'."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if (message := expected_message(error)) is not None:
        await send_ephemeral(interaction, message)
        return
    if (problem := interaction_archive_failure(interaction, error)) is not None:
        log.error("%s failed, the archive's doing: %s", describe(interaction), problem)
        await send_ephemeral(interaction, ARCHIVE_FAILURES[problem.cause])
        return
    log.error("unexpected error in %s", describe(interaction), exc_info=error)
    await send_ephemeral(interaction, GENERIC_FAILURE)


class ChronicleTree(app_commands.CommandTree):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._notices: set[asyncio.Task[None]] = set()  # kept alive until they are sent

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        await handle_error(interaction, error)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Before any command or autocomplete: its options lose any NUL character (no
        keyboard types one, and PostgreSQL's text cannot hold it); then, for a command, a
        notice waiting for this member (say, their alerts were paused because their DMs
        are closed) goes out after the command's own reply. It is looked up beside the
        command, which the archive's other work must not hold up."""
        data = cast("dict[str, Any] | None", interaction.data)
        if data is not None:
            _without_nul(data.get("options", []))
        if interaction.type is discord.InteractionType.application_command:
            storage = getattr(interaction.client, "storage", None)
            if storage is not None:
                task = asyncio.create_task(_notice_after_reply(interaction, storage))
                self._notices.add(task)
                task.add_done_callback(self._notices.discard)
        return True


def _without_nul(options: list[dict[str, Any]]) -> None:
    """Options as typed, NUL characters taken out (in place: the namespace is read after)."""
    for option in options:
        value = option.get("value")
        if isinstance(value, str) and "\x00" in value:
            option["value"] = value.replace("\x00", "")
        _without_nul(option.get("options", []))


async def _notice_after_reply(
    interaction: discord.Interaction, storage: Storage, wait: float = 10.0
) -> None:
    try:
        notice = await storage.subscriptions.take_notice(interaction.user.id)
    except Exception as exc:
        what = f"looking up the notices of {describe(interaction)}"
        log_failure(log, storage, what, exc, then="they wait for the member's next command")
        return
    if notice is None:
        return
    for _ in range(int(wait / 0.05)):
        if answered(interaction):
            break
        await asyncio.sleep(0.05)
    # Notices name entities and channels: the names shown as written, the channels drawn.
    shown = cut_escaped(escape_reason(notice), CONTENT_LIMIT)
    await send_ephemeral(interaction, shown)
