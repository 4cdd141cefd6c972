"""Pacing for posts to many channels: inside Discord's limits, every server served in turn.

Right after a feed poll Chronicle may post thousands of digests at once. Discord allows about
50 requests a second per bot and 5 messages per 5 seconds per channel; discord.py only reacts
to a 429 after it happened and serves whoever asks first. So every digest post asks one
PostPacer for its turn first:

    async with pacer.turn(guild_id, channel_id):
        await channel.send(...)

Grants are evenly spaced under a hard cap per window, a channel gets at most its burst per
window, and waiting servers take turns: a server with 500 digests delays a server with one
by a single post, not 500, and a post waiting only on its own channel holds up no one.
"""

from __future__ import annotations

import asyncio
import heapq
import math
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from types import TracebackType
from typing import Final

# Discord allows about 50 requests a second per bot, all routes together. Digests take 45 so
# that interaction responses, DMs and edits sent meanwhile still fit under it.
GLOBAL_PER_SECOND: Final = 45.0
# Discord: 5 messages per 5 seconds in one channel.
CHANNEL_BURST: Final = 5
CHANNEL_WINDOW: Final = 5.0
# asyncio timers wake up to a millisecond late (epoll counts in milliseconds). Aiming each
# global slot this much early keeps the average rate at the target instead of drifting below
# it; the hard cap per window holds regardless. Never more than half an interval.
TIMER_LEAD: Final = 0.002


@dataclass(frozen=True, slots=True)
class PacerStats:
    """Counters since the pacer was made (or reset_stats), for logs and status reports."""

    grants: int  # posts let through
    waited: float  # seconds between asking and getting the turn, summed over grants
    max_queue: int  # most posts waiting at once
    queued: int  # posts waiting now
    backoffs: int  # 429s reported through backoff()
    channels: int  # channels remembered: posts in flight or recent, or paused


@dataclass(eq=False, slots=True)
class _Waiter:
    seq: int  # arrival order, for FIFO within a guild
    guild_id: int
    channel_id: int
    enqueued_at: float
    future: asyncio.Future[None]
    queued: bool = True  # still in its guild's queue
    granted: bool = False  # given the turn (holds a channel slot until commit or release)


@dataclass(eq=False, slots=True)
class _Guild:
    # Waiters per channel, FIFO: a channel's posts go out in the order they were asked for.
    queues: dict[int, deque[_Waiter]] = field(default_factory=dict)
    # (seq of a channel's first waiter, channel id): the guild's oldest waiters first. Entries
    # whose waiter has left are skipped when they come up.
    heads: list[tuple[int, int]] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class _Channel:
    in_flight: int = 0  # granted, not finished
    last_grant: float = -math.inf
    history: deque[float] = field(default_factory=deque)  # finish times within the window
    paused_until: float = -math.inf


class Turn:
    """One post's place in line, from PostPacer.turn; entered once.

    Entering waits for the turn and returns the loop time (asyncio's clock) it was granted
    at. The post counts against its channel until the block ends, and for the channel
    window after that.
    """

    __slots__ = ("_channel_id", "_entered", "_guild_id", "_pacer")

    def __init__(self, pacer: PostPacer, guild_id: int, channel_id: int) -> None:
        self._pacer = pacer
        self._guild_id = guild_id
        self._channel_id = channel_id
        self._entered = False

    async def __aenter__(self) -> float:
        if self._entered:
            raise RuntimeError("a Turn is entered once; ask the pacer for a new one")
        self._entered = True
        pacer = self._pacer
        waiter = pacer._enqueue(self._guild_id, self._channel_id)
        try:
            await waiter.future
        except BaseException:  # cancelled (or closed) while waiting: leave the line cleanly
            pacer._abandon(waiter)
            raise
        return pacer._commit(waiter)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Even a failed or cancelled send may have reached Discord: it counts.
        self._pacer._finish(self._channel_id)


