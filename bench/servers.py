"""The processes under test: the fake Cursor service, the relay in front of it, and the gateways
under real gunicorn; plus a sampler of a process tree's memory and CPU (psutil)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil

from tests.fake_cursor.harness import FakeCursor
from tests.support import ROOT, GunicornServer, checksum_for, free_port, gateway_env, make_token

GATEWAY_CORE = 0  # the gateways and the relay (one of them under load at a time) get this core
LOAD_CORE = 1  # the generator, the fake and this orchestrating process share the other one
POOL_SIZE = 4
ADMIN_KEY = "admin-secret"  # AUTH_TOKEN of gateway_env: the key that draws from the pool


def pin(process: psutil.Process, core: int) -> None:
    """What `taskset -c CORE -p PID` does, for a process and its existing children."""
    for member in [process, *process.children(recursive=True)]:
        member.cpu_affinity([core])


class Relay:
    def __init__(self, upstream_port: int) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                "taskset",
                "-c",
                str(GATEWAY_CORE),
                sys.executable,
                "-m",
                "bench.relay",
                str(self.port),
                str(upstream_port),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline()
        if not line.startswith("relay listening"):
            raise RuntimeError(f"relay did not start: {line!r}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.process.stdout.close()


# The gateways measured side by side: the project's defaults, and the usage check off (issue #15).
GATEWAYS: dict[str, dict[str, str]] = {"gateway": {}, "gateway_nocheck": {"USAGE_CHECK": "none"}}


@contextlib.contextmanager
def fake_and_relay() -> Iterator[tuple[FakeCursor, Relay]]:
    """The fake, and the relay in front of it, each stopped on the way out."""
    with FakeCursor() as fake:
        relay = Relay(int(fake.url.rsplit(":", 1)[1]))
        try:
            yield fake, relay
        finally:
            relay.stop()


@contextlib.contextmanager
def gateways(upstream_url: str, protocol: str) -> Iterator[dict[str, GunicornServer]]:
    """One gateway per GATEWAYS entry, speaking `protocol` to the fake: one gevent worker (as one
    core warrants) pinned to the gateway core, its own store and pool; all stopped on the way out.
    Only one is under load at a time, the others idle."""
    with contextlib.ExitStack() as stack:
        started = {}
        for name, overrides in GATEWAYS.items():
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
            tokens = [make_token(f"user_bench{i}") for i in range(POOL_SIZE)]
            Path(data_dir, ".tokens").write_text("\n".join(f"{t},{checksum_for(t)}" for t in tokens))
            env = gateway_env(data_dir, upstream_url, CURSOR_PROTOCOL=protocol, **overrides)
            # the project's defaults, not the tests' (gateway_env): no system text, system proxies
            env.pop("DEFAULT_INSTRUCTIONS")
            env.pop("PROXIES")
            gateway = GunicornServer(env, workers=1).start()
            stack.callback(gateway.stop)
            pin(psutil.Process(gateway.process.pid), GATEWAY_CORE)
            started[name] = gateway
        yield started


class Sampler:
    """Peak RSS (summed over a process tree: gunicorn's master and worker) sampled every
    `interval`, and the CPU seconds the tree used, while the `with` block runs."""

    def __init__(self, root_pid: int, interval: float = 0.1) -> None:
        self.root = psutil.Process(root_pid)
        self.interval = interval
        self.peak_rss = 0
        self.cpu_seconds = 0.0
        self._stop = threading.Event()

    def _tree(self) -> list[psutil.Process]:
        return [self.root, *self.root.children(recursive=True)]

    def _cpu(self) -> float:
        total = 0.0
        for process in self._tree():
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                total += times.user + times.system
        return total

    def _sample(self) -> None:
        while not self._stop.is_set():
            rss = 0
            for process in self._tree():
                with contextlib.suppress(psutil.Error):
                    rss += process.memory_info().rss
            self.peak_rss = max(self.peak_rss, rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> Sampler:
        self._cpu_start = self._cpu()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self.cpu_seconds = self._cpu() - self._cpu_start
