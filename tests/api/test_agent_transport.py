"""The agent generation's transport against the strict fake (tests/fake_cursor, its own schema):
whole turns over real HTTP, and the fake's record of what arrived. A disagreement here between
two independently written schemas means one of them misreads docs/AGENT_WIRE.md."""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests

from app.cursor.agent.api_keys import exchange_api_key
from app.cursor.agent.models import fetch_catalog, fetch_usable_models
from app.cursor.agent.run_request import PreparedTurn, prepare_turn
from app.cursor.agent.transport import AgentClient, AgentTurn
from app.cursor.agent.unary import AgentIdentity
from app.cursor.errors import EmptyAnswer, UpstreamError, is_stale_client
from app.cursor.events import Event, ReasoningDelta, StreamEnd, TextDelta, ToolCall, Usage
from app.cursor.messages import ChatMessage, ChatTurn, ToolCallRef, ToolSpec
from tests.fake_cursor.harness import FakeCursor
from tests.support import make_token

HEARTBEAT = 0.5  # the fake drops a turn after 3 of these without an append
IDENTITY = AgentIdentity("cli", "cli-2026.10.01-e373342", ghost_mode=True)
STALE = AgentIdentity("cli", "cli-2026.09.02-c22c1a3", ghost_mode=True)
TOKEN = make_token("user_agent01")
WEATHER = ToolSpec("get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}})
CLOCK = ToolSpec("get.time", "Time", {"type": "object", "properties": {}})
FAKE_USAGE = Usage(1200, 48, 300, 100, 16)


@pytest.fixture(scope="module")
def fake():
    env = {"FAKE_AGENT_HEARTBEAT_SECONDS": str(HEARTBEAT), "FAKE_AGENT_SERVER_HEARTBEAT_SECONDS": "0.2"}
    with FakeCursor(env) as server:
        yield server


@pytest.fixture
def session():
    with requests.Session() as session_:
        yield session_


def prepared(text: str, *earlier: ChatMessage, tools=(), model: str = "composer-2.5") -> PreparedTurn:
    messages = (ChatMessage("system", "Be brief."), *earlier, ChatMessage("user", text))
    return prepare_turn(ChatTurn(model=model, messages=messages, tools=tools))


def open_turn(
    session, fake, turn: PreparedTurn, *, identity=IDENTITY, heartbeat=HEARTBEAT * 0.6, blobs=None
) -> AgentTurn:
    client = AgentClient(session, fake.url, identity, heartbeat_seconds=heartbeat)
    return client.open_turn(turn, token=TOKEN, timeout=10, idle_timeout=30, blobs=blobs)


def events_of(session, fake, turn: PreparedTurn, **options) -> list[Event]:
    agent_turn = open_turn(session, fake, turn, **options)
    try:
        return [event for batch in agent_turn.batches() for event in batch]
    finally:
        agent_turn.close()


def record(fake, turn: PreparedTurn, *, settled: bool = True) -> dict:
    """The fake's record of the turn, once it has an outcome."""
    deadline = time.monotonic() + 5
    while True:
        found = fake.agent_turn(turn.request_id)
        if found["outcome"] is not None or not settled or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def assert_clean(found: dict) -> None:
    """What every turn of ours must look like on the fake's side."""
    assert [append["seqno"] for append in found["appends"]] == list(range(len(found["appends"])))
    assert all(append["status"] == 200 for append in found["appends"])
    assert found["appends"][0]["kind"] == "run_request"
    assert found["unknown_fields"] == []  # every field we send, the fake's schema knows
    assert found["stray_answers"] == []
    for query in found["queries"]:
        if query["kind"] != "mcp_args":
            assert query["answered_at"] is not None and query["wrong_answers"] == [], query


def text_of(events: list[Event]) -> str:
    return "".join(event.text for event in events if isinstance(event, TextDelta))


def test_an_echo_turn(session, fake):
    turn = prepared("hello there")
    events = events_of(session, fake, turn)
    assert text_of(events) == "Echo: hello there"
    assert events[-2:] == [FAKE_USAGE, StreamEnd()]
    found = record(fake, turn)
    assert_clean(found)
    assert found["outcome"] == "completed" and found["cancel_at"] is None
    assert found["run_request"]["action"]["user_message_action"]["prepend_user_messages"][0]["text"] == (
        "<system>\nBe brief.\n</system>"
    )


def test_reasoning(session, fake):
    events = events_of(session, fake, prepared("fake:reasoning"))
    reasoning = "".join(event.text for event in events if isinstance(event, ReasoningDelta))
    assert (reasoning, text_of(events)) == ("Thinking about the question...", "Reasoned answer.")


@pytest.mark.parametrize("scenario", ["gzip", "unicode"])
def test_compressed_and_split_frames(session, fake, scenario):
    expected = {"gzip": "Compressed frames work.", "unicode": "你好，世界！🙂 Cursor 的回答 — ünïcödé ✓ 𝄞 end"}[
        scenario
    ]
    assert text_of(events_of(session, fake, prepared(f"fake:{scenario}"))) == expected


def test_a_tool_call_parks_the_run_and_the_close_cancels_it(session, fake):
    turn = prepared('fake:tool:get_weather:{"city":"Paris","days":3}', tools=(WEATHER, CLOCK))
    events = events_of(session, fake, turn)
    (call,) = [event for event in events if isinstance(event, ToolCall)]
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris", "days": 3}
    assert '"days":3' in call.arguments  # a whole number stays an integer
    assert events[-1] == StreamEnd()
    found = record(fake, turn)
    assert_clean(found)
    assert found["tool_calls"][0]["call_id"] == call.id
    assert found["appends"][-1]["kind"] == "conversation_action" and found["cancel_at"] is not None
    assert found["outcome"] == "cancelled"


def test_two_tool_calls_end_the_answer_after_the_second(session, fake):
    events = events_of(session, fake, prepared("fake:tools:get_weather,get.time", tools=(WEATHER, CLOCK)))
    assert [event.name for event in events if isinstance(event, ToolCall)] == ["get_weather", "get.time"]
    assert events[-1] == StreamEnd()


def test_the_follow_up_with_tool_results(session, fake):
    calls = (ToolCallRef("call_1", "get_weather", '{"city":"Paris"}'),)
    messages = (
        ChatMessage("user", "Weather in Paris?"),
        ChatMessage("assistant", "", tool_calls=calls),
        ChatMessage("tool", "18C", tool_call_id="call_1"),
    )
    follow_up = prepare_turn(ChatTurn(model="composer-2.5", messages=messages, tools=(WEATHER,)))
    assert text_of(events_of(session, fake, follow_up)) == "Tool result for call_1: 18C"
    assert_clean(record(fake, follow_up))


@pytest.mark.parametrize("scenario", ["interaction", "builtin_exec", "checkpoint"])
def test_queries_mid_answer_are_answered(session, fake, scenario):
    turn = prepared(f"fake:{scenario}")
    events = events_of(session, fake, turn)
    assert text_of(events) and events[-1] == StreamEnd()
    found = record(fake, turn)
    assert_clean(found)
    assert found["outcome"] == "completed"


def test_kv_blobs_carry_over_to_the_next_turn(session, fake):
    first = prepared("fake:kv")
    agent_turn = open_turn(session, fake, first)
    try:
        assert text_of([event for batch in agent_turn.batches() for event in batch]) == "Blobs round-tripped."
    finally:
        agent_turn.close()
    blobs = agent_turn.stored_blobs
    assert len(blobs) == 1
    # the same conversation: the fake reads back the blob it set in the first turn
    second = prepared("fake:kv again", ChatMessage("user", "fake:kv"), ChatMessage("assistant", "Blobs round-tripped."))
    assert second.conversation_id == first.conversation_id
    assert text_of(events_of(session, fake, second, blobs=blobs)) == "Blobs round-tripped."
    assert_clean(record(fake, second))


def test_a_history_turn_answers_the_blob_queries(session, fake):
    turn = prepared("More?", ChatMessage("user", "Hi"), ChatMessage("assistant", "Hello"))
    assert text_of(events_of(session, fake, turn)) == "Echo: More?"
    found = record(fake, turn)
    assert_clean(found)
    assert {query["kind"] for query in found["queries"]} == {"request_context_args", "set_blob_args", "get_blob_args"}


def test_heartbeats_keep_a_slow_turn_alive(session, fake):
    turn = prepared("fake:silence:2")
    assert text_of(events_of(session, fake, turn)) == "Before the silence. After it."
    found = record(fake, turn)
    assert_clean(found)
    assert len(found["client_heartbeats"]) >= 4


def test_without_heartbeats_the_server_drops_the_turn(session, fake):
    turn = prepared("fake:silence:3")
    with pytest.raises(UpstreamError) as caught:
        events_of(session, fake, turn, heartbeat=30)
    assert (caught.value.http_status, caught.value.connect_code) == (504, "deadline_exceeded")
    assert record(fake, turn)["outcome"] == "deadline_exceeded"


def test_a_client_that_leaves_cancels_then_closes_within_a_second(session, fake):
    turn = prepared("fake:silence:5")
    agent_turn = open_turn(session, fake, turn)
    batches = agent_turn.batches()
    first = next(batches)
    while not first:
        first = next(batches)
    reader_failed = threading.Event()

    def leave() -> None:
        time.sleep(0.2)
        agent_turn.abort()

    left = time.time()
    threading.Thread(target=leave).start()
    try:
        list(batches)
    except Exception:
        reader_failed.set()
    finally:
        agent_turn.close()
    found = record(fake, turn)
    assert reader_failed.is_set()
    assert found["cancel_at"] is not None and found["client_closed_at"] is not None
    assert found["cancel_at"] <= found["client_closed_at"] + 0.05
    assert found["client_closed_at"] - left < 1.5
    assert_clean(found)


@pytest.mark.parametrize(
    "name,status", [("RATE_LIMITED", 429), ("NOT_LOGGED_IN", 403), ("BAD_MODEL_NAME", 400), ("CUSTOM", 500)]
)
def test_error_trailers_are_classified_on_their_details(session, fake, name, status):
    with pytest.raises(UpstreamError) as caught:
        events_of(session, fake, prepared(f"fake:error:{name}"))
    assert (caught.value.error_name, caught.value.http_status) == (f"ERROR_{name}", status)
    assert caught.value.title == "Fake failure"


def test_an_error_mid_answer(session, fake):
    agent_turn = open_turn(session, fake, prepared("fake:error_mid:RATE_LIMITED"))
    seen: list[Event] = []
    with pytest.raises(UpstreamError):
        for batch in agent_turn.batches():
            seen += batch
    agent_turn.close()
    assert text_of(seen) == "Partial answer"


def test_the_soft_block_is_an_error(session, fake):
    with pytest.raises(EmptyAnswer):
        events_of(session, fake, prepared("fake:soft_block"))


def test_a_stale_client_version_is_recognised(session, fake):
    with pytest.raises(UpstreamError) as caught:
        events_of(session, fake, prepared("hi"), identity=STALE)
    assert is_stale_client(caught.value)


def test_a_refused_run_request_names_the_reason(session, fake):
    with pytest.raises(UpstreamError) as caught:
        events_of(session, fake, prepared("hi", model="no-such-model"))
    assert caught.value.error_name == "ERROR_BAD_MODEL_NAME" and "no-such-model" in caught.value.detail


def test_the_catalog_and_the_usable_models(session, fake):
    catalog = fetch_catalog(session, fake.url, IDENTITY, TOKEN, timeout=10)
    listed = [model.id for model in catalog.listed()]
    assert "composer-2.5" in listed and "grok-4.7-internal" not in listed
    resolved = catalog.resolve("grok-4.6-high-fast")
    assert (resolved.model_id, dict(resolved.parameters)) == ("grok-4.6", {"effort": "high", "fast": "true"})
    assert catalog.resolve("claude-sonnet-4-5").model_id == "claude-4.5-sonnet"
    assert catalog.resolve("cursor-composer-2").model_id == "composer-2"
    usable = [model.id for model in fetch_usable_models(session, fake.url, IDENTITY, TOKEN, timeout=10)]
    assert "composer-2.5" in usable and "grok-4.7-internal" not in usable
    # a resolved variant is accepted upstream as it stands
    turn = prepare_turn(
        ChatTurn(model=resolved.model_id, messages=(ChatMessage("user", "hi"),), parameters=resolved.parameters)
    )
    assert text_of(events_of(session, fake, turn)) == "Echo: hi"


def test_the_api_key_exchange(session, fake):
    exchanged = exchange_api_key(session, fake.url, "crsr_" + "a1" * 16, timeout=10)
    assert exchanged.expires_at > time.time() + 86400
    with pytest.raises(UpstreamError) as caught:
        exchange_api_key(session, fake.url, "crsr_revoked" + "b" * 32, timeout=10)
    assert caught.value.http_status == 401 and "Invalid User API Key" in caught.value.detail
