"""A 'new' digest's stories cut short: under each, "… and N more about <story>"; the last
line counts only the events of the stories given no line, so that every event is counted
once, in the post, its embeds and messages, and in the terminal."""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Sequence

import pytest

from bot import render
from bot.digest_content import DigestContent
from bot.digests import new_content
from storage.models import EventBrief, NewEvent

DAY = dt.date(2026, 11, 22)
HINT = "/search query:* since:2026-11-22"
MORE = re.compile(r"^… and (\d+) more")
Group = tuple[str | None, int]  # a story (None: no story or entity) and its events


def events(groups: Sequence[Group], headline: str = "Event") -> list[NewEvent]:
    """The groups' events, a group after another, newer ids later."""
    made: list[NewEvent] = []
    for story, count in groups:
        for _ in range(count):
            number = len(made) + 1
            brief = EventBrief(
                number,
                f"2026/11/22/e{number}",
                DAY,
                f"{headline} {number}",
                True,
                f"https://example.com/{number}",
            )
            made.append(NewEvent(brief, story, None))
    return made


def shown(content: DigestContent) -> list[str]:
    """Every line of the post, message after message, embed after embed."""
    return [
        line
        for message in render.digest_messages(content)
        for embed in message.embeds
        for line in (embed.description or "").splitlines()
    ]


def not_items(lines: Sequence[str]) -> list[str]:
    return [line for line in lines if not line.startswith("• ")]


def counted(lines: Sequence[str]) -> int:
    return sum(int(m[1]) for line in lines if (m := MORE.match(line.strip())))


STORIES: list[Group] = [
    ("Syria", 12),
    ("Russia", 8),
    ("Iraq", 5),
    ("Iran", 5),
    ("Egypt", 3),
    ("Turkey", 2),
    (None, 10),
]


def test_each_story_cut_short_counts_its_own_and_the_last_line_the_rest() -> None:
    """45 events: Syria lists 5 of 12 and Russia 5 of 8, each saying how many more; Iran,
    Iraq, Egypt and Turkey are listed whole and say nothing; "Other news", given no line,
    is what the last line counts: 25 + 7 + 3 + 10 = 45 (it had said "… and 20 more" alone,
    nothing saying whose)."""
    content = new_content(events(STORIES))
    lines = shown(content)
    assert not_items(lines) == [
        "**Syria**",
        "… and 7 more about Syria",
        "**Russia**",
        "… and 3 more about Russia",
        "**Iran**",
        "**Iraq**",
        "**Egypt**",
        "**Turkey**",
        f"… and 10 more besides: `{HINT}`",
    ]
    assert lines.index("… and 7 more about Syria") == lines.index("**Syria**") + 6
    assert len(lines) - len(not_items(lines)) + counted(lines) == 45
    assert content.more == 20  # all that is not listed, as the command line's JSON says


def test_the_terminal_shows_the_same_counts() -> None:
    content = new_content(events(STORIES))
    lines = render.digest_text(content, width=200).splitlines()
    assert "  … and 7 more about Syria" in lines
    assert lines[lines.index("  … and 7 more about Syria") - 1].startswith("  • 2026-11-22")
    assert "  … and 3 more about Russia" in lines
    assert lines[-1] == f"… and 10 more besides: {HINT}"
    assert counted(lines) == content.more == 20


def test_a_digest_of_stories_listed_whole_keeps_its_one_line() -> None:
    """Six stories of five: five listed whole, the sixth given no line; the last line is as
    it was, "… and 5 more" (no "besides": nothing above counted)."""
    content = new_content(events([(f"Story {n}", 5) for n in range(6)]))
    lines = shown(content)
    assert not [line for line in lines if line.startswith("… and") and "about" in line]
    assert lines[-1] == f"… and 5 more: `{HINT}`"


@pytest.mark.parametrize("search", ["query:*", None])
def test_when_the_stories_count_every_event_left_out_the_search_still_follows(
    search: str | None,
) -> None:
    """Syria and "Other news", 20 events each: 15 and 10 listed, each counting the rest;
    no "… and 0 more"; the /search that lists them all still ends the post, when there is
    one."""
    content = new_content(events([("Syria", 20), (None, 20)]), search=search)
    lines = shown(content)
    expected = [
        "**Syria**",
        "… and 5 more about Syria",
        "**Other news**",
        "… and 10 more in Other news",
    ]
    if search:
        expected.append(f"All of them: `{HINT}`")
    assert not_items(lines) == expected
    assert len(lines) - len(not_items(lines)) + counted(lines) == 40


