"""MediaWiki's language-variant markup, left in the Chinese edition's texts, read as the one
text it stands for: "-{zh-cn:特朗普;zh-hk:特朗普;zh-tw:川普;}-" is one name in several scripts
(the simplified one is kept, as the edition's own text is simplified), "-{栗}-" a word kept
from conversion. bot.ingest.archive reads the archive with it, and the upgrade that cleans
what older imports stored (storage.sqlite.variant_markup, storage.postgres.variant_markup)
writes each text as such an import writes it now; both backends decide the same way which
entity a cleaned name joins (joining)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from storage.records import RelatedRecord, pack_related, unpack_related

# What every text holding the markup holds: the upgrade reads only the rows that do.
MARKUP_START = "-{"

_VARIANT_MARKUP = re.compile(r"-\{(.*?)\}-")
_VARIANT = re.compile(r"\s*(zh(?:-[a-z]+)?)\s*:(.*)", re.DOTALL)
_VARIANTS_PREFERRED = ("zh-cn", "zh-hans", "zh", "zh-sg", "zh-my", "zh-tw", "zh-hant", "zh-hk")


def resolve_variants(text: str) -> str:
    """Each piece of variant markup in text replaced by the text it stands for."""
    if MARKUP_START not in text:
        return text
    return _VARIANT_MARKUP.sub(_one_variant, text)


def without_variant_markup(text: str) -> str:
    """A text an older import stored (entities decoded, quote marks dropped, whitespace
    folded, but the markup kept) as an import writes it now."""
    if MARKUP_START not in text:
        return text
    return " ".join(resolve_variants(text).split())


def cleaned_related(packed: bytes) -> bytes | None:
    """An archive Related list as archive_related stores it, its shared names written as an
    import writes them now (a name given twice, once with markup, given once); None when
    none held markup."""
    items = unpack_related(packed)
    cleaned = [
        (key, tuple(dict.fromkeys(c for name in shared if (c := without_variant_markup(name)))))
        for key, shared in items
    ]
    if cleaned == items:
        return None
    # What archive_related keeps of an item is its key and shared names: the rest is unused.
    return pack_related(
        tuple(RelatedRecord(key, dt.date.min, "", shared) for key, shared in cleaned)
    )


def _one_variant(markup: re.Match[str]) -> str:
    variants = {}
    for part in markup.group(1).split(";"):
        if not part.strip():
            continue
        found = _VARIANT.fullmatch(part)
        if found is None:
            return markup.group(1)  # not a list of variants: the text itself
        variants[found.group(1)] = found.group(2).strip()
    if not variants:
        return markup.group(1)
    chosen = next((variants[v] for v in _VARIANTS_PREFERRED if v in variants), None)
    return chosen if chosen is not None else next(iter(variants.values()))


@dataclass(frozen=True, slots=True)
class Joining:
    """How an entity name written with markup joins the entity whose name it is once
    cleaned (the same name, written once with markup and once without): ``source``'s links,
    subscriptions, digest filters and aliases move to ``target`` (None: the two names were
    already names of one entity, nothing moves); ``promoted``: the target was an alias of
    the source, and becomes the canonical entity. The name with markup then goes: the
    entity keeps the clean one."""

    source: int | None
    target: int
    promoted: bool = False


def joining(
    marked_id: int, marked_canonical: int | None, named_id: int, named_canonical: int | None
) -> Joining:
    """How the name ``marked_id`` (an alias of ``marked_canonical``, or canonical if None)
    joins the name ``named_id`` (likewise): as making it an alias would
    (EntityRepository.alias), but for two names of one entity, which stay as they are."""
    marked_entity = marked_canonical or marked_id
    named_entity = named_canonical or named_id
    if marked_entity != named_entity:
        return Joining(marked_entity, named_entity)
    if marked_entity == marked_id:
        # The clean name was an alias of the entity named with markup: it names it now.
        return Joining(marked_id, named_id, promoted=True)
    return Joining(None, named_entity)
