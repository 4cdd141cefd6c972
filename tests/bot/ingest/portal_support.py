"""What the tests of reading Wikipedia's Current events day pages share
(test_portal_header_layout.py, test_portal_template_layouts.py,
test_portal_headline_text.py, test_portal_structure.py, test_portal_helpers.py): the
captured pages and their dates, the portal's headings, the markers that bound the news, and
helpers that parse a captured page or a small inline one."""

from __future__ import annotations

import datetime as dt

from bot.ingest.archive import slugify
from bot.ingest.portal import PortalDay, parse_day
from storage.models import PortalItemRecord
from tests.conftest import TEST_DATA

PAGES = TEST_DATA / "wikipedia"
MAY_5 = dt.date(2017, 5, 5)
JUNE_16 = dt.date(2017, 6, 16)
MARCH_15 = dt.date(2019, 3, 15)
JANUARY_8 = dt.date(2024, 1, 8)

ARMED = "Armed conflicts and attacks"
BUSINESS = "Business and economy"
RELATIONS = "International relations"
LAW = "Law and crime"
POLITICS = "Politics and elections"
DISASTERS = "Disasters and accidents"
SPORTS = "Sports"

BELOW = "<!-- All news items below this line -->"
ABOVE = "<!-- All news items above this line -->"


def fixture(name: str, date: dt.date) -> PortalDay:
    parsed = parse_day(date, (PAGES / name).read_text(encoding="utf-8"))
    assert parsed.date == date
    return parsed


def key(date: dt.date, headline: str) -> str:
    """The archive's key rule: YYYY/MM/D/<slug of the headline>."""
    return f"{date.year}/{date.month:02d}/{date.day}/{slugify(headline, 'en')}"


def inline(body: str, date: dt.date = MAY_5) -> PortalDay:
    """A day page in the header layout with ``body`` between the markers."""
    text = (
        "{{Current events header|2017|05|5}}\n\n"
        f"{BELOW}\n{body}\n{ABOVE}|}}\n"
        "[[Category:Current events pages]]\n"
    )
    return parse_day(date, text)


def headlines(parsed: PortalDay) -> list[str]:
    return [item.headline for item in parsed.items]


def only(parsed: PortalDay) -> PortalItemRecord:
    assert len(parsed.items) == 1, headlines(parsed)
    return parsed.items[0]
