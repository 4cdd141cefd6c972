"""The README's promises about itself: CI runs its test command; its settings are all listed."""

from __future__ import annotations

import re

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
    names = set(re.findall(r'"([A-Z][A-Z_]+)"', config)) - {
        "INFO",
        "DEBUG",
        "WARNING",
        "ERROR",
        "CRITICAL",
    }
    assert names >= {"DISCORD_TOKEN", "CHRONICLE_DB", "DISCORD_API_BASE", "DISCORD_GATEWAY_URL"}
    for name in names:
        assert f"{name}=" in example, name
        assert f"`{name}`" in readme, name
