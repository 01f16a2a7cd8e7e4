"""`python -m app.tools.doctor` against the fake: it names the setting to change for a stale
client version, a deprecated generation and a dead token (issue #12 item 9)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app import create_app
from app.settings import Settings
from app.tools.doctor import diagnose, report
from tests.fake_cursor.harness import FakeCursor
from tests.support import ROOT, checksum_for, gateway_env, make_token


@pytest.fixture(scope="module")
def dead_legacy():
    """A fake whose StreamChat is refused as Cursor's is since mid-2025."""
    with FakeCursor(env={"FAKE_LEGACY_DEPRECATED": "1"}) as server:
        yield server


def settings_for(fake, tmp_path, **env) -> Settings:
    return Settings.from_env(gateway_env(tmp_path, fake.url, CURSOR_AGENT_BASE_URL=fake.url, **env))


def failures(checks) -> dict[tuple[str, str], str]:
    return {(check.generation, check.step.split(" (")[0]): check.setting or "" for check in checks if not check.ok}


def test_a_working_agent_and_a_deprecated_legacy_generation(dead_legacy, tmp_path):
    settings = settings_for(dead_legacy, tmp_path, CURSOR_PROTOCOL="legacy")
    token = make_token("user_doctor")
    checks = diagnose(settings, token, checksum_for(token))
    assert [(c.generation, c.ok) for c in checks] == [("agent", True), ("agent", True), ("legacy", False)]
    assert "CURSOR_PROTOCOL=agent" in failures(checks)[("legacy", "one-word chat")]
    printed = report(checks, settings, token)
    assert "set CURSOR_PROTOCOL=agent" in printed and token not in printed


def test_a_stale_client_version_names_cursor_client_version(dead_legacy, tmp_path):
    settings = settings_for(dead_legacy, tmp_path, CURSOR_CLIENT_VERSION="cli-2026.01.05-0c04a8a")
    checks = diagnose(settings, make_token("user_doctor"))
    failed = failures(checks)
    assert "CURSOR_CLIENT_VERSION" in failed[("agent", "model list")]
    assert "CURSOR_CLIENT_VERSION" in failed[("agent", "one-word chat")]


def test_a_dead_token_names_the_credential(upstream, tmp_path):
    settings = settings_for(upstream, tmp_path)
    checks = diagnose(settings, make_token("user_loggedout"))
    assert "credential" in failures(checks)[("agent", "one-word chat")]


def test_the_command_uses_the_pool_and_masks_its_token(upstream, tmp_path):
    token = make_token("user_doctor_pool")
    env = gateway_env(tmp_path, upstream.url, CURSOR_AGENT_BASE_URL=upstream.url)
    (tmp_path / ".tokens").write_text(f"{token},{checksum_for(token)}")
    create_app(Settings.from_env(env))  # a start loads .tokens into the store the doctor reads
    done = subprocess.run(
        [sys.executable, "-m", "app.tools.doctor"],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "ok   agent  one-word chat" in done.stdout and token not in done.stdout
