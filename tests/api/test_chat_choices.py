"""`n` (D32): that many upstream turns side by side, one choice each, streamed or not."""

from __future__ import annotations

import pytest

from tests.api.sse import sse_payloads
from tests.support import ADMIN, log_entries, make_token

MODEL = "claude-4.5-sonnet"
ONE_TURN_PROMPT, ONE_TURN_COMPLETION = 1600, 48  # the fake's usage per turn, in OpenAI terms


@pytest.fixture
def agent(make_gateway, upstream):
    return make_gateway(tokens=[make_token("user_pool1")], CURSOR_PROTOCOL="agent", CURSOR_AGENT_BASE_URL=upstream.url)


def ask(client, text: str, **extra):
    body = {"model": MODEL, "messages": [{"role": "user", "content": text}], **extra}
    return client.post("/v1/chat/completions", json=body, headers=ADMIN)


def test_n_choices_are_n_upstream_turns_with_usage_summed(agent, upstream):
    response = ask(agent, "fake:text:A B C", n=3)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [choice["index"] for choice in body["choices"]] == [0, 1, 2]
    assert {choice["message"]["content"] for choice in body["choices"]} == {"A B C"}
    assert body["usage"]["prompt_tokens"] == 3 * ONE_TURN_PROMPT
    assert body["usage"]["completion_tokens"] == 3 * ONE_TURN_COMPLETION
    assert len(upstream.agent_turns()) == 3
    entries = log_entries(agent)
    assert len(entries) == 3 and len({entry["request_id"] for entry in entries}) == 1
    assert {entry["status"] for entry in entries} == {"success"}


def test_n_streamed_chunks_carry_their_choice_and_one_usage_chunk_ends(agent):
    response = ask(agent, "fake:chunks:one|two|three", n=2, stream=True, stream_options={"include_usage": True})
    payloads = sse_payloads(response.get_data(as_text=True))
    assert payloads[-1] == "[DONE]"
    chunks = [payload for payload in payloads[:-1] if payload["choices"]]
    texts = dict.fromkeys((0, 1), "")
    finishes = {}
    for chunk in chunks:
        [choice] = chunk["choices"]
        texts[choice["index"]] += choice["delta"].get("content") or ""
        if choice["finish_reason"]:
            finishes[choice["index"]] = choice["finish_reason"]
    assert texts == {0: "onetwothree", 1: "onetwothree"}
    assert finishes == {0: "stop", 1: "stop"}
    assert len({(chunk["id"], chunk["created"], chunk["model"]) for chunk in payloads[:-1]}) == 1  # D33
    usage_chunk = payloads[-2]
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["prompt_tokens"] == 2 * ONE_TURN_PROMPT


def test_n_out_of_range_is_a_400_naming_n(agent, upstream):
    for n, code in ((9, "unsupported_parameter"), (0, "invalid_value")):
        response = ask(agent, "hi", n=n)
        assert response.status_code == 400
        error = response.get_json()["error"]
        assert (error["param"], error["code"]) == ("n", code)
    assert upstream.agent_turns() == []
