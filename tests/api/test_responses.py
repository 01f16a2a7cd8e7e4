"""The OpenAI Responses API front (`/v1/responses`, D35), in-process against the strict fake on
the agent generation: the response object and its usage, the event stream, tools, the stored
conversation behind `previous_response_id`, and the 400s naming the parameter."""

from __future__ import annotations

import base64
import json
import time

import pydantic
import pytest
from openai.types.responses import Response, ResponseStreamEvent

from tests.fake_cursor import agent_scenarios
from tests.support import ADMIN, log_entries, make_token, png

MODEL = "claude-4.5-sonnet"
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}
USAGE = {
    "input_tokens": 1600,  # input 1200 + cache read 300 + cache write 100 (as Chat Completions counts)
    "input_tokens_details": {"cached_tokens": 300, "cache_write_tokens": 100},
    "output_tokens": 48,
    "output_tokens_details": {"reasoning_tokens": 16},
    "total_tokens": 1648,
}
OTHER = {"Authorization": f"Bearer {make_token('user_someone_else')}"}


@pytest.fixture
def agent(make_gateway, upstream):
    return make_gateway(tokens=[make_token("user_pool1")], CURSOR_PROTOCOL="agent", CURSOR_AGENT_BASE_URL=upstream.url)


def create(client, input, *, headers=ADMIN, model=MODEL, **extra):
    return client.post("/v1/responses", json={"model": model, "input": input, **extra}, headers=headers)


def events_of(body: str) -> list[dict]:
    """Each SSE event's data, checked to carry its `event:` name as `type`; comments skipped."""
    events = []
    for block in body.split("\n\n")[:-1]:
        if block.startswith(":"):
            continue
        name, data = block.split("\n")
        assert name.startswith("event: ") and data.startswith("data: "), block
        event = json.loads(data[len("data: ") :])
        assert event["type"] == name[len("event: ") :]
        events.append(event)
    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    return events


def output_text(response: dict) -> str:
    return "".join(
        part.get("text", "") for item in response["output"] if item["type"] == "message" for part in item["content"]
    )


def test_a_text_answer_is_a_response_object_with_cursors_usage(agent):
    response = create(agent, "fake:text:Hi there")
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"].startswith("resp_") and body["object"] == "response" and body["status"] == "completed"
    assert body["model"] == MODEL and body["usage"] == USAGE and body["store"] is True
    (message,) = body["output"]
    assert message["type"] == "message" and message["id"].startswith("msg_") and message["status"] == "completed"
    assert message["content"] == [{"type": "output_text", "text": "Hi there", "annotations": [], "logprobs": []}]
    entry = log_entries(agent)[-1]
    assert entry["front"] == "responses" and entry["status"] == "success"


def test_instructions_and_message_items_go_upstream(agent, upstream):
    items = [
        {"role": "developer", "content": "Be brief."},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "first question"}]},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "first answer"}]},
        {"role": "user", "content": "second question"},
    ]
    body = create(agent, items, instructions="Answer in French.").get_json()
    assert output_text(body) == "Echo: second question" and body["instructions"] == "Answer in French."
    action = upstream.agent_turns()[-1]["run_request"]["action"]["user_message_action"]
    assert action["prepend_user_messages"][0]["text"] == "<system>\nAnswer in French.\n\nBe brief.\n</system>"
    history = action["conversation_history"]["messages"]
    assert history[1]["assistant"]["content"][0]["text"]["text"] == "first answer"


def test_an_input_image_goes_upstream_inline(agent, upstream):
    data_url = "data:image/png;base64," + base64.b64encode(png(4, 5)).decode()
    content = [{"type": "input_text", "text": "what is this?"}, {"type": "input_image", "image_url": data_url}]
    assert create(agent, [{"role": "user", "content": content}]).status_code == 200
    message = upstream.agent_turns()[-1]["run_request"]["action"]["user_message_action"]["user_message"]
    (image,) = message["selected_context"]["selected_images"]
    assert image["dimension"] == {"width": 4, "height": 5}


