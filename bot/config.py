"""Settings, from the environment and an optional .env file, checked in one place."""

from __future__ import annotations

import difflib
import io
import logging
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from bot.ingest.portal import DEFAULT_API_URL, EDITIONS
from bot.shards import MAX_SHARD_COUNT, TOO_MANY_SHARDS, parse_shard_ids, shard_problems
from storage.location import database_location

DEFAULT_API_BASE = "https://discord.com/api/v10"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
DEFAULT_DATABASE = Path("chronicle.db")
DATABASE_SETTINGS = ("CHRONICLE_DATABASE_URL", "CHRONICLE_DB")
# FEED_POLL_MINUTES and WIKIPEDIA_POLL_MINUTES: a finite number of minutes, at most a day
# (the portal's live poll reads today's and yesterday's pages, so a longer wait loses days;
# a feed that fails is waited for a day at most, too).
DEFAULT_POLL_MINUTES = 10.0
MIN_POLL_MINUTES, MAX_POLL_MINUTES = 1.0, 1440.0
# A .env holds a few settings; anything this large is not one.
MAX_ENV_FILE_BYTES = 256 * 1024
# The name at the start of a .env line ("export NAME=..." too), to say which one is broken.
_ENV_NAME = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=")


# Every setting Chronicle reads (README: Settings); a name like one of them that is none is
# said to be ignored, where it had been dropped without a word.
SETTING_NAMES: Final = (
    "DISCORD_TOKEN",
    *DATABASE_SETTINGS,
    "DISCORD_GUILD_ID",
    "DISCORD_API_BASE",
    "DISCORD_GATEWAY_URL",
    "DISCORD_SHARD_COUNT",
    "DISCORD_SHARD_IDS",
    "FEED_POLL_MINUTES",
    "FEED_ALLOW_PRIVATE_ADDRESSES",
    "LOG_LEVEL",
    "WIKIPEDIA_POLL_MINUTES",
    "WIKIPEDIA_API_URL",
    "WIKIPEDIA_LANGUAGE",
    "WIKIPEDIA_CONTACT",
)
_OUR_PREFIXES = ("CHRONICLE_", "DISCORD_", "FEED_", "WIKIPEDIA_")
# Read by the test suite and the benchmarks, not by the bot.
_OTHER_CHRONICLE_NAMES = frozenset(
    {
        "CHRONICLE_TEST_DATABASE_URL",
        "CHRONICLE_REQUIRE_POSTGRES",
        "CHRONICLE_SHARED_DATA",
        "CHRONICLE_TEST_FEED_POLL_SECONDS",
        "CHRONICLE_TEST_CHECK_SECONDS",
    }
)


def ignored_names(from_file: Mapping[str, str], environment: Mapping[str, str]) -> list[str]:
    """What to say of the names that look like settings and are none ("discord_token",
    "CHRONICLE_DATABASE"): in a .env, any name like a setting's or with a prefix of
    Chronicle's; in the environment, which other programs share, a CHRONICLE_ name or one
    very like a setting's."""
    said = []
    for where, names, prefixes, cutoff in (
        (".env", from_file, _OUR_PREFIXES, 0.8),
        ("the environment", environment, ("CHRONICLE_",), 0.9),
    ):
        for name in names:
            if name in SETTING_NAMES or name in _OTHER_CHRONICLE_NAMES:
                continue
            like = difflib.get_close_matches(name.upper(), SETTING_NAMES, n=1, cutoff=cutoff)
            if like:
                said.append(
                    f"{name} in {where} is no setting, and is ignored: did you mean {like[0]}?"
                )
            elif name.upper().startswith(prefixes):
                said.append(
                    f"{name} in {where} is no setting, and is ignored (README.md lists them under"
                    " Settings)"
                )
    return said


class ConfigError(Exception):
    """One or more settings are wrong; the message lists each with what is expected."""


