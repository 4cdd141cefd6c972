"""What members' subscriptions do as the archive changes under them, the same on every
backend.

* **A correction that names an entity alerts its subscribers.** A feed's correction of an
  event (storage.feed_steps) links it to the names its new text mentions. Each entity it
  gains is kept, with the event, as a *corrected link* when the event is news (announced,
  not taken off) and the correction came within CORRECTION_NEWS of the event's arrival
  (later, the event is no longer news). The alert sweep reads corrected links after a
  watermark of its own, as it reads new events after its own, and alerts the active
  subscribers of those entities (only of those: the event's other entities had their
  sweep), while the entity is still linked to it. The delivery ledger keeps anyone told of
  the event already from hearing of it twice.
* **A merge keeps the subscription that works.** When one entity becomes a name of another
  (`chronicle entities merge` and `alias`, a portal redirect, bot/aliases.tsv), a member who
  followed both keeps one subscription: the one that is not paused, else the one to the
  entity kept. They are told at their next command (storage.notices) what became of the
  other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from storage.models import Subscription

# A correction that comes later than this after its event arrived alerts no one: the event
# is no longer news. (The alert ledger, which keeps the event from going to anyone twice, is
# kept far longer than this.)
CORRECTION_NEWS: Final = dt.timedelta(days=3)


@dataclass(frozen=True, slots=True)
class Folded:
    """A member's two subscriptions that a merge makes one: the one kept (moved to the
    entity kept, if it was the other's), the one dropped, and what the member is told."""

    kept: Subscription
    dropped: Subscription
    notice: str


def folded(subscriptions: Sequence[Subscription], source_id: int, target_id: int) -> list[Folded]:
    """Of these subscriptions to the entity merged away (``source_id``) and the one it joins
    (``target_id``), those of members who follow both, paired: the one kept, the other
    dropped (see above). Members following one of the two are left out: their subscription
    just moves."""
    by_member: dict[tuple[int, int], dict[int, Subscription]] = {}
    for subscription in subscriptions:
        key = (subscription.guild_id, subscription.user_id)
        by_member.setdefault(key, {})[subscription.entity_id] = subscription
    pairs: list[Folded] = []
    for _, held in sorted(by_member.items()):
        source, target = held.get(source_id), held.get(target_id)
        if source is None or target is None:
            continue
        if source.paused_reason is None and target.paused_reason is not None:
            kept, dropped = source, target
        else:
            kept, dropped = target, source
        pairs.append(Folded(kept, dropped, _notice(source.entity, target.entity, kept, dropped)))
    return pairs


def _where(subscription: Subscription) -> str:
    if subscription.delivery == "dm":
        return "by direct message"
    return f"in <#{subscription.channel_id}>"


def _instead(subscription: Subscription, target: str) -> str:
    """How to have a dropped subscription's alerts where it had them."""
    if subscription.delivery == "dm":
        return f"run /subscribe {target} with delivery: dm to have its alerts by direct message"
    return (
        f"run /subscribe {target} in <#{subscription.channel_id}> with delivery: here to have"
        " its alerts there"
    )


def _notice(source: str, target: str, kept: Subscription, dropped: Subscription) -> str:
    text = (
        f"“{source}” is now a name of “{target}” (the two were merged), and you followed "
        f"both: they are one subscription now, to {target} {_where(kept)}"
    )
    text += ", paused (/subscriptions says why)." if kept.paused_reason is not None else "."
    if _where(dropped) != _where(kept):
        text += f" The one {_where(dropped)} is gone ({_instead(dropped, target)})."
    return text