def test_the_stream_is_the_responses_event_sequence(agent):
    response = create(agent, "fake:reasoning", stream=True)
    assert response.mimetype == "text/event-stream"
    events = events_of(response.get_data(as_text=True))
    assert [event["type"] for event in events[:2]] == ["response.created", "response.in_progress"]
    assert events[0]["response"]["status"] == "in_progress" and events[0]["response"]["output"] == []
    kinds = [event["type"] for event in events]
    first_text = kinds.index("response.output_text.delta")
    assert kinds[2:4] == ["response.output_item.added", "response.reasoning_summary_part.added"]
    assert kinds[first_text - 5 : first_text] == [
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    reasoning = "".join(e["delta"] for e in events if e["type"] == "response.reasoning_summary_text.delta")
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert reasoning == "".join(agent_scenarios.REASONING_PIECES) and text == agent_scenarios.REASONING_ANSWER
    final = events[-1]["response"]
    assert final["status"] == "completed" and final["usage"] == USAGE
    assert [item["type"] for item in final["output"]] == ["reasoning", "message"]
    assert final["output"][0]["summary"] == [{"type": "summary_text", "text": reasoning}]
    done = [e["item"] for e in events if e["type"] == "response.output_item.done"]
    assert done == final["output"]  # the stream and the final object agree
    whole = create(agent, "fake:reasoning").get_json()
    assert [item["type"] for item in whole["output"]] == ["reasoning", "message"]
    assert whole["output"][0]["summary"][0]["text"] == reasoning and output_text(whole) == text


def test_a_function_call_round_trip_with_previous_response_id(agent, upstream):
    first = create(agent, 'fake:tool:get_weather:{"city":"Paris"}', tools=[WEATHER]).get_json()
    (call,) = first["output"]
    assert call["type"] == "function_call" and call["id"].startswith("fc_") and call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"city": "Paris"} and call["call_id"]
    assert first["tools"] == [WEATHER]
    parked = upstream.agent_turns()[-1]
    assert parked["run_request"]["mcp_tools"]["tools"][0]["tool_name"] == "get_weather"
    result = {"type": "function_call_output", "call_id": call["call_id"], "output": "sunny"}
    second = create(agent, [result], previous_response_id=first["id"], tools=[WEATHER]).get_json()
    assert output_text(second) == f"Tool result for {call['call_id']}: sunny"
    assert second["previous_response_id"] == first["id"]
    history = upstream.agent_turns()[-1]["run_request"]["action"]["user_message_action"]["conversation_history"]
    assert history["messages"][-1]["tool"]["tool_call_id"] == call["call_id"]
    third = create(agent, "fake:text:third", previous_response_id=second["id"]).get_json()  # the chain goes on
    assert output_text(third) == "third"
    longer = upstream.agent_turns()[-1]["run_request"]["action"]["user_message_action"]["conversation_history"]
    assert longer["messages"][: len(history["messages"])] == history["messages"]
    assert longer["messages"][-1]["assistant"]["content"][0]["text"]["text"] == output_text(second)


def test_a_streamed_function_call(agent):
    events = events_of(create(agent, "fake:tools:get_weather,get_weather", tools=[WEATHER], stream=True).get_data(True))
    added = [e for e in events if e["type"] == "response.output_item.added"]
    assert [e["item"]["type"] for e in added] == ["function_call", "function_call"]
    assert all(e["item"]["arguments"] == "" for e in added)
    deltas = [e for e in events if e["type"] == "response.function_call_arguments.delta"]
    finished = [e for e in events if e["type"] == "response.function_call_arguments.done"]
    assert [e["output_index"] for e in finished] == [0, 1]
    assert [d["delta"] for d in deltas] == [f["arguments"] for f in finished]
    final = events[-1]["response"]
    assert [item["call_id"] for item in final["output"]] == [e["item"]["call_id"] for e in added]


