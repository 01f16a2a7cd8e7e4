"""Starting the server as a newcomer would (SPEC §2.2; §18 rows 1–3; decisions D11, D22)."""

from __future__ import annotations

import socket
import subprocess
import sys

import requests

from tests.support import ROOT, free_port, gateway_env, running_gateway


def start_expecting_failure(env: dict[str, str]) -> tuple[int, str, int]:
    port = free_port()
    process = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
        cwd=ROOT,
        env={**env, "PORT": str(port)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return process.returncode, process.stderr, port


def port_is_closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_blank_auth_token_refuses_to_start(tmp_path, fake):
    code, stderr, port = start_expecting_failure(gateway_env(tmp_path, fake.url, AUTH_TOKEN="   "))
    assert code != 0 and "AUTH_TOKEN" in stderr
    assert port_is_closed(port)


def test_bad_route_prefix_names_the_variable(tmp_path, fake):
    code, stderr, port = start_expecting_failure(gateway_env(tmp_path, fake.url, ROUTE_PREFIX="v1"))
    assert code != 0 and "ROUTE_PREFIX" in stderr
    assert port_is_closed(port)


def test_unset_auth_token_is_generated_once_and_reused(tmp_path, fake):
    env = gateway_env(tmp_path, fake.url)
    del env["AUTH_TOKEN"]
    with running_gateway(env, workers=2) as first:
        stored = (tmp_path / "admin_token").read_text().strip()
        assert stored and stored in first.log()  # printed once, at creation
        health = requests.get(f"{first.url}/health", headers={"Authorization": f"Bearer {stored}"}).json()
        assert "stats" in health
    with running_gateway(env, workers=1) as second:
        assert (tmp_path / "admin_token").read_text().strip() == stored
        health = requests.get(f"{second.url}/health", headers={"Authorization": f"Bearer {stored}"}).json()
        assert "stats" in health
    assert second.log().count(stored) == 1  # the shared log: printed at the first start only
    assert (tmp_path / "admin_token").stat().st_mode & 0o077 == 0


def test_port_and_dotenv(tmp_path, fake):
    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / ".env").write_text("AUTH_TOKEN=from-dotenv\nSHARED_TOKEN=shared-from-dotenv\n")
    env = gateway_env(tmp_path, fake.url)
    del env["AUTH_TOKEN"]
    with running_gateway(env, workers=1, cwd=workdir) as server:
        assert requests.get(f"http://127.0.0.1:{server.port}/health").status_code == 200
        health = requests.get(f"{server.url}/health", headers={"Authorization": "Bearer from-dotenv"}).json()
        assert "stats" in health
    # a real environment variable beats .env
    env["AUTH_TOKEN"] = "from-environment"
    with running_gateway(env, workers=1, cwd=workdir) as server:
        by_env = requests.get(f"{server.url}/health", headers={"Authorization": "Bearer from-environment"}).json()
        by_file = requests.get(f"{server.url}/health", headers={"Authorization": "Bearer from-dotenv"}).json()
        assert "stats" in by_env and "stats" not in by_file


def test_uptime_counts_from_process_start(tmp_path, fake):
    import time

    env = gateway_env(tmp_path, fake.url)
    with running_gateway(env, workers=1) as server:
        time.sleep(5)
        assert requests.get(f"{server.url}/health").json()["uptime"] >= 5  # the first call; D5: from start
