"""A newcomer's loop: the fast subset needs neither chromium nor redis-server, and a run that needs
a missing program says so before any test runs (markers set in tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support import INSTALL_HINT, ROOT

FAST = "not e2e and not browser and not redis"


def run_pytest(*arguments: str, path: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *arguments]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_the_fast_subset_leaves_out_every_gunicorn_browser_and_redis_test(tmp_path):
    result = run_pytest("--collect-only", "-m", FAST, "tests/e2e", "tests/fuzz", "tests/browser", "tests/clients",
                        "tests/unit/test_store.py", path=str(tmp_path))  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    selected = [line for line in result.stdout.splitlines() if "::" in line]
    assert selected and all(line.startswith("tests/unit/test_store.py::") for line in selected)
    assert "tests/unit/test_store.py::test_counters_and_documents[sqlite]" in selected
    assert not [line for line in selected if line.endswith("[redis]")]


def test_a_run_that_needs_a_missing_program_stops_at_once_saying_what_to_install(tmp_path):
    result = run_pytest("-m", "redis", "tests/unit/test_store.py", path=str(tmp_path))  # no redis-server on PATH
    output = result.stdout + result.stderr
    assert result.returncode == 4, output  # a usage error: nothing ran
    assert "redis-server" in output and INSTALL_HINT in output and "chromium and" not in output
    assert " passed" not in output and " failed" not in output
