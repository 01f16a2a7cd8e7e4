"""The Anthropic Messages API front (D35), in-process against the strict fake on the agent
protocol: the request's blocks reach Cursor as the chat core sends them, answers and streams take
Anthropic's shapes, and every error is Anthropic-shaped with Anthropic's type for its status."""

from __future__ import annotations

import base64
import json

import pytest

from tests.api.sse import named_events
from tests.fake_cursor import agent_scenarios
from tests.support import ADMIN, log_entries, make_token, png

MODEL = "claude-4.5-sonnet"
KEY = {"x-api-key": "admin-secret"}
WEATHER = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}},
}
EXPECTED_USAGE = {  # the fake's DEFAULT_USAGE: input 1200, output 48, cache read 300, cache write 100
    "input_tokens": 1200,
    "cache_creation_input_tokens": 100,
    "cache_read_input_tokens": 300,
    "output_tokens": 48,
}


@pytest.fixture
def agent(make_gateway, upstream):
    return make_gateway(tokens=[make_token("user_pool1")], CURSOR_PROTOCOL="agent", CURSOR_AGENT_BASE_URL=upstream.url)


def send(client, messages, *, headers=KEY, path="/v1/messages", **extra):
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    body = {"model": MODEL, "max_tokens": 1024, "messages": messages, **extra}
    return client.post(path, json=body, headers=headers)


