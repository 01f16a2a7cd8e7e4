"""Fixtures of the fuzz run: one gateway under real gunicorn in front of the fake, its own
OpenAPI description loaded by schemathesis, and a tally of every request sent.

FUZZ_EXAMPLES sets how many examples hypothesis draws per route and generation mode (valid and
deliberately invalid). The default keeps the test run short; the fuzz command in the README
raises it to send more than 10,000 requests."""

from __future__ import annotations

import collections
import json
import os
from pathlib import Path

import psutil
import pytest
import requests

from tests.fake_cursor.harness import FakeCursor
from tests.support import checksum_for, gateway_env, make_token, running_gateway

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
ADMIN_TOKEN = "admin-secret"
POOL = [make_token(f"user_fuzz{i}") for i in range(3)]
POOL_FILE = "\n".join(f"{token},{checksum_for(token)}" for token in POOL)


class Tally:
    """What the fuzzer sent and what came back, printed at the end of the session."""

    def __init__(self) -> None:
        self.sent = 0
        self.statuses: collections.Counter[int] = collections.Counter()
        self.routes: collections.Counter[str] = collections.Counter()
        self.expected_5xx: collections.Counter[str] = collections.Counter()
        self.unexpected_5xx: list[str] = []

    def summary(self) -> dict:
        return {"requests_sent": self.sent, "statuses": dict(sorted(self.statuses.items())),
                "routes": len(self.routes), "spec_5xx": dict(self.expected_5xx),
                "unexpected_5xx": len(self.unexpected_5xx)}  # fmt: skip


TALLY = Tally()


@pytest.fixture(scope="session")
def tally() -> Tally:
    return TALLY


def pytest_terminal_summary(terminalreporter) -> None:
    if TALLY.sent:
        terminalreporter.write_line(f"fuzz: {json.dumps(TALLY.summary())}")
        report = os.environ.get("FUZZ_REPORT")
        if report:
            Path(report).write_text(json.dumps(TALLY.summary(), indent=2))


@pytest.fixture(scope="session")
def fuzz_fake() -> FakeCursor:
    with FakeCursor() as server:
        yield server


@pytest.fixture(scope="session")
def fuzz_target(tmp_path_factory, fuzz_fake):
    """The gateway as deployed (2 gevent workers). Images by URL stay off (`base64`): a fetched
    URL would send traffic to whatever host the fuzzer invents."""
    data_dir = tmp_path_factory.mktemp("fuzz")
    (data_dir / ".tokens").write_text(POOL_FILE)
    # The guessing limit is off: the fuzzer's own admin requests come from the address of its
    # invented bearers, and would be refused with them (tests/e2e/test_store_hardening.py tests it).
    env = gateway_env(
        data_dir, fuzz_fake.url, VISION_ABILITY="base64", REQUEST_BODY_LIMIT_MB="1", AUTH_FAILURE_LIMIT="0"
    )
    with running_gateway(env, workers=2) as server:
        server.worker_pids = {child.pid for child in psutil.Process(server.process.pid).children()}
        yield server


@pytest.fixture
def fresh_state(fuzz_target):
    """Each route starts from the same pool and settings, whatever the previous route's fuzzing
    deleted or switched off."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    requests.post(f"{fuzz_target.url}/tokens/update", json={"tokens": POOL_FILE}, headers=admin, timeout=10)
    requests.post(f"{fuzz_target.url}/tokens/enable", json={"tokens": POOL}, headers=admin, timeout=10)
    requests.post(f"{fuzz_target.url}/config", json={"action": "reset"}, headers=admin, timeout=10)
    return fuzz_target
