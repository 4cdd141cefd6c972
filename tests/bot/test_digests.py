"""Digest timing across DST, content on the sample archive, and splitting within limits."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from bot import render
from bot.digests import (
    DigestContent,
    DigestItem,
    DigestSection,
    new_content,
    next_run,
    onthisday_content,
    previous_run,
    search_for,
)
from storage import Storage
from storage.models import DigestFilters, EventBrief, NewEvent

UTC = dt.UTC


def at(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("time", "zone", "after", "expected", "local"),
    [
        # Berlin in summer (UTC+2) and winter (UTC+1): 09:00 local either way.
        (dt.time(9), "Europe/Berlin", at(2026, 6, 16, 6), at(2026, 6, 16, 7), dt.date(2026, 6, 16)),
        (dt.time(9), "Europe/Berlin", at(2026, 12, 1, 9), at(2026, 12, 2, 8), dt.date(2026, 12, 2)),
        # New York across the spring change (2026-03-08): 14:00 UTC the day before, 13:00 after.
        (
            dt.time(9),
            "America/New_York",
            at(2026, 3, 7, 13),
            at(2026, 3, 7, 14),
            dt.date(2026, 3, 7),
        ),
        (
            dt.time(9),
            "America/New_York",
            at(2026, 3, 7, 14),
            at(2026, 3, 8, 13),
            dt.date(2026, 3, 8),
        ),
        # 02:30 does not exist that night: it happens at 03:30 EDT, not never.
        (
            dt.time(2, 30),
            "America/New_York",
            at(2026, 3, 8, 0),
            at(2026, 3, 8, 7, 30),
            dt.date(2026, 3, 8),
        ),
        # 01:30 happens twice on 2026-11-01: once is enough.
        (
            dt.time(1, 30),
            "America/New_York",
            at(2026, 11, 1, 0),
            at(2026, 11, 1, 5, 30),
            dt.date(2026, 11, 1),
        ),
        (
            dt.time(1, 30),
            "America/New_York",
            at(2026, 11, 1, 5, 30),
            at(2026, 11, 2, 6, 30),
            dt.date(2026, 11, 2),
        ),
        # Across the date line: Auckland's morning is the previous UTC day.
        (
            dt.time(7),
            "Pacific/Auckland",
            at(2026, 6, 15, 12),
            at(2026, 6, 15, 19),
            dt.date(2026, 6, 16),
        ),
    ],
)
def test_next_run_is_the_local_time(
    time: dt.time, zone: str, after: dt.datetime, expected: dt.datetime, local: dt.date
) -> None:
    assert next_run(time, zone, after) == (expected, local)


def test_previous_run_is_the_last_one_at_or_before() -> None:
    assert previous_run(dt.time(9), "Europe/Berlin", at(2026, 6, 16, 7)) == (
        at(2026, 6, 16, 7),
        dt.date(2026, 6, 16),
    )
    assert previous_run(dt.time(9), "Europe/Berlin", at(2026, 6, 16, 6)) == (
        at(2026, 6, 15, 7),
        dt.date(2026, 6, 15),
    )


async def test_onthisday_content_on_the_sample_archive(sample_storage: Storage) -> None:
    content = await onthisday_content(sample_storage, dt.date(2026, 6, 16))
    assert content.title == "On this day: June 16"
    assert [s.heading for s in content.sections] == ["9 years ago — 2017"]
    items = content.sections[0].items
    assert len(items) == 9 == len(content.event_ids)
    assert all(item.markdown.startswith("• [") for item in items if "](" in item.markdown)
    empty = await onthisday_content(sample_storage, dt.date(2026, 2, 28))
    assert empty.empty


async def test_onthisday_prefers_what_the_archive_says_most_about(sample_storage: Storage) -> None:
    content = await onthisday_content(sample_storage, dt.date(2026, 6, 16), limit=3)
    chosen = await sample_storage.events.briefs(list(content.event_ids))
    # The Russian Defence Ministry event has the most sources, links and entities that day.
    assert any("Russian Ministry of Defence" in b.headline for b in chosen.values())
    # Years newest first, and only earlier years than the digest's own.
    assert (await onthisday_content(sample_storage, dt.date(2017, 6, 16))).empty


def _event(
    number: int, story: str | None, entity: str | None, headline: str | None = None
) -> NewEvent:
    brief = EventBrief(
        number,
        f"2026/11/22/e{number}",
        dt.date(2026, 11, 22),
        headline or f"Event {number}",
        True,
        f"https://example.com/{number}",
    )
    return NewEvent(brief, story, entity)


def test_new_content_groups_by_story_then_entity_and_counts_the_rest() -> None:
    events = [
        _event(i, "Brexit" if i % 3 == 0 else None, "Russia" if i % 3 == 1 else None)
        for i in range(1, 41)
    ]
    content = new_content(events)
    headings = [s.heading for s in content.sections]
    # Largest group first, "Other news" last; each takes five lines a turn until 25.
    assert headings == ["Russia", "Brexit", "Other news"]
    assert [len(s.items) for s in content.sections] == [10, 10, 5]
    assert content.more == 15
    assert content.more_hint == "/search query:* since:2026-11-22"
    assert len(content.event_ids) == 40  # all covered, so none comes again


def test_one_busy_story_does_not_take_every_line_of_a_digest() -> None:
    """Five stories of 30 events each: the digest lists the five newest of each, not 25
    of the one whose event is newest."""
    stories = ("Syria", "Russia", "Iraq", "Turkey", "Iran")
    events = [_event(n, stories[n // 30], None) for n in range(150)]
    content = new_content(events)
    assert [(s.heading, len(s.items)) for s in content.sections] == [
        (story, 5) for story in reversed(stories)
    ]
    assert content.sections[0].items[0].event_id == 149  # newest first
    assert content.more == 125


def test_other_news_comes_last_however_large() -> None:
    """60 events name nothing known, 15 Syria, 10 Russia: the named stories lead."""
    events = [_event(n, None, None) for n in range(60)]
    events += [_event(n, None, "Syria") for n in range(60, 75)]
    events += [_event(n, None, "Russia") for n in range(75, 85)]
    content = new_content(events)
    assert [(s.heading, len(s.items)) for s in content.sections] == [
        ("Syria", 10),
        ("Russia", 10),
        ("Other news", 5),
    ]
    assert content.more == 60


def test_a_long_title_still_says_continued() -> None:
    """A digest with a long filter in its title, split over two embeds: the second's title
    is cut to Discord's 256 characters and still ends "(continued)"."""
    events = [_event(i, None, None, "A long headline " * 12 + str(i)) for i in range(1, 26)]
    content = dataclasses.replace(new_content(events), title="New events · " + "about x" * 60)
    embeds = [e for m in render.digest_messages(content) for e in m.embeds]
    assert len(embeds) > 1
    assert all(len(e.title or "") <= 256 for e in embeds)
    assert (embeds[1].title or "").endswith("… (continued)")


