"""What a hostile client and an unlucky operator found (issue #14), under real gunicorn: a token
file lock held elsewhere freezes nothing (item 4), a store outage is a 503 that passes by
itself (item 5), a crash leaves the truth and no debris (item 7), guessing is slow across
workers (item 9), and with Redis gunicorn's master never imports ssl (item 10)."""

from __future__ import annotations

import concurrent.futures
import contextlib
import signal
import subprocess
import sys
import time

import psutil
import redis
import requests

from tests.support import (
    ADMIN,
    ROOT,
    GunicornServer,
    checksum_for,
    file_lock_held_elsewhere,
    gateway_env,
    make_token,
    running_gateway,
    running_redis,
)


def write_tokens(path, tokens: list[str]) -> None:
    path.write_text("\n".join(f"{token},{checksum_for(token)}" for token in tokens))


def chat(url: str, text: str = "hi", *, stream: bool = False, headers=ADMIN, timeout: float = 10) -> requests.Response:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": text}], "stream": stream}
    return requests.post(f"{url}/v1/chat/completions", json=body, headers=headers, timeout=timeout)


def admin_logs(url: str) -> dict:
    return requests.post(f"{url}/logs", headers=ADMIN, timeout=10).json()


def wait_for(check, timeout: float = 15, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(requests.RequestException):
            found = check()
            if found:
                return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(every)


# -- item 4 ---------------------------------------------------------------------------------


def test_a_token_file_lock_held_by_another_process_does_not_stop_the_worker(tmp_path, fake):
    """One worker: while another process holds the `.tokens` lock, a token change waits for it,
    and a chat and /health on the same worker are answered before the holder lets go."""
    write_tokens(tmp_path / ".tokens", [make_token("user_lock")])
    with running_gateway(gateway_env(tmp_path, fake.url), workers=1) as server:
        added = make_token("user_added_late")
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            with file_lock_held_elsewhere(tmp_path / ".tokens"):
                adding = pool.submit(
                    requests.post, f"{server.url}/tokens/add", json=[{"token": added}], headers=ADMIN, timeout=30
                )
                time.sleep(0.5)
                assert not adding.done()  # the change waits for the lock ...
                assert chat(server.url).status_code == 200  # ... and the worker answers meanwhile
                assert requests.get(f"{server.url}/health", timeout=10).status_code == 200
                answered_at = time.monotonic()
                assert not adding.done()
            released_at = time.monotonic()
            assert adding.result().json()["tokens_count"] == 2  # then the change goes through
    assert answered_at < released_at


# -- item 5 ---------------------------------------------------------------------------------


def stream_text(url: str, text: str) -> list[str]:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": text}], "stream": True}
    with requests.post(f"{url}/v1/chat/completions", json=body, headers=ADMIN, stream=True, timeout=30) as response:
        assert response.status_code == 200
        return [line for line in response.iter_lines(decode_unicode=True) if line.startswith("data: ")]


def store_errors(url: str) -> float:
    text = requests.get(f"{url}/metrics", timeout=10).text
    return sum(
        float(line.split()[-1]) for line in text.splitlines() if line.startswith("cursor_api_store_errors_total")
    )


def test_a_redis_outage_is_a_503_counted_logged_once_and_passes_by_itself(tmp_path, fake):
    tokens = [make_token("user_outage")]
    write_tokens(tmp_path / ".tokens", tokens)
    with running_redis(tmp_path / "redis") as store_server:  # this test's own: it is stopped
        env = gateway_env(tmp_path, fake.url, STORE_URL=store_server.url)
        with running_gateway(env, workers=2) as server:
            assert chat(server.url).status_code == 200
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                streaming = pool.submit(stream_text, server.url, "fake:ticks:30:100")  # three seconds
                wait_for(lambda: admin_logs(server.url)["logs"][-1]["status"] == "in_progress")
                with redis.Redis.from_url(store_server.url) as client:
                    client.save()  # Redis comes back with the state it had
                store_server.stop()

                answers = [chat(server.url) for _ in range(30)] + [chat(server.url, stream=True)]
                for answer in answers:
                    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
                    assert answer.json()["error"]["code"] == "store_unavailable"
                    assert answer.json()["error"]["type"] == "api_error"
                assert requests.get(f"{server.url}/health", headers=ADMIN, timeout=10).status_code == 503
                assert store_errors(server.url) >= len(answers)  # /metrics still answers
                events = streaming.result()  # the answer in flight was not cut
            assert events[-1] == "data: [DONE]" and len(events) > 30

            store_server.start()
            assert wait_for(lambda: chat(server.url).status_code == 200)  # nobody restarted anything
            stats = wait_for(
                lambda: admin_logs(server.url)["logs"][2]["status"] == "success" and admin_logs(server.url)
            )
            assert (stats["total"], stats["active"], stats["error"]) == (len(stats["logs"]), 0, 0)
        log = server.log()
    assert "Traceback" not in log, log[-3000:]
    outage_lines = [line for line in log.splitlines() if "the store is unavailable" in line]
    assert 1 <= len(outage_lines) <= 4, outage_lines  # once per interval and worker, not per request
    assert "MonkeyPatchWarning" not in log  # item 10: ssl was patched before anything imported it


def test_gunicorns_master_does_not_import_redis(tmp_path, redis_server):
    """redis-py imports ssl; gevent patches ssl in each worker after the fork, so the master
    (which forks the workers) must not have imported it."""
    redis_server.flush()
    code = (
        "import runpy, sys\n"
        f"config = runpy.run_path({str(ROOT / 'gunicorn.conf.py')!r})\n"
        "config['on_starting'](None)\n"
        "print(sorted(name for name in ('redis', 'requests', 'flask') if name in sys.modules))\n"
    )
    env = gateway_env(tmp_path, "http://127.0.0.1:9", STORE_URL=redis_server.url)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert redis.Redis.from_url(redis_server.url).get("cursor-api:doc:server")  # the start did its work


# -- item 7 ---------------------------------------------------------------------------------


def kill_everything(server: GunicornServer) -> None:
    master = psutil.Process(server.process.pid)
    for process in [*master.children(recursive=True), master]:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signal.SIGKILL)
    server.process.wait(10)


