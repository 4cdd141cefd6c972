"""`chronicle run` as a real process: no token, a bad token, and a good one that brings the
bot up on the bundled sample archive and shuts down cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.ingest.portal import ENGLISH
from tests.e2e.fixtures import make_standin_fixture
from tests.e2e.standin.constants import DEFAULT_TOKEN
from tests.e2e.standin.server import DiscordStandIn
from tests.support.mediawiki_server import MediaWikiStandIn

WAIT = 20.0


def environment(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DISCORD_", "CHRONICLE_", "FEED_", "WIKIPEDIA_"))
    }
    env.update({"CHRONICLE_DB": str(tmp_path / "chronicle.db"), "LOG_LEVEL": "INFO", **values})
    return env


async def start(tmp_path: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


TODAYS_PAGE = (
    "{{{{Current events|year={date.year}|month={date.month}|day={date.day}|content=\n"
    "<!-- All news items below this line -->\n'''Sports'''\n"
    "*The [[Tour de Test]] ends in [[Lyon]]. [https://sport.example/1 (''L'Équipe'')]\n"
    "<!-- All news items above this line -->}}}}"
)


@pytest.fixture
async def wiki() -> AsyncIterator[MediaWikiStandIn]:
    async with MediaWikiStandIn() as server:
        yield server


standin = make_standin_fixture(valid_token=DEFAULT_TOKEN)


async def test_without_a_token_it_says_how_to_get_one(tmp_path: Path) -> None:
    process = await start(tmp_path, environment(tmp_path))
    _, err = await asyncio.wait_for(process.communicate(), WAIT)
    assert process.returncode == 2
    text = err.decode()
    assert "DISCORD_TOKEN is not set" in text and "Developer Portal" in text and "README.md" in text
    assert "Traceback" not in text


async def test_an_invalid_token_is_one_clear_line(tmp_path: Path, standin: DiscordStandIn) -> None:
    env = environment(
        tmp_path,
        DISCORD_TOKEN="not-the-token",
        DISCORD_API_BASE=standin.api_base,
        DISCORD_GATEWAY_URL=standin.gateway_url,
    )
    process = await start(tmp_path, env)
    _, err = await asyncio.wait_for(process.communicate(), WAIT)
    text = err.decode()
    assert process.returncode == 1
    assert "chronicle: Discord refused the token (401 Unauthorized): check DISCORD_TOKEN." in text
    assert "Traceback" not in text
    assert "not-the-token" not in text


async def test_run_brings_the_bot_up_on_the_sample_archive(
    tmp_path: Path, standin: DiscordStandIn, wiki: MediaWikiStandIn
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    wiki.set_page(ENGLISH.title(today), TODAYS_PAGE.format(date=today))
    env = environment(
        tmp_path,
        DISCORD_TOKEN=DEFAULT_TOKEN,
        DISCORD_API_BASE=standin.api_base,
        DISCORD_GATEWAY_URL=standin.gateway_url,
        WIKIPEDIA_API_URL=wiki.api_url,
        FEED_ALLOW_PRIVATE_ADDRESSES="true",
    )
    process = await start(tmp_path, env)
    try:
        await standin.wait_for_ready(timeout=WAIT)
        await standin.wait_until(
            lambda: bool(standin.global_commands), timeout=WAIT, what="commands synced"
        )
        handle = await standin.send_slash_command("about")
        message = await handle.response(timeout=WAIT)
        assert "**41** events" in message["embeds"][0]["fields"][0]["value"]
        handle = await standin.send_slash_command(
            "event", {"query": "Russian Ministry of Defence al-Baghdadi"}
        )
        message = await handle.response(timeout=WAIT)
        card = message["embeds"][0]
        assert any(f["name"].startswith("Article:") for f in card["fields"])  # sample articles
        # Seconds after start, the portal's pages of today and yesterday are read.
        await standin.wait_until(
            lambda: any(r.status == 200 for r in wiki.title_requests()),
            timeout=WAIT,
            what="the portal read",
        )
        for _ in range(50):  # the poll's transaction may still be committing
            handle = await standin.send_slash_command("event", {"query": "Tour de Test"})
            message = await handle.response(timeout=WAIT)
            if message.get("embeds"):
                break
            await asyncio.sleep(0.1)
        fields = {f["name"]: f["value"] for f in message["embeds"][0]["fields"]}
        assert fields["Category"] == "Sports" and "Current events" in fields["Wikipedia"]

        # A second bot on the same file (one started again as a service, say) is refused.
        second = await start(tmp_path, env)
        _, second_err = await asyncio.wait_for(second.communicate(), WAIT)
        assert second.returncode == 1
        assert second_err.decode() == (
            f"chronicle: {tmp_path / 'chronicle.db'} is in use by a Chronicle bot"
            f" (process {process.pid}): one SQLite file serves one bot process. Stop the other"
            " one first; to run several processes, use PostgreSQL (README: Running at scale)\n"
        )
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), WAIT)
    text = err.decode()
    assert process.returncode == 0, text
    assert "shutting down" in text
    assert "Traceback" not in text
    assert DEFAULT_TOKEN not in text


async def test_discord_failing_at_start_is_waited_out_and_the_token_never_shown(
    tmp_path: Path, standin: DiscordStandIn
) -> None:
    """Discord's API answers 503 at login, with a body that echoes the request's headers
    (the Authorization header among them). The bot says what it cannot reach and what it
    was told, tries again and comes up; nothing it writes holds the token."""
    standin.fail("GET", r"/users/@me", 503, times=1, echo_headers=True)
    env = environment(
        tmp_path,
        DISCORD_TOKEN=DEFAULT_TOKEN,
        DISCORD_API_BASE=standin.api_base,
        DISCORD_GATEWAY_URL=standin.gateway_url,
        WIKIPEDIA_POLL_MINUTES="0",
    )
    process = await start(tmp_path, env)
    try:
        await standin.wait_for_ready(timeout=WAIT)
        handle = await standin.send_slash_command("about")
        assert (await handle.response(timeout=WAIT))["embeds"]
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), WAIT)
    text = err.decode()
    assert process.returncode == 0, text
    (retry,) = [line for line in text.splitlines() if "cannot reach Discord" in line]
    assert (
        f"cannot reach Discord: its API at {standin.api_base} answered HTTP 503 Service"
        " Unavailable (503: Error (request headers: " in retry
    )
    assert retry.endswith("; trying again in 5 s")
    assert "Authorization: Bot [token]" in retry  # the echo reached the log, redacted
    assert DEFAULT_TOKEN not in text and "Traceback" not in text


async def test_an_unreachable_gateway_is_said_plainly_and_retried(
    tmp_path: Path, standin: DiscordStandIn
) -> None:
    env = environment(
        tmp_path,
        DISCORD_TOKEN=DEFAULT_TOKEN,
        DISCORD_API_BASE=standin.api_base,
        DISCORD_GATEWAY_URL="ws://127.0.0.1:9/gateway",  # nothing listens there
        WIKIPEDIA_POLL_MINUTES="0",
    )
    process = await start(tmp_path, env)
    assert process.stderr is not None
    lines: list[str] = []
    try:
        while not any("cannot reach Discord" in line for line in lines):
            line = await asyncio.wait_for(process.stderr.readline(), WAIT)
            assert line, "the bot ended instead of retrying"
            lines.append(line.decode())
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), WAIT)
    text = "".join(lines) + err.decode()
    assert process.returncode == 0, text
    assert "cannot reach Discord: its gateway at ws://127.0.0.1:9/gateway: cannot connect" in text
    assert "trying again in 5 s" in text
    assert "Traceback" not in text and "AttributeError" not in text
    assert DEFAULT_TOKEN not in text
