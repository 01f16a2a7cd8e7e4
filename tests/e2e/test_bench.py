"""The benchmark (bench/, issues 5 and 15) runs end to end in its tiny mode, on both protocol
generations: every process starts, every target answers every request correctly (the agent
floor replaying the gateway's RunSSE read and BidiAppend writes), and each generation's table
has all its rows, with figures. No timing is asserted: the figures are the benchmark's business."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.support import ROOT

ROWS = (
    "non-streaming c=1: req/s",
    "non-streaming c=16: req/s",
    "non-streaming c=64: p50 / p99 ms",
    "non-streaming: CPU ms per chat (process tree)",
    "streaming TTFB c=1: p50 / p99 ms",
    "TTFB added over the fake: p50 / p99 ms",
    "1 MiB streamed reply: MB/s",
    "5 streams of 1 s (started over 1 s): complete",
    "5 streams: peak RSS MB",
    "5 streams: CPU s",
    "5 streams: p99 TTFB ms",
)
TARGETS = 4  # the gateway with defaults, with USAGE_CHECK=none, the relay, the fake direct
NUMBER = re.compile(r"-?\d+(\.\d+)?")


def sections(stdout: str) -> dict[str, list[str]]:
    """Each generation's lines, from its `### NAME protocol` heading to the next."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in stdout.splitlines():
        heading = re.match(r"### (\w+) protocol", line)
        if heading:
            current = found.setdefault(heading.group(1), [])
        elif current is not None:
            current.append(line)
    return found


@pytest.mark.timeout(300)
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="the benchmark pins the gateway and the load to different cores")
def test_smoke_benchmark_measures_both_generations_and_checks_every_answer():
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke"], cwd=ROOT, capture_output=True, text=True, timeout=280
    )
    assert run.returncode == 0, run.stderr
    assert "FAILED" not in run.stdout  # every answer of every target had exactly the expected text
    progress = [line for line in run.stdout.splitlines() if re.match(r"  (agent|legacy) ", line)]
    assert progress and all(" failed 0 " in line for line in progress), run.stdout
    found = sections(run.stdout)
    assert list(found) == ["agent", "legacy"], run.stdout  # the default generation first
    # the agent floor makes the gateway's upstream writes: the run request and the query's answer
    assert any("RunSSE + 2 BidiAppend (run_request, exec_client_message)" in line for line in found["agent"])
    for protocol, lines in found.items():
        table = [line for line in lines if line.startswith("| ")]
        for row in ROWS:
            matching = [line for line in table if line.startswith(f"| {row}")]
            assert len(matching) == 1, f"no row {row!r} in the {protocol} table:\n{run.stdout}"
            values = matching[0].split(" | ")[1 : 1 + TARGETS]
            if row.startswith("TTFB added"):
                values = values[:-1]  # the fake is what the others are measured over
            assert all(NUMBER.search(value) for value in values), f"{protocol}: {matching[0]}"
        [complete] = [line for line in table if line.startswith("| 5 streams of 1 s (started over 1 s): complete")]
        assert re.findall(r"\| (\d+/\d+) ", complete) == ["5/5"] * TARGETS, f"{protocol}: {complete}"
