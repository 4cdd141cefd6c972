"""What a digest run lists, as bot/digests.py builds it and bot/render/digests.py shows it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class DigestItem:
    markdown: str  # for Discord
    lead: str  # for the terminal: the bullet, and the date when the item has one
    headline: str
    event_id: int = 0  # the event it lists

    @property
    def text(self) -> str:
        return self.lead + self.headline


@dataclass(frozen=True, slots=True)
class DigestSection:
    heading: str  # a story's or an entity's name, or "Other news"
    items: tuple[DigestItem, ...]
    more: int = 0  # the group's events not listed
    story: bool = True  # False for "Other news", the events of no story or entity


@dataclass(frozen=True, slots=True)
class DigestContent:
    kind: str
    title: str
    sections: tuple[DigestSection, ...] = ()
    more: int = 0  # events covered but not listed, those its sections count among them
    more_hint: str | None = None  # the /search that lists them all
    event_ids: tuple[int, ...] = field(default=())  # every event the run covers

    @property
    def empty(self) -> bool:
        return not self.sections

    @property
    def more_elsewhere(self) -> int:
        """The events not listed that no section counts: those of groups given no line."""
        return self.more - sum(section.more for section in self.sections)
