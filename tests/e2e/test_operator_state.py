"""Operator state shared by all workers and durable across a crash (issue #4; SPEC rows 55, 62, 89)."""

from __future__ import annotations

import concurrent.futures
import signal

import psutil
import requests

from tests.support import ADMIN, checksum_for, gateway_env, make_token, running_gateway


def chat(url: str, model: str = "cursor-small") -> int:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    return requests.post(f"{url}/v1/chat/completions", json=body, headers=ADMIN, timeout=30).status_code


def kill_everything(server) -> None:
    """kill -9 of the master and every worker: no shutdown hook runs."""
    processes = [psutil.Process(server.process.pid), *psutil.Process(server.process.pid).children(recursive=True)]
    for process in processes:
        process.send_signal(signal.SIGKILL)
    server.process.wait(10)


def test_logs_config_and_pages_across_workers_and_a_crash(tmp_path, fake):
    token = make_token("user_state")
    (tmp_path / ".tokens").write_text(f"{token},{checksum_for(token)}")
    env = gateway_env(tmp_path, fake.url, REQUEST_LOGS_LIMIT="200")
    with running_gateway(env, workers=4) as server:
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            assert list(pool.map(lambda _: chat(server.url), range(100))) == [200] * 100
        ids = [entry["id"] for entry in requests.post(f"{server.url}/logs", headers=ADMIN).json()["logs"]]
        assert len(ids) == 100 and ids == list(range(ids[0], ids[0] + 100))

        assert requests.post(
            f"{server.url}/config", headers=ADMIN, json={"action": "update", "enable_all_claude": True}
        ).ok
        with concurrent.futures.ThreadPoolExecutor(16) as pool:  # every worker sees it on its next request
            assert set(pool.map(lambda _: chat(server.url, "claude-9"), range(40))) == {200}

        override = {"action": "update", "path": "/api", "content": {"type": "html", "content": "<p>our api</p>"}}
        assert requests.post(f"{server.url}/config", headers=ADMIN, json=override).ok
        kill_everything(server)

    with running_gateway(env, workers=2) as restarted:
        body = requests.post(f"{restarted.url}/logs", headers=ADMIN).json()
        assert [entry["id"] for entry in body["logs"]][:100] == ids
        stats = requests.get(f"{restarted.url}/health", headers=ADMIN).json()["stats"]
        assert stats["total_requests"] == len(body["logs"]) == 140
        assert requests.get(f"{restarted.url}/api").text == "<p>our api</p>"
        assert chat(restarted.url, "claude-9") == 400  # a non-page setting is back to its env value
        assert chat(restarted.url) == 200
        after = requests.post(f"{restarted.url}/logs", headers=ADMIN).json()["logs"]
        assert after[-1]["id"] == ids[-1] + 41  # ids continue after the restart
