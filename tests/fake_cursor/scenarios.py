"""What the fake answers, chosen by a `fake:NAME` or `fake:NAME:ARG` token in the last user
message (README.md lists them). Each scenario is one small function that checks its argument
and returns a Reply; its writes run only once the response has started, and every write is
its own network write (one HTTP chunk)."""

from __future__ import annotations

import functools
import math
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from app.cursor.framing import HEADER
from app.cursor.proto import aiserver_pb2
from tests.fake_cursor.accounts import user_id_of
from tests.fake_cursor.frames import (
    bomb_frame,
    content_start,
    end_frame,
    end_of_stream,
    error_enum,
    error_frame,
    message_frame,
    split_text,
    text_frame,
    text_frames,
)  # fmt: skip
from tests.fake_cursor.wire import Reply, Wire

# Texts the scenarios send, for tests to compare against.
ERROR_TITLE = "Fake failure"
ONESHOT_TEXT = "All at once, in a single write."
GZIP_PIECES = ("Compressed ", "frames ", "work.")
# CJK, emoji (4-byte UTF-8) and accents; sent in 4-character frames, every other one gzip,
# and the whole body in 5-byte writes: characters and gzip members are cut across writes.
UNICODE_TEXT = "你好，世界！🙂 Cursor 的回答 — ünïcödé ✓ 𝄞 end"
UNICODE_WRITE_BYTES = 5
# Two URLs out of order and a repeated URL with a new title: clients sort by URL, last title wins.
WEB_REFERENCES = (("https://b.example/2", "B two"), ("https://a.example/1", "A first title"),
                  ("https://a.example/1", "A"))  # fmt: skip
WEB_TEXT = "Found it."
FILLED_PROMPT = "<|BEGIN_SYSTEM|>\nfake prompt\n<|END_SYSTEM|>"
PROMPT_TEXT = "With a prompt."
MID_ERROR_PIECES = ("Partial ", "answer")
CUT_PIECES = ("Before ", "the cut")
CUT_MID_FRAME_PROMISED = 100
GARBAGE = b"\x00junk!\n"  # 7 bytes after the end frame
SILENCE_PIECES = ("Before the silence. ", "After it.")
SLOW_HEADERS_TEXT = "Slow but here."
LATE_TEXT = "Late start."
BIG_FRAME_TEXT = "x" * 1024
BIG_FRAMES_PER_WRITE = 64  # ~66 KB writes: throughput, not syscalls, is measured
HUGE_FRAME_LENGTH = 1 << 30
CHUNK_PAUSE = 0.02
UNICODE_PAUSE = 0.001  # so the client really reads the 5-byte writes one by one
CAPTURE_PATH = Path(__file__).resolve().parents[1] / "vectors" / "stream_capture_rc4.hex"

# Accounts that always fail the same way, whatever is asked: for token health and failover tests.
ACCOUNT_FAILURES = {"ratelimited": "ERROR_FREE_USER_RATE_LIMIT_EXCEEDED", "loggedout": "ERROR_NOT_LOGGED_IN",
                    "quotaout": "ERROR_FREE_USER_USAGE_LIMIT"}  # fmt: skip

_DIRECTIVE = re.compile(r"(?<!\S)fake:(?P<name>[a-z_]+)(?::(?P<arg>\S*))?(?!\S)")


class BadArgument(ValueError):
    """The directive's ARG does not fit its scenario (answered with a bad-request trailer)."""


@dataclass(frozen=True)
class Directive:
    name: str
    arg: str = ""  # the rest of the directive token after `fake:NAME:`
    rest: str = ""  # from ARG to the end of the message: free text for text: and chunks:


@dataclass(frozen=True)
class Call:
    arg: str
    rest: str
    text: str  # the last user message
    wire: Wire


Scenario = Callable[[Call], Reply]
SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str) -> Callable[[Scenario], Scenario]:
    def register(function: Scenario) -> Scenario:
        SCENARIOS[name] = function
        return function

    return register


def directive(text: str) -> Directive:
    """The first `fake:NAME[:ARG]` token of the message; none means echo."""
    match = _DIRECTIVE.search(text)
    if match is None:
        return Directive("echo")
    if match.group("arg") is None:
        return Directive(match.group("name"))
    return Directive(match.group("name"), match.group("arg"), text[match.start("arg") :])


def account_directive(authorization: str | None) -> Directive | None:
    """`error:NAME` for a bearer whose user id names a failure (e.g. user_ratelimited_1)."""
    user_id = user_id_of((authorization or "").removeprefix("Bearer ")) or ""
    return next((Directive("error", name) for marker, name in ACCOUNT_FAILURES.items() if marker in user_id), None)


