"""End to end on the Anthropic Messages front (D35, issue #11 "How we will know"): the real
`anthropic` SDK against the gateway under real gunicorn with two gevent workers, talking to the
strict fake on the agent protocol."""

from __future__ import annotations

import anthropic
import pytest

from tests.fake_cursor import agent_scenarios
from tests.support import checksum_for, gateway_env, make_token, running_gateway

MODEL = "claude-4.5-sonnet"
WEATHER = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture(scope="module")
def server(fake, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("anthropic-gateway")
    token = make_token("user_anthropic_e2e")
    (data_dir / ".tokens").write_text(f"{token},{checksum_for(token)}")
    env = gateway_env(data_dir, fake.url, CURSOR_PROTOCOL="agent", CURSOR_AGENT_BASE_URL=fake.url)
    with running_gateway(env, workers=2) as running:
        yield running


def sdk(server, **credentials) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.url, max_retries=0, timeout=60, **credentials)


@pytest.fixture
def client(server) -> anthropic.Anthropic:
    return sdk(server, api_key="admin-secret")


def ask(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def test_messages_create_with_cursors_usage(client):
    message = client.messages.create(model=MODEL, max_tokens=1024, messages=ask("fake:text:Hi there"))
    assert [(block.type, block.text) for block in message.content] == [("text", "Hi there")]
    assert message.stop_reason == "end_turn" and message.role == "assistant" and message.model == MODEL
    usage = message.usage
    assert (usage.input_tokens, usage.output_tokens) == (1200, 48)
    assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (300, 100)


def test_x_api_key_is_taken_as_the_sdk_sends_it_by_header(server):
    keyed = sdk(server, default_headers={"x-api-key": "admin-secret"})
    message = keyed.messages.create(model=MODEL, max_tokens=64, messages=ask("by header"))
    assert message.content[0].text == "Echo: by header"


def test_messages_stream_text_and_final_message(client):
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=ask("fake:text:one two three")) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(pieces) == "one two three" and len(pieces) == 3
    assert final.content[0].text == "one two three" and final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (1200, 48)


def test_thinking_blocks_streamed_and_not(client):
    thinking = {"type": "enabled", "budget_tokens": 1024}
    message = client.messages.create(model=MODEL, max_tokens=2048, thinking=thinking, messages=ask("fake:reasoning"))
    assert [block.type for block in message.content] == ["thinking", "text"]
    assert message.content[0].thinking == "".join(agent_scenarios.REASONING_PIECES)
    assert message.content[1].text == agent_scenarios.REASONING_ANSWER
    with client.messages.stream(model=MODEL, max_tokens=2048, thinking=thinking, messages=ask("fake:reasoning")) as s:
        final = s.get_final_message()
    assert [block.type for block in final.content] == ["thinking", "text"]
    assert final.content[0].thinking == message.content[0].thinking


@pytest.mark.parametrize("stream", [False, True])
def test_a_tool_use_round_trip(client, fake, stream):
    question = ask('fake:tool:get_weather:{"city":"Paris"}')
    if stream:
        with client.messages.stream(model=MODEL, max_tokens=1024, tools=[WEATHER], messages=question) as s:
            first = s.get_final_message()
    else:
        first = client.messages.create(model=MODEL, max_tokens=1024, tools=[WEATHER], messages=question)
    assert first.stop_reason == "tool_use"
    (call,) = first.content
    assert call.type == "tool_use" and call.name == "get_weather" and call.input == {"city": "Paris"}
    sent = fake.agent_turns()[-1]["run_request"]["mcp_tools"]["tools"]
    assert [(tool["tool_name"], tool["description"]) for tool in sent] == [("get_weather", "The weather in a city")]
    result = {"type": "tool_result", "tool_use_id": call.id, "content": "sunny and 21 degrees"}
    follow_up = [*question, {"role": "assistant", "content": first.content}, {"role": "user", "content": [result]}]
    second = client.messages.create(model=MODEL, max_tokens=1024, tools=[WEATHER], messages=follow_up)
    assert second.content[0].text == f"Tool result for {call.id}: sunny and 21 degrees"
    history = fake.agent_turns()[-1]["run_request"]["action"]["user_message_action"]["conversation_history"]
    tool_message = history["messages"][-1]["tool"]
    assert tool_message["tool_call_id"] == call.id
    assert tool_message["content"] == [{"text": {"text": "sunny and 21 degrees"}}]


def test_count_tokens(client, fake):
    before = len(fake.agent_turns())
    counted = client.messages.count_tokens(model=MODEL, messages=ask("hello world"), system="Be brief.")
    assert counted.input_tokens == 5  # cl100k_base: "hello", " world", "Be", " brief", "."
    assert len(fake.agent_turns()) == before


def test_error_classes_reach_the_sdk_as_typed_exceptions(server, client):
    with pytest.raises(anthropic.AuthenticationError) as bad_key:
        sdk(server, api_key="not-the-key").messages.create(model=MODEL, max_tokens=64, messages=ask("hi"))
    assert bad_key.value.body["error"]["type"] == "authentication_error"
    document = [{"role": "user", "content": [{"type": "document", "source": {"type": "text", "data": "x",
                                                                             "media_type": "text/plain"}}]}]  # fmt: skip
    with pytest.raises(anthropic.BadRequestError, match=r"messages\[0\]\.content\[0\]"):
        client.messages.create(model=MODEL, max_tokens=64, messages=document)
    own = sdk(server, api_key=make_token("user_own_anthropic"))
    cases = [
        ("fake:error:ERROR_RATE_LIMITED", anthropic.RateLimitError),
        ("fake:error:ERROR_NOT_LOGGED_IN", anthropic.PermissionDeniedError),
        ("fake:error:ERROR_BAD_MODEL_NAME", anthropic.BadRequestError),
        ("fake:error:ERROR_CONVERSATION_TOO_LONG", anthropic.InternalServerError),
    ]
    for text, exception in cases:
        with pytest.raises(exception) as raised:
            own.messages.create(model=MODEL, max_tokens=64, messages=ask(text))
        assert raised.value.body["type"] == "error" and raised.value.body["error"]["message"]
    with pytest.raises(anthropic.NotFoundError):
        client.post("/v1/messages/no-such-route", cast_to=object, body={})


def test_a_failure_mid_stream_is_an_error_event_the_sdk_raises(server):
    own = sdk(server, api_key=make_token("user_own_anthropic"))
    with pytest.raises(anthropic.APIStatusError) as raised:
        with own.messages.stream(model=MODEL, max_tokens=64, messages=ask("fake:error_mid:ERROR_RATE_LIMITED")) as s:
            list(s.text_stream)
    assert raised.value.body["error"]["type"] == "rate_limit_error"
