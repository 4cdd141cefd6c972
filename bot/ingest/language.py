"""Which edition of the archive a feed item joins: Chinese ('zh') or English ('en').

The archive has two editions, and a server sees one of them or both (bot.language). Every
language that is not Chinese is the English edition's, as a server's locale is: a German or
Japanese item is 'en', as a server whose locale is de or ja sees 'en'.

Text in Japanese or Korean is never Chinese, whatever its feed declares or fails to: Japanese
writes kana beside its Chinese characters, Korean hangul (at least two kana, or at least
two hangul and as many as its Chinese characters, outside what brackets or quotes hold). A
Chinese headline that gives a Japanese title or a Korean name in brackets or quotes
("宫崎骏新作《君たちはどう生きるか》", "渔船「海豚号」（돌고래호）"), or a Korean name
beside its Chinese one ("大韩民国大检察厅 대검찰청"), is still Chinese.

Otherwise what the feed declares decides (the entry's own language, else the feed's; see
bot.ingest.feeds.entries): "zh-TW", "zh-Hant", "zh_CN", "cmn", "yue" are Chinese; "en-GB",
"de-de", "ja" are not. The text decides instead

* when the feed declares nothing: Chinese when the headline and summary are mostly in CJK
  characters (each weighing two words of other scripts, what brackets or quotes hold left
  aside): "China names Li Qiang (李强) as premier" is English news; "Apple CEO Tim Cook访华"
  and "OpenAI发布GPT-5 Turbo" are Chinese;
* when the declaration is plainly wrong, as a CMS's default "en-us" left on a Chinese site
  is: a declared non-Chinese item whose text is unmistakably Chinese (at least
  ``_UNMISTAKABLE`` Chinese characters outside brackets and quotes, as many as the words of
  other scripts) is Chinese; a declared Chinese item whose text has no Chinese character
  and at least ``_UNMISTAKABLE`` words is not. A short Latin headline of a Chinese feed
  ("iPhone 16 Pro") stays Chinese, and an English feed's headline with a word or two in
  characters ("Apple CEO Tim Cook访华") stays English. Japanese and Korean write Chinese
  characters too, so a declared "ja" or "ko" (or "Japanese", "日本語", "Korean") is never
  overruled towards Chinese.
"""

from __future__ import annotations

import re
from typing import Final

from storage.textindex import CJK_RUN

__all__ = ["declared_edition", "detected_language", "item_language"]

_OTHER_WORD: Final = re.compile(r"[^\W\d_]+")  # a run of letters, CJK taken out first
# What brackets or quotes hold: in an English headline, a name given in characters too.
_ASIDE: Final = re.compile(
    r"\([^()]*\)|（[^（）]*）|\[[^\[\]]*\]|【[^【】]*】|「[^「」]*」|『[^『』]*』|《[^《》]*》"
    r"|“[^“”]*”|\"[^\"]*\""
)
# Words of other scripts a CJK character outweighs: a Chinese headline says in a character or
# two what English says in words ("访华": visits China), beside the Latin names it gives.
_CHARACTER_WEIGHT: Final = 2
# Chinese characters (Han) alone, not the kana and hangul that CJK_RUN counts too.
_HAN: Final = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]")
# Japanese kana and Korean hangul: text that writes them is not Chinese.
_KANA: Final = re.compile("[\u3041-\u3096\u30a1-\u30fa\u31f0-\u31ff\uff66-\uff9f]")
_HANGUL: Final = re.compile("[\u1100-\u11ff\u3131-\u318e\uac00-\ud7af]")
# Kana or hangul that make a text Japanese or Korean: one may be borrowed, as a Chinese
# slogan borrows "の".
_WRITTEN_BY_JAPANESE_OR_KOREAN: Final = 2
_UNMISTAKABLE: Final = 4
# Primary language subtags (ISO 639-1, -2 and -3) of Chinese, and names feeds write instead.
_CHINESE: Final = frozenset(
    {"zh", "zho", "chi", "cmn", "yue", "wuu", "hak", "nan", "gan", "hsn", "cdo", "lzh", "cjy"}
    | {"chinese", "中文", "汉语", "漢語", "简体中文", "繁體中文", "繁体中文", "国语", "國語"}
)
# Languages written with Chinese characters too: their text looks Chinese to a count. By
# tag or by name, as Chinese is read by either.
_WRITTEN_IN_HAN: Final = frozenset(
    {"ja", "jpn", "ko", "kor", "japanese", "日本語", "korean", "한국어", "韓國語", "韓国語"}
)
# A language tag (BCP 47: "de", "zh-Hant-TW", "x-klingon") or a language's name ("English").
_TAG: Final = re.compile(r"[^\W\d_]{2,8}(?:[-_][^\W_]{1,8})*")