# -- argument parsing ------------------------------------------------------------------------


def _numbers(arg: str, *defaults: float) -> list:
    """ARG's ':'-separated values, each parsed like its default (int or float); missing ones
    take the default."""
    parts = arg.split(":") if arg else []
    if len(parts) > len(defaults):
        raise BadArgument(f"expected at most {len(defaults)} ':'-separated values, got {arg!r}")
    try:
        values = [type(default)(part) for default, part in zip(defaults, parts, strict=False)] + list(
            defaults[len(parts) :]
        )
    except ValueError:
        raise BadArgument(f"not a number in {arg!r}") from None
    if not all(math.isfinite(value) and value >= 0 for value in values):
        raise BadArgument(f"values must be finite and not negative: {arg!r}")
    return values


def _failure(name: str, compress: bool = False) -> bytes:
    try:
        error_enum(name)
    except ValueError:
        raise BadArgument(f"{name!r} is not an ErrorDetails.Error name") from None
    return error_frame(name, ERROR_TITLE, f"The fake answered {name}.", compress)


def _paced(wire: Wire, writes: Iterable[bytes], pause: float) -> Iterator[bytes]:
    for index, data in enumerate(writes):
        if index:
            wire.wait(pause)
        yield data


def _reply_with(text: str) -> list[bytes]:
    return [content_start(), *text_frames(split_text(text)), end_frame()]


# -- normal answers --------------------------------------------------------------------------


@scenario("echo")
def echo(call: Call) -> Reply:
    return Reply(_reply_with(f"Echo: {call.text}"))


@scenario("text")
def words(call: Call) -> Reply:
    """One frame per space-separated piece, spaces kept: "A B C" -> "A", " B", " C"."""
    if not call.rest:
        raise BadArgument("text needs WORDS")
    first, *others = call.rest.split(" ")
    return Reply([content_start(), *text_frames([first, *(" " + piece for piece in others)]), end_frame()])


@scenario("chunks")
def chunks(call: Call) -> Reply:
    pieces = [piece for piece in call.rest.split("|") if piece]
    if not pieces:
        raise BadArgument("chunks needs A|B|C")
    return Reply(_paced(call.wire, [*text_frames(pieces), end_frame()], CHUNK_PAUSE))


@scenario("oneshot")
def oneshot(call: Call) -> Reply:
    return Reply([b"".join(_reply_with(ONESHOT_TEXT))])


@scenario("gzip")
def gzipped(call: Call) -> Reply:
    return Reply([content_start(), *text_frames(list(GZIP_PIECES), compress=True), end_frame()])


@scenario("unicode")
def unicode(call: Call) -> Reply:
    pieces = split_text(UNICODE_TEXT, 4)
    frames = [text_frame(piece, compress=index % 2 == 1) for index, piece in enumerate(pieces)]
    body = content_start() + b"".join(frames) + end_frame()
    writes = [body[i : i + UNICODE_WRITE_BYTES] for i in range(0, len(body), UNICODE_WRITE_BYTES)]
    return Reply(_paced(call.wire, writes, UNICODE_PAUSE))


@scenario("web")
def web(call: Call) -> Reply:
    citation = aiserver_pb2.StreamChatResponse()
    for url, title in WEB_REFERENCES:
        citation.web_citation.references.add(url=url, title=title)
    return Reply(
        [message_frame(citation, compress=True), content_start(), *text_frames(split_text(WEB_TEXT)), end_frame()]
    )


@scenario("prompt")
def prompt(call: Call) -> Reply:
    filled = aiserver_pb2.StreamChatResponse(filled_prompt=FILLED_PROMPT)
    return Reply(
        [message_frame(filled, compress=True), content_start(), *text_frames(split_text(PROMPT_TEXT)), end_frame()]
    )


# -- errors ----------------------------------------------------------------------------------


@scenario("error")
def error(call: Call) -> Reply:
    name, _, option = call.arg.partition(":")
    if option not in ("", "gzip"):
        raise BadArgument(f"error:NAME takes only ':gzip' after the name, got {option!r}")
    return Reply([_failure(name, compress=option == "gzip")])


@scenario("error_mid")
def error_mid(call: Call) -> Reply:
    writes = [content_start(), *text_frames(list(MID_ERROR_PIECES)), _failure(call.arg)]
    return Reply(_paced(call.wire, writes, CHUNK_PAUSE))


@scenario("error_nodetails")
def error_nodetails(call: Call) -> Reply:
    return Reply([end_of_stream({"error": {"code": "internal", "message": "Error", "details": []}})])


# -- broken bodies ---------------------------------------------------------------------------


