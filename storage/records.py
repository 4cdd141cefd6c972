"""Records: what ingest hands to storage (archive pages, day index entries, portal items,
articles), and how they cross processes and are stored packed. Plain data: no SQL, no
Discord."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import operator
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_Record = TypeVar("_Record", bound="DataclassInstance")


def pickled_as_values(cls: type[_Record]) -> type[_Record]:
    """Pickle a frozen slots dataclass as its class and field values. Records cross from the
    parsing processes to the writer by the hundred thousand, and dataclasses' own slots
    pickling (fields() looked up for every object, every name stored) took as long as
    parsing them."""
    values = operator.attrgetter(*(f.name for f in dataclasses.fields(cls)))

    def __reduce__(self: Any) -> tuple[type[_Record], tuple[Any, ...]]:
        return cls, values(self)

    cls.__reduce__ = __reduce__  # type: ignore[method-assign]  # replacing it is the point
    return cls


@pickled_as_values
@dataclass(frozen=True, slots=True)
class SourceRecord:
    name: str
    url: str
    is_image: bool = False


@pickled_as_values
@dataclass(frozen=True, slots=True)
class RelatedRecord:
    """One item of an archive Related list: the other event and the entities both share."""

    key: str
    date: dt.date
    headline: str
    shared: tuple[str, ...]


def pack_related(related: tuple[RelatedRecord, ...]) -> bytes:
    """A Related list as archive_related stores it: (key, shared names), JSON, compressed."""
    payload = json.dumps([[r.key, list(r.shared)] for r in related], ensure_ascii=False)
    return zlib.compress(payload.encode(), 6)


def unpack_related(packed: bytes) -> list[tuple[str, tuple[str, ...]]]:
    return [(key, tuple(shared)) for key, shared in json.loads(zlib.decompress(packed))]


@pickled_as_values
@dataclass(frozen=True, slots=True)
class PageRecord:
    """One event page of the archive (or a feed entry): everything it says about its event."""

    key: str
    date: dt.date
    headline: str
    summary: str = ""
    story: str | None = None
    lang: str = "en"
    sources: tuple[SourceRecord, ...] = ()
    related: tuple[RelatedRecord, ...] = ()
    entities: tuple[str, ...] = ()
    replaces: tuple[str, ...] = ()  # older keys of the same event (a Changes list)
    origin: str = "archive"
    # How new this version of the page is (bot.ingest.archive.page_version): of two versions
    # of a page, the newer is kept, whichever is imported first.
    version: str = field(default="", compare=False)
    announce: bool = field(default=False, compare=False)  # news, not history: digests, alerts
    content_hash: str = field(default="", compare=False)  # of everything above; computed
    # The Related list as archive_related stores it; computed, like content_hash, where the
    # record is made: in the parsing processes of an import, not its one writer.
    related_packed: bytes = field(default=b"", compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.related and not self.related_packed:
            object.__setattr__(self, "related_packed", pack_related(self.related))
        if not self.content_hash:
            # repr() of these frozen fields (str, date, tuples of records) is deterministic.
            fields = (
                self.key,
                self.date,
                self.headline,
                self.summary,
                self.story,
                self.lang,
                # Plain tuples: their repr is much faster than the dataclasses' own.
                tuple((s.name, s.url, s.is_image) for s in self.sources),
                tuple((r.key, r.date, r.headline, r.shared) for r in self.related),
                self.entities,
                self.replaces,
                self.origin,
            )
            digest = hashlib.sha256(repr(fields).encode()).hexdigest()[:32]  # 128 bits
            object.__setattr__(self, "content_hash", digest)


@pickled_as_values
@dataclass(frozen=True, slots=True)
class DayEntryRecord:
    """One event as a day's index lists it: its full entity list and its story."""

    key: str
    date: dt.date
    headline: str
    summary: str | None
    entities: tuple[str, ...]
    story: str | None
    lang: str = "en"


@dataclass(frozen=True, slots=True)
class PortalItemRecord:
    """One news item of a Current events day page: a leaf bullet, with its heading (its
    category), its chain of topics (the first is its story), the link targets of it and
    its topics (its entities) and its external links (its sources)."""

    key: str  # the archive's rule: the page's date and the slug of the headline
    date: dt.date
    headline: str
    category: str | None
    topics: tuple[str, ...]
    entities: tuple[str, ...]
    sources: tuple[SourceRecord, ...]
    position: int  # its place among the page's items, from 0
    lang: str = "en"

    @property
    def story(self) -> str | None:
        return self.topics[0] if self.topics else None

    @property
    def content_hash(self) -> str:
        """Of what the item says (not its place on the page): unchanged items are skipped."""
        fields = (
            self.key,
            self.headline,
            self.category,
            self.topics,
            self.entities,
            tuple((s.name, s.url) for s in self.sources),
        )
        return hashlib.sha256(repr(fields).encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class ArticleRecord:
    title: str
    text: str
    publisher: str | None = None
    published: dt.date | None = None
    file_name: str | None = None

    def content_hash(self) -> str:
        return hashlib.sha256(f"{self.title}\n{self.text}".encode()).hexdigest()
