"""The scale benchmark's figures checked against its targets, printed and written to RESULTS.md."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any

from benchmarks import postgres, queries
from benchmarks.report_cells import ms, slowest, verdict
from benchmarks.sections import sections_not_matching

SIZE_HEADING = re.compile(r"## [\d,]+ events")  # the sections this benchmark writes

TARGETS = {
    "import_rate": 5000.0,  # events/s, at least
    "import_floor_ratio": 3.0,  # at most
    "digests_s": 5.0,
    "rss_mb": 250.0,
}


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.1f}x" if a is not None and b else "n/a"


def headline_checks(r: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """(figure, value, target, passed) of every target the issue sets."""
    checks: list[tuple[str, str, str, bool | None]] = []
    if "import" in r:
        rate = r["import"]["events_per_second"]
        ratio = r["import"]["seconds"] / r["floor"]["seconds"] if r["floor"]["seconds"] else None
        best = r.get("import_bound", {}).get("events_per_second")
        checks.append(
            (
                "import rate",
                f"{rate:,.0f} events/s"
                + (f" (any import here: {best:,.0f} at best)" if best else ""),
                "≥ 5,000 events/s",
                rate >= TARGETS["import_rate"],
            )
        )
        checks.append(
            (
                "import vs floor",
                f"{ratio:.1f}x" if ratio else "n/a",
                "≤ 3x",
                ratio is not None and ratio <= TARGETS["import_floor_ratio"],
            )
        )
    for row in r["lookups"]:
        if row["target_ms"] is not None:
            checks.append(
                (
                    f"{row['name']} p99",
                    f"{ms(row['p99'])} ms",
                    f"< {row['target_ms']:g} ms",
                    row["passed"],
                )
            )
    for row in r.get("slash", []):
        if row["target_ms"] is not None:
            checks.append(
                (
                    f"slash {row['name']} p99",
                    f"{ms(row['p99'])} ms",
                    f"< {row['target_ms']:g} ms",
                    row["passed"],
                )
            )
    d = r["digests"]
    checks.append(
        (
            f"digests for {d['channels']:,} channels",
            f"{d['seconds']:.2f} s",
            "< 5 s",
            d["seconds"] < TARGETS["digests_s"],
        )
    )
    if "bot" in r:
        peak = r["bot"]["peak_rss_mb"]
        checks.append(("bot peak RSS", f"{peak:.0f} MB", "< 250 MB", peak < TARGETS["rss_mb"]))
    return checks


def render_size(r: dict[str, Any]) -> str:
    lines: list[str] = []
    out = lines.append
    out(f"## {r['events']:,} events")
    out("")
    out(f"Run {r['date']} with `{r['command']}`, code at {r.get('code', '?')}.")
    m = r["machine"]
    out(
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM; {m['os']};"
        f" Python {m['python']}, SQLite {m['sqlite']}, aiosqlite {m['aiosqlite']}."
    )
    out("")
    out("### Targets")
    out("")
    out("| figure | value | target | |")
    out("| --- | ---: | ---: | --- |")
    for name, value, target, passed in headline_checks(r):
        out(f"| {name} | {value} | {target} | {verdict(passed)} |")
    out("")

    out("### Import")
    out("")
    if "import" in r:
        imp, floor = r["import"], r["floor"]
        if "import_run" in r:
            before = r["import_run"]
            machine = before.get("machine") or {}
            on = f" on {machine['cpu']}, {machine['cores']} cores" if machine else ""
            out(
                f"From the run of {before['date']}{on} (`{before['command']}`, code at"
                f" {before.get('code', '?')}): this run built its database straight from the"
                " corpus (`--skip-markdown`)."
            )
            out("")
        ratio = imp["seconds"] / floor["seconds"] if floor["seconds"] else float("nan")
        out("| figure | value |")
        out("| --- | ---: |")
        out(f"| files read (event pages and day indexes) | {imp['files']:,} |")
        out(f"| events stored (incl. incomplete) | {imp['events']:,} |")
        out(f"| `chronicle import` time | {imp['seconds']:.1f} s |")
        out(f"| `chronicle import` rate | {imp['events_per_second']:,.0f} events/s |")
        out(
            f"| floor: same rows, plain `executemany`, one transaction | {floor['seconds']:.1f} s ({sum(floor['rows'].values()):,} rows) |"
        )
        out(f"| import / floor | {ratio:.1f}x |")
        if best := r.get("import_bound"):
            out(
                "| at best on this machine (`benchmarks.import_bound`: the same rows stored the"
                " fastest way known, and parsing, every core busy)"
                f" | {best['events_per_second']:,.0f} events/s |"
            )
        out("")
        seconds = floor.get("table_seconds", {})
        out(
            "Floor by table (rows, seconds of executemany): "
            + ", ".join(
                f"{k} {v:,} ({seconds[k]:.1f} s)" if k in seconds else f"{k} {v:,}"
                for k, v in floor["rows"].items()
            )
            + (f"; commit {seconds['(commit)']:.1f} s" if "(commit)" in seconds else "")
            + "."
        )
    else:
        direct = r.get("direct_import", {})
        out(
            "Not measured in this run (`--skip-markdown`): the database was built straight from"
            " the corpus through `import_batch`"
            + (f" in {direct['seconds']:.0f} s" if direct.get("seconds") else " (cached)")
            + "."
        )
    out("")

    out("### Lookups")
    out("")
    out(
        "Through Chronicle's services over aiosqlite (what the bot and CLI run) vs the bare SQL"
        " statement underneath, on a plain sqlite3 connection; same inputs, back to back."
    )
    out("")
    out(
        "| lookup | n | p50 ms | p99 ms | max ms | bare p50 | bare p99 | ratio p50 | ratio p99 | target p99 | |"
    )
    out("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for row in r["lookups"]:
        note = " (stopped: time budget)" if row["stopped_early"] else ""
        target = f"< {row['target_ms']:g}" if row["target_ms"] else ""
        out(
            f"| {row['name']}{note} | {row['n']:,} | {ms(row['p50'])} | {ms(row['p99'])} | {ms(row['max'])}"
            f" | {ms(row['bare_p50'])} | {ms(row['bare_p99'])} | {_ratio(row['p50'], row['bare_p50'])}"
            f" | {_ratio(row['p99'], row['bare_p99'])} | {target} | {verdict(row['passed'])} |"
        )
    out("")
    out("Bare, by row:")
    out("")
    for row in r["lookups"]:
        kinds = "; or ".join(queries.BARE.get(k, k) for k in row["bare_kinds"])
        failed = f" (could not run: {row['bare_failed']})" if row["bare_failed"] else ""
        out(f"- {row['name']}: {kinds}{failed}")
    out("")
    out("Slowest inputs (ms):")
    out("")
    for row in r["lookups"]:
        out(f"- {row['name']}: {slowest(row)}")
    out("")

    if "slash" in r:
        out("### Slash commands end to end")
        out("")
        out(
            "`python -m bot run` in its own process against the loopback Discord stand-in:"
            " INTERACTION_CREATE sent on the gateway → the interaction callback received."
            ' "answer" is when the user sees the result (the same, unless the bot deferred).'
        )
        out("")
        out(
            "| interaction | n | p50 ms | p99 ms | answer p99 ms | deferred | lost | target p99 | |"
        )
        out("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for row in r["slash"]:
            target = f"< {row['target_ms']:g}" if row["target_ms"] else ""
            out(
                f"| {row['name']} | {row['n']:,} | {ms(row['p50'])} | {ms(row['p99'])}"
                f" | {ms(row['answer_p99'])} | {row['deferred']} | {row['lost']} | {target} | {verdict(row['passed'])} |"
            )
        for row in r["slash"]:
            if row.get("abandoned"):
                out("")
                out(f"**{row['name']}: {row['abandoned']}**")
        out("")
        bot = r["bot"]
        out(
            f"Bot process: {bot['idle_rss_mb']:.0f} MB resident after start-up, peak {bot['peak_rss_mb']:.0f} MB"
            f" (VmHWM) over all the interactions above; ready {bot['startup_s']:.1f} s after launch."
        )
        out("")

    d = r["digests"]
    out("### Digests")
    out("")
    out(
        f"{d['digests']:,} digests ({d['channels']:,} channels × onthisday and new, 20 timezones) built in"
        f" **{d['seconds']:.2f} s**: onthisday p50 {ms(d['onthisday_p50'])} ms, p99 {ms(d['onthisday_p99'])} ms;"
        f" new p50 {ms(d['new_p50'])} ms, p99 {ms(d['new_p99'])} ms. {d['messages']:,} messages,"
        f" {d['events_listed']:,} events listed, {d['empty']} empty; the 'new' digests cover"
        f" {d['announced']} announced events."
    )
    out("")

    s, db = r["shape"], r["db"]
    out("### Size and corpus")
    out("")
    out(f"Database on disk: **{db['bytes'] / 1e6:,.0f} MB** (after a WAL checkpoint).")
    if db["biggest"]:
        out(
            "Largest tables and indexes: "
            + ", ".join(f"{n} {b / 1e6:,.0f} MB" for n, b in db["biggest"])
            + "."
        )
    out("")
    top = ", ".join(f"{n} ({c:,})" for n, c in s["top_entities"])
    out(
        f"{s['events']:,} events ({s['complete']:,} complete, {s['chinese']:,} Chinese), {s['first']} to {s['last']};"
        f" {s['sources']:,} sources; {s['entities']:,} entities, {s['entity_links']:,} event-entity links"
        f" (median entity: {s['entity_median_events']} events; {s['entities_10k_plus']} entities in ≥ 10,000 events;"
        f" most linked: {top}); {s['archive_related']:,} archive Related items."
    )
    out(f"Corpus: `{r['corpus']}`.")
    out("")
    if "postgresql" in r:
        out(postgres.render(r))
    return "\n".join(lines)


def render_results(results: dict[str, dict[str, Any]]) -> str:
    head = [
        "# Chronicle at scale: benchmark results",
        "",
        "Produced by `python -m benchmarks.run` (see its `--help`; README: *Benchmarks*). Each",
        "section is one archive size; re-running a size replaces its section. The synthetic",
        "archive is described in `benchmarks/corpus.py`; targets are those of issue 7. Why a",
        "target is missed, and what was tried: [FINDINGS.md](FINDINGS.md).",
        "",
    ]
    body = [render_size(results[k]) for k in sorted(results, key=int)]
    return "\n".join(head + body)


def print_summary(r: dict[str, Any]) -> None:
    print(f"\n{r['events']:,} events")
    for name, value, target, passed in headline_checks(r):
        mark = "" if passed is None else ("PASS" if passed else "MISS")
        print(f"  {name:<42} {value:>16}   target {target:<18} {mark}")
    for row in r["lookups"]:
        print(
            f"  {row['name']:<34} p50 {ms(row['p50']):>7} p99 {ms(row['p99']):>7} ms"
            f"   bare p50 {ms(row['bare_p50']):>6} p99 {ms(row['bare_p99']):>6}"
            f"   x{_ratio(row['p50'], row['bare_p50']):>7} x{_ratio(row['p99'], row['bare_p99']):>7}"
        )
    if "postgresql" in r:
        print("\n".join(postgres.summary_lines(r)))


def save(out: Path, run: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Merge this run's sizes into out's .json twin and regenerate out from all of them."""
    store = out.with_suffix(".json")
    results: dict[str, dict[str, Any]] = {}
    if store.exists():
        with contextlib.suppress(ValueError):
            results = json.loads(store.read_text())
    for size, result in run.items():
        earlier = results.get(size, {})
        if "import" not in result and "import" in earlier:
            # A --skip-markdown run does not import: the last import measured still stands.
            result["import"], result["floor"] = earlier["import"], earlier["floor"]
            if "import_bound" in earlier:
                result["import_bound"] = earlier["import_bound"]
            result["import_run"] = earlier.get("import_run") or {
                k: earlier.get(k) for k in ("date", "command", "code", "machine")
            }
    results.update(run)
    store.write_text(json.dumps(results, indent=1, ensure_ascii=False, default=str) + "\n")
    # Sections other benchmarks wrote (news channels, the portal, ...) stay as they are.
    others = sections_not_matching(out, SIZE_HEADING)
    out.write_text("\n\n".join([render_results(results).rstrip("\n"), *others]) + "\n")
    return results