def test_a_stored_response_is_only_for_its_credential_and_store_false_keeps_nothing(agent):
    made = create(agent, "fake:text:kept").get_json()
    assert agent.get(f"/v1/responses/{made['id']}", headers=ADMIN).get_json() == made
    assert agent.get(f"/v1/responses/{made['id']}", headers=OTHER).status_code == 404
    assert agent.get(f"/v1/responses/{made['id']}").status_code == 401
    again = create(agent, "hi", previous_response_id=made["id"], headers=OTHER)
    assert again.status_code == 400 and again.get_json()["error"]["code"] == "previous_response_not_found"
    unkept = create(agent, "fake:text:gone", store=False).get_json()
    assert unkept["store"] is False
    missing = agent.get(f"/v1/responses/{unkept['id']}", headers=ADMIN)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    streamed = events_of(create(agent, "fake:text:streamed", stream=True).get_data(True))[-1]["response"]
    assert agent.get(f"/v1/responses/{streamed['id']}", headers=ADMIN).get_json() == streamed


def test_an_unknown_previous_response_is_a_400_naming_it(agent):
    response = create(agent, "hi", previous_response_id="resp_nope")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert (error["code"], error["param"]) == ("previous_response_not_found", "previous_response_id")


def test_stored_responses_expire(make_gateway, upstream):
    brief = make_gateway(
        tokens=[make_token("user_pool1")],
        CURSOR_PROTOCOL="agent",
        CURSOR_AGENT_BASE_URL=upstream.url,
        RESPONSES_TTL_SECONDS="0.2",
    )
    made = create(brief, "hi").get_json()
    assert brief.get(f"/v1/responses/{made['id']}", headers=ADMIN).status_code == 200
    time.sleep(0.3)
    assert brief.get(f"/v1/responses/{made['id']}", headers=ADMIN).status_code == 404
    assert create(brief, "again", previous_response_id=made["id"]).status_code == 400


def test_max_output_tokens_makes_an_incomplete_response(agent):
    body = create(agent, "fake:text:" + "word " * 40, max_output_tokens=2).get_json()
    assert body["status"] == "incomplete" and body["incomplete_details"] == {"reason": "max_output_tokens"}
    whole = output_text(create(agent, "fake:text:" + "word " * 40).get_json())
    assert whole.startswith(output_text(body)) and 0 < len(output_text(body)) < len(whole) / 4  # counted as chat's
    events = events_of(create(agent, "fake:text:" + "word " * 40, max_output_tokens=2, stream=True).get_data(True))
    assert events[-1]["type"] == "response.incomplete" and events[-1]["response"]["status"] == "incomplete"


def test_a_json_schema_answer_that_fails_the_check_is_a_refusal(agent):
    text = {"format": {"type": "json_schema", "name": "city", "schema": {"type": "object", "required": ["city"]}}}
    body = create(agent, "fake:text:not json", text=text).get_json()
    (message,) = body["output"]
    assert message["content"][0]["type"] == "refusal" and "not valid JSON" in message["content"][0]["refusal"]
    assert body["text"] == text
    events = events_of(create(agent, "fake:text:not json", text=text, stream=True).get_data(True))
    assert "response.refusal.done" in [e["type"] for e in events]
    good = create(agent, 'fake:chunks:{"city": |"Paris"}', text=text).get_json()
    assert json.loads(output_text(good)) == {"city": "Paris"}


def test_an_error_after_the_stream_started_is_an_error_event_then_failed(agent):
    events = events_of(create(agent, "fake:error_mid:ERROR_CONVERSATION_TOO_LONG", stream=True).get_data(True))
    assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]
    assert events[-2]["message"] and events[-2]["code"]
    assert events[-1]["response"]["status"] == "failed" and events[-1]["response"]["error"]["message"]


