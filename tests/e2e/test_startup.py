"""Starting the server as a newcomer would (SPEC §2.2; §18 rows 1–3; decisions D11, D22)."""

from __future__ import annotations

import requests

from tests.support import gateway_env, port_is_closed, running_gateway, start_expecting_failure


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


# -- issue #14 item 10: DATA_DIR problems name the variable and stop cleanly ------------------


def unwritable_folder(tmp_path):
    """A folder this user cannot write to. root writes anywhere a mode allows, so for root it is
    one of sysfs' folders, which refuse new files to everyone."""
    import os
    from pathlib import Path

    if os.geteuid() == 0:
        return Path("/sys/kernel")
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    return folder


def test_a_data_dir_that_is_a_file_names_data_dir(tmp_path, fake):
    target = tmp_path / "data"
    target.write_text("not a folder")
    env = gateway_env(tmp_path, fake.url, DATA_DIR=str(target), TOKEN_LIST_FILE=str(tmp_path / ".tokens"))
    code, stderr, port = start_expecting_failure(env)
    assert code != 0 and f"DATA_DIR {target} is a file, not a folder" in stderr, stderr
    assert "Traceback" not in stderr and port_is_closed(port)


def test_an_unwritable_data_dir_names_data_dir_and_leaves_nothing(tmp_path, fake):
    folder = unwritable_folder(tmp_path)
    env = gateway_env(tmp_path, fake.url, DATA_DIR=str(folder), TOKEN_LIST_FILE=str(tmp_path / ".tokens"))
    del env["AUTH_TOKEN"]  # a first start: the admin token would be generated there
    code, stderr, port = start_expecting_failure(env)
    assert code != 0 and f"DATA_DIR {folder}" in stderr and "not writable" in stderr, stderr
    assert "Traceback" not in stderr and port_is_closed(port)
    assert not (folder / "admin_token").exists()
