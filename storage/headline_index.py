"""A day's headlines in memory, for the feed repositories of every backend: token sets with
an inverted index, so that "a headline like this one on that day" (the candidates of the
same-story decision, bot.services.feeds.stories) stays cheap when hundreds of feeds bring
thousands of events a day. Each backend fills and mends it from its rows; it is only a
shortcut, and every event it offers is checked against its row."""

from __future__ import annotations

from storage.textindex import NEAR_DUPLICATE

# Shorter headlines ("Live updates") are never offered as the same story: too generic to
# compare, and the caller's rule (bot.services.feeds.stories) compares none this short.
MIN_HEADLINE_TOKENS = 4
CACHED_DAYS = 32  # feeds bring news of the last few days; older days come and go


class DayIndex:
    """Token sets of one day's complete events, with postings to find candidates fast."""

    __slots__ = ("known", "max_id", "postings", "tokens")

    def __init__(self) -> None:
        self.max_id = 0  # the highest id added
        self.known: set[int] = set()  # every id added (short headlines included)
        self.tokens: dict[int, frozenset[str]] = {}
        self.postings: dict[str, set[int]] = {}

    def add(self, event_id: int, tokens: frozenset[str]) -> None:
        self.max_id = max(self.max_id, event_id)
        self.known.add(event_id)
        if len(tokens) < MIN_HEADLINE_TOKENS:
            return
        self.tokens[event_id] = tokens
        for token in tokens:
            self.postings.setdefault(token, set()).add(event_id)

    def replace(self, event_id: int, tokens: frozenset[str]) -> None:
        """The event's headline as its row now has it (rewritten since it was cached)."""
        self.discard(event_id)
        self.add(event_id, tokens)

    def discard(self, event_id: int) -> None:
        for token in self.tokens.pop(event_id, ()):
            ids = self.postings.get(token)
            if ids is not None:
                ids.discard(event_id)

    def best_matches(self, tokens: frozenset[str]) -> list[int]:
        """Events whose cached headline is a near duplicate of ``tokens`` (Jaccard at
        least NEAR_DUPLICATE), most similar first."""
        n = len(tokens)
        if n < MIN_HEADLINE_TOKENS:
            return []
        num, den = NEAR_DUPLICATE.numerator, NEAR_DUPLICATE.denominator
        # Pigeonhole: a headline B with Jaccard(A, B) >= t holds at least ceil(t*|A|) of
        # A's tokens, so any |A| - ceil(t*|A|) + 1 of them include one of B's. Taking the
        # rarest of the day keeps the candidate set small.
        need = -(-num * n // den)
        postings = self.postings
        probe = sorted(tokens, key=lambda t: (len(postings.get(t, ())), t))[: n - need + 1]
        candidates: set[int] = set()
        for token in probe:
            candidates |= postings.get(token, set())
        # Sizes alone rule most out: t*|A| <= |B| <= |A|/t. Integer arithmetic throughout:
        # this runs for every unseen entry against a day of events.
        longest = n * den // num
        scored: list[tuple[float, int]] = []
        for candidate in candidates:
            other = self.tokens[candidate]
            if not need <= len(other) <= longest:
                continue
            common = len(tokens & other)
            union = n + len(other) - common
            if common * den >= num * union:
                scored.append((common / union, candidate))
        scored.sort(key=lambda s: (-s[0], s[1]))
        return [candidate for _, candidate in scored]