class PostPacer:
    """Grants posts their turn: a global rate, a per-channel window, guilds round-robin.

    Global: grants sit on a schedule spaced 1/rate apart (aimed TIMER_LEAD early), and a
    hard cap keeps every `global_window` seconds at rate x window grants or fewer. Channel:
    a post counts from its grant until `channel_window` seconds after it finished, so a slow
    request cannot land two bursts in one of Discord's windows. Guilds wait in a ring; each
    grant goes to the first guild in it with a post that may go now (its oldest such post),
    and that guild moves to the back. The exception is a channel whose own backlog has
    become the critical path (see _critical): it posts as fast as its window allows, so the
    whole batch still ends near max(posts / rate, slowest channel). One grant is
    outstanding at a time: the next is timed from the moment the last waiter actually
    resumed, so a busy event loop cannot bunch grants together.

    Serves the event loop it is first used in; like the rest of asyncio, not thread-safe.
    """

    def __init__(
        self,
        *,
        global_per_second: float = GLOBAL_PER_SECOND,
        channel_burst: int = CHANNEL_BURST,
        channel_window: float = CHANNEL_WINDOW,
        global_window: float = 1.0,
    ) -> None:
        for name, value in (
            ("global_per_second", global_per_second),
            ("channel_window", channel_window),
            ("global_window", global_window),
        ):
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a positive number, not {value!r}")
        if channel_burst < 1:
            raise ValueError(f"channel_burst must be at least 1, not {channel_burst!r}")
        self._interval = 1.0 / global_per_second
        self._lead = min(TIMER_LEAD, self._interval / 2)
        self._global_window = global_window
        # The tiny allowance keeps 45.0 x 1.0 from flooring to 44 through rounding.
        self._cap = max(1, math.floor(global_per_second * global_window + 1e-9))
        self._burst = channel_burst
        self._window = channel_window

        self._loop: asyncio.AbstractEventLoop | None = None
        self._ring: OrderedDict[int, _Guild] = OrderedDict()  # guilds with waiters, in turn
        # Channels with more than a burst waiting, by (guild, channel): the only ones whose
        # own window can make them the last to finish (see _critical).
        self._long: dict[tuple[int, int], deque[_Waiter]] = {}
        self._channels: dict[int, _Channel] = {}
        self._recent: deque[float] = deque(maxlen=self._cap)  # the last `cap` grant times
        self._next_slot = -math.inf  # the schedule's next slot
        self._paused_until = -math.inf  # global backoff
        self._outstanding: _Waiter | None = None  # granted, not yet resumed
        # True when the last look found every waiting channel blocked (global was free): only
        # a new channel at the front, a finished post or the timer can change that.
        self._stalled = False
        self._timer: asyncio.TimerHandle | None = None
        self._seq = 0
        self._next_sweep = -math.inf

        self._grants = 0
        self._waited = 0.0
        self._queued = 0
        self._max_queue = 0
        self._backoffs = 0

    def turn(self, guild_id: int, channel_id: int) -> Turn:
        """This post's turn: ``async with pacer.turn(guild, channel) as granted_at: ...``."""
        return Turn(self, guild_id, channel_id)

    def backoff(
        self, seconds: float, *, global_: bool = False, channel_id: int | None = None
    ) -> None:
        """Pause grants after a 429 that came anyway (another process shares the limit).

        global_ pauses every grant, channel_id that channel's. Turns already granted go
        ahead. Pauses only ever lengthen, so overlapping 429s keep the longest.
        """
        if not global_ and channel_id is None:
            raise ValueError("backoff needs global_=True or a channel_id")
        now = self._bind_loop().time()
        until = now + max(0.0, seconds)
        if global_:
            self._paused_until = max(self._paused_until, until)
        if channel_id is not None:
            channel = self._channel(channel_id)
            channel.paused_until = max(channel.paused_until, until)
        self._backoffs += 1
        # No wake-up needed: a pause only delays, and a timer due earlier looks again.

    def stats(self) -> PacerStats:
        return PacerStats(
            grants=self._grants,
            waited=self._waited,
            max_queue=self._max_queue,
            queued=self._queued,
            backoffs=self._backoffs,
            channels=len(self._channels),
        )

    def reset_stats(self) -> None:
        """Start the counters afresh (e.g. per poll); the queue itself is untouched."""
        self._grants = 0
        self._waited = 0.0
        self._max_queue = self._queued
        self._backoffs = 0

    # --- the line -------------------------------------------------------------------------

    def _enqueue(self, guild_id: int, channel_id: int) -> _Waiter:
        loop = self._bind_loop()
        waiter = _Waiter(self._seq, guild_id, channel_id, loop.time(), loop.create_future())
        self._seq += 1
        guild = self._ring.get(guild_id)
        if guild is None:
            guild = self._ring[guild_id] = _Guild()
        queue = guild.queues.get(channel_id)
        if queue is None:
            queue = guild.queues[channel_id] = deque()
            heapq.heappush(guild.heads, (waiter.seq, channel_id))
        queue.append(waiter)
        if len(queue) == self._burst + 1:
            self._long[(guild_id, channel_id)] = queue
        self._queued += 1
        self._max_queue = max(self._max_queue, self._queued)
        if not self._stalled:
            self._pump()
        elif len(queue) == 1:  # behind another waiter it cannot go before that one
            self._nudge(channel_id, waiter.enqueued_at)
        return waiter

    def _commit(self, waiter: _Waiter) -> float:
        """The granted waiter resumed: its post starts now; time the next grant from here."""
        now = self._bind_loop().time()
        self._outstanding = None
        self._next_slot = max(self._next_slot, now) + self._interval
        self._recent.append(now)
        self._grants += 1
        self._waited += now - waiter.enqueued_at
        self._pump()
        return now

    def _abandon(self, waiter: _Waiter) -> None:
        """A waiter gave up: take it out of line, or hand back the turn it did not use."""
        if waiter.queued:
            self._remove(waiter)
        elif waiter.granted:
            waiter.granted = False
            self._channels[waiter.channel_id].in_flight -= 1
            if self._outstanding is waiter:
                self._outstanding = None
            self._pump()

    def _finish(self, channel_id: int) -> None:
        now = self._bind_loop().time()
        channel = self._channels[channel_id]
        channel.in_flight -= 1
        channel.history.append(now)
        if now >= self._next_sweep:
            self._sweep(now)
        if self._stalled:  # a channel waiting on this post now knows when it may go
            self._nudge(channel_id, now)

    def _remove(self, waiter: _Waiter) -> None:
        guild = self._ring[waiter.guild_id]
        queue = guild.queues[waiter.channel_id]
        if queue[0] is waiter:
            queue.popleft()
            if queue:
                heapq.heappush(guild.heads, (queue[0].seq, waiter.channel_id))
        else:
            queue.remove(waiter)  # eq=False: by identity
        if len(queue) == self._burst:
            del self._long[(waiter.guild_id, waiter.channel_id)]
        waiter.queued = False
        self._queued -= 1
        if not queue:
            del guild.queues[waiter.channel_id]
        if not guild.queues:
            del self._ring[waiter.guild_id]

    def _pop_head(self, guild: _Guild, channel_id: int, queue: deque[_Waiter]) -> _Waiter:
        """Take a channel's first waiter (its heap entry already popped) out of line."""
        waiter = queue.popleft()
        if len(queue) == self._burst:
            del self._long[(waiter.guild_id, channel_id)]
        waiter.queued = False
        self._queued -= 1
        if queue:
            heapq.heappush(guild.heads, (queue[0].seq, channel_id))
        else:
            del guild.queues[channel_id]
        return waiter

    # --- deciding -------------------------------------------------------------------------

    def _pump(self) -> None:
        """Grant the next turn if one may go now, else set the timer for when one may."""
        if self._outstanding is not None:
            return  # its commit (or release) looks again
        self._stalled = False
        if not self._ring:
            self._arm(math.inf)
            return
        now = self._bind_loop().time()
        ready_at = self._global_ready_at()
        if ready_at > now:
            self._arm(ready_at)
            return
        if self._long and (critical := self._critical(now)) is not None:
            guild_id, channel_id = critical
            guild = self._ring[guild_id]
            head = self._pop_head(guild, channel_id, guild.queues[channel_id])
            if not guild.queues:
                del self._ring[guild_id]
            self._grant(head, now)  # an extra grant: the guild keeps its place in the ring
            return
        wake = math.inf
        emptied: list[int] = []
        chosen: tuple[int, _Waiter] | None = None
        for guild_id, guild in self._ring.items():
            waiter, guild_ready_at = self._pick(guild, now)
            if not guild.queues:
                emptied.append(guild_id)
            if waiter is not None:
                chosen = (guild_id, waiter)
                break
            wake = min(wake, guild_ready_at)
        for guild_id in emptied:
            del self._ring[guild_id]
        if chosen is None:
            self._stalled = True
            self._arm(wake)  # inf: only posts in flight block; their finish nudges
            return
        guild_id, waiter = chosen
        if guild_id in self._ring:
            self._ring.move_to_end(guild_id)
        self._grant(waiter, now)

    def _critical(self, now: float) -> tuple[int, int] | None:
        """A channel whose backlog would finish last under round-robin, if it may post now.

        A channel posts at most a burst per window, so its backlog takes about
        ceil(n / burst) windows however free the global rate is. Once that is as long as
        granting everything queued at the global rate, the channel is the critical path and
        round-robin would leave it to drag on alone at the end: it goes whenever its window
        allows, spread out (one post per window / burst), costing the others at most that.
        """
        drain = self._queued * self._interval
        spacing = self._window / self._burst
        best: tuple[int, int] | None = None
        longest = -math.inf
        for key, queue in self._long.items():
            chain = math.ceil(len(queue) / self._burst) * self._window
            if chain < drain or chain <= longest or queue[0].future.done():
                continue
            channel_id = key[1]
            channel = self._channels.get(channel_id)
            if channel is not None and now < channel.last_grant + spacing:
                continue
            if self._channel_ready_at(channel_id, now) <= now:
                best, longest = key, chain
        return best

    def _pick(self, guild: _Guild, now: float) -> tuple[_Waiter | None, float]:
        """The guild's oldest waiter whose channel may post now, or when the first one may."""
        skipped: list[tuple[int, int]] = []
        found: _Waiter | None = None
        wake = math.inf
        while guild.heads:
            seq, channel_id = heapq.heappop(guild.heads)
            queue = guild.queues.get(channel_id)
            if queue is None or queue[0].seq != seq:
                continue  # stale: that waiter left
            if queue[0].future.done():
                # Cancelled; its task has not run its cleanup yet (that finds it gone).
                self._pop_head(guild, channel_id, queue)
                continue
            ready_at = self._channel_ready_at(channel_id, now)
            if ready_at <= now:
                found = self._pop_head(guild, channel_id, queue)
                break
            skipped.append((seq, channel_id))
            wake = min(wake, ready_at)
        for entry in skipped:
            heapq.heappush(guild.heads, entry)
        return found, wake

    def _grant(self, waiter: _Waiter, now: float) -> None:
        channel = self._channel(waiter.channel_id)
        channel.in_flight += 1
        channel.last_grant = now
        waiter.granted = True
        self._outstanding = waiter
        waiter.future.set_result(None)

    def _global_ready_at(self) -> float:
        ready_at = max(self._next_slot - self._lead, self._paused_until)
        if len(self._recent) == self._cap:  # the cap'th last grant must leave the window
            ready_at = max(ready_at, self._recent[0] + self._global_window)
        return ready_at

    def _channel_ready_at(self, channel_id: int, now: float) -> float:
        channel = self._channels.get(channel_id)
        if channel is None:
            return -math.inf
        history = channel.history
        while history and history[0] + self._window <= now:
            history.popleft()
        ready_at = channel.paused_until
        used = channel.in_flight + len(history)
        if used >= self._burst:
            if channel.in_flight >= self._burst:
                return math.inf  # until a post finishes
            ready_at = max(ready_at, history[used - self._burst] + self._window)
        return ready_at

    def _nudge(self, channel_id: int, now: float) -> None:
        """While stalled, one channel changed: go now, or wake when it may post."""
        ready_at = self._channel_ready_at(channel_id, now)
        if ready_at <= now:
            self._pump()
        elif self._timer is None or ready_at < self._timer.when():
            self._arm(ready_at)

    def _arm(self, when: float) -> None:
        """One timer, set for `when` (inf: none)."""
        timer = self._timer
        if timer is not None:
            if timer.when() == when:
                return
            timer.cancel()
            self._timer = None
        if when < math.inf:
            self._timer = self._bind_loop().call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._pump()

    # --- housekeeping ---------------------------------------------------------------------

    def _channel(self, channel_id: int) -> _Channel:
        channel = self._channels.get(channel_id)
        if channel is None:
            channel = self._channels[channel_id] = _Channel()
        return channel

    def _sweep(self, now: float) -> None:
        """Forget channels with nothing in flight, nothing recent and no pause (once a window)."""
        self._next_sweep = now + self._window
        idle = [
            channel_id
            for channel_id, channel in self._channels.items()
            if channel.in_flight == 0
            and channel.paused_until <= now
            and (not channel.history or channel.history[-1] + self._window <= now)
        ]
        for channel_id in idle:
            del self._channels[channel_id]

    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError("a PostPacer serves the event loop it was first used in")
        return loop
