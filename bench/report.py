"""Figures from the generator's raw results, and one table per protocol generation: absolute
figures per target, the default gateway's ratio to the relay (the floor), and PASS/MISS against
the targets of issue #15 (ratios within one run; a miss does not fail the run)."""

from __future__ import annotations

import math

# the columns: the gateways of bench/servers.py's GATEWAYS, the floor, and the fake itself
LABELS = {
    "gateway": "gateway (defaults)",
    "gateway_nocheck": "gateway, USAGE_CHECK=none",
    "relay": "relay (floor)",
    "fake": "fake direct",
}
TARGETS = tuple(LABELS)
HEADER = ("measure", *LABELS.values(), "gateway ÷ relay", "target")
# issue #15, per generation: CPU per chat, and the added time to first byte (p50) allowed - on
# `agent` as a multiple of the relay's own, on `legacy` the Node gateway's 0.7 ms of that issue
CPU_MS_PER_CHAT = {"agent": 1.5, "legacy": 1.0}
ADDED_TTFB_TIMES_RELAY = 1.5
NODE_ADDED_TTFB = 0.0007
THROUGHPUT_TIMES_RELAY = 0.5  # non-streaming at c=16
BIG_TIMES_RELAY = 0.7
P99_TIMES_P50 = 5
STREAMS_GOAL, RSS_MB_GOAL, STREAMS_P99_GOAL = 1000, 120, 0.5


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
    # not for a floor at or below zero (an added time within the noise)
    return f"{gateway / relay:.2f}×" if relay > 0 and not math.isnan(gateway) else "—"


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


def build_table(results: dict, mode, protocol: str) -> Table:
    """`results[(phase, target)]`: the generator's output plus `peak_rss` and `cpu_seconds` of
    the target's process tree while the phase ran."""
    table = Table()
    non_streaming(table, results, mode, protocol)
    first_byte(table, results, protocol)
    big_reply(table, results, mode)
    streams(table, results, mode)
    return table


def non_streaming(table: Table, results: dict, mode, protocol: str) -> None:
    for concurrency in mode.concurrency:
        phase = ("short", concurrency)
        rates = {t: throughput(results[phase, t]) for t in TARGETS}
        goal = ""
        if concurrency == 16:
            goal = verdict(
                rates["gateway"] >= THROUGHPUT_TIMES_RELAY * rates["relay"], f"≥ {THROUGHPUT_TIMES_RELAY}× relay"
            )
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
    # the process tree's CPU over every non-streaming phase, per chat answered (the fake's own
    # cost under "fake direct"): what one chat costs whatever the concurrency
    phases = [("short", concurrency) for concurrency in mode.concurrency]
    cpu = {
        t: sum(results[p, t]["cpu_seconds"] for p in phases) / max(1, sum(results[p, t]["ok"] for p in phases))
        for t in TARGETS
    }
    goal_ms = CPU_MS_PER_CHAT[protocol]
    table.add(
        "non-streaming: CPU ms per chat (process tree)",
        {t: ms(cpu[t]) for t in TARGETS},
        ratio(cpu["gateway"], cpu["relay"]),
        verdict(cpu["gateway"] <= goal_ms / 1000, f"≤ {goal_ms:g} ms"),
    )


def first_byte(table: Table, results: dict, protocol: str) -> None:
    ttfb = {t: results["ttfb", t]["ttfb"] for t in TARGETS}
    p50 = {t: percentile(ttfb[t], 0.5) for t in TARGETS}
    p99 = {t: percentile(ttfb[t], 0.99) for t in TARGETS}
    table.add(
        "streaming TTFB c=1: p50 / p99 ms",
        {t: f"{ms(p50[t])} / {ms(p99[t])}" for t in TARGETS},
        "",
        verdict(p99["gateway"] <= P99_TIMES_P50 * p50["gateway"], f"p99 ≤ {P99_TIMES_P50}× p50"),
    )
    added = {t: (p50[t] - p50["fake"], p99[t] - p99["fake"]) for t in TARGETS if t != "fake"}
    if protocol == "agent":
        limit, goal = ADDED_TTFB_TIMES_RELAY * added["relay"][0], f"p50 ≤ {ADDED_TTFB_TIMES_RELAY}× relay's"
    else:
        limit, goal = NODE_ADDED_TTFB, f"p50 ≤ {NODE_ADDED_TTFB * 1000:g} ms (the Node gateway's)"
    table.add(
        "TTFB added over the fake: p50 / p99 ms",
        {t: f"{ms(a)} / {ms(b)}" for t, (a, b) in added.items()},
        ratio(added["gateway"][0], added["relay"][0]),
        verdict(added["gateway"][0] <= limit, goal),
    )


def big_reply(table: Table, results: dict, mode) -> None:
    size = mode.big_bytes / 1e6
    speed = {t: size / percentile(results["big", t]["latency"], 0.5) for t in TARGETS}
    table.add(
        f"{mode.big_bytes / 2**20:.0f} MiB streamed reply: MB/s (median of {mode.big_count}, every byte checked)",
        {t: f"{speed[t]:.1f}" for t in TARGETS},
        ratio(speed["gateway"], speed["relay"]),
        verdict(speed["gateway"] >= BIG_TIMES_RELAY * speed["relay"], f"≥ {BIG_TIMES_RELAY}× relay"),
    )


def streams(table: Table, results: dict, mode) -> None:
    seconds = mode.stream_frames / 10
    for count in mode.stream_ks:
        phase = ("streams", count)
        last = count == max(mode.stream_ks)
        note = "" if count == STREAMS_GOAL else f" (goal is for K={STREAMS_GOAL})"
        done = {t: results[phase, t]["ok"] for t in TARGETS}
        rss = {t: results[phase, t]["peak_rss"] / 2**20 for t in TARGETS}
        p99 = {t: percentile(results[phase, t]["ttfb"], 0.99) for t in TARGETS}
        table.add(
            f"{count} streams of {seconds:g} s (started over {mode.stream_ramp:g} s): complete",
            {t: f"{done[t]}/{count}" for t in TARGETS},
            "",
            verdict(done["gateway"] == count, "all" + note) if last else "",
        )
        table.add(
            f"{count} streams: peak RSS MB (process tree)",
            {t: f"{rss[t]:.1f}" for t in TARGETS},
            ratio(rss["gateway"], rss["relay"]),
            verdict(rss["gateway"] <= RSS_MB_GOAL, f"≤ {RSS_MB_GOAL} MB" + note) if last else "",
        )
        table.add(
            f"{count} streams: CPU s",
            {t: f"{results[phase, t]['cpu_seconds']:.2f}" for t in TARGETS},
            ratio(results[phase, "gateway"]["cpu_seconds"], results[phase, "relay"]["cpu_seconds"]),
        )
        table.add(
            f"{count} streams: p99 TTFB ms",
            {t: ms(p99[t]) for t in TARGETS},
            "",
            verdict(p99["gateway"] <= STREAMS_P99_GOAL, f"≤ {STREAMS_P99_GOAL * 1000:g} ms" + note) if last else "",
        )


def failures(results: dict) -> list[str]:
    """One line per job that had failed requests, with the first reasons."""
    return [
        f"{phase} {target}: {result['failed']} failed: {'; '.join(result['errors'])}"
        for (phase, target), result in results.items()
        if result["failed"]
    ]
