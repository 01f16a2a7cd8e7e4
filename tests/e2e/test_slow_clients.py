"""Slow clients cannot starve a worker, and answers that are too large arrive as responses
(issue 14 item 6), under real gunicorn with the gateway's worker (app/worker.py).

Every loop here is bounded in count and time; sockets only go to 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import resource
import selectors
import socket
import statistics
import time
from collections.abc import Iterator

import requests

from tests.support import ADMIN, GunicornServer, chat_body, checksum_for, gateway_env, make_token

BOUND = 10.0  # CLIENT_HEADER_TIMEOUT = CLIENT_BODY_TIMEOUT = CLIENT_KEEPALIVE_TIMEOUT here
SLACK = 5.0
KINDS = ("silent", "half_head", "half_body", "idle_after_answer")
HALF_HEAD = b"POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
HALF_BODY = (
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
    b'Authorization: Bearer admin-secret\r\nContent-Length: 1000\r\n\r\n{"model": "gpt-4o", '
)
ANSWERED = b"GET /get-tsheader HTTP/1.1\r\nHost: gateway\r\n\r\n"


def raise_open_files_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(
            resource.RLIMIT_NOFILE, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard)
        )


@contextlib.contextmanager
def gateway(tmp_path, fake, workers: int, **env: str) -> Iterator[GunicornServer]:
    token = make_token("user_slow_clients")
    (tmp_path / ".tokens").write_text(f"{token},{checksum_for(token)}")
    server = GunicornServer(gateway_env(tmp_path, fake.url, **env), workers=workers).start()
    try:
        yield server
    finally:
        server.stop()


def read_response(sock: socket.socket) -> bytes:
    """One whole response with a Content-Length body."""
    reply = b""
    while b"\r\n\r\n" not in reply:
        chunk = sock.recv(65536)
        assert chunk, reply
        reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    length = next(int(line[15:]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def open_slow(port: int, kind: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    if kind == "half_head":
        sock.sendall(HALF_HEAD)
    elif kind == "half_body":
        sock.sendall(HALF_BODY)
    elif kind == "idle_after_answer":
        sock.sendall(ANSWERED)
        assert b"Connection: keep-alive" in read_response(sock)
    sock.setblocking(False)
    return sock


def timed_chats(url: str, count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        started = time.monotonic()
        response = requests.post(f"{url}/v1/chat/completions", json=chat_body("hello"), headers=ADMIN, timeout=60)
        latencies.append(time.monotonic() - started)
        assert response.status_code == 200, response.text
    return latencies


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server has closed it (what it sent before is read and dropped)."""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return True
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


def wait_until_closed(sockets: dict[socket.socket, str], deadline: float) -> dict[socket.socket, bytes]:
    """What each socket received until the server closed it, for those it closed by `deadline`."""
    received = dict.fromkeys(sockets, b"")
    closed: dict[socket.socket, bytes] = {}
    with selectors.DefaultSelector() as selector:
        for sock in sockets:
            selector.register(sock, selectors.EVENT_READ)
        while len(closed) < len(sockets) and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=min(0.5, max(0.0, deadline - time.monotonic()))):
                sock = key.fileobj
                try:
                    while chunk := sock.recv(65536):
                        received[sock] += chunk
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    pass
                closed[sock] = received[sock]
                selector.unregister(sock)
    return closed


def test_a_chat_answers_at_once_beside_2000_slow_connections_which_are_dropped_within_the_bound(tmp_path, fake):
    raise_open_files_limit(8192)
    bound = str(BOUND)
    limits = {"CLIENT_HEADER_TIMEOUT": bound, "CLIENT_BODY_TIMEOUT": bound, "CLIENT_KEEPALIVE_TIMEOUT": bound}
    with gateway(tmp_path, fake, workers=2, **limits) as server:
        sockets: dict[socket.socket, str] = {}
        try:
            first_opened = time.monotonic()
            for index in range(2000):
                if time.monotonic() - first_opened > BOUND / 2:
                    break  # the machine is too slow for the premise; asserted below
                kind = KINDS[index % len(KINDS)]
                sockets[open_slow(server.port, kind)] = kind
            all_opened = time.monotonic()
            assert len(sockets) == 2000, f"opened only {len(sockets)} in {all_opened - first_opened:.1f} s"

            latencies = timed_chats(server.url, 5)
            # ... while every slow connection is still open: none was dropped to make room.
            still_open = sum(not closed_by_server(sock) for sock in sockets)
            answered_within = time.monotonic() - first_opened
            print(f"opened 2000 in {all_opened - first_opened:.2f} s; chat latencies {latencies}")
            assert still_open == 2000, (still_open, answered_within)
            assert statistics.median(latencies) < 1.0 and max(latencies) < BOUND / 2, latencies

            closed = wait_until_closed(sockets, all_opened + BOUND + SLACK)
            waited = time.monotonic() - all_opened
            print(f"{len(closed)} of {len(sockets)} closed by the server {waited:.1f} s after the last was opened")
            assert len(closed) == len(sockets), {kind: list(sockets.values()).count(kind) for kind in KINDS}
            for sock, reply in closed.items():
                if sockets[sock] == "half_head":
                    assert reply.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), reply[:200]
                elif sockets[sock] == "half_body":
                    assert reply.startswith(b"HTTP/1.1 408 ") and b"Connection: close\r\n" in reply, reply[:300]
                    assert b'"code":"request_timeout"' in reply, reply[-300:]
                else:
                    assert reply == b"", reply[:200]
            assert "Traceback" not in server.log()
        finally:
            for sock in sockets:
                sock.close()


