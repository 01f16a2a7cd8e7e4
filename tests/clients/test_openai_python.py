"""The real `openai` Python SDK against the gateway under gunicorn and the fake: what
tests/e2e/test_agent_openai_sdk.py does not already cover (issue #10 item 6): `parse()` into a
Pydantic model, `AsyncOpenAI` with a two-step tool loop and streamed usage, and the
`chat.completions.stream()` helper with tools."""

from __future__ import annotations

import asyncio
import json

import openai
import pytest
from pydantic import BaseModel

from tests.clients.common import COMPLETION_TOKENS, MODEL, PROMPT_TOKENS, WEATHER_TOOL


class City(BaseModel):
    name: str
    population: int


class GetWeather(BaseModel):
    """Current weather of a city."""

    city: str
    days: int


def get_weather(city: str) -> str:
    """The client's side of the tool: what the agent loop runs."""
    return f"sunny in {city}"


@pytest.fixture
def client(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="admin-secret", max_retries=0, timeout=60)


@pytest.fixture
def async_client(server) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key="admin-secret", max_retries=0, timeout=60)


def last_action(fake) -> dict:
    return fake.agent_turns()[-1]["run_request"]["action"]["user_message_action"]


@pytest.mark.parametrize("where", ["chat", "beta"])
def test_parse_fills_the_pydantic_model_and_the_schema_goes_upstream(client, upstream, where):
    completions = client.chat.completions if where == "chat" else client.beta.chat.completions
    answer = completions.parse(
        model=MODEL,
        messages=[{"role": "user", "content": 'fake:text:```json\n{"name": "Paris", "population": 2100000}\n```'}],
        response_format=City,
    )
    message = answer.choices[0].message
    assert message.refusal is None and message.parsed == City(name="Paris", population=2100000)
    assert answer.choices[0].finish_reason == "stop"
    (system,) = last_action(upstream)["prepend_user_messages"]
    assert '"population"' in system["text"] and "JSON Schema" in system["text"]


def test_parse_reports_an_answer_outside_the_schema_as_a_refusal(client):
    answer = client.chat.completions.parse(
        model=MODEL,
        messages=[{"role": "user", "content": 'fake:text:{"name": "Paris", "population": "many"}'}],
        response_format=City,
    )
    message = answer.choices[0].message
    assert message.parsed is None and message.content is None
    assert "population" in message.refusal


def test_parse_with_a_strict_pydantic_tool_parses_the_arguments(client, upstream):
    answer = client.chat.completions.parse(
        model=MODEL,
        messages=[{"role": "user", "content": 'fake:tool:GetWeather:{"city":"Oslo","days":2}'}],
        tools=[openai.pydantic_function_tool(GetWeather)],
    )
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.function.parsed_arguments == GetWeather(city="Oslo", days=2)
    (tool,) = upstream.agent_turns()[-1]["run_request"]["mcp_tools"]["tools"]
    assert tool["tool_name"] == "GetWeather" and tool["description"] == "Current weather of a city."


async def _async_tool_loop(async_client: openai.AsyncOpenAI) -> tuple[object, list]:
    messages: list = [{"role": "user", "content": 'fake:tool:get_weather:{"city":"Paris"}'}]
    first = await async_client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
    message = first.choices[0].message
    messages.append(message.model_dump(exclude_none=True))
    for call in message.tool_calls or []:
        result = get_weather(**json.loads(call.function.arguments))
        messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    stream = await async_client.chat.completions.create(
        model=MODEL, messages=messages, tools=[WEATHER_TOOL], stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    await async_client.close()
    return first, chunks


def test_async_client_completes_a_two_step_tool_loop_with_streamed_usage(async_client, upstream):
    first, chunks = asyncio.run(_async_tool_loop(async_client))
    assert first.choices[0].finish_reason == "tool_calls"
    call = first.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == f"Tool result for {call.id}: sunny in Paris"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].choices == []
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (PROMPT_TOKENS, COMPLETION_TOKENS)
    first_turn, second_turn = upstream.agent_turns()[-2:]
    assert first_turn["run_request"]["mcp_tools"]["tools"][0]["tool_name"] == "get_weather"
    history = second_turn["run_request"]["action"]["user_message_action"]["conversation_history"]["messages"]
    assert history[-1]["tool"]["tool_call_id"] == call.id
    assert second_turn["scenario"] == "tool_results"


def test_the_stream_helper_with_tools_gives_events_and_a_final_completion(client, upstream):
    tools = [openai.pydantic_function_tool(GetWeather)]
    messages: list = [{"role": "user", "content": 'fake:tool:GetWeather:{"city":"Rome","days":3}'}]
    with client.chat.completions.stream(model=MODEL, messages=messages, tools=tools) as stream:
        kinds = [event.type for event in stream]
        first = stream.get_final_completion()
    assert "tool_calls.function.arguments.done" in kinds
    (call,) = first.choices[0].message.tool_calls
    assert call.function.parsed_arguments == GetWeather(city="Rome", days=3)
    assert first.choices[0].finish_reason == "tool_calls"
    messages += [
        {"role": "assistant", "tool_calls": [call.model_dump(include={"id", "type", "function"}, exclude_none=True)]},
        {"role": "tool", "tool_call_id": call.id, "content": "warm"},
    ]
    with client.chat.completions.stream(model=MODEL, messages=messages, tools=tools) as stream:
        deltas = [event.delta for event in stream if event.type == "content.delta"]
        final = stream.get_final_completion()
    assert "".join(deltas) == final.choices[0].message.content == f"Tool result for {call.id}: warm"
    assert (
        upstream.agent_turns()[-1]["run_request"]["action"]["user_message_action"]["conversation_history"]["messages"][
            -1
        ]["tool"]["tool_call_id"]
        == call.id
    )