@scenario("cut")
def cut(call: Call) -> Reply:
    def writes() -> Iterator[bytes]:
        yield content_start()
        yield from text_frames(list(CUT_PIECES))
        call.wire.wait(CHUNK_PAUSE)  # let the client read the text before the connection goes
        call.wire.drop()

    return Reply(writes())


@scenario("cut_after_headers")
def cut_after_headers(call: Call) -> Reply:
    def writes() -> Iterator[bytes]:
        call.wire.send_headers()
        call.wire.wait(CHUNK_PAUSE)
        call.wire.drop()
        yield from ()

    return Reply(writes())


@scenario("cut_mid_frame")
def cut_mid_frame(call: Call) -> Reply:
    def writes() -> Iterator[bytes]:
        yield text_frame("Whole frame. ")
        yield HEADER.pack(0, CUT_MID_FRAME_PROMISED) + b"only part"
        call.wire.wait(CHUNK_PAUSE)
        call.wire.drop()

    return Reply(writes())


@scenario("empty")
def empty(call: Call) -> Reply:
    return Reply([])


@scenario("http_error")
def http_error(call: Call) -> Reply:
    [status] = _numbers(call.arg, 503)
    if not 400 <= status <= 599:
        raise BadArgument(f"http_error needs an error status, got {status}")
    page = f"<html><head><title>{status}</title></head><body><h1>{status} Error</h1><p>cdn edge</p></body></html>"
    return Reply([page.encode()], status=f"{status} Error", content_type="text/html", whole=True)


@scenario("garbage_after_end")
def garbage_after_end(call: Call) -> Reply:
    return Reply([*_reply_with("Complete answer."), GARBAGE])


@scenario("bomb")
def bomb(call: Call) -> Reply:
    return Reply([content_start(), text_frame("Here comes a bomb. "), bomb_frame(), end_frame()])


@scenario("huge_frame")
def huge_frame(call: Call) -> Reply:
    return Reply([HEADER.pack(0, HUGE_FRAME_LENGTH) + b"not really a gigabyte", end_frame()])


# -- timing ----------------------------------------------------------------------------------


@scenario("slow_headers")
def slow_headers(call: Call) -> Reply:
    [seconds] = _numbers(call.arg, 5.0)

    def writes() -> Iterator[bytes]:
        call.wire.wait(seconds)  # pywsgi sends the headers with the first write, after this
        yield from _reply_with(SLOW_HEADERS_TEXT)

    return Reply(writes())


@scenario("slow_first_frame")
def slow_first_frame(call: Call) -> Reply:
    [seconds] = _numbers(call.arg, 5.0)

    def writes() -> Iterator[bytes]:
        call.wire.send_headers()
        call.wire.wait(seconds)
        yield text_frame(LATE_TEXT)
        yield end_frame()

    return Reply(writes())


@scenario("silence")
def silence(call: Call) -> Reply:
    [seconds] = _numbers(call.arg, 5.0)
    before, after = SILENCE_PIECES

    def writes() -> Iterator[bytes]:
        yield text_frame(before)
        call.wire.wait(seconds)
        yield text_frame(after)
        yield end_frame()

    return Reply(writes())


@scenario("ticks")
def ticks(call: Call) -> Reply:
    count, interval_ms = _numbers(call.arg, 10, 100.0)

    def writes() -> Iterator[bytes]:
        started = time.monotonic()
        for index in range(count):
            # wait for the scheduled time, not a fixed pause, so drift does not accumulate
            call.wire.wait(max(0.0, started + (index + 1) * interval_ms / 1000 - time.monotonic()))
            yield text_frame(f"tick {index} ")
        yield end_frame()

    return Reply(writes())


# -- bulk ------------------------------------------------------------------------------------


@functools.cache
def capture_bytes() -> bytes:
    """The real captured response body (PROTOCOL §4.7), read once."""
    return bytes.fromhex(CAPTURE_PATH.read_text().strip())


@scenario("capture")
def capture(call: Call) -> Reply:
    body = capture_bytes()
    [size] = _numbers(call.arg, len(body))
    if size < 1:
        raise BadArgument("capture:CHUNK needs at least 1 byte per write")
    return Reply([body[i : i + size] for i in range(0, len(body), size)])


@scenario("big")
def big(call: Call) -> Reply:
    [total] = _numbers(call.arg, 8 * 1024 * 1024)
    frame = text_frame(BIG_FRAME_TEXT)
    frames = -(-total // len(BIG_FRAME_TEXT))

    def writes() -> Iterator[bytes]:
        for start in range(0, frames, BIG_FRAMES_PER_WRITE):
            yield frame * min(BIG_FRAMES_PER_WRITE, frames - start)
        yield end_frame()

    return Reply(writes())
