"""End to end, the Responses API front (D35, issue #11): the real `openai` SDK's
`client.responses` against the gateway under real gunicorn with two gevent workers, talking to
the strict fake. A conversation continued with `previous_response_id` is served by the other
worker than its first turn: the stored response is in the store they share."""

from __future__ import annotations

import json

import httpx
import openai
import psutil
import pytest

from tests.fake_cursor import agent_scenarios
from tests.support import checksum_for, gateway_env, make_token, running_gateway

MODEL = "claude-4.5-sonnet"
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture(scope="module")
def server(fake, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("responses-gateway")
    token = make_token("user_responses_e2e")
    (data_dir / ".tokens").write_text(f"{token},{checksum_for(token)}")
    env = gateway_env(data_dir, fake.url, CURSOR_PROTOCOL="agent", CURSOR_AGENT_BASE_URL=fake.url)
    with running_gateway(env, workers=2) as running:
        yield running


class Workers:
    """Which gunicorn worker answered each response: the one holding the server end of the
    connection it came on (looked up while the response is still being read)."""

    def __init__(self, server) -> None:
        self.processes = psutil.Process(server.process.pid).children()
        assert len(self.processes) == 2
        self.answered: list[int] = []

    def __call__(self, response: httpx.Response) -> None:
        port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
        (pid,) = {
            process.pid
            for process in self.processes
            for connection in process.net_connections(kind="tcp")
            if connection.raddr and connection.raddr.port == port
        }
        self.answered.append(pid)

    def client(self, server, api_key: str = "admin-secret") -> openai.OpenAI:
        """An SDK client on one kept-alive connection, so every call it makes goes to one worker."""
        http = httpx.Client(event_hooks={"response": [self]}, limits=httpx.Limits(max_connections=1), timeout=60)
        return openai.OpenAI(base_url=f"{server.url}/v1", api_key=api_key, max_retries=0, http_client=http)

    def client_on_another_worker(self, server, pid: int) -> openai.OpenAI:
        for _ in range(50):
            client = self.client(server)
            client.models.list()
            if self.answered[-1] != pid:
                return client
            client.close()
        raise AssertionError("fifty new connections all went to one worker")


@pytest.fixture
def workers(server) -> Workers:
    return Workers(server)


@pytest.fixture
def client(server, workers) -> openai.OpenAI:
    return workers.client(server)


def test_output_text_and_usage_streamed_and_not(client):
    whole = client.responses.create(model=MODEL, input="fake:text:Hi there")
    assert whole.output_text == "Hi there" and whole.status == "completed"
    usage = whole.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (1600, 48, 1648)
    assert usage.input_tokens_details.cached_tokens == 300 and usage.output_tokens_details.reasoning_tokens == 16
    events = list(client.responses.create(model=MODEL, input="fake:text:Hi there", stream=True))
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "Hi there"
    assert events[-1].response.output_text == "Hi there" and events[-1].response.usage.total_tokens == 1648
    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_the_stream_helper_assembles_reasoning_and_text(client):
    with client.responses.stream(model=MODEL, input="fake:reasoning", reasoning={"summary": "auto"}) as stream:
        reasoning = "".join(e.delta for e in stream if e.type == "response.reasoning_summary_text.delta")
        final = stream.get_final_response()
    assert reasoning == "".join(agent_scenarios.REASONING_PIECES)
    assert final.output_text == agent_scenarios.REASONING_ANSWER
    assert final.output[0].type == "reasoning" and final.output[0].summary[0].text == reasoning


def test_a_function_call_round_trip_continued_on_the_other_worker(server, workers, client, fake):
    first = client.responses.create(model=MODEL, input='fake:tool:get_weather:{"city":"Paris"}', tools=[WEATHER])
    first_worker = workers.answered[-1]
    (call,) = first.output
    assert call.type == "function_call" and call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Paris"}
    definitions = fake.agent_turns()[-1]["run_request"]["mcp_tools"]["tools"]
    assert [tool["tool_name"] for tool in definitions] == ["get_weather"]
    assert json.loads(definitions[0]["input_schema_json"]) == WEATHER["parameters"]

    other = workers.client_on_another_worker(server, first_worker)
    second = other.responses.create(
        model=MODEL,
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny, 21 °C"}],
        tools=[WEATHER],
    )
    assert workers.answered[-1] != first_worker
    assert second.output_text == f"Tool result for {call.call_id}: sunny, 21 °C"
    assert second.previous_response_id == first.id
    run = fake.agent_turns()[-1]["run_request"]
    history = run["action"]["user_message_action"]["conversation_history"]["messages"]
    assert history[-1]["tool"]["tool_call_id"] == call.call_id
    assert "sunny, 21 °C" in run["action"]["user_message_action"]["user_message"]["text"]


def test_a_streamed_function_call_parses_in_the_sdk(client):
    with client.responses.stream(model=MODEL, input="fake:tool:get_weather:{}", tools=[WEATHER]) as stream:
        done = [e for e in stream if e.type == "response.function_call_arguments.done"]
        final = stream.get_final_response()
    (call,) = final.output
    assert call.type == "function_call" and call.arguments == done[0].arguments == "{}"


def test_stored_responses_are_retrieved_and_store_false_keeps_nothing(server, workers, client):
    kept = client.responses.create(model=MODEL, input="fake:text:kept")
    assert client.responses.retrieve(kept.id).output_text == "kept"
    unkept = client.responses.create(model=MODEL, input="fake:text:gone", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(unkept.id)
    stranger = workers.client(server, api_key=make_token("user_stranger"))
    with pytest.raises(openai.NotFoundError):
        stranger.responses.retrieve(kept.id)
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model=MODEL, input="hi", previous_response_id=unkept.id)
    assert raised.value.code == "previous_response_not_found" and raised.value.param == "previous_response_id"


def test_upstream_errors_reach_the_sdk_as_typed_exceptions(server, workers):
    own = workers.client(server, api_key=make_token("user_own_responses"))
    cases = [
        ("fake:error:ERROR_RATE_LIMITED", openai.RateLimitError),
        ("fake:error:ERROR_NOT_LOGGED_IN", openai.PermissionDeniedError),
        ("fake:error:ERROR_BAD_MODEL_NAME", openai.BadRequestError),
        ("fake:soft_block", openai.InternalServerError),
    ]
    for text, exception in cases:
        with pytest.raises(exception) as raised:
            own.responses.create(model=MODEL, input=text)
        assert raised.value.message
    with pytest.raises(openai.BadRequestError, match="web_search"):
        own.responses.create(model=MODEL, input="hi", tools=[{"type": "web_search"}])
    events = list(own.responses.create(model=MODEL, input="fake:error_mid:ERROR_CONVERSATION_TOO_LONG", stream=True))
    assert [e.type for e in events[-2:]] == ["error", "response.failed"]
    assert events[-2].message and events[-1].response.status == "failed"
