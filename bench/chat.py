"""One chat as the load generator makes it, each returning the reply's text once it is checked
whole: `HttpChat` sends one prepared request (the OpenAI request to a gateway, or the legacy
StreamChat call the gateway made, to the relay or the fake); `AgentChat` (bench/agent.py) makes
the agent protocol's RunSSE read and BidiAppend writes. A wrong answer raises ValueError."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Protocol

from bench.agent import AgentChat
from bench.content import text_of
from bench.http import Connection

SOCKET_TIMEOUT = 30.0  # longer than any pause a scenario makes; a stuck target fails the request


class Chat(Protocol):
    def call(self, on_data: Callable[[bytes], None]) -> str: ...

    def reset(self) -> None: ...


class HttpChat:
    """One prepared request on one keep-alive connection."""

    def __init__(self, job: dict) -> None:
        self.job = job
        self.request = bytes.fromhex(job["request_hex"])
        self.connection: Connection | None = None

    def call(self, on_data: Callable[[bytes], None]) -> str:
        if self.connection is None or self.connection.closed:  # none yet, or the server said close
            self.connection = Connection(self.job["host"], self.job["port"], SOCKET_TIMEOUT)
        parts: list[bytes] = []

        def collect(piece: bytes) -> None:
            parts.append(piece)
            on_data(piece)

        status = self.connection.exchange(self.request, collect)
        body = b"".join(parts)
        if status != 200:
            raise ValueError(f"status {status}: {body[:200]!r}")
        if self.job["body_sha256"] and hashlib.sha256(body).hexdigest() != self.job["body_sha256"]:
            raise ValueError(f"body differs from what the fake sent ({len(body)} bytes)")
        return text_of(self.job["protocol"], self.job["streaming"], body)

    def reset(self) -> None:
        if self.connection is not None:
            self.connection.close()
        self.connection = None


def chat_for(job: dict) -> Chat:
    if job["protocol"] == "agent":
        return AgentChat(job["host"], job["port"], job["agent"], SOCKET_TIMEOUT)
    return HttpChat(job)
