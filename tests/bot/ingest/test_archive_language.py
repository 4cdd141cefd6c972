"""An archive page without the Chinese edition's headings or links: its headline decides
its edition, by the rule a feed item declaring no language is filed by
(bot.ingest.language): Japanese and Korean are not Chinese."""

from __future__ import annotations

import pytest

from bot.ingest.archive import parse_file
from storage.models import PageRecord
from tests.conftest import TEST_DATA


def edition(headline: str) -> str:
    text = f"### [2019-03-21](/news/2019/03/21/index.md)\n\n# {headline} \n"
    parsed = parse_file("0.txt", text.encode())
    assert isinstance(parsed, PageRecord)
    return parsed.lang


@pytest.mark.parametrize(
    "headline",
    [
        "Hayao Miyazaki's 君たちはどう生きるか wins the Academy Award for Best Animated Feature",
        "NLP を使わず簡単に中国語と日本語を仕分ける方法",
        "서울에서 대규모 시위",
        "Yoon Suk Yeol (윤석열) is removed from office by the Constitutional Court",
        "Li Qiang (李强) is named Premier of China",
    ],
    ids=repr,
)
def test_a_page_in_japanese_korean_or_english_giving_a_name_in_characters_is_not_chinese(
    headline: str,
) -> None:
    assert edition(headline) == "en"


@pytest.mark.parametrize(
    "headline",
    [
        "日本職業棒球運動員鈴木一朗宣佈退役。",
        "宫崎骏新作《君たちはどう生きるか》在华上映",
        "大韩民国大检察厅 대검찰청",
    ],
    ids=repr,
)
def test_a_chinese_page_without_chinese_headings_is_chinese(headline: str) -> None:
    assert edition(headline) == "zh"


def test_a_real_chinese_page_without_chinese_headings_is_chinese() -> None:
    (path,) = (TEST_DATA / "news-zh/2019/11/20").glob("牛津词典*.md")
    parsed = parse_file(path, path.read_bytes())
    assert isinstance(parsed, PageRecord)
    assert parsed.lang == "zh"
