"""Reading an SSE body the way a client does."""

from __future__ import annotations

import json


def sse_payloads(body: str) -> list:
    """Every `data:` payload, JSON-decoded, with the final `[DONE]` kept as the string."""
    assert body.endswith("\n\n"), "an SSE body ends with a blank line"
    payloads = []
    for event in body.split("\n\n")[:-1]:
        assert event.startswith("data: "), event
        data = event[len("data: ") :]
        payloads.append(data if data == "[DONE]" else json.loads(data))
    return payloads


def joined_content(payloads: list) -> str:
    return "".join(
        p["choices"][0]["delta"].get("content", "") for p in payloads if isinstance(p, dict) and p.get("choices")
    )


def named_events(body: str) -> list[tuple[str, dict]]:
    """Every `event:` line's name with its JSON `data:`, as Anthropic's streams send them."""
    assert body.endswith("\n\n"), "an SSE body ends with a blank line"
    events = []
    for event in body.split("\n\n")[:-1]:
        name, data = event.split("\n")
        assert name.startswith("event: ") and data.startswith("data: "), event
        events.append((name[len("event: ") :], json.loads(data[len("data: ") :])))
    return events
