"""`chronicle run` given a DISCORD_TOKEN that is no bot token, as operators paste it: with
"Bot " before it, with a space or a line break inside, in curly quotes, or another value of
the Developer Portal's pages (the application's id, its public key, its client secret). Each
is refused before the database is opened, in one line saying what the value looks like and
where the token is; the value is never shown. A value shaped like a token still goes to
Discord, which alone can tell."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import token_problem
from tests.conftest import REPO
from tests.e2e.standin.constants import APPLICATION_ID, DEFAULT_TOKEN
from tests.e2e.standin.server import DiscordStandIn

WAIT = 60.0
WHERE = "the token is under Bot → Reset Token in the Developer Portal"


@pytest.fixture
async def standin() -> AsyncIterator[DiscordStandIn]:
    async with DiscordStandIn(valid_token=DEFAULT_TOKEN) as api:
        yield api


async def run(
    tmp_path: Path, standin: DiscordStandIn, *, env_file: str | None = None, **values: str
) -> tuple[int, str]:
    """`chronicle run` in tmp_path against the stand-in: its exit status and stderr."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DISCORD_", "CHRONICLE_", "FEED_", "WIKIPEDIA_", "LOG_"))
    }
    env.update(
        PYTHONPATH=str(REPO),
        DISCORD_API_BASE=standin.api_base,
        DISCORD_GATEWAY_URL=standin.gateway_url,
        WIKIPEDIA_POLL_MINUTES="0",
        **values,
    )
    if env_file is not None:
        (tmp_path / ".env").write_text(env_file, encoding="utf-8")
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
    out, err = await asyncio.wait_for(process.communicate(), WAIT)
    assert out == b""
    assert process.returncode is not None
    return process.returncode, err.decode()


def made(folder: Path) -> list[Path]:
    return list(folder.iterdir())


def refusal(status: int, err: str, token: str) -> str:
    assert "Traceback" not in err and "unexpected error" not in err
    assert token.strip() not in err and DEFAULT_TOKEN not in err
    assert status == 2, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(
    ("token", "said"),
    [
        (
            f"Bot {DEFAULT_TOKEN}",
            "DISCORD_TOKEN starts with 'Bot ': give the token alone (Chronicle adds 'Bot ')",
        ),
        (
            f"{DEFAULT_TOKEN[:30]}\n{DEFAULT_TOKEN[30:]}",  # was "unexpected error (ValueError …)"
            "DISCORD_TOKEN has a space or a line break inside, which no token has: copy the"
            " token alone onto one line",
        ),
        (
            f"{DEFAULT_TOKEN} {DEFAULT_TOKEN}",
            "DISCORD_TOKEN has a space or a line break inside, which no token has: copy the"
            " token alone onto one line",
        ),
        (
            f'"{DEFAULT_TOKEN}"',  # quotes kept, as docker's --env-file keeps them
            "DISCORD_TOKEN holds quotation marks or brackets: write DISCORD_TOKEN=<the token>"
            ' without them (or in plain quotes, "…", around it whole)',
        ),
        (
            str(APPLICATION_ID),
            f"DISCORD_TOKEN is a number: the application's id (or a user's), not its bot token; {WHERE}",
        ),
        (
            "8d3c1f0e" * 8,
            f"DISCORD_TOKEN is the application's public key, not its bot token; {WHERE}",
        ),
        (
            "Zq3_kP9-wX2mN7vB4tY8rL1sD6fH0jGa",
            f"DISCORD_TOKEN looks like the OAuth2 client secret, not the bot token; {WHERE}",
        ),
    ],
)
async def test_a_value_that_is_no_token_is_refused_saying_what_it_is(
    tmp_path: Path, standin: DiscordStandIn, token: str, said: str
) -> None:
    status, err = await run(tmp_path, standin, DISCORD_TOKEN=token)
    assert refusal(status, err, token) == f"chronicle: Invalid setting: {said}"
    assert made(tmp_path) == []  # refused before the database was made
    assert standin.requests == []  # and Discord was not asked


async def test_curly_quotes_from_a_document_in_dotenv_are_refused(
    tmp_path: Path, standin: DiscordStandIn
) -> None:
    """A .env written in a word processor: its quotes are no quotes to .env, and stay."""
    status, err = await run(tmp_path, standin, env_file=f"DISCORD_TOKEN=“{DEFAULT_TOKEN}”\n")
    assert refusal(status, err, DEFAULT_TOKEN).startswith(
        "chronicle: Invalid setting: DISCORD_TOKEN holds quotation marks"
    )


@pytest.mark.parametrize(
    "token",
    [
        DEFAULT_TOKEN,
        "MTIzNDU2Nzg5.secret-token.do-not-print",
        "not-the-token",  # Discord's to refuse
        "a" * 70,
    ],
)
def test_a_value_shaped_like_a_token_is_left_to_discord(token: str) -> None:
    assert token_problem(token) is None
