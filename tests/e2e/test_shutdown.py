"""Graceful shutdown under real gunicorn (issue #5 item 1): SIGTERM lets the streams in flight
finish within the graceful timeout, and their log entries are kept for the next start; the
process exits as soon as they have, whatever idle connections clients hold (issue 13 item 5)."""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import signal
import socket
import time

import requests

from tests.support import GunicornServer, checksum_for, gateway_env, make_token, running_gateway

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


def open_idle_connection(url: str) -> socket.socket:
    """A kept-alive connection that has had one answer and now waits, as a browser's or an SDK's
    connection pool leaves it."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(b"GET /get-tsheader HTTP/1.1\r\nHost: gateway\r\n\r\n")
    reply = b""
    while b"\r\n\r\n" not in reply:
        reply += sock.recv(4096)
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"Connection: keep-alive" in head
    length = int(next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))[15:])
    while len(body) < length:
        body += sock.recv(4096)
    return sock


def request_after_sigterm(sock: socket.socket, timeout: float) -> bytes:
    """Send a request on an idle connection and return what comes back until the server closes
    the connection (nothing, if it was closed first); a hang raises TimeoutError."""
    sock.settimeout(timeout)
    reply = b""
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(b"GET /get-tsheader HTTP/1.1\r\nHost: gateway\r\n\r\n")
        while chunk := sock.recv(4096):
            reply += chunk
    return reply


def test_sigterm_exits_as_soon_as_the_streams_end_though_clients_hold_idle_connections(tmp_path, fake):
    """Issue 13 item 5: gunicorn's gevent worker waited graceful_timeout (30 s) for connections
    no request would ever come on; now the process exits within 2 s of the last stream's end."""
    token = make_token("user_idle_shutdown")
    (tmp_path / ".tokens").write_text(f"{token},{checksum_for(token)}")
    server = GunicornServer(gateway_env(tmp_path, fake.url), workers=2).start()
    idle = []
    try:
        idle = [open_idle_connection(server.url) for _ in range(4)]  # both workers hold some
        with concurrent.futures.ThreadPoolExecutor(1) as pool:

            def timed_stream() -> tuple[list[str], float]:
                events = stream_ticks(server.url)
                return events, time.monotonic()

            stream = pool.submit(timed_stream)
            time.sleep(0.5)  # the stream has started and has ~1.5 s to go
            server.process.send_signal(signal.SIGTERM)
            # A request that arrives on an idle connection after SIGTERM is answered or finds
            # the connection closed, and the connection closes; it never hangs.
            late = [request_after_sigterm(idle[0], timeout=5)]
            time.sleep(0.3)  # the workers have seen the signal
            late.append(request_after_sigterm(idle[1], timeout=5))
            events, finished = stream.result(timeout=30)
        server.process.wait(timeout=35)
        exited = time.monotonic()
    finally:
        for sock in idle:
            sock.close()
        server.stop()
    assert all(reply == b"" or reply.startswith(b"HTTP/1.1 200 OK") for reply in late), late
    assert events[-1] == "[DONE]" and content_of(events) == "".join(f"tick {n} " for n in range(TICKS))
    assert server.process.returncode == 0, server.log()[-2000:]
    assert exited - finished < 2, f"exited {exited - finished:.1f} s after the last stream ended"
