"""`python -m bench [--smoke | --quick]`: start the fake, the gateway (gunicorn, one gevent
worker pinned to core 0) and the relay; measure each target the same way with the generator
on the other core; print the table (Markdown) and PASS/MISS against the goals."""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass

from bench.http import build_request
from bench.limits import raise_open_files_limit
from bench.report import TARGETS, build_table, failures
from bench.servers import ADMIN_KEY, LOAD_CORE, Sampler, capture_upstream_request, running
from tests.fake_cursor import scenarios
from tests.support import ROOT


@dataclass(frozen=True)
class Mode:
    concurrency: tuple[int, ...]
    short_counts: tuple[int, ...]  # requests per concurrency level, each job also capped at `seconds`
    seconds: float
    ttfb_count: int
    big_bytes: int
    big_count: int
    stream_ks: tuple[int, ...]
    stream_frames: int  # one every 100 ms
    warmup: int
    stream_ramp: float = 1.0  # seconds over which the K streams start (bench/load.py says why)


MODES = {
    "smoke": Mode((1, 16, 64), (10, 32, 64), 5, 10, 1 << 20, 1, (5,), 10, 5),
    "quick": Mode((1, 16, 64), (300, 1000, 1500), 5, 100, 8 << 20, 1, (100,), 50, 50),
    "full": Mode((1, 16, 64), (2000, 8000, 12000), 20, 1000, 8 << 20, 3, (100, 500, 1000), 100, 300),
}
MODEL = "gpt-4o"


@dataclass(frozen=True)
class Scenario:
    message: str  # the fake:... directive
    stream: bool
    expected_text: str
    marker: str = ""  # TTFB is the time until this text arrives
    body_sha256: str = ""  # through the relay or direct, the body must be exactly the fake's


def scenarios_for(mode: Mode) -> dict:
    """The fake's own scenarios (tests/fake_cursor/scenarios.py) and what each must deliver."""

    def ticks(count: int) -> str:
        return "".join(f"tick {index} " for index in range(count))

    # the 8 MiB body exactly as the fake writes it, so the relay's copy is checked byte for byte
    big_body = b"".join(scenarios.big(scenarios.Call(str(mode.big_bytes), "", "", None)).writes)
    big_text = scenarios.BIG_FRAME_TEXT * -(-mode.big_bytes // len(scenarios.BIG_FRAME_TEXT))
    return {
        "short": Scenario("fake:oneshot", False, scenarios.ONESHOT_TEXT),
        "ttfb": Scenario("fake:ticks:3:0", True, ticks(3), marker="tick 0 "),
        "big": Scenario(f"fake:big:{mode.big_bytes}", True, big_text, body_sha256=hashlib.sha256(big_body).hexdigest()),
        "streams": Scenario(f"fake:ticks:{mode.stream_frames}:100", True, ticks(mode.stream_frames), marker="tick 0 "),
    }


def openai_body(scenario: Scenario) -> dict:
    return {"model": MODEL, "stream": scenario.stream, "messages": [{"role": "user", "content": scenario.message}]}


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def jobs_maker(fake, gateway, relay, found: dict):
    """job(target, scenario name, concurrency, count, seconds) -> a generator job. The relay and
    the fake get exactly the request the gateway sent upstream for the same OpenAI request."""
    captured = {
        name: capture_upstream_request(fake, gateway.url, openai_body(scenario)) for name, scenario in found.items()
    }
    ports = {"gateway": port_of(gateway.url), "relay": relay.port, "fake": port_of(fake.url)}

    def job(target: str, name: str, concurrency: int, count: int, seconds: float, ramp: float = 0) -> dict:
        scenario = found[name]
        if target == "gateway":
            path, body = "/v1/chat/completions", json.dumps(openai_body(scenario)).encode()
            headers = {"Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/json"}
        else:
            path, headers, body = captured[name]["path"], captured[name]["headers"], captured[name]["body"]
        request = build_request("127.0.0.1", ports[target], path, headers, body)
        return {
            "host": "127.0.0.1",
            "port": ports[target],
            "request_hex": request.hex(),
            "protocol": "openai" if target == "gateway" else "connect",
            "streaming": scenario.stream,
            "expected_text": scenario.expected_text,
            "marker": scenario.marker,
            "body_sha256": "" if target == "gateway" else scenario.body_sha256,
            "concurrency": concurrency,
            "count": count,
            "seconds": seconds,
            "ramp": ramp,
        }

    return job


def generate(job: dict, watched_pid: int) -> dict:
    """Run one job in the generator process, sampling the watched process tree meanwhile."""
    with Sampler(watched_pid) as sampler:
        done = subprocess.run(
            [sys.executable, "-m", "bench.load"],
            input=json.dumps(job),
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=job["seconds"] + 120,
        )
    if done.returncode:
        raise RuntimeError(f"the load generator failed:\n{done.stderr}")
    return {**json.loads(done.stdout), "peak_rss": sampler.peak_rss, "cpu_seconds": sampler.cpu_seconds}


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
            if line.startswith("Model name")
        ),
        platform.processor(),
    )
    # the load average shows whether something else was running: the figures assume an idle machine
    return (
        f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, {platform.system()} "
        f"{platform.release()}, load average {os.getloadavg()[0]:.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--smoke",
        action="store_const",
        dest="mode",
        const="smoke",
        help="a handful of requests, 5 streams of 1 s (~20 s)",
    )
    group.add_argument(
        "--quick", action="store_const", dest="mode", const="quick", help="small counts, 100 streams of 5 s (~1 min)"
    )
    name = parser.parse_args(argv).mode or "full"
    mode = MODES[name]
    if (os.cpu_count() or 1) < 2:
        sys.exit("the benchmark needs 2 cores: one for the server under test, one for the load")
    raise_open_files_limit()  # inherited by every process started below
    os.sched_setaffinity(0, {LOAD_CORE})  # and so is this: the fake and the generator stay off core 0
    started = time.monotonic()
    print(f"bench ({name}) on {machine()}, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC", flush=True)
    found = scenarios_for(mode)
    results: dict = {}
    with running() as (fake, gateway, relay):
        job = jobs_maker(fake, gateway, relay, found)
        pids = {"gateway": gateway.process.pid, "relay": relay.process.pid, "fake": fake.process.pid}

        def measure(key, target: str, name: str, concurrency: int, count: int, seconds: float, ramp: float = 0) -> None:
            results[key, target] = result = generate(job(target, name, concurrency, count, seconds, ramp), pids[target])
            print(
                f"  {key!s:18} {target:8} ok {result['ok']:>6} failed {result['failed']} in {result['elapsed']:.1f} s",
                flush=True,
            )

        for target in TARGETS:
            generate(job(target, "short", 8, mode.warmup, 10), pids[target])  # connections, caches, JIT-free warm paths
            for concurrency, count in zip(mode.concurrency, mode.short_counts, strict=True):
                measure(("short", concurrency), target, "short", concurrency, count, mode.seconds)
            measure("ttfb", target, "ttfb", 1, mode.ttfb_count, mode.seconds)
            measure("big", target, "big", 1, mode.big_count, 60)
            for streams in mode.stream_ks:
                measure(
                    ("streams", streams),
                    target,
                    "streams",
                    streams,
                    streams,
                    mode.stream_frames / 10 + 5,
                    mode.stream_ramp,
                )
    print()
    print(build_table(results, mode).markdown())
    for line in failures(results):
        print(f"FAILED {line}")
    print(f"\nbench ({name}) took {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
