"""What a target answered, as text, so every run checks that the whole reply arrived: the
gateway speaks OpenAI (JSON or SSE), the relay and the fake speak Connect frames (on `legacy`;
bench/agent.py reads the agent stream as it answers it)."""

from __future__ import annotations

import json
import struct

from app.cursor.proto import aiserver_pb2

_HEADER = struct.Struct(">BI")
END_STREAM = 0x02


def connect_text(body: bytes) -> str:
    """The text of a complete Connect body; raises ValueError if it does not end with the
    end-of-stream frame (or carries an error in it)."""
    texts, position = [], 0
    while position < len(body):
        flags, length = _HEADER.unpack_from(body, position)
        payload = body[position + 5 : position + 5 + length]
        if len(payload) != length:
            raise ValueError("body ends inside a frame")
        position += 5 + length
        if flags & END_STREAM:
            if json.loads(payload or b"{}").get("error") or position != len(body):
                raise ValueError(f"error or data after the end frame: {payload[:200]!r}")
            return "".join(texts)
        if payload:  # an empty frame is ContentStart
            texts.append(aiserver_pb2.StreamChatResponse.FromString(payload).text)
    raise ValueError("no end-of-stream frame")


def sse_text(body: bytes) -> str:
    """The joined delta contents of a complete OpenAI stream; it must end with [DONE]."""
    events = [line[6:] for line in body.decode().split("\n") if line.startswith("data: ")]
    if not events or events[-1] != "[DONE]":
        raise ValueError("stream did not end with [DONE]")
    chunks = [json.loads(event) for event in events[:-1]]
    return "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks if chunk.get("choices"))


def completion_text(body: bytes) -> str:
    return json.loads(body)["choices"][0]["message"]["content"]


def text_of(protocol: str, streaming: bool, body: bytes) -> str:
    if protocol == "connect":
        return connect_text(body)
    return sse_text(body) if streaming else completion_text(body)
