"""The processes under test: the fake Cursor service, the gateway under real gunicorn, and the
relay in front of the fake; plus a sampler of a process tree's memory and CPU (psutil)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil
import requests

from tests.fake_cursor.harness import FakeCursor
from tests.support import ROOT, GunicornServer, checksum_for, free_port, gateway_env, make_token

GATEWAY_CORE = 0  # the gateway, and the relay when it is measured, get this core to themselves
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


@contextlib.contextmanager
def running() -> Iterator[tuple[FakeCursor, GunicornServer, Relay]]:
    """The fake, then the gateway (one gevent worker, as one core warrants) and the relay in
    front of it, each stopped on the way out."""
    with tempfile.TemporaryDirectory(prefix="bench-") as data_dir, FakeCursor() as fake:
        tokens = [make_token(f"user_bench{i}") for i in range(POOL_SIZE)]
        Path(data_dir, ".tokens").write_text("\n".join(f"{t},{checksum_for(t)}" for t in tokens))
        # USAGE_CHECK=none: otherwise each gpt-4o chat also fires 3 account fetches in the background
        # (SPEC §6.5), which the relay would not be doing: the chat path alone is compared.
        env = gateway_env(Path(data_dir), fake.url, USAGE_CHECK="none")
        gateway = GunicornServer(env, workers=1).start()
        try:
            pin(psutil.Process(gateway.process.pid), GATEWAY_CORE)
            relay = Relay(int(fake.url.rsplit(":", 1)[1]))
            try:
                yield fake, gateway, relay
            finally:
                relay.stop()
        finally:
            gateway.stop()


def capture_upstream_request(fake: FakeCursor, gateway_url: str, openai_body: dict) -> dict:
    """Send one OpenAI request through the gateway and return what the gateway sent the fake
    (path, headers, body): the relay's and the fake's load is exactly that request."""
    fake.clear()
    with requests.post(
        f"{gateway_url}/v1/chat/completions",
        json=openai_body,
        stream=True,
        timeout=30,
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    ) as response:
        response.raise_for_status()
        next(response.iter_content(1), None)  # the request is upstream; the rest of a slow reply is not needed
    [record] = fake.chat_requests()
    if not record["accepted"] or record["reason"]:
        raise RuntimeError(f"the fake refused the gateway's request: {record['reason']}")
    skip = {"host", "content-length", "transfer-encoding"}  # the generator writes its own
    headers = {name: value for name, value in record["headers"].items() if name.lower() not in skip}
    return {"path": record["path"], "headers": headers, "body": bytes.fromhex(record["body_hex"])}


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
