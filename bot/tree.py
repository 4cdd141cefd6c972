"""The command tree, and the one place slash-command errors become replies."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, Final, cast

import aiohttp
import discord
from discord import app_commands

from bot.errors import UserError
from bot.failures import interaction_archive_failure, log_failure
from bot.render import CONTENT_LIMIT, cut_escaped, error_text, escape_reason
from storage import Storage
from storage.problems import Cause

log = logging.getLogger(__name__)

GENERIC_FAILURE = "Something went wrong on our side and it has been logged. Please try again later."
# A command the bot stopped for its shutdown, or refused while shutting down.
RESTARTING = "Chronicle is restarting, so this could not be done. Please try again in a minute."
# Seconds to tell a member their command was stopped: the bot is closing its connection.
_TELL_WITHIN = 3.0

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


# Permission flags whose name in Discord's app is not discord.py's name title-cased.
PERMISSION_LABELS: Final[Mapping[str, str]] = {
    "create_instant_invite": "Create Invite",
    "create_events": "Create Events",
    "create_expressions": "Create Expressions",
    "external_emojis": "Use External Emojis",
    "external_stickers": "Use External Stickers",
    "manage_emojis": "Manage Expressions",
    "manage_emojis_and_stickers": "Manage Expressions",
    "manage_expressions": "Manage Expressions",
    "manage_guild": "Manage Server",
    "mention_everyone": "Mention @everyone, @here, and All Roles",
    "moderate_members": "Timeout Members",
    "read_messages": "View Channel",
    "send_messages_in_threads": "Send Messages in Threads",
    "send_polls": "Create Polls",
    "send_tts_messages": "Send Text-to-Speech Messages",
    "stream": "Video",
    "use_embedded_activities": "Use Activities",
    "use_external_sounds": "Use External Sounds",
    "use_voice_activation": "Use Voice Activity",
    "view_guild_insights": "View Server Insights",
}


def permission_label(flag: str) -> str:
    """A permission as Discord's app names it ("Manage Server", not manage_guild)."""
    return PERMISSION_LABELS.get(flag) or flag.replace("_", " ").title()


def _permissions(flags: list[str]) -> str:
    labels = [permission_label(flag) for flag in flags]
    if len(labels) == 1:
        return f"the {labels[0]} permission"
    return f"the {', '.join(labels[:-1])} and {labels[-1]} permissions"


def _unusable_channel(value: object) -> str:
    """Why Discord's picker offered a channel the bot cannot use, and what to do about it
    (discord.py only has the channels it can see)."""
    if not isinstance(value, app_commands.AppCommandChannel | app_commands.AppCommandThread):
        return "That is not a value this option takes: pick it again from Discord's list."
    channel = f"<#{value.id}>"
    if value.resolve() is not None:  # seen, but of a kind the option does not take
        return f"{channel} is not a kind of channel this option takes."
    if isinstance(value, app_commands.AppCommandChannel):
        return (
            f"Chronicle cannot see {channel}: give it the View Channel permission there,"
            " then try again."
        )
    if value.archived:
        return f"{channel} is archived, so Chronicle cannot use it: unarchive it, then try again."
    if value.type is discord.ChannelType.private_thread:
        return (
            f"{channel} is a private thread Chronicle is not in: add Chronicle to it"
            " (mention it there), or give it the Manage Threads permission, then try again."
        )
    return (
        f"Chronicle cannot see {channel}: give it the View Channel permission in the thread's"
        " channel, then try again."
    )


# Discord's answers once an interaction's time is over (its first answer came too late, or its
# token has expired): nothing can reach the member through it any more.
GONE_INTERACTION_CODES: Final = frozenset({10015, 10062, 50027})


def too_late(error: BaseException) -> bool:
    return isinstance(error, discord.HTTPException) and error.code in GONE_INTERACTION_CODES


def since_sent(interaction: discord.Interaction) -> str:
    seconds = (discord.utils.utcnow() - interaction.created_at).total_seconds()
    return f"{seconds:.1f} s after it was sent"


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
    except discord.HTTPException as exc:
        if too_late(exc):
            log.warning(
                "could not tell the user something, %s: Discord had closed the interaction (%s)",
                since_sent(interaction),
                describe(interaction),
            )
            return
        log.warning(
            "could not tell the user about an error: %s", describe(interaction), exc_info=True
        )


