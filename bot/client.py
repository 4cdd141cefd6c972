"""The bot: owns storage, the HTTP session and the scheduler; loads the cogs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable
from typing import Any, cast

import aiohttp
import discord
from discord.ext import commands
from discord.gateway import DiscordWebSocket

from bot.alerts import AlertService
from bot.config import DEFAULT_API_BASE, Settings
from bot.discord_endpoints import apply_endpoint_overrides
from bot.failures import archive_failure, describe_error, log_failure
from bot.ingest.feeds.addresses import FetchPolicy
from bot.ingest.feeds.fetch import make_session
from bot.render import cut
from bot.scheduler import ChronicleScheduler
from bot.services.entities import apply_aliases
from bot.services.feeds.service import FeedService
from bot.services.ledgers import prune_ledgers, prune_summary
from bot.services.wikipedia import wikipedia_service
from bot.shards import describe_shards, owns_guild, sqlite_refusal
from bot.tree import ChronicleTree
from bot.views import EventButton, OpenEvent, PagedView, PageTurn
from storage import Storage, open_storage
from storage.times import Clock, utc_now

log = logging.getLogger(__name__)
# Chronicle has no voice: discord.py's warnings at each start that the libraries voice needs
# are not installed (PyNaCl, davey) read as a broken install. Its other warnings stay.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False

COGS = ("bot.cogs.lookups", "bot.cogs.digests", "bot.cogs.subscriptions", "bot.cogs.settings")
FEED_CHECK_MINUTES = 1.0  # how often due feeds are looked for; each feed has its own interval
PORTAL_CHECK_MINUTES = 1.0  # how often the portal's poll is looked at (its own interval)
ALERT_SWEEP_MINUTES = 1.0  # picks up events other processes added (chronicle import --announce)
LEDGER_PRUNE_MINUTES = 24 * 60.0  # what a prune removes is days old: once a day will do
LEDGER_PRUNE_PAUSE = 0.05  # seconds between a prune's steps: posts and polls come first
START_RETRY = 5.0  # seconds before trying again to reach Discord at start, doubling
START_RETRY_MAX = 300.0
WORK_RETRY = 60.0  # seconds before the work begun once connected is tried again
# Seconds the commands under way at shutdown have to finish before they are stopped (their
# members told to try again) and the archive they use is closed.
COMMAND_GRACE = 5.0
MAX_RATE_LIMIT_WAIT = 60.0  # seconds
IDENTIFY_WAIT = 5.0  # seconds between two shards' IDENTIFYs: Discord's limit (one per 5 s)

NO_TOKEN = """\
chronicle: DISCORD_TOKEN is not set, so the bot cannot log in.
Get one in the Discord Developer Portal (https://discord.com/developers/applications):
create an application, open Bot, press Reset Token, and put the token in .env as
DISCORD_TOKEN=... (see "Setting up the Discord application" in README.md, which also has the
invite link with the scopes and permissions Chronicle needs)."""


class ChronicleBot(commands.AutoShardedBot):
    """Chronicle's Discord client. Everything it owns is created in setup_hook and closed
    in close(); nothing lives in module globals.

    It runs the shards the settings give it (by default all, as many as Discord recommends)
    and serves the servers on them: their interactions arrive on its connections, and it
    posts their digests and alerts only. Polling, which serves every server, runs in the one
    process that storage says leads it."""

    storage: Storage
    http_session: aiohttp.ClientSession
    chronicle_scheduler: ChronicleScheduler

    def __init__(
        self,
        settings: Settings,
        *,
        view_timeout: float = 180.0,
        clock: Clock = utc_now,
        scheduler_paused: bool = False,
        identify_wait: float = IDENTIFY_WAIT,
    ):
        # discord.py takes shard ids only with a count; None (all) is saying nothing.
        shard_ids: dict[str, Any] = {}
        if settings.shard_ids is not None:
            shard_ids["shard_ids"] = list(settings.shard_ids)
        super().__init__(
            command_prefix=commands.when_mentioned,  # slash commands only; no message content
            intents=discord.Intents(guilds=True),  # non-privileged: channels and permissions
            tree_cls=ChronicleTree,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            # A channel's long rate limit (crossposts: a few an hour) raises RateLimited for
            # the caller to retry later, instead of holding a digest round for an hour.
            max_ratelimit_timeout=MAX_RATE_LIMIT_WAIT,
            shard_count=settings.shard_count,
            **shard_ids,
        )
        self.settings = settings
        self.view_timeout = view_timeout
        self.kept_pages: dict[str, PagedView] = {}  # bot.views.PagedView's, by token
        self.clock = clock
        self.scheduler_paused = scheduler_paused  # tests drive jobs with a controlled clock
        self.identify_wait = identify_wait  # a stand-in of Discord has no identify limit
        self.command_grace = COMMAND_GRACE
        self._startup: asyncio.Task[None] | None = None
        self._started = asyncio.Event()
        self.fetch_policy = FetchPolicy(
            allow_private_addresses=settings.feed_allow_private_addresses
        )
        self._owned: list[str] = []
        self._leading: dict[str, bool] = {}  # what storage last said, to log changes once

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        if not initial:
            await asyncio.sleep(self.identify_wait)

    async def setup_hook(self) -> None:
        self.storage = await open_storage(self.settings.database)
        self._owned.append("storage")
        self.http_session = make_session(self.fetch_policy)
        self._owned.append("http_session")
        await apply_aliases(self.storage)
        await self.storage.events.pack_postings()  # a database from before migration 0005
        self.feeds = FeedService(
            self.storage,
            self.http_session,
            self.fetch_policy,
            poll_minutes=self.settings.feed_poll_minutes,
            clock=self.clock,
        )
        self.wikipedia = wikipedia_service(
            self.storage, self.http_session, self.settings, clock=self.clock
        )
        self.alerts = AlertService(self)
        self.chronicle_scheduler = ChronicleScheduler(self, clock=self.clock)
        self.chronicle_scheduler.start(paused=self.scheduler_paused)
        self._owned.append("scheduler")
        self.add_dynamic_items(EventButton, PageTurn, OpenEvent)
        for cog in COGS:
            await self.load_extension(cog)
        if self.syncs_commands:
            await self.sync_commands()
        else:
            log.info("commands are synced by the process running shard 0")

    @property
    def syncs_commands(self) -> bool:
        """Application commands are the bot's, not a shard's: one process syncs them."""
        return self.settings.shard_ids is None or 0 in self.settings.shard_ids

    def owns(self, guild_id: int) -> bool:
        """Whether this process serves the server: it runs the server's shard."""
        return owns_guild(guild_id, self.settings.shard_ids, self.settings.shard_count)

    async def leads(self, work: str) -> bool:
        """Whether this process does `work` that only one process may do (polling) now."""
        leading = await self.storage.lead(work)
        if self._leading.get(work) != leading:
            self._leading[work] = leading
            if leading:
                log.info("this process now leads %s", work)
            else:
                log.info("another process leads %s; this one waits", work)
        return leading

    async def sync_commands(self) -> None:
        guild_id = self.settings.guild_id
        if guild_id:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d commands to server %s", len(synced), guild_id)
        else:
            synced = await self.tree.sync()
            log.info("synced %d commands globally", len(synced))

    async def on_ready(self) -> None:
        log.info(
            "connected as %s (%s) to %d servers on %s",
            self.user,
            getattr(self.user, "id", "?"),
            len(self.guilds),
            describe_shards(self.shard_ids, self.shard_count),
        )
        if self._startup is None:  # on_ready repeats after reconnects; start once
            self._startup = asyncio.create_task(self._start_work())
            self._started.set()

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """Chronicle was removed from a server (kicked, or the server deleted): its
        subscriptions are removed, so that no member hears of it by DM any more, and its
        digests paused, as a deleted channel's are (`/digest set` resumes one, should
        Chronicle be invited back)."""
        self.alerts.forget_guild(guild.id)
        try:
            removed = await self.storage.subscriptions.remove_guild(guild.id)
            paused = 0
            for digest in await self.storage.digests.for_guild(guild.id):
                self.chronicle_scheduler.unschedule_digest(digest.id)
                if await self.storage.digests.pause(digest.id, "Chronicle left the server"):
                    paused += 1
        except Exception as exc:
            what = f"forgetting the server {guild.id} Chronicle was removed from"
            log_failure(log, self.storage, what, exc, then="its alerts and digests go on")
            return
        log.info(
            "removed from guild %s (%s): removed its %d subscriptions, paused its %d digests",
            guild.id,
            guild.name,
            removed,
            paused,
        )

    async def wait_until_working(self) -> None:
        """Wait until the start-up work (catch-up, first alert sweep) is done."""
        await self._started.wait()
        if self._startup is not None:
            await asyncio.shield(self._startup)

    async def _start_work(self) -> None:
        """Once connected (channels known): digests catch up, periodic work begins. Until
        the archive lets the first two be done (a lock held, the server restarting), they
        are tried again: without them no digest would be scheduled, nothing polled."""
        what = "starting the digests and alerts"
        last: str | None = None  # the failure before, told with its traceback
        while True:
            try:
                await self.alerts.sweep()  # the first sweep sets the watermark: history is not news
                await self.chronicle_scheduler.start_digests()
                break
            except Exception as exc:
                then = f"tried again in {WORK_RETRY:g} seconds"
                seen = describe_error(exc, self.settings.discord_token)
                if seen == last and archive_failure(self.storage, exc) is None:
                    # Its traceback was logged: one a minute would bury the rest of the log.
                    log.error("%s failed again (%s); %s", what, seen, then)
                else:
                    log_failure(log, self.storage, what, exc, then=then)
                last = seen
            await asyncio.sleep(WORK_RETRY)
        self.chronicle_scheduler.every("feeds", FEED_CHECK_MINUTES, self.poll_feeds)
        if self.settings.wikipedia_poll_minutes:
            self.chronicle_scheduler.every("wikipedia", PORTAL_CHECK_MINUTES, self.poll_wikipedia)
        self.chronicle_scheduler.every("alerts", ALERT_SWEEP_MINUTES, self.sweep)
        self.chronicle_scheduler.every("ledgers", LEDGER_PRUNE_MINUTES, self.prune_ledgers)

    async def poll_feeds(self) -> None:
        """Poll the feeds that are due, then tell subscribers and live digests what they
        brought."""
        if not await self.leads("feeds"):
            return
        report = await self.feeds.poll_due()
        if report.new_event_ids:
            await self.announce()
        elif report.corrected_ids:
            await self.alerts.sweep()  # a correction may name what members follow

    async def poll_wikipedia(self) -> None:
        """Poll the portal if it is due, then tell subscribers and live digests what the
        poll before it brought: a portal item waits until a later poll has read its page
        again (storage.news_rules)."""
        if not await self.leads("wikipedia"):
            return
        report = await self.wikipedia.poll_due()
        if report is not None and not report.request_failed:
            await self.sweep()

    async def announce(self) -> None:
        """New events arrived: live digests get a round, subscribers their alerts."""
        self.chronicle_scheduler.live.kick()
        await self.alerts.sweep()

    async def sweep(self) -> None:
        """The periodic look for events another process announced (an import), and for
        portal items that waited for a poll."""
        await self.chronicle_scheduler.live.kick_if_new()
        await self.alerts.sweep()

    async def prune_ledgers(self) -> None:
        """The digest runs and deliveries nothing can look up any more are deleted
        (bot.services.ledgers), by the one process that leads it."""
        if not await self.leads("ledgers"):
            return
        report = await prune_ledgers(self.storage, now=self.clock(), pause=LEDGER_PRUNE_PAUSE)
        if report.removed:
            log.info("%s", prune_summary(report))

    async def close(self) -> None:
        # Stop producing work first, then disconnect, then release what the work used.
        # The jobs and the commands under way finish (or are stopped) side by side; the
        # commands while the connection still carries answers, so a stopped one can say so.
        stopping: list[Awaitable[None]] = [
            cast(ChronicleTree, self.tree).wind_down(self.command_grace)
        ]
        if "scheduler" in self._owned:
            stopping.append(self.chronicle_scheduler.shutdown())
        await asyncio.gather(*stopping)
        if self._startup is not None and not self._startup.done():
            self._startup.cancel()
            await asyncio.gather(self._startup, return_exceptions=True)
        await super().close()
        if "http_session" in self._owned:
            await self.http_session.close()
        if "storage" in self._owned:
            await self.storage.close()
        self._owned.clear()


class Unreachable(Exception):
    """Discord could not be reached at start; the message says where and why."""


async def run_bot(settings: Settings) -> int:
    """Run until SIGINT/SIGTERM; the exit status says whether it could start at all.

    Discord unreachable at start (its API answering 5xx, no connection to it or to its
    gateway) is waited out: one line says what cannot be reached, and the bot tries again
    after START_RETRY, doubling up to START_RETRY_MAX. A refused token or intents end it."""
    if not settings.discord_token:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    if refusal := sqlite_refusal(
        settings.database, settings.shard_ids, settings.shard_count, "DISCORD_SHARD_IDS"
    ):
        print(refusal, file=sys.stderr)
        return 2
    apply_endpoint_overrides(
        None if settings.api_base == DEFAULT_API_BASE else settings.api_base, settings.gateway_url
    )
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    running: list[ChronicleBot] = []
    closing: list[asyncio.Task[None]] = []

    def on_signal(signum: int) -> None:
        log.info("received %s: shutting down", signal.Signals(signum).name)
        stop.set()
        closing.extend(asyncio.ensure_future(bot.close()) for bot in running)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    wait = START_RETRY
    try:
        while not stop.is_set():
            bot = ChronicleBot(settings)
            running[:] = [bot]
            try:
                async with bot:
                    await bot.login(settings.discord_token)
                    await _reach_gateway(settings)
                    if not stop.is_set():
                        await bot.connect()
                return 0
            except discord.LoginFailure:
                print(
                    "chronicle: Discord refused the token (401 Unauthorized): check DISCORD_TOKEN.",
                    file=sys.stderr,
                )
                return 1
            except discord.PrivilegedIntentsRequired:
                print(
                    "chronicle: Discord asks for privileged intents, which Chronicle does not use.",
                    file=sys.stderr,
                )
                return 1
            except discord.ConnectionClosed as exc:
                if exc.code == 4004:
                    print(
                        "chronicle: Discord refused the token (gateway 4004): check DISCORD_TOKEN.",
                        file=sys.stderr,
                    )
                else:
                    print(
                        f"chronicle: the Discord connection closed with code {exc.code}:"
                        f" {exc.reason}",
                        file=sys.stderr,
                    )
                return 1
            except (
                Unreachable,
                discord.DiscordServerError,
                discord.GatewayNotFound,
                aiohttp.ClientError,
                OSError,
                TimeoutError,
            ) as exc:
                if stop.is_set():
                    return 0
                log.warning(
                    "cannot reach Discord: %s; trying again in %g s",
                    _unreachable(exc, settings),
                    wait,
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)
            wait = min(wait * 2, START_RETRY_MAX)
        return 0
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        if closing:
            await asyncio.gather(*closing, return_exceptions=True)


async def _reach_gateway(settings: Settings) -> None:
    """Open (and close) a connection to the gateway before logging in to it: discord.py
    fails without a word on a gateway it never reached (AttributeError on ws.sequence)."""
    url = settings.gateway_url or str(DiscordWebSocket.DEFAULT_GATEWAY)
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(url, timeout=aiohttp.ClientWSTimeout(ws_close=5), autoclose=True),
        ):
            pass
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise Unreachable(f"its gateway at {url}: {_reason(exc)}") from None


def _unreachable(exc: BaseException, settings: Settings) -> str:
    if isinstance(exc, Unreachable):
        return str(exc)
    if isinstance(exc, discord.DiscordServerError):
        said = f" ({cut(exc.text, 300)})" if exc.text else ""
        return (
            f"its API at {settings.api_base} answered HTTP {exc.status} {exc.response.reason}{said}"
        )
    return f"its API at {settings.api_base}: {_reason(exc)}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect ({exc.os_error.strerror or exc.os_error})"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return f"{type(exc).__name__}: {exc}"
