"""`python -m bench [--smoke | --quick] [--protocol agent|legacy|both]`: start the fake and the
relay, then per protocol generation two gateways (gunicorn, one gevent worker pinned to core 0;
the project's defaults, and USAGE_CHECK=none); measure each target the same way with the
generator on the other core; print a table per generation (Markdown) with PASS/MISS against the
goals of issue #15."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass

from bench.capture import capture_agent, capture_legacy
from bench.http import build_request
from bench.limits import raise_open_files_limit
from bench.report import TARGETS, build_table, failures
from bench.scenarios import MODELS, PROTOCOLS, Scenario, scenarios_for
from bench.servers import ADMIN_KEY, LOAD_CORE, Sampler, fake_and_relay, gateways
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


def openai_body(protocol: str, scenario: Scenario) -> dict:
    return {
        "model": MODELS[protocol],
        "stream": scenario.stream,
        "messages": [{"role": "user", "content": scenario.message}],
    }


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def jobs_maker(protocol: str, fake, servers: dict, relay, found: dict):
    """job(target, scenario name, concurrency, count, seconds) -> a generator job. The gateways
    get the OpenAI request; the relay and the fake exactly what the default gateway sent upstream
    for it (bench/capture.py). Returns it with the upstream writes of each scenario's chat."""
    gateway_url = servers["gateway"].url
    capture = capture_agent if protocol == "agent" else capture_legacy
    captured = {name: capture(fake, gateway_url, ADMIN_KEY, openai_body(protocol, s)) for name, s in found.items()}
    ports = {name: port_of(server.url) for name, server in servers.items()}
    ports.update(relay=relay.port, fake=port_of(fake.url))

    def job(target: str, name: str, concurrency: int, count: int, seconds: float, ramp: float = 0) -> dict:
        scenario = found[name]
        shape = {
            "host": "127.0.0.1",
            "port": ports[target],
            "streaming": scenario.stream,
            "expected_text": scenario.expected_text,
            "marker": scenario.marker,
            "concurrency": concurrency,
            "count": count,
            "seconds": seconds,
            "ramp": ramp,
        }
        if target in servers:
            body = json.dumps(openai_body(protocol, scenario)).encode()
            headers = {"Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/json"}
            request = build_request("127.0.0.1", ports[target], "/v1/chat/completions", headers, body)
            return {**shape, "protocol": "openai", "request_hex": request.hex(), "body_sha256": ""}
        if protocol == "agent":
            return {**shape, "protocol": "agent", "agent": captured[name]}
        call = captured[name]
        request = build_request("127.0.0.1", ports[target], call["path"], call["headers"], call["body"])
        return {**shape, "protocol": "connect", "request_hex": request.hex(), "body_sha256": scenario.body_sha256}

    if protocol == "agent":
        upstream = {
            name: f"RunSSE + {len(c['writes'])} BidiAppend ({', '.join(c['writes'])})" for name, c in captured.items()
        }
    else:
        upstream = dict.fromkeys(captured, "one StreamChat call")
    return job, upstream


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


def measure(protocol: str, mode: Mode, fake, relay) -> tuple[dict, dict]:
    """Every measure of one protocol generation, on every target: (results, upstream writes)."""
    found = scenarios_for(protocol, mode.big_bytes, mode.stream_frames)
    results: dict = {}
    with gateways(fake.url, protocol) as servers:
        job, upstream = jobs_maker(protocol, fake, servers, relay, found)
        pids = {name: server.process.pid for name, server in servers.items()}
        pids.update(relay=relay.process.pid, fake=fake.process.pid)

        def run(key, target: str, name: str, concurrency: int, count: int, seconds: float, ramp: float = 0) -> None:
            results[key, target] = result = generate(job(target, name, concurrency, count, seconds, ramp), pids[target])
            print(
                f"  {protocol:6} {key!s:18} {target:15} ok {result['ok']:>6} failed {result['failed']} "
                f"in {result['elapsed']:.1f} s",
                flush=True,
            )

        for target in TARGETS:
            generate(job(target, "short", 8, mode.warmup, 10), pids[target])  # connections, caches, JIT-free warm paths
            for concurrency, count in zip(mode.concurrency, mode.short_counts, strict=True):
                run(("short", concurrency), target, "short", concurrency, count, mode.seconds)
            run("ttfb", target, "ttfb", 1, mode.ttfb_count, mode.seconds)
            run("big", target, "big", 1, mode.big_count, 60)
            for streams in mode.stream_ks:
                run(
                    ("streams", streams),
                    target,
                    "streams",
                    streams,
                    streams,
                    mode.stream_frames / 10 + 5,
                    mode.stream_ramp,
                )
    return results, upstream


def grouped(upstream: dict[str, str]) -> str:
    """`short, big: one StreamChat call; ...`: the scenarios whose chats made the same calls."""
    groups: dict[str, list[str]] = {}
    for scenario, calls in upstream.items():
        groups.setdefault(calls, []).append(scenario)
    return "; ".join(f"{', '.join(names)}: {calls}" for calls, names in groups.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--smoke",
        action="store_const",
        dest="mode",
        const="smoke",
        help="a handful of requests, 5 streams of 1 s (~2 min)",
    )
    group.add_argument(
        "--quick", action="store_const", dest="mode", const="quick", help="small counts, 100 streams of 5 s (~5 min)"
    )
    parser.add_argument(
        "--protocol",
        choices=("agent", "legacy", "both"),
        default="both",
        help="the generation of Cursor's protocol the gateways speak (default: both, agent first)",
    )
    args = parser.parse_args(argv)
    name = args.mode or "full"
    mode = MODES[name]
    protocols = PROTOCOLS if args.protocol == "both" else (args.protocol,)
    if (os.cpu_count() or 1) < 2:
        sys.exit("the benchmark needs 2 cores: one for the servers under test, one for the load")
    raise_open_files_limit()  # inherited by every process started below
    os.sched_setaffinity(0, {LOAD_CORE})  # and so is this: the fake and the generator stay off core 0
    started = time.monotonic()
    print(f"bench ({name}) on {machine()}, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC", flush=True)
    measured = {}
    with fake_and_relay() as (fake, relay):
        for protocol in protocols:
            measured[protocol] = measure(protocol, mode, fake, relay)
    for protocol, (results, upstream) in measured.items():
        print(f"\n### {protocol} protocol, model {MODELS[protocol]}\n")
        print(f"Upstream per chat, made by the default gateway and replayed by the floor: {grouped(upstream)}.\n")
        print(build_table(results, mode, protocol).markdown())
        for line in failures(results):
            print(f"FAILED {protocol} {line}")
    print(f"\nbench ({name}) took {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
