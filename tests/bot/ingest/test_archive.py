"""Parsing the Markdown archive: the seed pages exactly, every format variant, bad files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.ingest.archive import (
    ArchiveFormatError,
    ParsedDay,
    clean_text,
    iter_archive_files,
    parse_file,
    slugify,
    split_entities,
)
from storage.models import PageRecord, SourceRecord
from tests.conftest import MOD_KEY, SAMPLE_NEWS, SEEDS, TEST_DATA

RMI = "Russian military intervention in the Syrian Civil War"


def page(path: Path) -> PageRecord:
    parsed = parse_file(path, path.read_bytes())
    assert isinstance(parsed, PageRecord)
    return parsed


def seed(prefix: str) -> PageRecord:
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return page(path)


def test_seed_000_parses_exactly() -> None:
    parsed = seed("000")
    assert (
        parsed.key
        == "2014/11/8/abu-bakr-al-baghdadi-is-critically-wounded-during-a-us-airstrike-at-al-qaim"
    )
    assert parsed.date == dt.date(2014, 11, 8)
    assert (
        parsed.headline
        == "Abu Bakr al-Baghdadi is critically wounded during a US airstrike at al-Qaim."
    )
    assert parsed.summary == ""
    assert parsed.sources == (
        SourceRecord(
            "DailyMail",
            "http://www.dailymail.co.uk/news/article-2826488/U-S-air-strikes-hit-ISIS-leader-Abu-Bakr-al-Baghdadi.html",
        ),
    )
    assert [(r.date.isoformat(), r.shared) for r in parsed.related] == [
        ("2017-09-28", ("Abu Bakr al-Baghdadi",)),
        ("2017-07-11", ("Abu Bakr al-Baghdadi",)),
        ("2017-06-21", ("Abu Bakr al-Baghdadi",)),
        ("2017-06-16", ("Abu Bakr al-Baghdadi",)),
        ("2017-04-01", ("Al Qaim",)),
    ]
    assert parsed.related[3].key == MOD_KEY
    assert parsed.related[4].headline == (
        "An Iraqi airstrike near Al Qaim, Anbar province, Iraq, kills Ayad al-Jumaili, "
        "believed to be ISIL's second-in-command."
    )
    assert parsed.entities == ("Abu Bakr al-Baghdadi", "Al Qaim")


def test_seed_001_parses_exactly() -> None:
    parsed = seed("001")
    assert parsed.key == MOD_KEY
    assert parsed.date == dt.date(2017, 6, 16)
    assert parsed.headline.startswith(
        "The Russian Ministry of Defence says its forces may have killed"
    )
    assert parsed.headline.endswith("and currently is seeking confirmation.")
    assert parsed.summary.startswith("The Russian defence ministry says it believes")
    assert parsed.summary.endswith("Russian news agencies cited the defence ministry as saying.")
    assert parsed.sources == (
        SourceRecord(
            "The Independent",
            "http://www.independent.co.uk/news/world/middle-east/abu-bakr-al-baghdadi-dead-isis-leader-russia-raqqa-air-strike-killed-syria-islamic-state-chief-a7792801.html",
        ),
        SourceRecord(
            "Cover Image",
            "https://static.independent.co.uk/s3fs-public/thumbnails/image/2016/12/30/23/baghdadi.jpg",
            is_image=True,
        ),
    )
    assert [(r.date.isoformat(), r.shared) for r in parsed.related] == [
        ("2017-09-24", ("Islamic State", "Russia", "Russian Defence Ministry", RMI)),
        ("2017-07-11", ("Abu Bakr al-Baghdadi", "Islamic State", "Russia")),
        ("2016-02-03", ("Islamic State", "Russia", RMI)),
        ("2015-12-09", ("Islamic State", "Russia", RMI)),
        ("2015-12-08", ("Islamic State", "Russia", "Russian Defence Ministry")),
        ("2015-11-24", ("Russia", "Russian Defence Ministry", RMI)),
        ("2015-11-20", ("Islamic State", "Russia", RMI)),
        ("2015-11-17", ("Islamic State", "Russia", RMI)),
        ("2017-09-28", ("Abu Bakr al-Baghdadi", "Islamic State")),
        ("2017-09-10", ("Russia", RMI)),
    ]
    assert parsed.related[0].key == (
        "2017/09/24/a-russian-lieutenant-general-valery-asapov-is-killed-by-mortar-fire-from-isil"
        "-militants-near-the-city-of-deir-ez-zor-according-to-the-rus"
    )
    assert parsed.related[5].headline.startswith("Turkish F-16 fighter jets shoot down")


def test_seed_002_parses_exactly() -> None:
    parsed = seed("002")
    assert parsed.key == (
        "2017/09/28/the-islamic-state-of-iraq-and-the-levant-releases-footage-which-apparently"
        "-show-its-leader-abu-bakr-al-baghdadi-urging-his-followers-to-expa"
    )
    assert parsed.headline == (
        "The Islamic State of Iraq and the Levant releases footage which apparently show its "
        "leader Abu Bakr al-Baghdadi urging his followers to expand their attacks against "
        '"crusaders and apostates".'
    )
    assert parsed.summary.startswith(
        "The extremist group released what it said was a new recording"
    )
    assert [s.name for s in parsed.sources] == ["Los Angeles Times", "Cover Image"]
    both = ("Abu Bakr al-Baghdadi", "Islamic State")
    assert [(r.date.isoformat(), r.shared) for r in parsed.related] == [
        ("2017-07-11", both),
        ("2017-06-21", both),
        ("2017-06-16", both),
        ("2015-12-01", both),
        ("2015-10-11", both),
        ("2014-06-29", both),
        ("2017-10-01", ("Islamic State",)),
        ("2017-09-09", ("Islamic State",)),
        ("2017-09-05", ("Islamic State",)),
        ("2017-09-04", ("Islamic State",)),
    ]


def test_seed_pages_get_the_key_their_archive_path_gives() -> None:
    for prefix in ("000", "001", "002"):
        parsed = seed(prefix)
        archive_path = SAMPLE_NEWS / f"{parsed.key}.md"
        assert archive_path.exists(), archive_path


def test_every_sample_page_and_index_parses() -> None:
    pages = days = with_sources = 0
    for path in iter_archive_files([SAMPLE_NEWS, TEST_DATA / "news-zh", TEST_DATA / "variants"]):
        parsed = parse_file(path, path.read_bytes())
        if isinstance(parsed, ParsedDay):
            days += 1
            assert parsed.entries
        else:
            pages += 1
            assert parsed.headline
            with_sources += bool(parsed.sources)  # some 2019 Chinese pages list none
    assert pages >= 41 and days >= 4
    assert with_sources >= pages - 4


def test_slugs_reproduce_archive_file_names() -> None:
    """The generator's slug rule, checked on every English and Chinese sample page whose
    headline has not changed since its file was named."""
    checked = 0
    for root, lang in ((SAMPLE_NEWS, "en"), (TEST_DATA / "news-zh", "zh")):
        for path in root.rglob("*.md"):
            if path.name in ("index.md", "README.md"):
                continue
            headline = next(
                line[2:] for line in path.read_text().splitlines() if line.startswith("# ")
            )
            if "Tohoku" in headline or "Shinzo" in headline:
                continue  # renamed from Tōhoku / Shinzō after the slug was made
            assert slugify(headline, lang) == path.stem
            checked += 1
    assert checked >= 45
    assert (
        slugify("Prime Minister Shinzō Abe dissolves", "en")
        == "prime-minister-shinza-abe-dissolves"
    )


def test_later_format_with_formats_preamble_and_plural_sources() -> None:
    (path,) = (TEST_DATA / "variants").rglob("*.md")
    parsed = page(path)
    assert parsed.key == MOD_KEY
    assert parsed.sources[0].name == "The Independent"
    assert parsed.sources[1].is_image
    assert parsed.related[0].shared[0] == "ISIL"


def test_changes_list_after_related_names_the_older_slug() -> None:
    (path,) = (SAMPLE_NEWS / "2017/09/10").glob("*.md")
    parsed = page(path)
    assert parsed.replaces == (
        "2017/09/10/russian-airstrikes-on-several-ferries-attempting-to-cross-the-euphrates-near"
        "-deir-ez-zor-kill-at-least-34-people-according-to-the-syrian-o",
    )
    # wiki leftovers are dropped from publisher names
    assert parsed.sources[0].name == "AFP via Daily Mail"
    assert "the Russian Federation" in parsed.entities


def test_day_index_gives_stories_entities_and_summaries() -> None:
    path = SAMPLE_NEWS / "2017/09/28/index.md"
    parsed = parse_file(path, path.read_bytes())
    assert isinstance(parsed, ParsedDay)
    assert parsed.date == dt.date(2017, 9, 28)
    by_story = {e.story: e for e in parsed.entries}
    assert by_story["Credit card fraud"].entities == (
        "Whole Foods Market",
        "Amazon",
        "Cybercrime",
        "Credit card fraud",
    )
    assert by_story["Japanese general election, 2017"].summary.startswith("Japan’s opposition")
    assert len(parsed.entries) == 8


def test_html_entities_are_decoded() -> None:
    path = SAMPLE_NEWS / "2017/06/16/index.md"
    parsed = parse_file(path, path.read_bytes())
    assert isinstance(parsed, ParsedDay)
    summaries = [e.summary or "" for e in parsed.entries]
    assert any("President Trump’s policy" in s for s in summaries)
    assert not any("&rsquo;" in s for s in summaries)


def test_control_characters_are_taken_out() -> None:
    """A page whose headline, summary and source hold terminal escape sequences (a title
    change, a screen clear): they become spaces, as in a feed's text."""
    text = (
        "### [2019-04-7](/news/2019/04/7/index.md)\n\n"
        "# Storm \x1b]0;pwned\x07 hits \x1b[2J coast\n\nA storm\x9b2J comes.\n\n\n"
        "### Source:\n\n1. [Wire\x08\x08 News](https://wire.example/esc)\n"
    )
    parsed = parse_file("esc.md", text.encode())
    assert isinstance(parsed, PageRecord)
    assert parsed.headline == "Storm ]0;pwned hits [2J coast"
    assert parsed.summary == "A storm 2J comes."
    assert [s.name for s in parsed.sources] == ["Wire News"]
    assert clean_text("tab\tand\x1cfold\x85alike") == "tab and fold alike"