def read_env_file(path: Path) -> dict[str, str]:
    """The settings a .env file gives. ConfigError, naming the file (and the line), when it
    cannot be read, is not UTF-8 text, or has a line that is not a setting: a setting
    silently dropped would be looked for in vain. A message never repeats a value."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_ENV_FILE_BYTES + 1)
    except OSError as exc:
        reason = (exc.strerror or type(exc).__name__).lower()
        raise ConfigError(f"cannot read {path}: {reason}") from None
    if len(data) > MAX_ENV_FILE_BYTES:
        raise ConfigError(
            f"{path} is larger than {MAX_ENV_FILE_BYTES // 1024} kB: not a settings file"
        )
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark is no part of the first name
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}: line {line} is not UTF-8 text (byte 0x{data[exc.start]:02x});"
            " save the file as UTF-8"
        ) from None
    broken = [b.original for b in parse_stream(io.StringIO(text)) if b.error]
    if broken:
        lines = [
            f"{o.line}" + (f" ({name[1]})" if (name := _ENV_NAME.match(o.string)) else "")
            for o in broken
        ]
        which = f"line {lines[0]} is" if len(lines) == 1 else f"lines {', '.join(lines)} are"
        raise ConfigError(
            f"{path}: {which} not NAME=value (a quoted value is quoted whole:"
            ' NAME="a b"); nothing was read from it'
        )
    return {k: v for k, v in dotenv_values(stream=io.StringIO(text)).items() if v is not None}


# A value this long is not echoed in a message: it may be the token, pasted on the wrong line.
SHOWN_VALUE_LIMIT: Final = 40


def shown(value: str) -> str:
    """A setting's value as an error message quotes it; a long one only by its length."""
    if len(value) > SHOWN_VALUE_LIMIT:
        return f"(a value of {len(value)} characters, not shown)"
    return repr(value)


# What a pasted value that is not the bot's token looks like: the application's id (a
# snowflake), its public key (64 hex digits) and its OAuth2 client secret (32 letters, digits,
# '-' and '_'), all on pages beside the token's. A bot token is three parts joined by dots.
_APPLICATION_ID = re.compile(r"[0-9]{15,21}")
_PUBLIC_KEY = re.compile(r"[0-9a-fA-F]{64}")
_CLIENT_SECRET = re.compile(r"[A-Za-z0-9_-]{32}")
_QUOTES = "\"'`“”‘’«»<>"
_WHERE_THE_TOKEN_IS = "the token is under Bot → Reset Token in the Developer Portal"


def token_problem(token: str) -> str | None:
    """Why DISCORD_TOKEN cannot be a bot token, and what it looks like instead; None when it
    may be one (only Discord can tell). Never quotes the value, which may be a secret."""
    if token[:4].lower() == "bot " and len(token.split()) == 2:
        return "DISCORD_TOKEN starts with 'Bot ': give the token alone (Chronicle adds 'Bot ')"
    if any(c.isspace() or not c.isprintable() for c in token):
        return (
            "DISCORD_TOKEN has a space or a line break inside, which no token has: copy the"
            " token alone onto one line"
        )
    if any(c in _QUOTES for c in token):
        return (
            "DISCORD_TOKEN holds quotation marks or brackets: write DISCORD_TOKEN=<the token>"
            ' without them (or in plain quotes, "…", around it whole)'
        )
    if "." not in token:
        if _APPLICATION_ID.fullmatch(token):
            return (
                "DISCORD_TOKEN is a number: the application's id (or a user's), not its bot"
                f" token; {_WHERE_THE_TOKEN_IS}"
            )
        if _PUBLIC_KEY.fullmatch(token):
            return f"DISCORD_TOKEN is the application's public key, not its bot token; {_WHERE_THE_TOKEN_IS}"
        if _CLIENT_SECRET.fullmatch(token):
            return (
                "DISCORD_TOKEN looks like the OAuth2 client secret, not the bot token;"
                f" {_WHERE_THE_TOKEN_IS}"
            )
    return None


