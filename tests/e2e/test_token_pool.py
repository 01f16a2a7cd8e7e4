"""The token pool is one pool for all workers (D19), and its file survives a killed worker
(issue #3, "How we will know")."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import time

import psutil
import requests

from app.cursor.checksum import is_valid_checksum
from tests.support import ADMIN, checksum_for, gateway_env, make_token, running_gateway


def chat(url: str) -> int:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    return requests.post(f"{url}/v1/chat/completions", json=body, headers=ADMIN, timeout=30).status_code


def test_four_workers_rotate_one_pool_and_see_additions_at_once(tmp_path, fake):
    tokens = [make_token(f"user_pool{i}") for i in range(4)]
    (tmp_path / ".tokens").write_text("\n".join(f"{t},{checksum_for(t)}" for t in tokens))
    fake.clear()
    with running_gateway(gateway_env(tmp_path, fake.url), workers=4) as server:
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            assert list(pool.map(lambda _: chat(server.url), range(40))) == [200] * 40
        used = [r["headers"]["Authorization"].removeprefix("Bearer ") for r in fake.chat_requests()]
        assert {token: used.count(token) for token in tokens} == dict.fromkeys(tokens, 10)

        added = make_token("user_added")
        assert (
            requests.post(f"{server.url}/tokens/add", json=[{"token": added}], headers=ADMIN).json()["tokens_count"]
            == 5
        )
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            views = list(pool.map(lambda _: requests.post(f"{server.url}/tokens/get", headers=ADMIN).json(), range(40)))
        assert all(added in [entry["token"] for entry in view["tokens"]] for view in views)


def test_killing_a_worker_during_concurrent_adds_loses_no_acknowledged_token(tmp_path, fake):
    with running_gateway(gateway_env(tmp_path, fake.url), workers=4) as server:
        workers = psutil.Process(server.process.pid).children()
        candidates = [make_token(f"user_kill{i:02d}") for i in range(50)]

        def add(token: str) -> str | None:
            try:
                response = requests.post(f"{server.url}/tokens/add", json=[{"token": token}], headers=ADMIN, timeout=30)
            except requests.RequestException:
                return None  # the killed worker's connection: not acknowledged
            return token if response.status_code == 200 else None

        with concurrent.futures.ThreadPoolExecutor(25) as pool:
            futures = [pool.submit(add, token) for token in candidates]
            time.sleep(0.05)
            os.kill(workers[0].pid, signal.SIGKILL)
            acknowledged = [token for token in (f.result() for f in futures) if token]
        assert len(acknowledged) >= 25  # most calls went through; some may have hit the dead worker
        lines = (tmp_path / ".tokens").read_text().split("\n")
        stored = [line.split(",") for line in lines if line]
        assert all(len(parts) == 2 and is_valid_checksum(parts[1]) for parts in stored)  # well formed
        assert set(acknowledged) <= {token for token, _ in stored}
        assert len({token for token, _ in stored}) == len(stored)  # no duplicates
        listed = requests.post(f"{server.url}/tokens/get", headers=ADMIN).json()["tokens"]
        assert set(acknowledged) <= {entry["token"] for entry in listed}  # and in the pool every worker uses
