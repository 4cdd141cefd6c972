"""APScheduler wiring: digest runs at their local times, retries, periodic jobs.

The database is the one source of truth: jobs live in memory and are rebuilt from it at
start, and every job asks storage what to do rather than carrying state of its own. Each
digest has one one-shot job for its next run, computed with zoneinfo (so daylight-saving
changes move it correctly) and replaced after every run.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Iterator

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.context import Chronicle
from bot.delivery import DigestDelivery, LiveDigests
from bot.digests import current_slot, day_slot, known_zone, next_hourly, next_run
from bot.failures import log_failure
from bot.pacing import PostPacer
from storage.models import Digest
from storage.times import Clock, utc_now

log = logging.getLogger(__name__)

# Seconds a job under way at shutdown (a poll, a digest being posted, an alert sweep) has to
# finish before it is cancelled.
SHUTDOWN_GRACE = 5.0
# A digest run the archive failed (a full disk, a lock held) is tried again after this.
ARCHIVE_RETRY = dt.timedelta(minutes=5)
# A periodic job's first run comes this long after it is added.
FIRST_RUN = dt.timedelta(seconds=5)
# Seconds between two looks for jobs a clock stepped back has put off (see watch_clock).
CLOCK_WATCH = 15.0


def digest_job_id(digest_id: int) -> str:
    return f"digest:{digest_id}"


class ChronicleScheduler:
    def __init__(self, bot: Chronicle, *, clock: Clock = utc_now):
        self.bot = bot
        self.clock = clock
        self.apscheduler = AsyncIOScheduler(timezone=dt.UTC)
        self.pacer = PostPacer()
        self.delivery = DigestDelivery(bot, self.pacer, clock=clock)
        self.delivery.schedule_retry = self.schedule_retry
        self.live = LiveDigests(self.delivery)
        self._running: set[asyncio.Task[object]] = set()  # the jobs under way
        self._stopping = False
        self._retry_waits: dict[str, dt.timedelta] = {}  # a retry job's id: its wait
        self._watch: asyncio.Task[None] | None = None

    def start(self, *, paused: bool = False, clock_watch: float = CLOCK_WATCH) -> None:
        self.apscheduler.start(paused=paused)
        self._watch = asyncio.get_running_loop().create_task(self._watch_clock(clock_watch))

    async def shutdown(self, *, grace: float = SHUTDOWN_GRACE) -> None:
        """Start no more jobs; give those under way `grace` seconds to finish, then cancel
        them, and wait until they have ended: what they use (the storage, the Discord
        connection, the HTTP session) is closed after this."""
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
        if self.apscheduler.running:
            self.apscheduler.pause()
        await self.live.close()
        late: set[asyncio.Task[object]] = set()
        if running := list(self._running):
            _, late = await asyncio.wait(running, timeout=grace)
        if self.apscheduler.running:
            self.apscheduler.shutdown(wait=False)  # cancels the jobs still under way
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    @contextlib.contextmanager
    def _job(self, what: str) -> Iterator[None]:
        """Around the body of every job: shutdown waits for it, and a job it cancels ends
        quietly (not as a failure with a traceback, which APScheduler would log)."""
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            yield
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            log.info("%s: stopped by the shutdown", what)
        finally:
            if task is not None:
                self._running.discard(task)

    # --- the clock stepped back ----------------------------------------------------------

    async def _watch_clock(self, every: float) -> None:
        # asyncio's sleep runs on the monotonic clock: a step of the wall clock does not
        # hold the watch up as it holds APScheduler's jobs.
        while True:
            await asyncio.sleep(every)
            try:
                self.watch_clock()
            except Exception:
                log.exception("looking for jobs the clock put off failed; looked again later")

    def watch_clock(self) -> int:
        """Bring back the jobs a wall clock stepped back (an NTP correction, a virtual
        machine restored from a snapshot) has put off: APScheduler counts a periodic job's
        next run from its last run's wall-clock time, so after a step back of an hour no
        feed check, portal check or alert sweep would run for an hour. Those further off
        than their interval run now, a retry further off than its wait is waited for from
        now. Digests keep their times: they are local times of day, and their runs' ledger
        keeps a run already posted from posting again. Returns how many jobs moved."""
        now = self.clock()
        moved: list[str] = []
        behind = dt.timedelta(0)
        for job in self.apscheduler.get_jobs():
            when: dt.datetime | None = job.next_run_time
            if when is None:
                continue  # paused
            if isinstance(job.trigger, IntervalTrigger):
                wait = job.trigger.interval + FIRST_RUN
                start = now
            elif (retry := self._retry_waits.get(job.id)) is not None:
                wait = retry
                start = now + retry
            else:
                continue
            if when - now > wait + FIRST_RUN:
                behind = max(behind, when - now - wait)
                job.modify(next_run_time=start)
                moved.append(job.id)
        if moved:
            log.warning(
                "the system clock went back (by about %d minutes): %s run from now",
                round(behind.total_seconds() / 60),
                ", ".join(moved),
            )
        return len(moved)

    # --- digests -------------------------------------------------------------------------

    async def start_digests(self) -> None:
        """At start: resume what a stopped process left half-posted, post what was missed
        today, then schedule every digest's next run."""
        # Only this process's servers': another process may be sending its shards' runs.
        settings = self.bot.settings
        if interrupted := await self.bot.storage.digests.interrupted_runs(
            shard_ids=settings.shard_ids, shard_count=settings.shard_count
        ):
            log.info("resuming %d digest runs left unfinished", interrupted)
        live = 0
        for digest in await self.bot.storage.digests.all():
            if digest.paused or not self.bot.owns(digest.guild_id):
                continue  # another process runs that server's shard, and posts its digests
            if digest.every == "live":
                live += 1  # one round below covers them all
                continue
            if not known_zone(digest.timezone):
                _log_unknown_zone(digest)  # the others, and the polling, still start
                continue
            try:
                await self.delivery.catch_up(digest)
            except Exception as exc:
                what = f"catching up the {digest.kind} digest {digest.id}"
                log_failure(log, self.bot.storage, what, exc, then="it waits for its next run")
            self.schedule_digest(digest)
        if live:
            self.live.kick()  # what arrived while the bot was down, and posts cut short
        log.info("scheduled %d digests; %d live", len(self.apscheduler.get_jobs()), live)

    def schedule_digest(
        self, digest: Digest, *, after: dt.datetime | None = None
    ) -> dt.datetime | None:
        """(Re)schedule a digest's next run; paused and live digests get none (live ones
        post after each poll), nor those of servers on another process's shards. Returns
        when."""
        if digest.paused or digest.every == "live" or not self.bot.owns(digest.guild_id):
            self.unschedule_digest(digest.id)
            return None
        if not known_zone(digest.timezone):
            _log_unknown_zone(digest)
            self.unschedule_digest(digest.id)
            return None
        when, slot = _next_slot(digest, after or self.clock())
        self.apscheduler.add_job(
            self._digest_job,
            DateTrigger(run_date=when),
            args=[digest.id, slot, when],
            id=digest_job_id(digest.id),
            # What APScheduler's warnings (a run missed, or skipped) call the job.
            name=f"digest {digest.id} ({digest.every} {digest.kind} for channel {digest.channel_id})",
            replace_existing=True,
            misfire_grace_time=None,  # late is better than never; run() skips a past day
        )
        return when

    async def schedule_set_digest(self, digest: Digest) -> dt.datetime | None:
        """schedule_digest for a digest just set: when its next time falls in a slot it has
        already run (today's, posted before its time was moved later), the run after that,
        so the time returned is when the channel next gets a post."""
        after = self.clock()
        if not digest.paused and digest.every != "live":
            when, slot = _next_slot(digest, after)
            if await self.bot.storage.digests.run(digest.id, slot) is not None:
                after = when
        return self.schedule_digest(digest, after=after)

    def unschedule_digest(self, digest_id: int) -> None:
        for job in self.apscheduler.get_jobs():
            if job.id == digest_job_id(digest_id) or job.id.startswith(
                f"digest-retry:{digest_id}:"
            ):
                job.remove()

    def forget_digest(self, digest_id: int) -> None:
        """A removed digest: its jobs, and what this process kept of its runs."""
        self.unschedule_digest(digest_id)
        self.delivery.forget(digest_id)

    def next_run_time(self, digest_id: int) -> dt.datetime | None:
        job = self.apscheduler.get_job(digest_job_id(digest_id))
        return job.trigger.run_date if job is not None else None

    async def _digest_job(self, digest_id: int, slot: str, scheduled: dt.datetime) -> None:
        with self._job(f"the digest {digest_id} run of {slot}"):
            await self._run_digest(digest_id, slot, f"the digest {digest_id} run of {slot}")
            if not self._stopping:
                await self._catch_up_late(digest_id, slot)
                await self._schedule_next(digest_id, slot, after=max(self.clock(), scheduled))

    async def _catch_up_late(self, digest_id: int, slot: str) -> None:
        """A timer that fired after its run's day had gone (the machine asleep, the clock
        stepped forward): the day it fired on may have had its run missed meanwhile, which
        is posted now, as a restart that day would post it."""
        try:
            digest = await self.bot.storage.digests.get(digest_id)
            if digest is None or current_slot(digest, self.clock()) == slot:
                return
            await self.delivery.catch_up(digest)
        except Exception as exc:
            what = f"catching up the digest {digest_id} after its late run of {slot}"
            log_failure(log, self.bot.storage, what, exc, then="it waits for its next run")

    def schedule_retry(self, digest_id: int, slot: str, delay: float) -> None:
        job_id = f"digest-retry:{digest_id}:{slot}"
        wait = dt.timedelta(seconds=delay)
        self._retry_waits = {
            k: v for k, v in self._retry_waits.items() if self.apscheduler.get_job(k) is not None
        }
        self._retry_waits[job_id] = wait
        self.apscheduler.add_job(
            self._retry_job,
            DateTrigger(run_date=self.clock() + wait),
            args=[digest_id, slot],
            id=job_id,
            name=f"digest {digest_id} retry of {slot}",
            replace_existing=True,
            misfire_grace_time=None,
        )

    async def _retry_job(self, digest_id: int, slot: str) -> None:
        what = f"the retry of the digest {digest_id} run of {slot}"
        with self._job(what):
            await self._run_digest(digest_id, slot, what)
            when = self.next_run_time(digest_id)
            if not self._stopping and (when is None or when <= self.clock()):
                await self._schedule_next(digest_id, slot, after=self.clock())

    async def _schedule_next(self, digest_id: int, slot: str, *, after: dt.datetime) -> None:
        """Schedule the digest's next run as it is now (changed, paused or removed since).
        When the archive cannot say, this run's retry schedules it."""
        try:
            digest = await self.bot.storage.digests.get(digest_id)
        except Exception as exc:
            what = f"scheduling the digest {digest_id} after its run of {slot}"
            then = "its next run is scheduled at this run's retry"
            if log_failure(log, self.bot.storage, what, exc, then=then):
                self.schedule_retry(digest_id, slot, ARCHIVE_RETRY.total_seconds())
            return
        if digest is not None:
            self.schedule_digest(digest, after=after)

    async def _run_digest(self, digest_id: int, slot: str, what: str) -> None:
        """Post a run; when the archive failed it (a full disk, say), try again later: the
        run's ledger makes sure nothing already posted is posted twice."""
        try:
            await self.delivery.run(digest_id, slot)
        except Exception as exc:
            minutes = ARCHIVE_RETRY.total_seconds() / 60
            then = f"tried again in {minutes:g} minutes"
            if log_failure(log, self.bot.storage, what, exc, then=then):
                self.schedule_retry(digest_id, slot, ARCHIVE_RETRY.total_seconds())

    # --- periodic work -------------------------------------------------------------------

    def every(self, job_id: str, minutes: float, func: Callable[[], Awaitable[object]]) -> None:
        """Run `func` every so many minutes; never two at once, missed runs coalesced."""

        async def run() -> None:
            with self._job(f"the periodic job {job_id}"):
                try:
                    await func()
                except Exception as exc:
                    then = f"it runs again in {minutes:g} minutes"
                    log_failure(log, self.bot.storage, f"the periodic job {job_id}", exc, then=then)

        self.apscheduler.add_job(
            run,
            IntervalTrigger(minutes=minutes),
            id=job_id,
            name=job_id,  # else every periodic job is "ChronicleScheduler.every.<locals>.run"
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            next_run_time=self.clock() + FIRST_RUN,
        )


def _log_unknown_zone(digest: Digest) -> None:
    # Its local times cannot be known: a guess would post at the wrong hour and day.
    log.error(
        "the %s digest %d (channel %d) is not scheduled: its timezone %r is unknown to this"
        " machine's zone database (tzdata); update tzdata, or set the digest's timezone again",
        digest.kind,
        digest.id,
        digest.channel_id,
        digest.timezone,
    )


def _next_slot(digest: Digest, after: dt.datetime) -> tuple[dt.datetime, str]:
    """A daily or hourly digest's first run strictly after `after`: (instant, slot)."""
    if digest.every == "hourly":
        return next_hourly(digest.time.minute, digest.timezone, after)
    when, local_date = next_run(digest.time, digest.timezone, after)
    return when, day_slot(local_date)