def test_a_storys_name_is_shown_escaped_in_its_line() -> None:
    """A story named with markdown, a mention, a link and a line break: its line shows the
    name as typed (escaped as its heading is), drawing no bold, link or heading and
    mentioning no one."""
    name = "**Breaking** <@123> <@&456> @everyone [vote](https://evil.example)\n# now _x_ ~~y~~"
    content = new_content(events([(name, 30)]))
    lines = shown(content)
    escaped = (
        r"\*\*Breaking\*\* \<@123> \<@&456> @everyone \[vote\](https://evil.example)"
        r" # now \_x\_ \~\~y\~\~"
    )
    assert not_items(lines)[:2] == [f"**{escaped}**", f"… and 5 more about {escaped}"]
    assert "<@" not in "\n".join(lines).replace("\\<@", "")


def test_a_long_name_is_cut_in_its_heading_and_its_line() -> None:
    name = "International Conference on the Reconstruction of Cities " * 20
    lines = shown(new_content(events([(name, 30)]), search=None))
    heading, more = not_items(lines)
    assert len(heading) <= 256 + 4 and heading.endswith("…**")
    assert more == f"… and 5 more about {heading[2:-2]}"


@pytest.mark.parametrize("headline_length", range(120, 330, 7))
def test_a_storys_line_stays_with_it_across_embeds_and_messages(headline_length: int) -> None:
    """Long headlines split the post over embeds and messages: each story's line follows
    one of its items or its "(continued)" heading, never another story's; every embed and
    message is within Discord's limits; the counts still add up."""
    groups: list[Group] = [("Syria", 30), ("Russia", 12), (None, 9)]
    made = events(groups, headline="x" * headline_length)
    content = new_content(made)
    messages = render.digest_messages(content)
    seen: list[str] = []
    for message in messages:
        assert len(message.embeds) <= 10
        assert sum(len(embed) for embed in message.embeds) <= 6000
        for embed in message.embeds:
            description = embed.description or ""
            assert len(description) <= 4096
            lines = description.splitlines()
            seen += lines
            for index, line in enumerate(lines):
                if found := re.match(r"… and \d+ more (?:about|in) (.+)$", line):
                    assert index > 0
                    before = lines[index - 1]
                    assert before.startswith("• ") or before == f"**{found[1]}** (continued)"
    heading = None
    for line in seen:
        if line.startswith("**"):
            heading = line.removesuffix(" (continued)")
        elif found := re.match(r"… and \d+ more (?:about|in) (.+)$", line):
            assert heading == f"**{found[1]}**"
    assert len([line for line in seen if line.startswith("• ")]) + counted(seen) == len(made)


def test_a_storys_line_that_starts_an_embed_repeats_its_heading() -> None:
    """A story's items fill an embed to the last line: its count opens the next embed, under
    its heading marked "(continued)"."""
    for headline_length in range(100, 400):
        content = new_content(events([("Syria", 30)], headline="y" * headline_length))
        descriptions = [
            (e.description or "").splitlines()
            for m in render.digest_messages(content)
            for e in m.embeds
        ]
        if descriptions[-1][:2] == ["**Syria** (continued)", "… and 5 more about Syria"]:
            return
    raise AssertionError("no headline length put the story's line alone in an embed")


def test_every_event_is_counted_once_however_the_stories_fall() -> None:
    """Many digests of random stories and sizes, daily (25 lines) and hourly (50): what is
    listed, what each story counts and what the last line counts make every event, in the
    post and in the terminal."""
    rng = random.Random(20261122)
    for _ in range(300):
        groups: list[Group] = [
            (f"Story {n}", rng.randint(1, 40)) for n in range(rng.randint(1, 12))
        ]
        if rng.random() < 0.5:
            groups.append((None, rng.randint(1, 40)))
        made = events(groups)
        content = new_content(
            made, limit=rng.choice([25, 50]), search=rng.choice(["query:*", None])
        )
        lines = shown(content)
        listed = len([line for line in lines if line.startswith("• ")])
        assert listed + counted(lines) == len(made)
        text = render.digest_text(content).splitlines()
        assert len([line for line in text if line.startswith("  • ")]) + counted(text) == len(made)
        assert sum(s.more for s in content.sections) + content.more_elsewhere == content.more
        assert all(not line.startswith("… and 0") for line in lines)