def test_connections_beyond_worker_connections_make_the_longest_waiting_give_way(tmp_path, fake):
    """4,100 slow connections once filled a worker (worker_connections = 4000): new clients waited
    in the listen queue. Scaled down to worker_connections = 200 and 300 stalled connections."""
    raise_open_files_limit(4096)
    limits = {"CLIENT_HEADER_TIMEOUT": "60", "CLIENT_BODY_TIMEOUT": "60"}  # no slot frees by a timeout
    with gateway(tmp_path, fake, workers=1, GUNICORN_CMD_ARGS="--worker-connections 200", **limits) as server:
        stalled: list[socket.socket] = []
        try:
            started = time.monotonic()
            for _ in range(300):
                if time.monotonic() - started > 20:
                    break
                stalled.append(open_slow(server.port, "half_head"))
                time.sleep(0.002)  # accepted in the order opened
            assert len(stalled) == 300
            latencies = timed_chats(server.url, 5)
            print(f"chat latencies beside 300 stalled connections: {latencies}")
            assert statistics.median(latencies) < 1.0 and max(latencies) < 10, latencies
            open_now = [not closed_by_server(sock) for sock in stalled]
            assert sum(open_now) <= 200 and all(open_now[-100:]), sum(open_now)  # the oldest gave way
            assert "that waited longest for their client to make room" in server.log()
        finally:
            for sock in stalled:
                sock.close()


def send_and_read_all(port: int, request: bytes) -> bytes:
    """Send a whole request at once, then read until the server closes: a reset raises."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(request)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
        return reply


def test_requests_too_large_get_responses_not_resets(tmp_path, fake):
    big_body = b'{"model": "gpt-4o", "messages": []}' + b" " * (3 * 1024 * 1024)  # over the 2 MiB limit
    cases = {
        "414": b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: gateway\r\n\r\n",
        "431": b"GET /health HTTP/1.1\r\nHost: gateway\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n",
        "431 fields": b"GET /health HTTP/1.1\r\nHost: gateway\r\n"
        + b"".join(b"X-%d: 1\r\n" % n for n in range(300))
        + b"\r\n",
        "413": b"POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
        + b"Authorization: Bearer admin-secret\r\nContent-Length: %d\r\n\r\n" % len(big_body)
        + big_body,
        "413 chunked": b"POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
        + b"Authorization: Bearer admin-secret\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"%x\r\n%s\r\n0\r\n\r\n" % (len(big_body), big_body),
    }
    with gateway(tmp_path, fake, workers=2) as server:
        for name, request in cases.items():
            for _ in range(10):  # a reset is a race: each case several times
                reply = send_and_read_all(server.port, request)
                assert reply.startswith(f"HTTP/1.1 {name[:3]} ".encode()), (name, reply[:200])
                assert b"Connection: close\r\n" in reply.partition(b"\r\n\r\n")[0], (name, reply[:300])
        body = b"x" * (50 * 1024 * 1024)
        response = requests.post(
            f"{server.url}/v1/chat/completions",
            data=body,
            headers={**ADMIN, "Content-Type": "application/json"},
            timeout=60,
        )
        assert response.status_code == 413 and response.json()["error"]["code"] == "request_too_large"


def test_a_kept_alive_connection_serves_one_request_after_another(tmp_path, fake):
    """The deadlines and the body drain leave ordinary keep-alive alone: a chat, a refused chat
    whose body the app never reads (drained), and a GET, one after another on one connection."""
    body = json.dumps(chat_body("hello")).encode()
    chat = b"POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
    requests_in_turn = [
        chat + b"Authorization: Bearer admin-secret\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body),
        chat + b"Authorization: Bearer wrong\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body),
        ANSWERED,
    ]
    with gateway(tmp_path, fake, workers=1) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
            statuses = []
            for request in requests_in_turn:
                sock.sendall(request)
                reply = read_response(sock)
                assert b"Connection: keep-alive\r\n" in reply, reply[:300]
                statuses.append(reply[9:12])
    assert statuses == [b"200", b"401", b"200"]
