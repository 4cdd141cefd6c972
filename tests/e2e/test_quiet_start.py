"""What `chronicle run` writes as it starts. Chronicle has no voice, so discord.py's
warnings that the libraries voice needs are not installed ("PyNaCl is not installed, voice
will NOT be supported", and the same of davey) are not written: a new operator read them, at
every start, as a broken install. discord.py's other warnings still reach the log.

The real command line in a process of its own, over the loopback Discord."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.e2e.fixtures import make_standin_fixture
from tests.e2e.standin.constants import DEFAULT_TOKEN
from tests.e2e.standin.server import DiscordStandIn

REPO = Path(__file__).resolve().parents[2]
WAIT = 45.0  # seconds for anything the test waits for (a loaded 2-core machine is slow)

standin = make_standin_fixture(valid_token=DEFAULT_TOKEN)


async def test_the_start_says_nothing_of_voice(tmp_path: Path, standin: DiscordStandIn) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DISCORD_", "CHRONICLE_", "FEED_", "WIKIPEDIA_", "LOG_"))
    }
    env.update(
        DISCORD_TOKEN=DEFAULT_TOKEN,
        DISCORD_API_BASE=standin.api_base,
        DISCORD_GATEWAY_URL=standin.gateway_url,
        WIKIPEDIA_POLL_MINUTES="0",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    lines: list[str] = []
    try:
        await standin.wait_for_ready(timeout=WAIT)
        while " INFO bot.client: connected as " not in (lines or [""])[-1]:
            line = await asyncio.wait_for(process.stderr.readline(), WAIT)
            assert line, "".join(lines)
            lines.append(line.decode())
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), WAIT)
    log = "".join(lines) + err.decode()
    assert process.returncode == 0, log
    assert "voice" not in log.lower(), log
    assert "PyNaCl" not in log and "davey" not in log, log


# discord.py's client warns of something else, in a process set up as `chronicle run` is.
OTHER_WARNING = """
import logging
import bot.client
from bot.console import configure_logging

configure_logging(logging.INFO)
logging.getLogger("discord.client").warning("a warning of discord.py's own")
"""


def test_discord_warnings_still_reach_the_log() -> None:
    """Only the two voice warnings are silenced, not discord.py's logger."""
    result = subprocess.run(
        [sys.executable, "-c", OTHER_WARNING],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "WARNING discord.client: a warning of discord.py's own" in result.stderr
