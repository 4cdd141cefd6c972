"""Timezones as managers type them: IANA names, and the UTC±H[:MM] or GMT±H[:MM] offsets
people know, answered with the zones at that offset. Etc/GMT±N names count the POSIX way
(Etc/GMT+5 is five hours behind UTC), so wherever one is offered or shown, its real offset
goes with it."""

from __future__ import annotations

import datetime as dt
import difflib
import re
import zoneinfo
from functools import cache

import discord
from discord import app_commands

from bot import render
from bot.errors import InvalidInput

DEFAULT_TIMEZONE = "UTC"
SUGGESTED = 5  # zones a refusal offers

_OFFSET = re.compile(r"(?:utc|gmt)\s*([+\-\u2212])\s*(\d{1,2})(?:\s*:?\s*([0-5]\d))?", re.I)
_ETC = re.compile(r"Etc/GMT([+-])(\d{1,2})")
# Zone names under a region; the others (US/Eastern, Etc/...) are old aliases or offsets.
_REGIONS = (
    "Africa/",
    "America/",
    "Antarctica/",
    "Asia/",
    "Atlantic/",
    "Australia/",
    "Europe/",
    "Indian/",
    "Pacific/",
)
# Zones many people live in, offered first among those at an offset typed.
WELL_KNOWN = (
    "Pacific/Honolulu",
    "America/Anchorage",
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/Mexico_City",
    "America/New_York",
    "America/Bogota",
    "America/Santiago",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
    "America/St_Johns",
    "Atlantic/Azores",
    "Europe/London",
    "Africa/Lagos",
    "Europe/Berlin",
    "Europe/Paris",
    "Africa/Cairo",
    "Africa/Johannesburg",
    "Europe/Kyiv",
    "Europe/Moscow",
    "Europe/Istanbul",
    "Africa/Nairobi",
    "Asia/Riyadh",
    "Asia/Tehran",
    "Asia/Dubai",
    "Asia/Kabul",
    "Asia/Karachi",
    "Asia/Tashkent",
    "Asia/Kolkata",
    "Asia/Colombo",
    "Asia/Kathmandu",
    "Asia/Dhaka",
    "Asia/Yangon",
    "Asia/Bangkok",
    "Asia/Jakarta",
    "Asia/Shanghai",
    "Asia/Singapore",
    "Australia/Perth",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Australia/Adelaide",
    "Australia/Sydney",
    "Pacific/Auckland",
)


@cache
def timezones() -> dict[str, str]:
    """Every IANA zone name, by its case-folded form."""
    return {
        name.casefold(): name
        for name in zoneinfo.available_timezones()
        if "/" in name or name == "UTC"
    }


def typed_offset(text: str) -> dt.timedelta | None:
    """The offset of "UTC+5", "GMT+5:30", "utc -03:00" (the signs people mean); None for
    anything else."""
    match = _OFFSET.fullmatch(text.strip())
    if match is None:
        return None
    offset = dt.timedelta(hours=int(match[2]), minutes=int(match[3] or 0))
    return offset if match[1] == "+" else -offset


def offset_text(offset: dt.timedelta) -> str:
    """UTC+05:30, UTC−05:00 (a true minus sign, as offsets are printed)."""
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "\u2212"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def etc_offset(name: str) -> dt.timedelta | None:
    """The real offset of an Etc/GMT±N zone, whose sign is the opposite of its name's."""
    match = _ETC.fullmatch(name)
    if match is None or int(match[2]) == 0:
        return None
    hours = dt.timedelta(hours=int(match[2]))
    return -hours if match[1] == "+" else hours


def zone_label(name: str) -> str:
    """A zone as a choice or a reply shows it: an Etc/GMT±N zone with its real offset."""
    offset = etc_offset(name)
    return f"{name} ({offset_text(offset)})" if offset is not None else name


def zone_aside(name: str) -> str:
    """A zone inside a reply's brackets: "Etc/GMT+5 = UTC−05:00", other names as they are."""
    offset = etc_offset(name)
    return f"{name} = {offset_text(offset)}" if offset is not None else name


def zones_at(offset: dt.timedelta, now: dt.datetime | None = None) -> list[str]:
    """The zones at this offset now: well-known ones first, then the fixed Etc zone, then
    the rest of the regions' by name."""
    moment = now or dt.datetime.now(dt.UTC)

    def at_offset(name: str) -> bool:
        return moment.astimezone(zoneinfo.ZoneInfo(name)).utcoffset() == offset

    names = set(timezones().values())
    known = [n for n in WELL_KNOWN if n in names and at_offset(n)]
    fixed: list[str] = []
    hours, rest_of_hour = divmod(offset, dt.timedelta(hours=1))
    if offset == dt.timedelta(0):
        fixed = [DEFAULT_TIMEZONE]
    elif not rest_of_hour:
        etc = f"Etc/GMT{-hours:+d}"  # the POSIX sign: Etc/GMT-5 is UTC+05:00
        fixed = [etc] if etc in names else []
    rest = sorted(n for n in names if n.startswith(_REGIONS) and n not in known and at_offset(n))
    return known + fixed + rest


def parse_timezone(text: str, now: dt.datetime | None = None) -> str:
    """The IANA zone a manager typed; an offset or an unknown name is refused with the
    zones they may have meant."""
    name = timezones().get(text.strip().casefold())
    if name is not None:
        return name
    offset = typed_offset(text)
    if offset is not None:
        shown = offset_text(offset)
        zones = zones_at(offset, now)
        if not zones:
            raise InvalidInput(
                f"No timezone is at {shown} now: use an IANA name such as Europe/Berlin."
            )
        fixed = next((z for z in zones if etc_offset(z) is not None), None)
        always = (
            f" {fixed} stays at {shown} all year (Etc/GMT names count the other way round)."
            if fixed
            else ""
        )
        raise InvalidInput(
            f"{shown} is an offset, not a timezone: pick a zone at {shown} now, such as"
            f" {zones[0]}. A place's zone follows its summer time.{always}",
            zones[:SUGGESTED],
        )
    close = difflib.get_close_matches(text.strip().casefold(), timezones().keys(), n=5, cutoff=0.5)
    raise InvalidInput(
        f"{text[:60]!r} is not a timezone I know: use an IANA name such as Europe/Berlin.",
        [timezones()[c] for c in close],
    )


async def timezone_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """For an offset, the zones at it, each with it; else IANA zones starting with what was
    typed, then those holding it."""
    offset = typed_offset(current)
    if offset is not None:
        shown = offset_text(offset)
        return [
            app_commands.Choice(name=f"{n} ({shown})", value=n)
            for n in zones_at(offset)[: render.CHOICES_LIMIT]
        ]
    typed = "_".join(current.casefold().split())  # "new york": zones spell it New_York
    names = sorted(timezones().values())
    starts = [n for n in names if n.casefold().startswith(typed)]
    contains = [n for n in names if typed in n.casefold() and n not in starts]
    return [
        app_commands.Choice(name=zone_label(n), value=n)
        for n in (starts + contains)[: render.CHOICES_LIMIT]
    ]
