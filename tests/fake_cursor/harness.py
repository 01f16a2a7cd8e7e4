"""Running the fake as a subprocess from tests and the benchmark."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


class FakeCursor:
    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.url = ""

    def __enter__(self) -> FakeCursor:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self, timeout: float = 15) -> FakeCursor:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fake_cursor", "--port", "0"],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )
        line = self.process.stdout.readline()  # the process prints one ready line
        if not line.startswith("fake-cursor listening on "):
            self.stop()
            raise RuntimeError(f"fake Cursor service did not start: {line!r}")
        self.url = line.strip().rsplit(" ", 1)[1]
        requests.get(f"{self.url}/__fake/health", timeout=timeout).raise_for_status()
        return self

    def requests(self) -> list[dict]:
        """Everything the fake received, oldest first."""
        return requests.get(f"{self.url}/__fake/requests", timeout=30).json()

    def chat_requests(self) -> list[dict]:
        return [record for record in self.requests() if record["path"].startswith("/aiserver.v1.")]

    def account_requests(self) -> list[dict]:
        return [record for record in self.requests() if not record["path"].startswith("/aiserver.v1.")]

    def connections(self) -> int:
        """TCP connections accepted so far (this call's own included)."""
        return requests.get(f"{self.url}/__fake/health", timeout=10).json()["connections"]

    def clear(self) -> None:
        requests.delete(f"{self.url}/__fake/requests", timeout=10).raise_for_status()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
