"""The benchmark (bench/, issue 5 item 6) runs end to end in its tiny mode: every process
starts, every target answers every request correctly, and the table has all its rows."""

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
    "streaming TTFB c=1: p50 / p99 ms",
    "TTFB added over the fake: p50 / p99 ms",
    "1 MiB streamed reply: MB/s",
    "5 streams of 1 s (started over 1 s): complete",
    "5 streams: peak RSS MB",
    "5 streams: CPU s",
    "5 streams: p99 TTFB ms",
)


@pytest.mark.timeout(90)
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="the benchmark pins the gateway and the load to different cores")
def test_smoke_benchmark_prints_every_row_and_completes_every_stream():
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke"], cwd=ROOT, capture_output=True, text=True, timeout=80
    )
    assert run.returncode == 0, run.stderr
    table = [line for line in run.stdout.splitlines() if line.startswith("| ")]
    for row in ROWS:
        assert any(line.startswith(f"| {row}") for line in table), f"no row {row!r} in:\n{run.stdout}"
    [complete] = [line for line in table if line.startswith("| 5 streams of 1 s (started over 1 s): complete")]
    assert re.findall(r"\| (\d+/\d+) ", complete) == ["5/5", "5/5", "5/5"]  # gateway, relay, fake
    assert "FAILED" not in run.stdout  # every answer of every target had exactly the expected text
