"""What the fake answers, chosen by a `fake:NAME[:ARG]` directive at the start of the last user
message. Each scenario writes the whole response; every step is its own network write."""
from __future__ import annotations

import functools
import gzip
import time
from pathlib import Path
from typing import Callable

import gevent

from app.cursor.framing import FLAG_COMPRESSED, HEADER, encode_frame
from app.cursor.proto import aiserver_pb2
from tests.fake_cursor.frames import content_start, end_frame, error_frame, message_frame, split_text, text_frame
from tests.fake_cursor.http import Connection

CONNECT = "application/connect+proto"
UNICODE_TEXT = "你好，世界！🙂 Cursor 的回答 — ünïcödé ✓ 𝄞 end"
WEB_REFERENCES = (("https://b.example/2", "B two"), ("https://a.example/1", "A first title"), ("https://a.example/1", "A"))
CAPTURE_PATH = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "stream_capture_rc4.hex"

Scenario = Callable[[Connection, str, str], None]  # (connection, argument, last user text)
SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str):
    def register(function: Scenario) -> Scenario:
        SCENARIOS[name] = function
        return function
    return register


def stream(conn: Connection, *writes: bytes, pause: float = 0.0) -> None:
    conn.start(200, CONNECT)
    for index, data in enumerate(writes):
        if pause and index:
            gevent.sleep(pause)
        conn.chunk(data)
    conn.end()


def reply(conn: Connection, text: str) -> None:
    stream(conn, content_start(), *(text_frame(piece) for piece in split_text(text)), end_frame())


@scenario("echo")
def echo(conn: Connection, arg: str, text: str) -> None:
    reply(conn, f"Echo: {text}")


@scenario("text")
def words(conn: Connection, arg: str, text: str) -> None:
    pieces = arg.split(" ")
    frames = [text_frame(pieces[0])] + [text_frame(" " + piece) for piece in pieces[1:]]
    stream(conn, content_start(), *frames, end_frame())


@scenario("chunks")
def chunks(conn: Connection, arg: str, text: str) -> None:
    stream(conn, *(text_frame(piece) for piece in arg.split("|")), end_frame(), pause=0.02)


@scenario("oneshot")
def oneshot(conn: Connection, arg: str, text: str) -> None:
    stream(conn, content_start() + text_frame("All at once.") + end_frame())


@scenario("gzip")
def gzipped(conn: Connection, arg: str, text: str) -> None:
    stream(conn, *(text_frame(piece, compress=True) for piece in ("Compressed ", "frames ", "work.")), end_frame())


@scenario("unicode")
def unicode(conn: Connection, arg: str, text: str) -> None:
    pieces = split_text(UNICODE_TEXT, 4)
    body = b"".join(text_frame(piece, compress=index % 2 == 1) for index, piece in enumerate(pieces)) + end_frame()
    conn.start(200, CONNECT)
    for offset in range(0, len(body), 5):  # 5-byte writes split characters and gzip members
        conn.chunk(body[offset:offset + 5])
        gevent.sleep(0.001)
    conn.end()


@scenario("web")
def web(conn: Connection, arg: str, text: str) -> None:
    citation = aiserver_pb2.StreamChatResponse()
    for url, title in WEB_REFERENCES:
        citation.web_citation.references.add(url=url, title=title)
    stream(conn, message_frame(citation, compress=True), content_start(), text_frame("Found it."), end_frame())


@scenario("prompt")
def prompt(conn: Connection, arg: str, text: str) -> None:
    filled = aiserver_pb2.StreamChatResponse(filled_prompt="<|BEGIN_SYSTEM|>\nfake prompt\n<|END_SYSTEM|>")
    stream(conn, message_frame(filled, compress=True), text_frame("With a prompt."), end_frame())


@scenario("error")
def error(conn: Connection, arg: str, text: str) -> None:
    name, _, option = arg.partition(":")
    stream(conn, error_frame(name, "Fake failure", f"The fake answered {name}.", compress=option == "gzip"))


@scenario("error_mid")
def error_mid(conn: Connection, arg: str, text: str) -> None:
    stream(conn, text_frame("Partial "), text_frame("answer"), error_frame(arg, "Fake failure", "Mid-stream."), pause=0.02)


@scenario("error_nodetails")
def error_nodetails(conn: Connection, arg: str, text: str) -> None:
    stream(conn, error_frame("ERROR_UNSPECIFIED", with_details=False))


@scenario("cut")
def cut(conn: Connection, arg: str, text: str) -> None:
    conn.start(200, CONNECT)
    conn.chunk(text_frame("Before the cut"))
    gevent.sleep(0.02)
    conn.abort()