def test_after_kill_9_cut_answers_are_interrupted_and_no_token_debris_is_left(tmp_path, fake):
    tokens = [make_token(f"user_crash{i}") for i in range(2)]
    write_tokens(tmp_path / ".tokens", tokens)
    env = gateway_env(tmp_path, fake.url)
    server = GunicornServer(env, workers=2).start()
    try:
        assert chat(server.url).status_code == 200  # a finished one stays `success`
        pool = concurrent.futures.ThreadPoolExecutor(4)
        cut = [pool.submit(stream_text, server.url, "fake:ticks:100:100") for _ in range(2)]
        cut.append(pool.submit(chat, server.url, "fake:ticks:100:100", timeout=30))  # not streamed
        cut.append(pool.submit(chat, server.url, "fake:slow_headers:20", timeout=30))  # waits for headers
        in_flight = wait_for(lambda: [e["status"] for e in admin_logs(server.url)["logs"][1:]].count("in_progress") == 3
                             and admin_logs(server.url)["logs"][1:])  # fmt: skip
        assert sorted(entry["status"] for entry in in_flight) == ["in_progress"] * 3 + ["pending"]
        assert all("owner" not in entry for entry in in_flight)  # internal, never shown
        # A crash in the middle of writing the token file leaves its temporary copy behind.
        debris = tmp_path / ".tokens-ab12cd34.tmp"
        debris.write_text((tmp_path / ".tokens").read_text())
        kill_everything(server)
        for future in cut:
            with contextlib.suppress(Exception):
                future.result(timeout=30)
        pool.shutdown()
    finally:
        server.stop()

    with running_gateway(env, workers=2) as restarted:
        body = admin_logs(restarted.url)
        assert [entry["status"] for entry in body["logs"]] == ["success"] + ["interrupted"] * 4
        assert all("ended before the answer was complete" in entry["error"] for entry in body["logs"][1:])
        assert (body["total"], body["active"], body["error"]) == (5, 0, 4)
        assert "4 requests of a process that is gone were marked interrupted" in restarted.log()
    assert not debris.exists() and sorted(p.name for p in tmp_path.glob(".tokens*")) == [".tokens", ".tokens.lock"]


# -- item 9 ---------------------------------------------------------------------------------


def test_failed_guesses_are_limited_per_address_across_workers(tmp_path, fake):
    own = make_token("user_own_token")
    with running_gateway(gateway_env(tmp_path, fake.url), workers=2) as server:
        wrong = {"Authorization": "Bearer not-the-admin-token"}
        attempts = [
            lambda: requests.post(f"{server.url}/tokens/get", headers=wrong, timeout=10),
            lambda: requests.get(f"{server.url}/health", headers=wrong, timeout=10),  # 200 without stats
            lambda: chat(server.url, headers=wrong),
            lambda: requests.post(f"{server.url}/logs", headers=wrong, timeout=10),
            lambda: requests.post(f"{server.url}/config", json={"action": "get"}, headers=wrong, timeout=10),
        ]
        # Each request on a new connection, so both workers see some of them.
        assert [attempts[i % 5]().status_code for i in range(10)] == [401, 200, 401, 401, 401] * 2
        for attempt in attempts * 2:
            refused = attempt()
            assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
            assert refused.json()["error"]["code"] == "too_many_attempts"
        assert chat(server.url).status_code == 429  # the right secret too: a 429 tells nothing
        # A user's own Cursor token is not a guess: never counted, never refused.
        mine = {"Authorization": f"Bearer {own},{checksum_for(own)}"}
        assert [chat(server.url, headers=mine).status_code for _ in range(3)] == [200] * 3
        assert requests.get(f"{server.url}/health", timeout=10).status_code == 200  # no bearer, no guess
