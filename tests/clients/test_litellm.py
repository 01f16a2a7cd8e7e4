"""`litellm` as an OpenAI-compatible client of the gateway under gunicorn and the fake (issue #10
item 6): a two-step tool loop, `max_tokens` ending in `finish_reason: "length"`, and usage.

litellm is imported with its cost map read from the package (`LITELLM_LOCAL_MODEL_COST_MAP`;
1.110's telemetry package is the proxy's, opt-in, and the SDK has no `litellm.telemetry` switch
any more), and every DNS lookup and socket connection of this process is recorded (an audit
hook) while it imports and runs: nothing may go anywhere but the loopback."""

from __future__ import annotations

import importlib
import json
import sys

import pytest

from tests.clients.common import COMPLETION_TOKENS, MODEL, PROMPT_TOKENS, WEATHER_TOOL

LOOPBACK = {"127.0.0.1", "localhost", "::1"}

# litellm's own pydantic models warn on the pydantic this project pins: not ours to fix.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Item '.*' on TypedDict class .* `ReadOnly` qualifier:UserWarning"),
    pytest.mark.filterwarnings("ignore:Accessing the 'model_.*' attribute on the instance is deprecated"),
]

_destinations: list[str] | None = None  # recording while a list


def _record_network(event: str, args: tuple) -> None:
    if _destinations is None:
        return
    if event == "socket.getaddrinfo":
        _destinations.append(str(args[0]))
    elif event == "socket.connect" and isinstance(args[1], tuple):
        _destinations.append(str(args[1][0]))


_hooked = False


@pytest.fixture(scope="module")
def destinations(server):
    """The hosts this process looked up or connected to while litellm was imported and used."""
    global _destinations, _hooked
    if not _hooked:  # an audit hook stays for the process; it records nothing unless asked
        sys.addaudithook(_record_network)
        _hooked = True
    _destinations = []
    try:
        yield _destinations
    finally:
        _destinations = None


@pytest.fixture(scope="module")
def litellm(destinations):
    patch = pytest.MonkeyPatch()
    patch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    module = importlib.import_module("litellm")
    yield module
    patch.undo()


@pytest.fixture
def ask(server, litellm):
    def completion(messages, **extra):
        return litellm.completion(
            model=f"openai/{MODEL}",
            api_base=f"{server.url}/v1",
            api_key="admin-secret",
            messages=messages,
            timeout=60,
            num_retries=0,
            **extra,
        )

    return completion


def test_a_two_step_tool_loop(ask, upstream):
    messages: list = [{"role": "user", "content": 'fake:tool:get_weather:{"city":"Quito"}'}]
    first = ask(messages, tools=[WEATHER_TOOL])
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Quito"}
    messages += [choice.message, {"role": "tool", "tool_call_id": call.id, "content": "sunny in Quito"}]
    final = ask(messages, tools=[WEATHER_TOOL])
    assert final.choices[0].message.content == f"Tool result for {call.id}: sunny in Quito"
    assert final.choices[0].finish_reason == "stop"
    first_turn, second_turn = upstream.agent_turns()[-2:]
    assert [tool["tool_name"] for tool in first_turn["run_request"]["mcp_tools"]["tools"]] == ["get_weather"]
    history = second_turn["run_request"]["action"]["user_message_action"]["conversation_history"]["messages"]
    assert history[-1]["tool"]["tool_call_id"] == call.id and second_turn["scenario"] == "tool_results"


def test_max_tokens_cuts_the_answer_with_finish_reason_length(ask):
    answer = ask([{"role": "user", "content": "fake:text:aaaa bbbb cccc dddd"}], max_tokens=2)
    assert answer.choices[0].finish_reason == "length"
    assert answer.choices[0].message.content == "aaaa b"  # cl100k: aaaa, then  b|bbb


def test_usage_whole_and_streamed(ask):
    whole = ask([{"role": "user", "content": "fake:text:Counted here"}])
    assert whole.choices[0].message.content == "Counted here"
    assert (whole.usage.prompt_tokens, whole.usage.completion_tokens) == (PROMPT_TOKENS, COMPLETION_TOKENS)
    chunks = list(
        ask(
            [{"role": "user", "content": "fake:text:Counted streamed"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices) == "Counted streamed"
    usage = next(chunk.usage for chunk in reversed(chunks) if getattr(chunk, "usage", None))
    assert (usage.prompt_tokens, usage.completion_tokens) == (PROMPT_TOKENS, COMPLETION_TOKENS)


def test_litellm_went_nowhere_but_the_loopback(ask, destinations):
    ask([{"role": "user", "content": "fake:text:one more"}])
    assert destinations, "the audit hook saw no connection at all"
    assert set(destinations) <= LOOPBACK, sorted(set(destinations) - LOOPBACK)
