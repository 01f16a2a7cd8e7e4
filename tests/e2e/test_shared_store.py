"""Two gateway instances (two gunicorns, each with its own DATA_DIR and `.tokens`, as on two
hosts) sharing one Redis behave as one gateway (D19, issue 5): one rotation order, one pool,
one runtime config, one log; and joining instances never reset what the others serve."""

from __future__ import annotations

import concurrent.futures

import requests

from tests.support import (
    ADMIN,
    checksum_for,
    free_port,
    gateway_env,
    make_token,
    port_is_closed,
    running_gateway,
    start_expecting_failure,
)


def chat(url: str, model: str = "gpt-4o") -> int:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    return requests.post(f"{url}/v1/chat/completions", json=body, headers=ADMIN, timeout=30).status_code


def pooled(url: str) -> list[str]:
    return [entry["token"] for entry in requests.post(f"{url}/tokens/get", headers=ADMIN, timeout=10).json()["tokens"]]


def write_tokens(path, tokens: list[str]) -> None:
    path.write_text("\n".join(f"{token},{checksum_for(token)}" for token in tokens))


def test_two_instances_on_one_redis_are_one_gateway(tmp_path, fake, redis_server):
    redis_server.flush()
    fake.clear()
    tokens = [make_token(f"user_shared{i}") for i in range(3)]
    stranger = make_token("user_only_on_b")
    host_a, host_b = tmp_path / "a", tmp_path / "b"
    host_a.mkdir()
    host_b.mkdir()
    write_tokens(host_a / ".tokens", tokens)
    write_tokens(host_b / ".tokens", [stranger])  # B's file: not loaded, the store has a pool
    env_a = gateway_env(host_a, fake.url, STORE_URL=redis_server.url, USAGE_CHECK="none")
    env_b = gateway_env(host_b, fake.url, STORE_URL=redis_server.url, USAGE_CHECK="none")

    with running_gateway(env_a) as a, running_gateway(env_b) as b:
        assert "shared store already holds 3 tokens" in b.log()
        assert pooled(a.url) == pooled(b.url) == tokens

        assert [chat(server.url) for server in [a, b] * 15] == [200] * 30
        used = [r["headers"]["Authorization"].removeprefix("Bearer ") for r in fake.chat_requests()]
        assert used == [tokens[i % 3] for i in range(30)]  # one global round-robin order

        added = make_token("user_added_on_a")
        response = requests.post(f"{a.url}/tokens/add", json=[{"token": added}], headers=ADMIN, timeout=10)
        assert response.json()["tokens_count"] == 4
        assert pooled(b.url) == [*tokens, added]
        assert added in (host_a / ".tokens").read_text()  # the instance that changed it writes its file
        assert (host_b / ".tokens").read_text().split(",")[0] == stranger  # the other host's file is its own

        assert requests.post(f"{a.url}/config", headers=ADMIN, json={"action": "update", "enable_all_claude": True}).ok
        assert chat(b.url, "claude-9") == 200  # runtime config is shared

        logs = requests.post(f"{b.url}/logs", headers=ADMIN, timeout=10).json()["logs"]
        assert [entry["id"] for entry in logs] == list(range(1, 32))  # one log, one id sequence

    # B restarts alone while A's state stays in Redis: it joins instead of resetting.
    with running_gateway(env_b, workers=1) as b:
        assert pooled(b.url) == [*tokens, added]
        assert chat(b.url, "claude-9") == 200
        stats = requests.get(f"{b.url}/health", headers=ADMIN, timeout=10).json()["stats"]
        assert stats["total_requests"] == 32 and stats["active_requests"] == 0
        assert requests.post(f"{b.url}/tokens/reload", headers=ADMIN, timeout=10).ok  # the operator's explicit choice
        assert pooled(b.url) == [stranger]


def test_the_first_instance_seeds_an_empty_store_from_its_file(tmp_path, fake, redis_server):
    redis_server.flush()
    token = make_token("user_seed")
    write_tokens(tmp_path / ".tokens", [token])
    env = gateway_env(tmp_path, fake.url, STORE_URL=redis_server.url)
    with running_gateway(env, workers=1) as server:
        assert pooled(server.url) == [token]
        assert "shared store already holds" not in server.log()


def test_an_unreachable_redis_stops_the_start_naming_store_url_not_its_password(tmp_path, fake):
    url = f"redis://gateway:hunter2@127.0.0.1:{free_port()}/0"
    code, stderr, port = start_expecting_failure(gateway_env(tmp_path, fake.url, STORE_URL=url))
    assert code != 0 and "STORE_URL redis://***@127.0.0.1" in stderr and "hunter2" not in stderr
    assert port_is_closed(port)


def add_token(url: str, name: str) -> int:
    body = [{"token": make_token(name)}]
    return requests.post(f"{url}/tokens/add", json=body, headers=ADMIN, timeout=20).status_code


def test_concurrent_token_changes_on_one_worker_do_not_stall_it(tmp_path, fake, redis_server):
    """Store calls yield to gevent inside the `.tokens` lock; greenlets of one worker must queue
    cooperatively, not in flock (which would block the whole worker for good)."""
    redis_server.flush()
    env = gateway_env(tmp_path, fake.url, STORE_URL=redis_server.url)
    with running_gateway(env, workers=1) as server:
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            assert list(pool.map(lambda i: add_token(server.url, f"user_busy{i:02d}"), range(40))) == [200] * 40
        assert len(pooled(server.url)) == 40


def test_concurrent_additions_on_two_instances_are_all_kept(tmp_path, fake, redis_server):
    """Each host's file lock does not exclude the other host: the store swap is conditional,
    so no addition overwrites another."""
    redis_server.flush()
    hosts = [tmp_path / "a", tmp_path / "b"]
    for host in hosts:
        host.mkdir()
    envs = [gateway_env(host, fake.url, STORE_URL=redis_server.url) for host in hosts]
    with running_gateway(envs[0]) as a, running_gateway(envs[1]) as b:
        jobs = [(server.url, f"user_race_{side}{i:02d}") for i in range(20) for side, server in (("a", a), ("b", b))]
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            assert list(pool.map(lambda job: add_token(*job), jobs)) == [200] * 40
        assert len(pooled(a.url)) == 40 and sorted(pooled(a.url)) == sorted(pooled(b.url))
