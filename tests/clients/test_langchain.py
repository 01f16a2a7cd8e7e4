"""`langchain-openai`'s ChatOpenAI against the gateway under gunicorn and the fake (issue #10
item 6): a `bind_tools` round trip, `with_structured_output` (its default method,
json_schema, and function calling), and `stream_usage`."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from tests.clients.common import COMPLETION_TOKENS, MODEL, PROMPT_TOKENS


class Person(BaseModel):
    """A person and their age."""

    name: str
    age: int


@tool
def get_weather(city: str) -> str:
    """Current weather of a city."""
    return f"sunny in {city}"


@pytest.fixture
def chat(server) -> ChatOpenAI:
    return ChatOpenAI(model=MODEL, base_url=f"{server.url}/v1", api_key="admin-secret", max_retries=0, timeout=60)


def test_bind_tools_round_trip(chat, upstream):
    model = chat.bind_tools([get_weather])
    messages: list = [HumanMessage('fake:tool:get_weather:{"city":"Lima"}')]
    first = model.invoke(messages)
    assert isinstance(first, AIMessage)
    (call,) = first.tool_calls
    assert call["name"] == "get_weather" and call["args"] == {"city": "Lima"}
    messages += [first, ToolMessage(get_weather.invoke(call["args"]), tool_call_id=call["id"])]
    final = model.invoke(messages)
    assert final.content == f"Tool result for {call['id']}: sunny in Lima" and not final.tool_calls
    first_turn, second_turn = upstream.agent_turns()[-2:]
    (definition,) = first_turn["run_request"]["mcp_tools"]["tools"]
    assert definition["tool_name"] == "get_weather" and definition["description"] == "Current weather of a city."
    history = second_turn["run_request"]["action"]["user_message_action"]["conversation_history"]["messages"]
    assert history[-1]["tool"]["tool_call_id"] == call["id"] and second_turn["scenario"] == "tool_results"


def test_streamed_parallel_tool_calls_aggregate_and_round_trip(chat, upstream):
    model = chat.bind_tools([get_weather])
    messages: list = [HumanMessage("fake:tools:get_weather,get_weather")]
    chunks = list(model.stream(messages))
    first = chunks[0]
    for chunk in chunks[1:]:
        first += chunk
    assert [call["name"] for call in first.tool_calls] == ["get_weather", "get_weather"]
    assert len({call["id"] for call in first.tool_calls}) == 2
    messages += [first] + [
        ToolMessage(f"result {n}", tool_call_id=call["id"]) for n, call in enumerate(first.tool_calls)
    ]
    final = model.invoke(messages)
    assert final.content == "\n".join(
        f"Tool result for {call['id']}: result {n}" for n, call in enumerate(first.tool_calls)
    )
    results = upstream.agent_turns()[-1]["run_request"]["action"]["user_message_action"]["conversation_history"]
    assert [message["tool"]["tool_call_id"] for message in results["messages"][-2:]] == [
        call["id"] for call in first.tool_calls
    ]


def test_with_structured_output_default_method_is_json_schema(chat, upstream):
    structured = chat.with_structured_output(Person, include_raw=True)
    got = structured.invoke('fake:text:{"name": "Ada", "age": 36}')
    assert got["parsing_error"] is None and got["parsed"] == Person(name="Ada", age=36)
    run = upstream.agent_turns()[-1]["run_request"]
    assert "mcp_tools" not in run  # json_schema: response_format, not a tool
    (system,) = run["action"]["user_message_action"]["prepend_user_messages"]
    assert "JSON Schema" in system["text"] and '"age"' in system["text"]


def test_with_structured_output_by_function_calling(chat, upstream):
    structured = chat.with_structured_output(Person, method="function_calling")
    assert structured.invoke('fake:tool:Person:{"name":"Grace","age":85}') == Person(name="Grace", age=85)
    run = upstream.agent_turns()[-1]["run_request"]
    assert [definition["tool_name"] for definition in run["mcp_tools"]["tools"]] == ["Person"]


def test_stream_usage_gives_usage_metadata(server, upstream):
    chat = ChatOpenAI(
        model=MODEL,
        base_url=f"{server.url}/v1",
        api_key="admin-secret",
        max_retries=0,
        timeout=60,
        stream_usage=True,
    )
    chunks = list(chat.stream("fake:text:Hello from the stream"))
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole += chunk
    assert whole.content == "Hello from the stream"
    usage = whole.usage_metadata
    assert usage is not None
    assert (usage["input_tokens"], usage["output_tokens"]) == (PROMPT_TOKENS, COMPLETION_TOKENS)
    assert usage["total_tokens"] == PROMPT_TOKENS + COMPLETION_TOKENS
    assert usage["input_token_details"]["cache_read"] == 300
