"""Chat completions on the agent generation (CURSOR_PROTOCOL=agent, the default), in-process
against the strict fake: text, reasoning, usage, tools, models, credentials and every error class
reach the client in OpenAI's shape, and the fake's record shows what went upstream."""

from __future__ import annotations

import base64

import pytest

from tests.api.sse import joined_content, sse_payloads
from tests.fake_cursor import agent_scenarios
from tests.support import ADMIN, log_entries, make_token, png

MODEL = "claude-4.5-sonnet"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}},
    },
}
EXPECTED_USAGE = {
    "prompt_tokens": 1600,  # input 1200 + cache read 300 + cache write 100
    "completion_tokens": 48,
    "total_tokens": 1648,
    "prompt_tokens_details": {"cached_tokens": 300},
    "completion_tokens_details": {"reasoning_tokens": 16},
}


@pytest.fixture
def agent(make_gateway, upstream):
    return make_gateway(tokens=[make_token("user_pool1")], CURSOR_PROTOCOL="agent", CURSOR_AGENT_BASE_URL=upstream.url)


def ask(client, messages, *, model=MODEL, headers=ADMIN, **extra):
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    return client.post("/v1/chat/completions", json={"model": model, "messages": messages, **extra}, headers=headers)


def test_a_plain_chat_is_the_echo_with_cursors_usage(agent, upstream):
    body = ask(agent, "hello there").get_json()
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Echo: hello there"}
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"] == EXPECTED_USAGE
    (turn,) = upstream.agent_turns()
    assert turn["outcome"] == "completed"
    assert [append["seqno"] for append in turn["appends"]] == list(range(len(turn["appends"])))
    assert all(query["answered_at"] and not query["wrong_answers"] for query in turn["queries"])
    assert turn["headers"]["x-cursor-client-version"] == "cli-2026.10.01-e373342"
    assert log_entries(agent)[-1]["usage"] == EXPECTED_USAGE


def test_streamed_text_reasoning_and_the_usage_chunk(agent):
    response = ask(agent, "fake:reasoning", stream=True, stream_options={"include_usage": True})
    payloads = sse_payloads(response.get_data(as_text=True))
    assert payloads[-1] == "[DONE]"
    chunks = payloads[:-1]
    assert len({(chunk["id"], chunk["created"], chunk["model"]) for chunk in chunks}) == 1
    reasoning = "".join(c["choices"][0]["delta"].get("reasoning_content", "") for c in chunks if c["choices"])
    assert reasoning == "".join(agent_scenarios.REASONING_PIECES)
    assert joined_content(payloads) == agent_scenarios.REASONING_ANSWER
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == EXPECTED_USAGE
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    whole = ask(agent, "fake:reasoning").get_json()["choices"][0]["message"]
    assert whole["reasoning_content"] == reasoning and whole["content"] == agent_scenarios.REASONING_ANSWER


def test_system_text_and_earlier_turns_go_upstream(agent, upstream):
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "second question"},
    ]
    assert ask(agent, messages).get_json()["choices"][0]["message"]["content"] == "Echo: second question"
    action = upstream.agent_turns()[-1]["run_request"]["action"]["user_message_action"]
    assert action["prepend_user_messages"][0]["text"] == "<system>\nBe brief.\n</system>"
    assert action["user_message"]["text"] == "second question"
    history = action["conversation_history"]["messages"]
    assert [next(iter(message)) for message in history] == ["user", "assistant"]
    assert history[1]["assistant"]["content"][0]["text"]["text"] == "first answer"


def test_a_tool_call_round_trip(agent, upstream):
    first = ask(agent, 'fake:tool:get_weather:{"city":"Paris","days":3}', tools=[WEATHER]).get_json()
    choice = first["choices"][0]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    assert call["function"]["name"] == "get_weather"
    assert call["function"]["arguments"] in ('{"city":"Paris","days":3}', '{"days":3,"city":"Paris"}')  # 3, not 3.0
    parked = upstream.agent_turns()[-1]
    assert (
        parked["cancel_at"] is not None and parked["run_request"]["mcp_tools"]["tools"][0]["tool_name"] == "get_weather"
    )
    follow_up = [
        {"role": "user", "content": 'fake:tool:get_weather:{"city":"Paris","days":3}'},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": [{"type": "text", "text": "sunny"}]},
    ]
    second = ask(agent, follow_up, tools=[WEATHER]).get_json()
    assert second["choices"][0]["message"]["content"] == f"Tool result for {call['id']}: sunny"
    history = upstream.agent_turns()[-1]["run_request"]["action"]["user_message_action"]["conversation_history"]
    assert history["messages"][-1]["tool"]["tool_call_id"] == call["id"]


