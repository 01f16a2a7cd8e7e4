"""Figures from the generator's raw results, and the table: absolute figures per target, the
gateway's ratio to the relay (the floor), and PASS/MISS against the targets of issue 5."""

from __future__ import annotations

import math

TARGETS = ("gateway", "relay", "fake")
HEADER = ("measure", "gateway", "relay (floor)", "fake direct", "gateway ÷ relay", "target")


def percentile(values: list[float], q: float) -> float:
    """Nearest rank: the smallest value with at least q of all values at or below it."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def ms(seconds: float) -> str:
    return "—" if math.isnan(seconds) else f"{seconds * 1000:.2f}"


def verdict(ok: bool, goal: str) -> str:
    return f"{goal} **{'PASS' if ok else 'MISS'}**"


def ratio(gateway: float, relay: float) -> str:
    return f"{gateway / relay:.2f}×" if relay and not math.isnan(gateway) and not math.isnan(relay) else "—"


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, ...]] = []

    def add(self, measure: str, values: dict[str, str], ratio_text: str = "", target: str = "") -> None:
        self.rows.append((measure, *(values.get(name, "—") for name in TARGETS), ratio_text, target))

    def markdown(self) -> str:
        lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)


def throughput(result: dict) -> float:
    return result["ok"] / result["elapsed"] if result["elapsed"] else math.nan


def build_table(results: dict, mode) -> Table:
    """`results[(phase, target)]`: the generator's output plus `peak_rss` and `cpu_seconds` of
    the target's process tree while the phase ran."""
    table = Table()
    for concurrency in mode.concurrency:
        phase = ("short", concurrency)
        rates = {t: throughput(results[phase, t]) for t in TARGETS}
        goal = ""
        if concurrency == 16:
            goal = verdict(rates["gateway"] >= 0.6 * rates["relay"], "≥ 0.6× relay")
        table.add(
            f"non-streaming c={concurrency}: req/s",
            {t: f"{rates[t]:.0f}" for t in TARGETS},
            ratio(rates["gateway"], rates["relay"]),
            goal,
        )
        table.add(
            f"non-streaming c={concurrency}: p50 / p99 ms",
            {
                t: f"{ms(percentile(results[phase, t]['latency'], 0.5))} / "
                f"{ms(percentile(results[phase, t]['latency'], 0.99))}"
                for t in TARGETS
            },
        )
    ttfb = {t: results["ttfb", t]["ttfb"] for t in TARGETS}
    table.add(
        "streaming TTFB c=1: p50 / p99 ms",
        {t: f"{ms(percentile(ttfb[t], 0.5))} / {ms(percentile(ttfb[t], 0.99))}" for t in TARGETS},
    )
    added = {
        t: (
            percentile(ttfb[t], 0.5) - percentile(ttfb["fake"], 0.5),
            percentile(ttfb[t], 0.99) - percentile(ttfb["fake"], 0.99),
        )
        for t in ("gateway", "relay")
    }
    table.add(
        "TTFB added over the fake: p50 / p99 ms",
        {t: f"{ms(a)} / {ms(b)}" for t, (a, b) in added.items()},
        "",
        verdict(added["gateway"][0] <= 0.001, "p50 ≤ 1 ms"),
    )
    size = mode.big_bytes / 1e6
    speed = {t: size / percentile(results["big", t]["latency"], 0.5) for t in TARGETS}
    table.add(
        f"{mode.big_bytes / 2**20:.0f} MiB streamed reply: MB/s (median of {mode.big_count}, every byte checked)",
        {t: f"{speed[t]:.1f}" for t in TARGETS},
        ratio(speed["gateway"], speed["relay"]),
        verdict(speed["gateway"] >= 0.5 * speed["relay"], "≥ 0.5× relay"),
    )
    seconds = mode.stream_frames / 10
    for streams in mode.stream_ks:
        phase = ("streams", streams)
        last = streams == max(mode.stream_ks)
        note = "" if streams == 1000 else " (goal is for K=1000)"
        done = {t: results[phase, t]["ok"] for t in TARGETS}
        rss = {t: results[phase, t]["peak_rss"] / 2**20 for t in TARGETS}
        p99 = {t: percentile(results[phase, t]["ttfb"], 0.99) for t in TARGETS}
        table.add(
            f"{streams} streams of {seconds:g} s (started over {mode.stream_ramp:g} s): complete",
            {t: f"{done[t]}/{streams}" for t in TARGETS},
            "",
            verdict(done["gateway"] == streams, "all" + note) if last else "",
        )
        table.add(
            f"{streams} streams: peak RSS MB (process tree)",
            {t: f"{rss[t]:.1f}" for t in TARGETS},
            ratio(rss["gateway"], rss["relay"]),
            verdict(rss["gateway"] <= 150, "≤ 150 MB" + note) if last else "",
        )
        table.add(
            f"{streams} streams: CPU s",
            {t: f"{results[phase, t]['cpu_seconds']:.2f}" for t in TARGETS},
            ratio(results[phase, "gateway"]["cpu_seconds"], results[phase, "relay"]["cpu_seconds"]),
        )
        table.add(
            f"{streams} streams: p99 TTFB ms",
            {t: ms(p99[t]) for t in TARGETS},
            "",
            verdict(p99["gateway"] <= 1.0, "≤ 1000 ms" + note) if last else "",
        )
    return table


def failures(results: dict) -> list[str]:
    """One line per job that had failed requests, with the first reasons."""
    return [
        f"{phase} {target}: {result['failed']} failed: {'; '.join(result['errors'])}"
        for (phase, target), result in results.items()
        if result["failed"]
    ]
