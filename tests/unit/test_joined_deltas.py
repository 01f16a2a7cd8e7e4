"""The agent path joins each run of deltas of one network read into one event (issue #15)."""

from __future__ import annotations

from app.cursor.agent.generation import joined_deltas
from app.cursor.events import ReasoningDelta, TextDelta, ToolCall, Usage


def test_runs_of_one_kind_are_joined_and_nothing_else_moves():
    call = ToolCall("call_1", "get_weather", "{}")
    usage = Usage(input_tokens=1)
    events = [ReasoningDelta("a"), ReasoningDelta("b"), TextDelta("c"), TextDelta("d"), TextDelta("e"), call,
              TextDelta("f"), usage, ReasoningDelta("g"), TextDelta("h")]  # fmt: skip
    assert joined_deltas(events) == [
        ReasoningDelta("ab"),
        TextDelta("cde"),
        call,
        TextDelta("f"),
        usage,
        ReasoningDelta("g"),
        TextDelta("h"),
    ]
    assert joined_deltas([]) == []