def test_a_streamed_tool_call_is_one_complete_delta(agent):
    response = ask(agent, "fake:tools:get_weather,get_weather", tools=[WEATHER], stream=True)
    chunks = sse_payloads(response.get_data(as_text=True))[:-1]
    deltas = [c["choices"][0]["delta"]["tool_calls"] for c in chunks if "tool_calls" in c["choices"][0]["delta"]]
    assert [len(delta) for delta in deltas] == [1, 1]
    assert [delta[0]["index"] for delta in deltas] == [0, 1]
    assert all(delta[0]["function"]["name"] == "get_weather" and delta[0]["id"] for delta in deltas)
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_tool_choice_none_sends_no_tools(agent, upstream):
    ask(agent, "hi", tools=[WEATHER], tool_choice="none")
    turn = upstream.agent_turns()[-1]
    assert "mcp_tools" not in turn["run_request"] and "x-cursor-agent-allowed-tools" not in turn["headers"]


def test_models_come_from_cursors_live_catalog(agent, upstream):
    listed = agent.get("/v1/models").get_json()["data"]
    ids = [model["id"] for model in listed]
    assert MODEL in ids and "gpt-4o" not in ids
    one = agent.get(f"/v1/models/{MODEL}").get_json()
    assert one["id"] == MODEL and one["capabilities"]["thinking"] is True
    assert agent.get("/v1/models/no-such-model").status_code == 404
    agent.get("/v1/models")
    assert upstream.catalog_calls() == 1  # kept in the store for MODELS_REFRESH_SECONDS


def test_an_unknown_model_is_a_400_naming_close_matches(agent):
    response = ask(agent, "hi", model="claude-4.5-sonet")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "model_not_found" and error["param"] == "model" and MODEL in error["message"]


def test_a_variant_resolves_to_its_model_and_parameters(agent, upstream):
    assert ask(agent, "hi", model="grok-4.6-high-fast").status_code == 200
    requested = upstream.agent_turns()[-1]["run_request"]["requested_model"]
    assert requested["model_id"] == "grok-4.6"
    assert {(p["id"], p["value"]) for p in requested["parameters"]} == {("effort", "high"), ("fast", "true")}


def test_reasoning_effort_sets_the_models_effort_parameter(agent, upstream):
    def sent_parameters() -> set:
        return {
            (p["id"], p["value"]) for p in upstream.agent_turns()[-1]["run_request"]["requested_model"]["parameters"]
        }

    assert ask(agent, "hi", model="grok-4.6", reasoning_effort="xhigh").status_code == 200
    assert sent_parameters() == {("effort", "xhigh")}
    assert ask(agent, "hi", model="grok-4.6-high-fast", reasoning_effort="low").status_code == 200
    assert sent_parameters() == {("effort", "low"), ("fast", "true")}  # over the variant's, the rest kept
    refused = ask(agent, "hi", model="grok-4.6", reasoning_effort="ultra")
    assert refused.status_code == 400
    error = refused.get_json()["error"]
    assert error["param"] == "reasoning_effort" and "low, medium, high, xhigh" in error["message"]
    turns = len(upstream.agent_turns())
    assert ask(agent, "hi", reasoning_effort="high").status_code == 200  # no effort parameter: as it thinks
    assert len(upstream.agent_turns()) == turns + 1


@pytest.mark.parametrize(
    ("error", "status"),
    [
        ("ERROR_NOT_LOGGED_IN", 403),
        ("ERROR_RATE_LIMITED", 429),
        ("ERROR_BAD_MODEL_NAME", 400),
        ("ERROR_CONVERSATION_TOO_LONG", 500),
        ("ERROR_RESOURCE_EXHAUSTED", 500),
    ],
)
def test_each_error_class_keeps_its_status(make_gateway, upstream, error, status):
    own = make_gateway(tokens=[], CURSOR_PROTOCOL="agent", CURSOR_AGENT_BASE_URL=upstream.url)
    response = ask(own, f"fake:error:{error}", headers={"Authorization": f"Bearer {make_token('user_direct')}"})
    assert response.status_code == status
    assert response.get_json()["error"]["message"]