def test_chinese_page_without_chinese_headings_is_chinese() -> None:
    """Some 2019 pages have neither Chinese headings nor /zh/ links (as this one)."""
    text = (
        "### [2019-03-21](/news/2019/03/21/index.md)\n\n# 日本職業棒球運動員鈴木一朗宣佈退役。 \n"
    )
    parsed = parse_file("0.txt", text.encode())
    assert isinstance(parsed, PageRecord)
    assert parsed.lang == "zh"
    assert parsed.key == "2019/03/21/日本職業棒球運動員鈴木一朗宣佈退役"


def test_chinese_page_sources_with_img_and_context() -> None:
    (path,) = (TEST_DATA / "news-zh/2017/06/1").glob("伊斯蘭國*.md")
    parsed = page(path)
    assert parsed.lang == "zh"
    assert parsed.story == "伊斯兰国"
    assert parsed.sources[0].name == "Washington"
    assert parsed.sources[1].is_image
    assert parsed.related[0].shared == ("伊斯兰国",)
    assert parsed.key == f"2017/06/1/{path.stem}"


@pytest.mark.parametrize(
    ("context", "names"),
    [
        (
            "Japanese general election, 2017, Shinzo Abe",
            ("Japanese general election, 2017", "Shinzo Abe"),
        ),
        ("A, B, A", ("A", "B")),
        ("莫普提区, 马里", ("莫普提区", "马里")),
        ("2017, Kenya", ("2017", "Kenya")),
        (
            "Doumeira Islands, Ras Doumeira, peninsula",
            ("Doumeira Islands", "Ras Doumeira", "peninsula"),
        ),
    ],
)
def test_split_entities_keeps_years_with_their_names(context: str, names: tuple[str, ...]) -> None:
    assert split_entities(context) == names


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"# A headline\n\nno date\n", "no date heading"),
        (b"### [2017-02-30](/news/2017/02/30/index.md)\n\n# Headline\n", "invalid date 2017-02-30"),
        (
            b"### [2017-02-03](/news/2017/02/3/index.md)\n\nNo headline here\n",
            "expected the '# headline'",
        ),
        (
            b"### [2017-02-03](/news/2017/02/3/index.md)\n\n# H\n\n"
            b"### Related:\n\n1. [x](/faq/x.md) _Context: A_\n",
            "related link is not an event path",
        ),
    ],
)
def test_malformed_files_say_why(content: bytes, reason: str) -> None:
    with pytest.raises(ArchiveFormatError) as caught:
        parse_file("broken.md", content)
    assert reason in str(caught.value)
    assert "broken.md" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (  # one name in several scripts: the simplified one, as the edition writes
            "候任美国总统-{zh-cn:唐纳德·特朗普;zh-hk:當奴·特朗普;zh-tw:唐納·川普;}-进行电话谈话",
            "候任美国总统唐纳德·特朗普进行电话谈话",
        ),
        (
            "《-{zh-tw:數位單一市場版權法案; zh-hk:數碼單一市場版權法案; zh-cn:数字化单一市场版权指令;}-》",
            "《数字化单一市场版权指令》",
        ),
        ("巴西球队-{zh:法林明高;zh-hans:弗拉门戈;zh-tw:佛朗明哥;}-夺冠", "巴西球队弗拉门戈夺冠"),
        ("一颗-{栗}-子", "一颗栗子"),  # a word kept from conversion: the word
        ("空的-{}-标记", "空的标记"),
        ("Final:南美;zh-hk:南美自由盃;}-冠军", "Final:南美;zh-hk:南美自由盃;}-冠军"),  # half: as is
    ],
)
def test_chinese_variant_markup_is_read_as_one_text(text: str, shown: str) -> None:
    assert clean_text(text) == shown


def test_a_chinese_page_shows_no_variant_markup() -> None:
    (path,) = (TEST_DATA / "news-zh" / "2019" / "11" / "23").glob("巴西球队*.md")
    assert page(path).headline.startswith("巴西球队弗拉门戈在2019年南美解放者杯决赛")