def test_an_upstream_error_keeps_its_status(make_gateway, upstream):
    own = make_gateway(tokens=[], CURSOR_PROTOCOL="agent", CURSOR_AGENT_BASE_URL=upstream.url)
    direct = {"Authorization": f"Bearer {make_token('user_direct')}"}
    response = create(own, "fake:error:ERROR_RATE_LIMITED", headers=direct)
    assert response.status_code == 429 and response.get_json()["error"]["type"] == "rate_limit_error"
    assert create(own, "hi", headers={}).status_code == 401


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({"tools": [{"type": "function"}]}, "tools[0].name"),
        ({"input": ["hi", {"type": "computer_call"}]}, "input[0]"),
        ({"input": [{"role": "user", "content": "x"}, {"type": "item_reference", "id": "x"}]}, "input[1]"),
        ({"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]}, "input[0].content[0]"),
        ({"input": [{"role": "tool", "content": "x"}]}, "input[0].role"),
        ({"input": [{"type": "function_call_output", "call_id": "call_x", "output": "1"}]}, "input[0].call_id"),
        ({"input": []}, "input"),
        ({"input": None}, "input"),
        ({"text": {"format": {"type": "xml"}}}, "text.format.type"),
        ({"text": {"format": {"type": "json_schema", "schema": {"type": 5}}}}, "text.format.schema"),
        ({"tool_choice": {"type": "file_search"}}, "tool_choice"),
        ({"max_output_tokens": 0}, "max_output_tokens"),
        ({"reasoning": {"effort": 3}}, "reasoning.effort"),
        ({"background": True}, "background"),
        ({"stream": "yes"}, "stream"),
    ],
)
def test_bad_requests_are_400s_naming_the_parameter(agent, extra, param):
    body = {"model": MODEL, "input": "hi", **extra}
    response = agent.post("/v1/responses", json=body, headers=ADMIN)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["param"] == param


def test_reasoning_effort_is_the_models_effort_parameter_where_it_has_one(agent, upstream):
    assert create(agent, "hi", model="grok-4.6", reasoning={"effort": "high"}).status_code == 200
    requested = upstream.agent_turns()[-1]["run_request"]["requested_model"]
    assert ("effort", "high") in {(p["id"], p["value"]) for p in requested["parameters"]}
    refused = create(agent, "hi", model="grok-4.6", reasoning={"effort": "minimal"})
    assert refused.status_code == 400 and refused.get_json()["error"]["param"] == "reasoning.effort"
    assert create(agent, "hi", reasoning={"effort": "minimal"}).status_code == 200  # no effort parameter: unchanged


def test_input_of_only_skipped_items_is_a_400_naming_input(agent):
    response = create(agent, [{"type": "reasoning", "id": "rs_1", "summary": []}])
    assert response.status_code == 400 and response.get_json()["error"]["param"] == "input"


def test_ignored_parameters_are_accepted_and_repeated(agent):
    body = create(
        agent,
        "hi",
        temperature=0.2,
        top_p=0.9,
        metadata={"k": "v"},
        user="u1",
        parallel_tool_calls=False,
        reasoning={"effort": "high", "summary": "auto"},
    ).get_json()
    assert (body["temperature"], body["top_p"], body["metadata"], body["user"]) == (0.2, 0.9, {"k": "v"}, "u1")
    assert body["parallel_tool_calls"] is False and body["reasoning"] == {"effort": "high", "summary": "auto"}


SCHEMA_TEXT = {"format": {"type": "json_schema", "name": "city", "schema": {"type": "object", "required": ["city"]}}}


@pytest.mark.parametrize(
    ("text", "extra"),
    [
        ("fake:reasoning", {}),
        ("fake:tools:get_weather,get_weather", {"tools": [WEATHER], "tool_choice": "required"}),
        ("fake:text:not json", {"text": SCHEMA_TEXT}),
        ("fake:text:" + "word " * 30, {"max_output_tokens": 2}),
        ("fake:error_mid:ERROR_CONVERSATION_TOO_LONG", {}),
    ],
)
def test_every_event_and_body_validates_as_the_sdks_types(agent, text, extra):
    """Strict pydantic validation, not the SDK's lenient parsing: every required field is there
    with the right type, whatever the answer holds."""
    events = events_of(create(agent, text, stream=True, **extra).get_data(as_text=True))
    adapter = pydantic.TypeAdapter(ResponseStreamEvent)
    parsed = [adapter.validate_python(event) for event in events]  # raises on a missing or mistyped field
    assert [event.type for event in parsed] == [event["type"] for event in events]
    final = events[-1]["response"]
    if final["status"] != "failed":
        assert Response.model_validate(create(agent, text, **extra).get_json()).status == final["status"]
