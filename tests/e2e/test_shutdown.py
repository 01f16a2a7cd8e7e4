"""Graceful shutdown under real gunicorn (issue #5 item 1): SIGTERM lets the streams in flight
finish within the graceful timeout, and their log entries are kept for the next start."""

from __future__ import annotations

import concurrent.futures
import json
import signal
import time

import requests

from tests.conftest import checksum_for
from tests.support import GunicornServer, gateway_env, make_token, running_gateway

ADMIN = {"Authorization": "Bearer admin-secret"}
TICKS = 20  # frames 100 ms apart: a two-second answer
STREAMS = 4


def stream_ticks(url: str) -> list[str]:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": f"fake:ticks:{TICKS}:100"}], "stream": True}
    with requests.post(f"{url}/v1/chat/completions", json=body, headers=ADMIN, stream=True, timeout=30) as response:
        assert response.status_code == 200
        return [
            line.removeprefix("data: ")
            for line in response.iter_lines(decode_unicode=True)
            if line.startswith("data: ")
        ]


def content_of(events: list[str]) -> str:
    chunks = [json.loads(event) for event in events if event != "[DONE]"]
    return "".join(choice["delta"].get("content") or "" for chunk in chunks for choice in chunk["choices"])


def test_sigterm_lets_streams_in_flight_finish_and_keeps_their_logs(tmp_path, fake):
    token = make_token("user_shutdown")
    (tmp_path / ".tokens").write_text(f"{token},{checksum_for(token)}")
    env = gateway_env(tmp_path, fake.url)
    server = GunicornServer(env, workers=2).start()
    try:
        with concurrent.futures.ThreadPoolExecutor(STREAMS) as pool:
            streams = [pool.submit(stream_ticks, server.url) for _ in range(STREAMS)]
            time.sleep(0.5)  # every stream has started and has ~1.5 s to go
            signalled = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            answers = [stream.result() for stream in streams]
        server.process.wait(timeout=35)
        stopped_after = time.monotonic() - signalled
    finally:
        server.stop()
    expected = "".join(f"tick {n} " for n in range(TICKS))
    for events in answers:
        assert events[-1] == "[DONE]"
        assert content_of(events) == expected
    assert server.process.returncode == 0, server.log()[-2000:]
    assert stopped_after < 30  # gunicorn's graceful_timeout: nobody was cut off at the deadline

    with running_gateway(env) as restarted:
        logs = requests.post(f"{restarted.url}/logs", headers=ADMIN, timeout=10).json()["logs"]
    finished = [entry for entry in logs if entry["stream"]]
    assert len(finished) == STREAMS
    assert all(entry["status"] == "success" and entry["timing"]["total"] >= 1.5 for entry in finished)
