"""The README's promises about itself: CI runs its test command; its settings are all listed."""

from __future__ import annotations

import re

from bot.config import SETTING_NAMES
from tests.conftest import REPO


def test_ci_runs_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text()
    commands = re.findall(r"```sh\n(python3 -m venv .venv && [^\n]+)\n```", readme)
    assert len(commands) == 2, "the README has exactly two set-up commands"
    run, test = commands
    assert run.endswith("chronicle run")
    assert test in (REPO / ".ci" / "run").read_text()


def test_every_setting_is_in_env_example_and_readme() -> None:
    example = (REPO / ".env.example").read_text()
    readme = (REPO / "README.md").read_text()
    config = (REPO / "bot" / "config.py").read_text()
    # Every name bot/config.py reads (text("LOG_LEVEL"), minutes("FEED_POLL_MINUTES", ...))
    # is a setting it names.
    read = set(re.findall(r'[a-z_]+\(\s*"([A-Z][A-Z_]*[A-Z])"', config))
    assert read >= {"DISCORD_TOKEN", "CHRONICLE_DB", "DISCORD_API_BASE", "FEED_POLL_MINUTES"}
    assert read <= set(SETTING_NAMES)
    for name in SETTING_NAMES:
        assert f"{name}=" in example, name
        assert f"`{name}`" in readme, name