def error_of(response, status: int, kind: str) -> str:
    """The message of an Anthropic-shaped error, after checking its status and type."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["type"] == "error" and body["error"]["type"] == kind and set(body["error"]) == {"type", "message"}
    return body["error"]["message"]


def test_a_message_is_the_echo_with_cursors_usage_in_anthropics_terms(agent, upstream):
    response = send(agent, "hello there", headers={**KEY, "anthropic-version": "2023-06-01"})
    body = response.get_json()
    assert body["id"].startswith("msg_") and body["type"] == "message" and body["role"] == "assistant"
    assert body["model"] == MODEL
    assert body["content"] == [{"type": "text", "text": "Echo: hello there"}]
    assert (body["stop_reason"], body["stop_sequence"]) == ("end_turn", None)
    assert body["usage"] == EXPECTED_USAGE
    assert upstream.agent_turns()[-1]["outcome"] == "completed"
    assert log_entries(agent)[-1]["front"] == "messages"


def test_the_bearer_works_as_well_as_x_api_key(agent):
    assert send(agent, "hi", headers=ADMIN).get_json()["content"][0]["text"] == "Echo: hi"
    own = {"x-api-key": make_token("user_own")}  # a user's own Cursor token, as with chat
    assert send(agent, "mine", headers=own).get_json()["content"][0]["text"] == "Echo: mine"


def test_bad_or_missing_credentials_are_authentication_errors(agent):
    assert "Invalid authorization token" in error_of(send(agent, "hi", headers={"x-api-key": "wrong"}), 401,
                                                     "authentication_error")  # fmt: skip
    error_of(send(agent, "hi", headers={}), 401, "authentication_error")


def test_system_blocks_and_earlier_turns_go_upstream(agent, upstream):
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "first question"}]},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "hm", "signature": "s"},
                                          {"type": "text", "text": "first answer"}]},
        {"role": "user", "content": "second question"},
    ]  # fmt: skip
    system = [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Be kind."}]
    body = send(agent, messages, system=system, temperature=0.2, top_k=5, metadata={"user_id": "u"}).get_json()
    assert body["content"][0]["text"] == "Echo: second question"
    action = upstream.agent_turns()[-1]["run_request"]["action"]["user_message_action"]
    assert action["prepend_user_messages"][0]["text"] == "<system>\nBe brief.\nBe kind.\n</system>"
    history = action["conversation_history"]["messages"]
    assert [next(iter(message)) for message in history] == ["user", "assistant"]
    assert history[1]["assistant"]["content"] == [{"text": {"text": "first answer"}}]  # the thinking stays here


def test_a_base64_image_goes_upstream_inline(agent, upstream):
    data = base64.b64encode(png(4, 5)).decode()
    content = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}},
        {"type": "text", "text": "what is this?"},
    ]
    assert send(agent, [{"role": "user", "content": content}]).status_code == 200
    run = upstream.agent_turns()[-1]["run_request"]
    (image,) = run["action"]["user_message_action"]["user_message"]["selected_context"]["selected_images"]
    assert image["dimension"] == {"width": 4, "height": 5} and image["mime_type"] == "image/png"


def test_a_tool_use_round_trip(agent, upstream):
    ask = 'fake:tool:get_weather:{"city":"Paris","days":3}'
    first = send(agent, ask, tools=[WEATHER]).get_json()
    assert first["stop_reason"] == "tool_use"
    (call,) = first["content"]
    assert call["type"] == "tool_use" and call["name"] == "get_weather"
    assert call["input"] == {"city": "Paris", "days": 3} and isinstance(call["input"]["days"], int)
    tool = upstream.agent_turns()[-1]["run_request"]["mcp_tools"]["tools"][0]
    assert tool["tool_name"] == "get_weather" and tool["description"] == "The weather in a city"
    follow_up = [
        {"role": "user", "content": ask},
        {"role": "assistant", "content": [call]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": call["id"], "content": [{"type": "text", "text": "sunny"}],
             "is_error": True},
        ]},
    ]  # fmt: skip
    second = send(agent, follow_up, tools=[WEATHER]).get_json()
    assert second["content"] == [{"type": "text", "text": f"Tool result for {call['id']}: sunny"}]
    assert second["stop_reason"] == "end_turn"
    history = upstream.agent_turns()[-1]["run_request"]["action"]["user_message_action"]["conversation_history"]
    assistant, result = history["messages"][-2:]
    assert assistant["assistant"]["content"][0]["tool_call"]["tool_call_id"] == call["id"]
    assert result["tool"]["tool_call_id"] == call["id"] and result["tool"]["is_error"] is True


@pytest.mark.parametrize(
    ("choice", "expected_line"),
    [
        ({"type": "any"}, "You must answer by calling one or more of the available tools."),
        ({"type": "tool", "name": "get_weather"}, 'You must answer by calling the tool "get_weather".'),
    ],
)
def test_tool_choice_any_and_tool_become_policy_lines(agent, upstream, choice, expected_line):
    assert send(agent, "hi", tools=[WEATHER], tool_choice=choice).status_code == 200
    prepended = upstream.agent_turns()[-1]["run_request"]["action"]["user_message_action"]["prepend_user_messages"]
    assert expected_line in prepended[0]["text"]


def test_tool_choice_none_sends_no_tools(agent, upstream):
    assert send(agent, "hi", tools=[WEATHER], tool_choice={"type": "none"}).status_code == 200
    assert "mcp_tools" not in upstream.agent_turns()[-1]["run_request"]


def test_stop_sequences_and_max_tokens_cut_and_say_so(agent):
    stopped = send(agent, "fake:text:one two three four", stop_sequences=["four", "three"]).get_json()
    assert stopped["content"] == [{"type": "text", "text": "one two "}]
    assert (stopped["stop_reason"], stopped["stop_sequence"]) == ("stop_sequence", "three")
    cut = send(agent, "fake:text:abcdef ghijkl", max_tokens=2).get_json()  # cl100k: abcdef, then  gh|ijkl
    assert cut["content"] == [{"type": "text", "text": "abcdef gh"}] and cut["stop_reason"] == "max_tokens"


def test_thinking_enabled_shows_the_reasoning_first_and_otherwise_drops_it(agent):
    thinking = {"type": "enabled", "budget_tokens": 1024}
    shown = send(agent, "fake:reasoning", thinking=thinking, max_tokens=2048).get_json()["content"]
    reasoning = "".join(agent_scenarios.REASONING_PIECES)
    assert shown == [
        {"type": "thinking", "thinking": reasoning, "signature": ""},
        {"type": "text", "text": agent_scenarios.REASONING_ANSWER},
    ]
    for hidden in ({}, {"thinking": {"type": "disabled"}}):
        content = send(agent, "fake:reasoning", **hidden).get_json()["content"]
        assert content == [{"type": "text", "text": agent_scenarios.REASONING_ANSWER}]


def stream_events(response) -> list[tuple[str, dict]]:
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    events = named_events(response.get_data(as_text=True))
    assert all(name == payload["type"] for name, payload in events)
    return events


def test_a_streamed_message_follows_anthropics_event_sequence(agent):
    events = stream_events(send(agent, "fake:text:Hi there friend", stream=True))
    names = [name for name, _ in events]
    assert names[:2] == ["message_start", "content_block_start"] and names[-3:] == [
        "content_block_stop", "message_delta", "message_stop",
    ]  # fmt: skip
    assert set(names[2:-3]) == {"content_block_delta"}
    start = events[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None and start["usage"]["output_tokens"] == 0
    assert events[1][1] == {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    text = "".join(payload["delta"]["text"] for name, payload in events if name == "content_block_delta")
    assert text == "Hi there friend"
    delta = events[-2][1]
    assert delta["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert delta["usage"] == EXPECTED_USAGE


def test_streamed_thinking_then_text_are_two_blocks(agent):
    response = send(agent, "fake:reasoning", stream=True, thinking={"type": "enabled", "budget_tokens": 1024},
                    max_tokens=4096)  # fmt: skip
    events = stream_events(response)
    starts = [payload for name, payload in events if name == "content_block_start"]
    assert [(s["index"], s["content_block"]["type"]) for s in starts] == [(0, "thinking"), (1, "text")]
    deltas = [payload for name, payload in events if name == "content_block_delta"]
    assert "".join(d["delta"]["thinking"] for d in deltas if d["index"] == 0) == "".join(
        agent_scenarios.REASONING_PIECES
    )
    assert "".join(d["delta"]["text"] for d in deltas if d["index"] == 1) == agent_scenarios.REASONING_ANSWER
    assert [payload["index"] for name, payload in events if name == "content_block_stop"] == [0, 1]
    hidden = stream_events(send(agent, "fake:reasoning", stream=True))
    assert "thinking" not in json.dumps([payload for _, payload in hidden])


def test_streamed_tool_calls_are_whole_blocks_with_one_json_delta_each(agent):
    events = stream_events(send(agent, "fake:tools:get_weather,get_weather", tools=[WEATHER], stream=True))
    starts = [payload["content_block"] for name, payload in events if name == "content_block_start"]
    assert [block["type"] for block in starts] == ["tool_use", "tool_use"]
    assert all(block["name"] == "get_weather" and block["id"] and block["input"] == {} for block in starts)
    deltas = [payload for name, payload in events if name == "content_block_delta"]
    assert [(d["index"], d["delta"]["type"]) for d in deltas] == [(0, "input_json_delta"), (1, "input_json_delta")]
    assert all(isinstance(json.loads(d["delta"]["partial_json"]), dict) for d in deltas)
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_a_failure_after_the_start_is_an_error_event(make_gateway, upstream):
    own = make_gateway(tokens=[], CURSOR_PROTOCOL="agent", CURSOR_AGENT_BASE_URL=upstream.url)
    headers = {"x-api-key": make_token("user_direct")}
    events = stream_events(send(own, "fake:error_mid:ERROR_RATE_LIMITED", headers=headers, stream=True))
    assert events[0][0] == "message_start" and "content_block_delta" in [name for name, _ in events]
    name, payload = events[-1]
    assert name == "error" and payload["error"]["type"] == "rate_limit_error" and payload["error"]["message"]


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        ("ERROR_RATE_LIMITED", 429, "rate_limit_error"),
        ("ERROR_NOT_LOGGED_IN", 403, "permission_error"),
        ("ERROR_BAD_MODEL_NAME", 400, "invalid_request_error"),
        ("ERROR_CONVERSATION_TOO_LONG", 500, "api_error"),
    ],
)
def test_upstream_errors_keep_their_status_with_anthropics_type(make_gateway, upstream, error, status, kind):
    own = make_gateway(tokens=[], CURSOR_PROTOCOL="agent", CURSOR_AGENT_BASE_URL=upstream.url)
    assert error_of(send(own, f"fake:error:{error}", headers={"x-api-key": make_token("user_direct")}), status, kind)


def test_an_empty_pool_is_overloaded(make_gateway, upstream):
    empty = make_gateway(tokens=[], CURSOR_PROTOCOL="agent", CURSOR_AGENT_BASE_URL=upstream.url)
    assert error_of(send(empty, "hi"), 503, "overloaded_error") == "No available tokens"


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"max_tokens": None}, "max_tokens"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user"}]}, "messages[0].content"),
        ({"messages": [{"role": "user", "content": [{"type": "document", "source": {}}]}]}, "messages[0].content[0]"),
        ({"messages": [{"role": "user", "content": [{"type": "tool_use", "id": "a", "name": "b", "input": {}}]}]},
         "messages[0].content[0]"),
        ({"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "file", "file_id": "f"}}]}]},
         "messages[0].content[0].source.type"),
        ({"system": [{"type": "image"}]}, "system[0].type"),
        ({"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "tools[0].type"),
        ({"tools": [{"name": "t"}]}, "tools[0].input_schema"),
        ({"tool_choice": {"type": "sometimes"}}, "tool_choice.type"),
        ({"tools": [WEATHER], "tool_choice": {"type": "tool", "name": "other"}}, "tool_choice"),
        ({"stop_sequences": "END"}, "stop_sequences"),
        ({"thinking": {"type": "enabled", "budget_tokens": 100}}, "thinking.budget_tokens"),
        ({"thinking": {"type": "enabled", "budget_tokens": 2048}}, "thinking.budget_tokens"),  # not below max_tokens
        ({"stream": "yes"}, "stream"),
    ],
)  # fmt: skip
def test_bad_requests_are_400s_naming_the_param(agent, change, param):
    body = {"model": MODEL, "max_tokens": 1024, "messages": [{"role": "user", "content": "hi"}], **change}
    body = {key: value for key, value in body.items() if value is not None}
    assert param in error_of(agent.post("/v1/messages", json=body, headers=KEY), 400, "invalid_request_error")


def test_http_errors_under_messages_are_anthropic_shaped(agent):
    error_of(agent.post("/v1/messages/nope", json={}, headers=KEY), 404, "not_found_error")
    error_of(agent.get("/v1/messages", headers=KEY), 405, "invalid_request_error")
    error_of(agent.post("/v1/messages", data="{}", headers=KEY), 415, "invalid_request_error")
    error_of(agent.post("/v1/messages", data="{", headers=KEY, content_type="application/json"), 400,
             "invalid_request_error")  # fmt: skip
    assert "error" in agent.post("/v1/chat/completions", data="{", headers=ADMIN,
                                 content_type="application/json").get_json()  # fmt: skip  # OpenAI's shape stays


def test_a_body_over_the_limit_is_request_too_large(make_gateway):
    small = make_gateway(tokens=[make_token("user_pool1")], REQUEST_BODY_LIMIT_MB="1")
    response = small.post("/v1/messages", data="x" * (1024 * 1024 + 1), headers=KEY, content_type="application/json")
    error_of(response, 413, "request_too_large")


def test_x_api_key_guesses_count_against_the_address(make_gateway, upstream):
    client = make_gateway(
        tokens=[make_token("user_limit")], AUTH_FAILURE_LIMIT="2", CURSOR_PROTOCOL="agent",
        CURSOR_AGENT_BASE_URL=upstream.url,
    )  # fmt: skip
    wrong = {"x-api-key": "a-guess"}
    assert [send(client, "hi", headers=wrong).status_code for _ in range(2)] == [401, 401]
    error_of(send(client, "hi", headers=KEY), 429, "rate_limit_error")


def test_count_tokens_counts_with_cl100k_base(agent, upstream):
    def count(**body):
        response = agent.post("/v1/messages/count_tokens", json={"model": MODEL, **body}, headers=KEY)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["input_tokens"]

    hello = [{"role": "user", "content": "hello world"}]
    assert count(messages=hello) == 2  # cl100k_base: "hello", " world"
    assert count(messages=[{"role": "user", "content": "<|endoftext|>"}]) == 7  # plain text, never a special token
    assert count(messages=hello, system="Be brief.") == 2 + 3  # "Be", " brief", "."
    assert count(messages=hello, tools=[WEATHER]) > 2 + 10
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}
    assert count(messages=[{"role": "user", "content": [image, {"type": "text", "text": "hello world"}]}]) == 1602
    assert upstream.agent_turns() == []  # nothing asked of Cursor


def test_count_tokens_checks_credentials_without_using_the_pool(make_gateway, upstream):
    empty = make_gateway(tokens=[], CURSOR_PROTOCOL="agent", CURSOR_AGENT_BASE_URL=upstream.url)
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hello world"}]}
    assert empty.post("/v1/messages/count_tokens", json=body, headers=KEY).get_json() == {"input_tokens": 2}
    refused = empty.post("/v1/messages/count_tokens", json=body, headers={"x-api-key": "wrong"})
    error_of(refused, 401, "authentication_error")
    error_of(empty.post("/v1/messages/count_tokens", json={"model": MODEL}, headers=KEY), 400,
             "invalid_request_error")  # fmt: skip


def test_the_route_prefix_moves_both_routes_and_their_error_shape(make_gateway, upstream):
    prefixed = make_gateway(tokens=[make_token("user_pool1")], ROUTE_PREFIX="/api", CURSOR_PROTOCOL="agent",
                            CURSOR_AGENT_BASE_URL=upstream.url)  # fmt: skip
    assert send(prefixed, "hi", path="/api/v1/messages").get_json()["content"][0]["text"] == "Echo: hi"
    counted = prefixed.post("/api/v1/messages/count_tokens", json={"model": MODEL, "messages": [
        {"role": "user", "content": "hello world"}]}, headers=KEY)  # fmt: skip
    assert counted.get_json() == {"input_tokens": 2}
    error_of(send(prefixed, "hi", path="/api/v1/messages", headers={}), 401, "authentication_error")
    assert prefixed.post("/v1/messages", json={}, headers=KEY).status_code == 404
