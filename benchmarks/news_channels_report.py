"""The news-channel benchmark's figures: printed, and recorded in RESULTS.md and FINDINGS.md."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from benchmarks.machine import code_version, machine
from benchmarks.news_channels_measure import DISCORD_GLOBAL, Figures
from benchmarks.sections import find_section, replace_section
from bot.pacing import GLOBAL_PER_SECOND

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
FINDINGS = HERE / "FINDINGS.md"
SECTION = "## News channels: live digests at Discord's rate limits"


def _full_collections(f: Figures) -> str:
    return f"{f.gc_full} full collection{'' if f.gc_full == 1 else 's'}"


def _size(f: Figures) -> str:
    return f"{f.servers:,} × {f.channels_per_server}"


def print_figures(f: Figures) -> None:
    verdict = "PASS" if f.passed else "MISS"
    print(
        f"{_size(f)} channels: {f.digests:,} live digests, one ingest of {f.events} events\n"
        f"  round wall time     {f.wall_s:9.1f} s   minimum {f.minimum_s:.1f} s"
        f" ({f.ratio:.2f}x, goal ≤ 1.2x: {verdict});"
        f" at the pacer's {GLOBAL_PER_SECOND:g}/s {f.pacer_s:.1f} s\n"
        f"  kick → first post   {f.lead_s:9.2f} s   first → last {f.span_s:.1f} s,"
        f" last → end {f.tail_s:.2f} s; most let through in 1 s: {f.busiest_second}\n"
        f"  posts               {f.posts:9,}     expected {f.posts_expected:,};"
        f" lost {f.lost}, short {f.short}, duplicated {f.duplicated}\n"
        f"  429s                {f.global_429s + f.channel_429s:9,}     global {f.global_429s},"
        f" per channel {f.channel_429s} ({f.channels_429d} channels)\n"
        f"  pacer               grants {f.pacer['grants']:,}, mean wait"
        f" {f.pacer['mean_wait_s']:.1f} s, most waiting {f.pacer['max_queue']:,},"
        f" backoffs {f.pacer['backoffs']}\n"
        f"  runs                {', '.join(f'{k} {v:,}' for k, v in sorted(f.runs.items()))}\n"
        f"  bot CPU             {f.bot_cpu_s:9.1f} s   ({100 * f.bot_cpu_s / f.wall_s:.0f}% of"
        f" the round); loop lag p99 {f.lag_p99_ms:.1f} ms, max {f.lag_max_ms:.0f} ms;"
        f" stand-in CPU {f.standin_cpu_s:.1f} s\n"
        f"  garbage collection  {f.gc_s:9.1f} s   in pauses; {_full_collections(f)},"
        f" longest pause {f.gc_max_ms:.0f} ms\n"
        f"  bot memory          {f.bot_peak_rss_mb:9.0f} MB peak RSS"
        f" ({f.bot_rss_after_start_mb:.0f} MB after start-up)\n"
        f"  bot start-up        {f.startup['total_s']:9.1f} s   setup {f.startup['setup_s']:.1f} s,"
        f" ready {f.startup['ready_s']:.1f} s (stand-in sent {f.guilds_seen:,} GUILD_CREATE in"
        f" {f.startup['identify_to_guilds_sent_s']:.1f} s), catch-up of every digest"
        f" {f.startup['catch_up_s']:.1f} s (of which a live round"
        f" {f.startup['startup_round_s']:.1f} s)\n"
        f"  requests in round   {', '.join(f'{k}: {v:,}' for k, v in sorted(f.requests.items()))}"
    )
    if f.internal_errors:
        print(f"  stand-in errors     {f.internal_errors}")


HEADER = (
    "| servers × channels | live digests | posts | round wall time | minimum | ratio"
    " | kick → first post | 429s (global / channel) | lost | duplicated | bot CPU | bot peak RSS"
    " | |"
)
STARTUP_HEADER = (
    "| servers × channels | bot start-up | setup (storage, commands) | GUILD_CREATE sent"
    " | ready (discord.py) | catch-up of every digest | digests created |"
)
RUNS_HEAD = "Runs:"


def _row(f: Figures) -> str:
    return (
        f"| {_size(f)} | {f.digests:,} | {f.posts:,} of {f.posts_expected:,}"
        f" | **{f.wall_s:,.1f} s** | {f.minimum_s:,.1f} s | **{f.ratio:.2f}x**"
        f" | {f.lead_s:.1f} s | {f.global_429s} / {f.channel_429s} | {f.lost} | {f.duplicated}"
        f" | {f.bot_cpu_s:,.0f} s ({100 * f.bot_cpu_s / f.wall_s:.0f}%)"
        f" | {f.bot_peak_rss_mb:,.0f} MB | {'PASS' if f.passed else '**MISS**'} |"
    )


def _startup_row(f: Figures) -> str:
    s = f.startup
    return (
        f"| {_size(f)} | {s['total_s']:,.1f} s | {s['setup_s']:.1f} s"
        f" | {s['identify_to_guilds_sent_s']:.1f} s | {s['ready_s']:,.1f} s"
        f" | {s['catch_up_s']:,.1f} s | {f.prepare.get('digests_s', 0):,.1f} s |"
    )


def _table_rows(text: str, header: str) -> dict[str, str]:
    """The rows under a table header in text, by their first cell."""
    lines = text.splitlines()
    if header not in lines:
        return {}
    rows: dict[str, str] = {}
    for line in lines[lines.index(header) + 2 :]:
        if not line.startswith("| "):
            break
        rows[line.split(" | ", 1)[0][2:]] = line
    return rows


def _list_items(text: str, head: str) -> dict[str, str]:
    lines = text.splitlines()
    if head not in lines:
        return {}
    items: dict[str, str] = {}
    for line in lines[lines.index(head) + 1 :]:
        if not line.startswith("- "):
            break
        items[line[2:].split(":", 1)[0]] = line
    return items


def _by_size(rows: dict[str, str]) -> list[str]:
    def key(size: str) -> tuple[int, int]:
        servers, _, channels = size.partition(" × ")
        return int(servers.replace(",", "") or 0), int(channels or 0)

    return [rows[k] for k in sorted(rows, key=key)]


def section(f: Figures, command: str, existing: str = "") -> str:
    """The RESULTS.md section: this run's rows, and the other sizes' rows kept."""
    rows = _table_rows(existing, HEADER) | {_size(f): _row(f)}
    startup = _table_rows(existing, STARTUP_HEADER) | {_size(f): _startup_row(f)}
    info = machine()
    runs = _list_items(existing, RUNS_HEAD) | {
        _size(f): (
            f"- {_size(f)}: `{command}`, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, code"
            f" {code_version()}; {info['cpu']} ({info['cores']} cores), Python {info['python']}"
        )
    }
    return "\n".join(
        [
            SECTION,
            "",
            "Produced by `python -m benchmarks.news_channels` (see its `--help`). Every text"
            " channel of every server has a live 'new' digest; one ingest of a few announced"
            " events (one message per digest) kicks a live round, which the real bot posts to"
            " the loopback Discord stand-in enforcing Discord's limits with 429s: 50 requests a"
            " second over the bot, 5 messages per 5 s per channel. Wall time is from the kick to"
            " the round's end; the minimum is posts / 50 per second (one post per channel: the"
            " channel limit does not bind). Lost: digests whose channel got no message;"
            " duplicated: copies of a message in one channel. Bot CPU is the bot process's"
            " (the stand-in runs in a process of its own). Goal: within 1.2x of the minimum,"
            " 0 lost, 0 duplicated. Why: [FINDINGS.md](FINDINGS.md).",
            "",
            HEADER,
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
            *_by_size(rows),
            "",
            "Start-up with that many servers and digests (before the round; the scheduler"
            " paused), and making the digests in storage:",
            "",
            STARTUP_HEADER,
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
            *_by_size(startup),
            "",
            RUNS_HEAD,
            *_by_size(runs),
            "",
        ]
    )


def finding(f: Figures, command: str) -> str:
    """The FINDINGS.md note: what bounds the round's wall time, from this run's figures."""
    schedule = max(f.posts - 1, 0) / GLOBAL_PER_SECOND  # first to last grant, at the pacer's rate
    rate = (f.posts - 1) / f.span_s if f.span_s else 0.0
    cpu_share = f.bot_cpu_s / f.wall_s if f.wall_s else 0.0
    goal = "within" if f.passed else "**outside**"
    limited = f.global_429s + f.channel_429s
    lines = [
        SECTION,
        "",
        f"From the run of {f.digests:,} live digests ({_size(f)} channels; `{command}`,"
        f" {dt.datetime.now(dt.UTC):%Y-%m-%d}); figures in [RESULTS.md](RESULTS.md).",
        "",
        f"- **{f.wall_s:,.1f} s for {f.posts:,} posts, {f.ratio:.2f}x the minimum of"
        f" {f.minimum_s:,.1f} s**: {goal} the goal (1.2x, 0 lost, 0 duplicated): {f.lost}"
        f" lost, {f.duplicated} duplicated, {limited} 429s ({f.global_429s} global,"
        f" {f.channel_429s} per channel)"
        + (", each waited out by discord.py and the post sent." if limited else "."),
        f"- The bound is the pacer's own rate: bot.pacing grants {GLOBAL_PER_SECOND:g} posts a"
        f" second, not Discord's {DISCORD_GLOBAL}, to leave room for interaction responses and"
        f" DMs sent meanwhile; {f.posts:,} posts at {GLOBAL_PER_SECOND:g}/s take"
        f" {f.pacer_s:,.1f} s, {f.pacer_s / f.minimum_s:.2f}x the minimum by design. The rest"
        f" of the {f.wall_s:,.1f} s: **{f.lead_s:.1f} s from the kick to the first post**"
        f" (reading every live digest and starting a task for each; their runs are made"
        f" ready 64 at a time, servers in turn, through the one reader and writer"
        f" connection), and the posts going out at {rate:.1f} a second instead of"
        f" {GLOBAL_PER_SECOND:g} ({f.span_s:,.1f} s from the first to the last, against"
        f" {schedule:,.1f} s on the pacer's schedule: it times each grant from the moment the"
        f" last one resumed, so the event loop's lateness is never made up).",
        f"- The event loop: {f.bot_cpu_s:,.0f} s of the bot's CPU over the round"
        f" ({100 * cpu_share:.0f}%), lag p99 {f.lag_p99_ms:.1f} ms and at most"
        f" {f.lag_max_ms:,.0f} ms; garbage collection paused it {f.gc_s:.1f} s in all"
        f" ({_full_collections(f)}, the longest {f.gc_max_ms:,.0f} ms). Peak RSS"
        f" {f.bot_peak_rss_mb:,.0f} MB against {f.bot_rss_after_start_mb:,.0f} MB before the"
        f" round: every live digest's task, content and messages are held until it posts (up"
        f" to {f.pacer['max_queue']:,} posts waited at once, {f.pacer['mean_wait_s']:.0f} s on"
        f" average).",
        f"- Start-up with {f.guilds_seen:,} servers: {f.startup['total_s']:,.1f} s until the"
        f" bot works ({f.startup['ready_s']:,.1f} s to on_ready, of which discord.py waits 2 s"
        f" after the last GUILD_CREATE; then {f.startup['catch_up_s']:,.1f} s catching up the"
        f" {f.digests:,} digests, {f.startup['startup_round_s']:,.1f} s of it a live round over"
        f" them that posts nothing).",
        "",
    ]
    return "\n".join(lines)


def _larger_note(text: str | None, than: str) -> bool:
    """Whether a FINDINGS note is about a larger run than `than`'s."""
    pattern = r"From the run of ([\d,]+) live digests"
    held = re.search(pattern, text or "")
    new = re.search(pattern, than)
    return bool(held and new and int(held[1].replace(",", "")) > int(new[1].replace(",", "")))


def write(f: Figures, command: str) -> None:
    """Record the figures in RESULTS.md (other sizes' rows kept) and the note in FINDINGS.md
    (unless it describes a larger run)."""
    existing = find_section(RESULTS, SECTION) or ""
    replace_section(RESULTS, SECTION, section(f, command, existing))
    note = finding(f, command)
    if not _larger_note(find_section(FINDINGS, SECTION), note):
        replace_section(FINDINGS, SECTION, note)