@pytest.mark.parametrize(
    ("filters", "names", "search"),
    [
        (DigestFilters(), (), "query:*"),
        (DigestFilters(words="floods -rain"), (), "query:floods -rain"),
        (DigestFilters(entity_ids=(7,), words="talks"), ("Syria",), "query:talks entity:Syria"),
        # /search takes one entity and no category: a search for more would list other events.
        (DigestFilters(entity_ids=(7, 8)), ("Syria", "Iraq"), None),
        (DigestFilters(category="Armed conflicts and attacks"), (), None),
        # /search lists the server's language: a digest of its own other language, not.
        (DigestFilters(language="en"), (), "query:*"),
        (DigestFilters(language="zh"), (), None),
        (DigestFilters(language="all"), (), None),
    ],
)
def test_the_rest_of_a_digest_is_pointed_to_only_by_a_search_listing_just_it(
    filters: DigestFilters, names: tuple[str, ...], search: str | None
) -> None:
    assert search_for(filters, names, "en") == search
    events = [_event(i, None, None) for i in range(1, 41)]
    content = new_content(events, search=search_for(filters, names, "en"))
    assert content.more == 15
    expected = f"/search {search} since:2026-11-22" if search else None
    assert content.more_hint == expected
    text = render.digest_messages(content)[-1].embeds[-1].description or ""
    assert text.endswith(
        "… and 15 more in Other news" + (f"\nAll of them: `{expected}`" if expected else "")
    )


def test_split_digest_keeps_every_item_whole() -> None:
    sections = tuple(
        DigestSection(
            f"Story {s}",
            tuple(
                DigestItem(
                    markdown=f"• item {s}-{i} " + "lorem ipsum " * 40 + f"[end {s}-{i}]",
                    lead="",
                    headline="",
                )
                for i in range(20)
            ),
        )
        for s in range(6)
    )
    content = DigestContent(
        "new", "New events", sections, more=7, more_hint="/search query:* since:2026-11-01"
    )
    messages = render.digest_messages(content)
    assert len(messages) > 5
    seen: list[str] = []
    for message in messages:
        embeds = message.embeds
        assert len(embeds) <= 10
        assert sum(len(e) for e in embeds) <= 6000
        for embed in embeds:
            assert len(embed.description or "") <= 4096
            for line in (embed.description or "").splitlines():
                if line.startswith("• item"):
                    assert line.endswith("]")  # whole, never cut
                    seen.append(line)
                elif line.startswith("**Story"):
                    pass
                else:
                    assert line.startswith("… and 7 more")
    assert seen == [item.markdown for section in sections for item in section.items]
    # A section continued in the next embed repeats its heading.
    continued = [e.description.splitlines()[0] for m in messages for e in m.embeds][1:]
    assert all(first.startswith("**Story") for first in continued)


def test_a_link_too_long_to_show_whole_leaves_the_headline_unlinked() -> None:
    """An aggregator's tracking link of 1,050 characters would be cut inside its markdown:
    the line shows the headline alone instead, never a broken link."""
    long_url = "https://news.example.com/rss/articles/CBMi" + "a1B2c3D4e5" * 100 + "?oc=5"
    briefs = [
        EventBrief(
            1, "2026/11/21/a", dt.date(2026, 11, 21), "Parliament passes the budget", True, long_url
        ),
        EventBrief(
            2,
            "2026/11/21/b",
            dt.date(2026, 11, 21),
            "Talks resume in Geneva",
            True,
            "https://e.example/b",
        ),
    ]
    content = new_content([NewEvent(b, None, None) for b in briefs])
    (message,) = render.digest_messages(content)
    lines = message.embeds[0].description.splitlines()
    assert lines[1] == "• 2026-11-21 [Talks resume in Geneva](https://e.example/b)"
    assert lines[2] == "• 2026-11-21 Parliament passes the budget"
    assert message.event_ids == (2, 1)  # as listed