def expected_message(error: Exception) -> str | None:
    """The reply for an error people cause; None for a bug."""
    if isinstance(error, UserError):
        return error_text(error.message, error.suggestions)
    if isinstance(error, app_commands.MissingPermissions):
        return f"You need {_permissions(error.missing_permissions)} for this."
    if isinstance(error, app_commands.BotMissingPermissions):
        return f"I am missing {_permissions(error.missing_permissions)} here."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works in servers, not in direct messages."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down: try again in {error.retry_after:.0f} seconds."
    if isinstance(error, app_commands.TransformerError):
        return _unusable_channel(error.value)
    if isinstance(error, app_commands.CheckFailure):
        return "You cannot use this command here."
    return None


async def handle_error(interaction: discord.Interaction, error: Exception) -> None:
    """Expected errors become a short private message; anything else is logged and gets a
    generic reply, so a bug never leaves someone looking at 'The application did not respond'."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if too_late(error):
        # The member saw "The application did not respond"; answering again would only fail.
        log.warning(
            "%s was answered too late, %s (Discord allows 3 s, then 15 minutes for the rest)",
            describe(interaction),
            since_sent(interaction),
        )
        return
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
        self._commands: dict[asyncio.Task[Any], discord.Interaction] = {}  # under way
        self._closing = False

    async def _call(self, interaction: discord.Interaction) -> None:
        """Every command and autocomplete goes through here (discord.py's private hook: a
        test checks it is still the one its dispatch calls)."""
        if await self.admit(interaction):
            await super()._call(interaction)

    async def admit(self, interaction: discord.Interaction) -> bool:
        """Whether the interaction's work may start: once the shutdown has begun it is
        refused, its member told; else the shutdown waits for the task doing it (wind_down),
        to its end (an error's answer included). Commands and autocompletes come here
        through _call, buttons and menus through their interaction_check (Admitted)."""
        if self._closing:
            await _refuse(interaction, "refused: Chronicle is shutting down")
            return False
        task = asyncio.current_task()
        if task is not None and task not in self._commands:
            self._commands[task] = interaction
            task.add_done_callback(self._ended)
        return True

    def _ended(self, task: asyncio.Task[Any]) -> None:
        self._commands.pop(task, None)

    async def wind_down(self, grace: float) -> None:
        """Before the bot closes what commands use (the archive, the HTTP sessions, the
        connection): refuse new commands, give those under way `grace` seconds to finish,
        then stop the rest and tell their members to try again, rather than let them fail
        against a closed archive with a traceback in the log."""
        self._closing = True
        if not self._commands:
            return
        _, late = await asyncio.wait(list(self._commands), timeout=grace)
        stopped = [(task, self._commands[task]) for task in late if task in self._commands]
        for task, _ in stopped:
            task.cancel()
        await asyncio.gather(*(task for task, _ in stopped), return_exceptions=True)
        then = f"stopped by the shutdown after {grace:g} s"
        await asyncio.gather(*(_refuse(interaction, then) for _, interaction in stopped))

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


class Admitted:
    """Put first among a button's or menu's bases: its work is admitted as a command's is
    (ChronicleTree.admit), discord.py asking its interaction_check in the task that then
    runs its callback."""

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        tree = getattr(interaction.client, "tree", None)
        return not isinstance(tree, ChronicleTree) or await tree.admit(interaction)


async def _refuse(interaction: discord.Interaction, why: str) -> None:
    """One line in the log; the member, if Discord still takes an answer, asked to retry."""
    if interaction.type is discord.InteractionType.autocomplete:
        log.info("%s %s; no choices offered", describe(interaction), why)
        return  # an autocomplete has no message to show
    log.warning("%s %s; the member is asked to try again", describe(interaction), why)
    try:
        await asyncio.wait_for(send_ephemeral(interaction, RESTARTING), _TELL_WITHIN)
    except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
        log.info("could not tell %s: %s", describe(interaction), exc)


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