def declared_edition(tag: str | None) -> str | None:
    """The edition a declared language makes an item: 'zh' for Chinese, 'en' for any other
    language; None when nothing readable is declared (no tag, "", a template's "{lang}")."""
    primary = _primary(tag)
    if primary is None:
        return None
    return "zh" if primary in _CHINESE else "en"


def item_language(title: str, summary: str, declared: str | None = None) -> str:
    """The edition of an item of this headline and summary, declared so by its feed (see the
    module docstring): 'en' or 'zh'."""
    text = f"{title} {summary}"
    if _japanese_or_korean(text):
        return "en"
    edition = declared_edition(declared)
    if edition is None:
        return _detected(text)
    if edition == "zh" and _plainly_not_chinese(text):
        return "en"
    if edition == "en" and _primary(declared) not in _WRITTEN_IN_HAN and _plainly_chinese(text):
        return "zh"
    return edition


def detected_language(title: str, summary: str) -> str:
    """The edition of an item whose feed declares no language: 'zh' when the headline and
    summary are Chinese (see the module docstring), else 'en'."""
    return item_language(title, summary, None)


def _japanese_or_korean(text: str) -> bool:
    """Whether text is Japanese or Korean, not Chinese: it writes kana, or hangul as much as
    Chinese characters, outside what brackets or quotes hold (see the module docstring)."""
    main = _ASIDE.sub(" ", text)
    if len(_KANA.findall(main)) >= _WRITTEN_BY_JAPANESE_OR_KOREAN:
        return True
    hangul = len(_HANGUL.findall(main))
    return hangul >= _WRITTEN_BY_JAPANESE_OR_KOREAN and hangul >= len(_HAN.findall(main))


def _detected(text: str) -> str:
    """Chinese ('zh') when the text is mostly in CJK characters, each weighing two words of
    other scripts, those in brackets or quotes left aside; else 'en'."""
    if not CJK_RUN.search(text):
        return "en"
    characters = sum(len(run) for run in CJK_RUN.findall(_ASIDE.sub(" ", text)))
    words = len(_OTHER_WORD.findall(CJK_RUN.sub(" ", text)))
    return "zh" if characters * _CHARACTER_WEIGHT >= words else "en"


def _primary(tag: str | None) -> str | None:
    """A declaration's language, lower case ("zh" of "zh_Hant_TW"), or None if unreadable."""
    text = (tag or "").strip().casefold()
    if text in _CHINESE:
        return text
    if not _TAG.fullmatch(text):
        return None
    return re.split(r"[-_]", text, maxsplit=1)[0]


def _plainly_chinese(text: str) -> bool:
    main = _ASIDE.sub(" ", text)
    characters = len(_HAN.findall(main))
    words = len(_OTHER_WORD.findall(CJK_RUN.sub(" ", main)))
    return characters >= _UNMISTAKABLE and characters >= words


def _plainly_not_chinese(text: str) -> bool:
    if _HAN.search(text):
        return False
    return len(_OTHER_WORD.findall(text)) >= _UNMISTAKABLE