def test_the_soft_block_is_an_error_never_an_empty_answer(agent):
    for stream in (False, True):
        response = ask(agent, "fake:soft_block", stream=stream)
        assert response.status_code == 502
        assert "empty turn" in response.get_json()["error"]["message"]


def test_a_stale_client_version_names_the_setting(make_gateway, upstream):
    stale = make_gateway(
        tokens=[make_token("user_pool1")],
        CURSOR_PROTOCOL="agent",
        CURSOR_AGENT_BASE_URL=upstream.url,
        CURSOR_CLIENT_VERSION="cli-2026.01.05-0c04a8a",
    )
    response = ask(stale, "hi")
    assert response.status_code == 502
    assert "CURSOR_CLIENT_VERSION" in response.get_json()["error"]["message"]
    assert "Update Required" in response.get_json()["error"]["message"]


def test_a_deprecated_legacy_answer_names_cursor_protocol(make_gateway):
    legacy = make_gateway(tokens=[make_token("user_pool1")], CURSOR_PROTOCOL="legacy")
    response = legacy.post(
        "/v1/chat/completions",
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "fake:error:ERROR_DEPRECATED"}]},
        headers=ADMIN,
    )
    assert response.status_code == 502 and "CURSOR_PROTOCOL=agent" in response.get_json()["error"]["message"]


def test_a_bare_session_token_and_a_cursor_api_key_are_bearers(make_gateway, upstream):
    own = make_gateway(tokens=[], CURSOR_PROTOCOL="agent", CURSOR_AGENT_BASE_URL=upstream.url)
    bare = {"Authorization": f"Bearer {make_token('user_direct')}"}
    assert ask(own, "hi", headers=bare).status_code == 200
    key = {"Authorization": "Bearer crsr_" + "a1" * 20}
    for _ in range(3):
        assert ask(own, "hi", headers=key).get_json()["choices"][0]["message"]["content"] == "Echo: hi"
    assert upstream.key_exchanges() == 1
    refused = ask(own, "hi", headers={"Authorization": "Bearer crsr_short"})
    assert refused.status_code == 401


def test_failover_and_token_health_work_on_the_agent_path(make_gateway, upstream):
    pool = make_gateway(
        tokens=[make_token("user_ratelimited"), make_token("user_loggedout"), make_token("user_fine")],
        CURSOR_PROTOCOL="agent",
        CURSOR_AGENT_BASE_URL=upstream.url,
    )
    answer = ask(pool, "hello")
    assert answer.status_code == 200 and answer.get_json()["choices"][0]["message"]["content"] == "Echo: hello"
    attempts = log_entries(pool)[-1]["attempts"]
    assert len(attempts) == 3 and attempts[-1]["result"] == "answered"
    health = {entry["health"]["state"] for entry in pool.post("/tokens/get", headers=ADMIN).get_json()["tokens"]}
    assert health == {"cooling", "disabled", "healthy"}


def test_cursor_api_keys_serve_from_the_pool(make_gateway, upstream, tmp_path):
    key = "crsr_" + "p00l" * 10
    pool = make_gateway(tokens=[], CURSOR_PROTOCOL="agent", CURSOR_AGENT_BASE_URL=upstream.url)
    added = pool.post("/tokens/add", json=[{"token": key}], headers=ADMIN).get_json()
    assert added["tokens_count"] == 1
    for _ in range(3):
        assert ask(pool, "pooled").get_json()["choices"][0]["message"]["content"] == "Echo: pooled"
    assert upstream.key_exchanges() == 1


def test_a_bare_api_key_line_in_the_token_file_is_kept():
    from app.services.token_file import parse_token_text

    key = "crsr_" + "f11e" * 10
    (line,) = parse_token_text(f"{key}\n{make_token('user_bare')}\n")  # a bare session token is dropped (SPEC §7.2)
    assert line.token == key and len(line.checksum) == 137


def test_an_image_goes_upstream_inline(agent, upstream):
    data_url = "data:image/png;base64," + base64.b64encode(png(4, 5)).decode()
    content = [{"type": "text", "text": "what is this?"}, {"type": "image_url", "image_url": {"url": data_url}}]
    assert ask(agent, [{"role": "user", "content": content}]).status_code == 200
    run = upstream.agent_turns()[-1]["run_request"]
    (image,) = run["action"]["user_message_action"]["user_message"]["selected_context"]["selected_images"]
    assert image["dimension"] == {"width": 4, "height": 5} and image["mime_type"] == "image/png"
    assert run["client_supports_inline_images"] is True
