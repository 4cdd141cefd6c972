"""PostPacer on real asyncio time, scaled down: limits never exceeded, guilds take turns.

Limits and orderings are asserted strictly; durations only as generous upper bounds (or
lower bounds the pacer guarantees), so a slow, shared machine cannot make these flake.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise

import pytest

from bot.pacing import PostPacer

# Discord's limits scaled down: 50 grants per 0.1 s (500/s) and 5 posts per 0.2 s a channel.
FAST = {"global_per_second": 500.0, "global_window": 0.1, "channel_burst": 5, "channel_window": 0.2}


@dataclass(frozen=True)
class Grant:
    at: float  # loop time the pacer granted the turn
    guild: int
    channel: int
    finished: float  # loop time the post's block ended (before the pacer records it)


def now() -> float:
    return asyncio.get_running_loop().time()


async def post(
    pacer: PostPacer,
    guild: int,
    channel: int,
    log: list[Grant],
    *,
    hold: float = 0.0,
    release: asyncio.Event | None = None,
) -> float:
    """One paced post: the 'send' takes `hold` seconds (or until `release`)."""
    async with pacer.turn(guild, channel) as at:
        if release is not None:
            await release.wait()
        await asyncio.sleep(hold)
        log.append(Grant(at, guild, channel, now()))
    return at


def most_in_window(stamps: list[float], window: float) -> int:
    """The most stamps in any half-open window [t, t + window)."""
    stamps = sorted(stamps)
    return max((bisect_left(stamps, s + window) - i for i, s in enumerate(stamps)), default=0)


async def test_the_global_rate_is_never_exceeded_and_grants_are_spread_out() -> None:
    pacer = PostPacer(**FAST)
    log: list[Grant] = []
    start = now()
    # 300 posts, one per channel, across 30 guilds: only the global rate binds.
    await asyncio.gather(*(post(pacer, n % 30, n, log) for n in range(300)))
    stamps = sorted(g.at for g in log)
    assert len(stamps) == 300
    assert most_in_window(stamps, 0.1) <= 50
    # Evenly spaced, never bunched: at least half an interval (1 ms) between grants.
    assert min(b - a for a, b in pairwise(stamps)) >= 0.001 - 1e-9
    # Ideal is 0.6 s; anything near it is fine, a hang or a crawl is not.
    assert stamps[-1] - start < 6.0

    stats = pacer.stats()
    assert stats.grants == 300
    assert stats.queued == 0
    assert 1 <= stats.max_queue <= 299  # the first went at once; how many more did is timing
    assert stats.waited > 0
    pacer.reset_stats()
    assert pacer.stats().grants == 0
    assert pacer.stats().max_queue == 0


async def test_a_channel_never_gets_more_than_its_burst_per_window() -> None:
    pacer = PostPacer(**FAST)
    log: list[Grant] = []
    order: dict[int, list[int]] = defaultdict(list)

    async def numbered(channel: int, n: int) -> None:
        await post(pacer, 1, channel, log, hold=0.01)
        order[channel].append(n)

    await asyncio.gather(*(numbered(channel, n) for n in range(12) for channel in (1, 2)))
    for channel in (1, 2):
        grants = [g for g in log if g.channel == channel]
        assert len(grants) == 12
        assert most_in_window([g.at for g in grants], 0.2) <= 5
        # Counted until a window after each post *finished*: at every grant, fewer than 5
        # earlier posts of the channel were still in flight or finished within 0.2 s.
        for g in grants:
            busy = [h for h in grants if h.at < g.at and h.finished + 0.2 > g.at]
            assert len(busy) < 5
    # Within a channel, first asked, first posted.
    assert order[1] == list(range(12))
    assert order[2] == list(range(12))


async def test_guilds_take_turns_whatever_their_backlog() -> None:
    pacer = PostPacer(global_per_second=1000.0, global_window=0.1)
    pacer.backoff(0.3, global_=True)  # everyone is in line before the first grant
    log: list[Grant] = []
    await asyncio.gather(
        *(post(pacer, 1, 1000 + n, log) for n in range(100)),
        *(post(pacer, 2, 2000 + n, log) for n in range(3)),
    )
    log.sort(key=lambda g: g.at)
    assert [g.guild for g in log[:6]] == [1, 2, 1, 2, 1, 2]
    assert [g.channel for g in log if g.guild == 1] == list(range(1000, 1100))  # FIFO
    assert [g.channel for g in log if g.guild == 2] == [2000, 2001, 2002]
    assert pacer.stats().max_queue == 103


async def test_a_latecomer_waits_for_one_post_of_a_big_backlog_not_all_of_it() -> None:
    pacer = PostPacer(global_per_second=1000.0, global_window=0.1)
    log: list[Grant] = []
    late: list[asyncio.Task[float]] = []

    async def big(n: int) -> None:
        async with pacer.turn(1, 1000 + n) as at:
            log.append(Grant(at, 1, 1000 + n, now()))
            if n == 9:  # guild 2 shows up while guild 1 has 90 posts to go
                late.append(asyncio.create_task(post(pacer, 2, 2000, log)))

    await asyncio.gather(*(big(n) for n in range(100)))
    await late[0]
    log.sort(key=lambda g: g.at)
    assert [g.guild for g in log[10:12]] == [1, 2]


async def test_a_long_single_channel_backlog_is_not_left_to_drag_on_at_the_end() -> None:
    # Guild 1's 40 posts share one channel: 8 windows (0.8 s) however free the global rate,
    # longer than all 340 posts take at 500/s. Plain round-robin would give it one post per
    # turn of the 300-guild ring and then leave 39 posts to run alone, window after window.
    pacer = PostPacer(**{**FAST, "channel_window": 0.1})
    pacer.backoff(0.05, global_=True)  # all in line first
    log: list[Grant] = []
    await asyncio.gather(
        *(post(pacer, 1, 1, log) for _ in range(40)),
        *(post(pacer, 100 + n, 100 + n, log) for n in range(300)),
    )
    log.sort(key=lambda g: g.at)
    guilds = [g.guild for g in log]
    # The first 100 grants span at least 99 ms (grants are >= 1 ms apart): the channel is
    # due every 20 ms, so it gets about five of them, where round-robin gives it one.
    assert guilds[:100].count(1) >= 3
    assert most_in_window([g.at for g in log if g.guild == 1], 0.1) <= 5
    assert most_in_window([g.at for g in log], 0.1) <= 50


async def test_a_blocked_channel_does_not_hold_up_other_channels_or_guilds() -> None:
    pacer = PostPacer(
        global_per_second=1000.0, global_window=0.1, channel_burst=2, channel_window=0.2
    )
    release = asyncio.Event()
    log: list[Grant] = []
    busy = [asyncio.create_task(post(pacer, 1, 10, log, release=release)) for _ in range(2)]
    blocked = asyncio.create_task(post(pacer, 1, 10, log))  # channel 10 is full
    same_guild = asyncio.create_task(post(pacer, 1, 11, log))
    other_guild = asyncio.create_task(post(pacer, 2, 20, log))

    others = await asyncio.wait_for(asyncio.gather(same_guild, other_guild), 5)
    assert not blocked.done()
    assert pacer.stats().queued == 1

    released_at = now()
    release.set()
    blocked_at = await asyncio.wait_for(blocked, 5)
    await asyncio.gather(*busy)
    assert blocked_at > max(others)
    # Both busy posts finished after the release and count for 0.2 s after that.
    assert blocked_at >= released_at + 0.2


async def test_backoff_pauses_everything_or_one_channel() -> None:
    pacer = PostPacer(**FAST)
    log: list[Grant] = []
    before = now()
    pacer.backoff(0.1, global_=True)
    assert await post(pacer, 1, 1, log) >= before + 0.1

    before = now()
    pacer.backoff(0.3, channel_id=2)
    paused, same_guild, other_guild = await asyncio.gather(
        post(pacer, 1, 2, log), post(pacer, 1, 3, log), post(pacer, 2, 4, log)
    )
    assert paused >= before + 0.3
    assert same_guild < paused
    assert other_guild < paused
    assert pacer.stats().backoffs == 2

    with pytest.raises(ValueError):
        pacer.backoff(1.0)


@pytest.mark.parametrize("cancelled", [0, 1, 2])
async def test_a_waiter_cancelled_in_line_leaves_nothing_behind(cancelled: int) -> None:
    # Burst 2 in a long window: had the cancelled post kept a slot, the third would wait 5 s.
    pacer = PostPacer(
        global_per_second=1000.0, global_window=0.1, channel_burst=2, channel_window=5.0
    )
    pacer.backoff(0.25, global_=True)
    log: list[Grant] = []
    tasks = [asyncio.create_task(post(pacer, 1, 7, log, hold=n / 1000)) for n in range(3)]
    await asyncio.sleep(0)
    assert pacer.stats().queued == 3
    tasks[cancelled].cancel()
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 3)
    assert isinstance(results[cancelled], asyncio.CancelledError)
    assert len(log) == 2
    stats = pacer.stats()
    assert stats.queued == 0
    assert stats.grants == 2


@pytest.mark.parametrize("how", ["cancel", "close"])
async def test_a_turn_given_up_after_its_grant_hands_the_slot_back(how: str) -> None:
    pacer = PostPacer(
        global_per_second=1000.0, global_window=0.1, channel_burst=1, channel_window=5.0
    )
    pacer.backoff(0.1, global_=True)  # the first send below must find it paused
    # Drive the entry by hand to give up exactly between the grant and the resumption.
    entering = pacer.turn(1, 7).__aenter__()
    granted = entering.send(None)  # in line: yields the future it waits on
    await asyncio.wait_for(asyncio.shield(granted), 3)
    if how == "cancel":
        with pytest.raises(asyncio.CancelledError):
            entering.throw(asyncio.CancelledError())
    else:
        entering.close()

    # Burst 1 in a 5 s window: this goes promptly only if the slot came back.
    log: list[Grant] = []
    await asyncio.wait_for(post(pacer, 1, 7, log), 3)
    assert pacer.stats().grants == 1
    assert pacer.stats().queued == 0


async def test_a_waiter_cancelled_just_before_the_pacer_looks_is_skipped() -> None:
    pacer = PostPacer(
        global_per_second=1000.0, global_window=0.1, channel_burst=1, channel_window=5.0
    )
    release = asyncio.Event()
    log: list[Grant] = []
    holder = asyncio.create_task(post(pacer, 1, 7, log, release=release))
    await asyncio.sleep(0.01)  # holder has channel 7; the global slot is free again
    waiting = asyncio.create_task(post(pacer, 1, 7, log))
    await asyncio.sleep(0)  # waiting is in line behind channel 7
    waiting.cancel()  # its future is cancelled; its own cleanup has not run yet
    async with pacer.turn(1, 8):  # the pacer looks at the line now and must skip it
        assert pacer.stats().queued == 0  # dropped by the pacer, before its own cleanup ran
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert pacer.stats().queued == 0
    release.set()
    await holder
    assert [g.channel for g in log] == [7]


async def test_idle_channels_are_forgotten() -> None:
    pacer = PostPacer(global_per_second=1000.0, global_window=0.1, channel_window=0.05)
    log: list[Grant] = []
    await asyncio.gather(*(post(pacer, 1, n, log) for n in range(50)))
    assert pacer.stats().channels > 0
    await asyncio.sleep(0.1)  # two windows: every one of those channels is idle
    await post(pacer, 1, 999, log)
    assert pacer.stats().channels == 1


async def test_a_turn_is_entered_once() -> None:
    pacer = PostPacer()
    turn = pacer.turn(1, 1)
    async with turn:
        pass
    with pytest.raises(RuntimeError):
        async with turn:
            pass


@pytest.mark.parametrize(
    "kwargs",
    [
        {"global_per_second": 0.0},
        {"global_per_second": float("inf")},
        {"channel_burst": 0},
        {"channel_window": -1.0},
        {"global_window": float("nan")},
    ],
)
def test_nonsense_limits_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        PostPacer(**kwargs)  # type: ignore[arg-type]