@scenario("cut_mid_frame")
def cut_mid_frame(conn: Connection, arg: str, text: str) -> None:
    conn.start(200, CONNECT)
    conn.chunk(text_frame("Whole frame. ") + HEADER.pack(0, 100) + b"only part")
    gevent.sleep(0.02)
    conn.abort()


@scenario("slow_headers")
def slow_headers(conn: Connection, arg: str, text: str) -> None:
    gevent.sleep(float(arg or 5))
    reply(conn, "Slow but here.")


@scenario("slow_first_frame")
def slow_first_frame(conn: Connection, arg: str, text: str) -> None:
    conn.start(200, CONNECT)
    conn.wait(float(arg or 5))
    conn.chunk(text_frame("Late start."))
    conn.chunk(end_frame())
    conn.end()


@scenario("silence")
def silence(conn: Connection, arg: str, text: str) -> None:
    conn.start(200, CONNECT)
    conn.chunk(text_frame("Before the silence. "))
    conn.wait(float(arg or 5))
    conn.chunk(text_frame("After it."))
    conn.chunk(end_frame())
    conn.end()


@scenario("empty")
def empty(conn: Connection, arg: str, text: str) -> None:
    stream(conn)


@scenario("http_error")
def http_error(conn: Connection, arg: str, text: str) -> None:
    status = int(arg or 503)
    page = f"<html><body><h1>{status} Service Unavailable</h1>cdn</body></html>".encode()
    conn.whole(status, "text/html", page, "Error")


@scenario("garbage_after_end")
def garbage_after_end(conn: Connection, arg: str, text: str) -> None:
    stream(conn, text_frame("Complete answer."), end_frame() + b"\x00junk!\n")


@functools.cache
def _bomb() -> bytes:
    payload = aiserver_pb2.StreamChatResponse(text="x" * (64 * 1024 * 1024)).SerializeToString()
    return encode_frame(gzip.compress(payload, 9), FLAG_COMPRESSED)


@scenario("bomb")
def bomb(conn: Connection, arg: str, text: str) -> None:
    stream(conn, text_frame("Here comes a bomb. "), _bomb(), end_frame())


@scenario("huge_frame")
def huge_frame(conn: Connection, arg: str, text: str) -> None:
    stream(conn, HEADER.pack(0, 1 << 30) + b"not really a gigabyte")


@functools.cache
def capture_bytes() -> bytes:
    return bytes.fromhex(CAPTURE_PATH.read_text().strip())


@scenario("capture")
def capture(conn: Connection, arg: str, text: str) -> None:
    body = capture_bytes()
    size = int(arg) if arg else len(body)
    conn.start(200, CONNECT)
    for offset in range(0, len(body), size):
        conn.chunk(body[offset:offset + size])
        if size >= 64:
            gevent.sleep(0.0005)
    conn.end()


@scenario("big")
def big(conn: Connection, arg: str, text: str) -> None:
    total = int(arg or 8 * 1024 * 1024)
    frame = text_frame("x" * 1024)
    per_write = 64
    conn.start(200, CONNECT)
    remaining = total
    while remaining > 0:
        count = min(per_write, -(-remaining // 1024))
        conn.chunk(frame * count)
        remaining -= count * 1024
    conn.chunk(end_frame())
    conn.end()


@scenario("ticks")
def ticks(conn: Connection, arg: str, text: str) -> None:
    count, _, interval = arg.partition(":")
    conn.start(200, CONNECT)
    pause = float(interval or 100) / 1000
    started = time.monotonic()
    for index in range(int(count or 10)):
        # sleep until the scheduled time so that drift does not accumulate
        gevent.sleep(max(0.0, started + index * pause - time.monotonic()))
        conn.chunk(text_frame(f"tick {index} "))
    conn.chunk(end_frame())
    conn.end()


# Accounts that always fail the same way, whatever is asked: for token health and failover.
ACCOUNT_FAILURES = {"ratelimited": "ERROR_FREE_USER_RATE_LIMIT_EXCEEDED", "loggedout": "ERROR_NOT_LOGGED_IN",
                    "quotaout": "ERROR_FREE_USER_USAGE_LIMIT"}  # fmt: skip


def account_directive(authorization: str | None) -> tuple[str, str] | None:
    """("error", NAME) when the bearer's account id names a failure (e.g. user_ratelimited_1)."""
    from tests.fake_cursor.accounts import user_id_of

    user_id = user_id_of((authorization or "").removeprefix("Bearer ")) or ""
    return next((("error", name) for marker, name in ACCOUNT_FAILURES.items() if marker in user_id), None)


def directive(text: str) -> tuple[str, str]:
    """`fake:NAME:ARG …` at the start of the message → (NAME, ARG); else echo."""
    stripped = text.strip()
    if not stripped.startswith("fake:"):
        return "echo", ""
    name, _, arg = stripped[len("fake:"):].partition(":")
    return name.split()[0] if name.split() else "echo", arg