@dataclass(frozen=True)
class Settings:
    discord_token: str | None = field(default=None, repr=False)  # never in logs or reprs
    database: Path | str = field(default=DEFAULT_DATABASE, repr=False)  # a URL may hold a password
    api_base: str = DEFAULT_API_BASE
    gateway_url: str | None = None
    guild_id: int | None = None
    feed_poll_minutes: float = 10.0
    feed_allow_private_addresses: bool = False
    log_level: str = "INFO"
    wikipedia_api_url: str = DEFAULT_API_URL
    wikipedia_poll_minutes: float = 10.0  # 0: the bot does not poll the portal
    wikipedia_contact: str | None = None
    wikipedia_language: str = "en"
    # Sharding: how many shards the bot has in all (None: as many as Discord recommends),
    # and which of them this process runs (None: all of them).
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None
    # Set when CHRONICLE_DATABASE_URL and CHRONICLE_DB name different files: which one won.
    database_notice: str | None = field(default=None, compare=False)
    # Names given that look like settings and are none (ignored_names).
    notices: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def load(
        cls, environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
    ) -> Settings:
        """Settings from the environment; a .env file fills in what the environment lacks."""
        values: dict[str, str] = {}
        try:
            present = env_file is not None and env_file.is_file()
        except OSError as exc:  # a working folder this user may not look into
            raise ConfigError(
                f"cannot read {env_file}: {str(exc.strerror or exc).lower()}"
            ) from None
        if env_file is not None and present:
            values.update(read_env_file(env_file))
        environment = os.environ if environ is None else environ
        notices = tuple(ignored_names(values, environment))
        if any(environment.get(name, "").strip() for name in DATABASE_SETTINGS):
            # The environment names the database: a .env's database setting, either of the
            # two, does not override it (an example's CHRONICLE_DATABASE_URL over a service's
            # CHRONICLE_DB would, by precedence of names).
            for name in DATABASE_SETTINGS:
                values.pop(name, None)
        values.update(environment)
        return replace(cls.from_mapping(values), notices=notices)

    @classmethod
    def from_mapping(cls, values: Mapping[str, str]) -> Settings:
        problems: list[str] = []

        def text(name: str) -> str | None:
            value = values.get(name, "").strip()
            return value or None

        def minutes(name: str, *, off: bool = False) -> float:
            """A number of minutes from 1 to a day (or 0, when `off`: not at all)."""
            raw = text(name)
            if raw is None:
                return DEFAULT_POLL_MINUTES
            try:
                value = float(raw)
            except ValueError:
                value = math.nan
            if off and value == 0:
                return 0.0
            if MIN_POLL_MINUTES <= value <= MAX_POLL_MINUTES:
                return value  # NaN is within no range, and inf beyond the day
            problems.append(
                f"{name}={shown(raw)} must be {'0 (off) or ' if off else ''}a number of minutes"
                f" from {MIN_POLL_MINUTES:g} to {MAX_POLL_MINUTES:g} (a day)"
            )
            return DEFAULT_POLL_MINUTES

        def flag(name: str) -> bool:
            raw = (text(name) or "").lower()
            if raw in _TRUE:
                return True
            if raw not in _FALSE:
                problems.append(f"{name}={shown(raw)} must be true or false")
            return False

        def database() -> tuple[Path | str, str | None]:
            """CHRONICLE_DATABASE_URL wins over CHRONICLE_DB, the older setting."""
            url, plain = text("CHRONICLE_DATABASE_URL"), text("CHRONICLE_DB")
            name, raw = ("CHRONICLE_DATABASE_URL", url) if url else ("CHRONICLE_DB", plain)
            if raw is None:
                return DEFAULT_DATABASE, None
            try:
                path = database_location(name, raw)
            except ValueError as exc:
                problems.append(str(exc))
                return DEFAULT_DATABASE, None
            if url and plain:  # CHRONICLE_DB is ignored, so it cannot be wrong, only different
                try:
                    same = database_location("CHRONICLE_DB", plain) == path
                except ValueError:
                    same = False
                if not same:
                    return path, "CHRONICLE_DB is ignored: CHRONICLE_DATABASE_URL is set, and wins"
            return path, None

        database_file, database_notice = database()
        guild_id = None
        if raw_guild := text("DISCORD_GUILD_ID"):
            if raw_guild.isdigit():
                guild_id = int(raw_guild)
            else:
                problems.append(f"DISCORD_GUILD_ID={shown(raw_guild)} must be a server id (digits)")
        api_base = (text("DISCORD_API_BASE") or DEFAULT_API_BASE).rstrip("/")
        if not api_base.startswith(("http://", "https://")):
            problems.append(f"DISCORD_API_BASE={shown(api_base)} must be an http(s) URL")
        gateway = text("DISCORD_GATEWAY_URL")
        if gateway and not gateway.startswith(("ws://", "wss://")):
            problems.append(f"DISCORD_GATEWAY_URL={shown(gateway)} must be a ws:// or wss:// URL")
        level = (text("LOG_LEVEL") or "INFO").upper()
        if level not in LOG_LEVELS:
            problems.append(f"LOG_LEVEL={shown(level)} must be one of {', '.join(LOG_LEVELS)}")
            level = "INFO"
        wikipedia_api = text("WIKIPEDIA_API_URL") or DEFAULT_API_URL
        if not wikipedia_api.startswith(("http://", "https://")):
            problems.append(f"WIKIPEDIA_API_URL={shown(wikipedia_api)} must be an http(s) URL")
        wikipedia_poll = minutes("WIKIPEDIA_POLL_MINUTES", off=True)
        language = (text("WIKIPEDIA_LANGUAGE") or "en").lower()
        if language not in EDITIONS:
            problems.append(
                f"WIKIPEDIA_LANGUAGE={shown(language)}: Chronicle reads the portal of"
                f" {', '.join(EDITIONS)} only"
            )
        shard_count, shard_ids = None, None
        if raw_count := text("DISCORD_SHARD_COUNT"):
            if raw_count.isdigit() and int(raw_count) > MAX_SHARD_COUNT:
                problems.append(f"DISCORD_SHARD_COUNT={shown(raw_count)} {TOO_MANY_SHARDS}")
            elif raw_count.isdigit() and int(raw_count) >= 1:
                shard_count = int(raw_count)
            else:
                problems.append(
                    f"DISCORD_SHARD_COUNT={shown(raw_count)} must be a whole number of shards, 1 or more"
                )
        if raw_ids := text("DISCORD_SHARD_IDS"):
            try:
                shard_ids = parse_shard_ids(raw_ids)
            except ValueError as exc:
                problems.append(f"DISCORD_SHARD_IDS={shown(raw_ids)} {exc}")
            else:
                if raw_count is None or shard_count is not None:  # else already reported
                    problems.extend(
                        shard_problems(
                            shard_count,
                            shard_ids,
                            count_name="DISCORD_SHARD_COUNT",
                            ids_name="DISCORD_SHARD_IDS",
                        )
                    )
        settings = cls(
            discord_token=text("DISCORD_TOKEN"),
            database=database_file,
            api_base=api_base,
            gateway_url=gateway,
            guild_id=guild_id,
            feed_poll_minutes=minutes("FEED_POLL_MINUTES"),
            feed_allow_private_addresses=flag("FEED_ALLOW_PRIVATE_ADDRESSES"),
            log_level=level,
            wikipedia_api_url=wikipedia_api,
            wikipedia_poll_minutes=wikipedia_poll,
            wikipedia_contact=text("WIKIPEDIA_CONTACT"),
            wikipedia_language=language,
            database_notice=database_notice,
            shard_count=shard_count,
            shard_ids=shard_ids,
        )
        if len(problems) == 1:
            raise ConfigError(f"Invalid setting: {problems[0]}")
        if problems:
            raise ConfigError("Invalid settings:\n" + "\n".join(f"  - {p}" for p in problems))
        return settings

    def with_shards(self, count: int | None, ids: str | None) -> Settings:
        """The settings with `chronicle run`'s --shard-count and --shards (None: not given)
        over DISCORD_SHARD_COUNT and DISCORD_SHARD_IDS."""
        if count is None and ids is None:
            return self
        problems: list[str] = []
        shard_count = self.shard_count if count is None else count
        if count is not None and count < 1:
            problems.append(f"--shard-count {count} must be 1 or more")
        elif count is not None and count > MAX_SHARD_COUNT:
            problems.append(f"--shard-count {count} {TOO_MANY_SHARDS}")
        shard_ids = self.shard_ids
        if ids is not None:
            try:
                shard_ids = parse_shard_ids(ids.strip())
            except ValueError as exc:
                problems.append(f"--shards {shown(ids)} {exc}")
        if not problems:
            problems = shard_problems(
                shard_count,
                shard_ids,
                count_name="--shard-count" if count is not None else "DISCORD_SHARD_COUNT",
                ids_name="--shards" if ids is not None else "DISCORD_SHARD_IDS",
            )
        if problems:
            raise ConfigError(f"Invalid setting: {problems[0]}")
        return replace(self, shard_count=shard_count, shard_ids=shard_ids)

    @property
    def log_level_number(self) -> int:
        return logging.getLevelName(self.log_level)
