"""The fake's agent service refuses what Cursor's refuses, stalls where Cursor stalls and sends
what each scenario promises. Driven over the wire by a minimal hand-written client
(tests/fake_cursor/agent_client.py: requests + the fake's own schema), never by the gateway."""

from __future__ import annotations

import base64
import itertools
import json
import time
import uuid

import pytest
import requests

from tests.fake_cursor import agent_scenarios as scenarios
from tests.fake_cursor import catalog
from tests.fake_cursor.agent import AgentService, exchanged_token
from tests.fake_cursor.agent_client import (
    APPEND,
    RUN_SSE,
    STALE_CLI_VERSION,
    TOKEN,
    AgentClient,
    envelope,
    history_assistant,
    history_tool,
    history_user,
    identity_headers,
    run_sse_headers,
    run_turn,
    tool_definition,
    tool_result_text,
    valid_run_request,
)
from tests.fake_cursor.agent_turn import Timing
from tests.fake_cursor.harness import AGENT_PATHS, ROOT, FakeCursor
from tests.fake_cursor.proto import agent_fake_pb2 as pb
from tests.support import make_token

HEARTBEAT = 0.5  # the fake's client-heartbeat interval here: no append for 1.5 s drops a turn
BEAT = 0.2  # how often this client appends a heartbeat
QUERY_TIMEOUT = 3.0
# Cursor's real "Update Required" ErrorDetails (jcode#399, PROTOCOL_AGENT §10): 156 bytes.
REAL_UPDATE_REQUIRED = (
    "CBwSlQEKD1VwZGF0ZSBSZXF1aXJlZBJ3WW91ciB2ZXJzaW9uIG9mIEN1cnNvciBpcyBubyBsb25nZXIgc3VwcG9ydGVkLiBQbGVhc2UgdXBk"
    "YXRlIHRvIHRoZSBsYXRlc3QgdmVyc2lvbiBhdCBjdXJzb3IuY29tL2Rvd25sb2FkcyB0byBjb250aW51ZS5SCQoHcGF5bWVudBgB"
)
WEATHER = tool_definition("get_weather")


@pytest.fixture(scope="module")
def fake_agent() -> FakeCursor:
    env = {"FAKE_AGENT_HEARTBEAT_SECONDS": str(HEARTBEAT), "FAKE_AGENT_SERVER_HEARTBEAT_SECONDS": "0.2",
           "FAKE_AGENT_QUERY_TIMEOUT_SECONDS": str(QUERY_TIMEOUT)}  # fmt: skip
    with FakeCursor(env=env) as service:
        yield service


@pytest.fixture
def fake(fake_agent: FakeCursor) -> FakeCursor:
    fake_agent.clear()
    return fake_agent


def play(fake: FakeCursor, text: str = "hello", *, token: str = TOKEN, heartbeat: float | None = BEAT, **run_options):
    """One whole turn answered the contract's way: (client, streamed turn, record)."""
    run = valid_run_request(text, **run_options)
    client = run_turn(fake.url, run, token, heartbeat=heartbeat)
    turn = client.wait_end()
    client.close()
    return client, turn, record_of(fake, client.request_id)


def record_of(fake: FakeCursor, request_id: str, outcome: bool = True) -> dict:
    """The turn's record, once it has an outcome (the fake writes it as the stream ends)."""
    deadline = time.monotonic() + 5
    while True:
        record = fake.agent_turn(request_id)
        if not outcome or record["outcome"] is not None or time.monotonic() > deadline:
            return record
        time.sleep(0.02)


def details(trailer: dict) -> pb.ErrorDetails:
    [detail] = trailer["error"]["details"]
    assert detail["type"] == "aiserver.v1.ErrorDetails" and "=" not in detail["value"]
    return pb.ErrorDetails.FromString(base64.b64decode(detail["value"] + "=" * (-len(detail["value"]) % 4)))


def error_of(trailer: dict) -> str:
    assert trailer["error"]["message"] == "Error"  # the bare message: classify on the details
    return pb.ErrorDetails.Error.Name(details(trailer).error)


def is_args(kind: str):
    return lambda m: (
        m.WhichOneof("message") == "exec_server_message" and m.exec_server_message.WhichOneof("args") == kind
    )


def only_heartbeats_since(turn, index: int) -> bool:
    return all(
        m.WhichOneof("message") == "interaction_update" and m.interaction_update.WhichOneof("update") == "heartbeat"
        for m in turn.messages[index:]
    )


# -- the schema, checked against the documents -----------------------------------------------


FIELD_NUMBERS = [  # (message, field, number) as AGENT_WIRE / PROTOCOL_AGENT give them
    ("BidiAppendRequest", "data", 1), ("BidiAppendRequest", "request_id", 2), ("BidiAppendRequest", "append_seqno", 3),
    ("AgentClientMessage", "run_request", 1), ("AgentClientMessage", "exec_client_message", 2),
    ("AgentClientMessage", "kv_client_message", 3), ("AgentClientMessage", "conversation_action", 4),
    ("AgentClientMessage", "interaction_response", 6), ("AgentClientMessage", "client_heartbeat", 7),
    ("AgentRunRequest", "conversation_state", 1), ("AgentRunRequest", "action", 2), ("AgentRunRequest", "model_details", 3),
    ("AgentRunRequest", "mcp_tools", 4), ("AgentRunRequest", "conversation_id", 5),
    ("AgentRunRequest", "custom_system_prompt", 8), ("AgentRunRequest", "requested_model", 9),
    ("AgentRunRequest", "conversation_group_id", 16), ("AgentRunRequest", "client_supports_inline_images", 19),
    ("AgentRunRequest", "run_id", 25), ("ConversationStateStructure", "mode", 10),
    ("ConversationStateStructure", "agent_type", 22), ("ConversationAction", "cancel_action", 3),
    ("UserMessageAction", "prepend_user_messages", 4), ("UserMessageAction", "conversation_history", 7),
    ("UserMessage", "mode", 4), ("UserMessage", "rich_text", 8), ("SelectedImage", "data", 8),
    ("SelectedImage", "mime_type", 7), ("RequestContext", "tools", 7), ("RequestContext", "git_status_info_complete", 45),
    ("McpToolDefinition", "input_schema_json", 6), ("RequestedModel", "built_in_model", 7),
    ("HistoryTool", "is_error", 4), ("AssistantContent", "tool_call", 4), ("ToolCallContent", "args_json", 3),
    ("AgentServerMessage", "conversation_checkpoint_update", 3), ("AgentServerMessage", "kv_server_message", 4),
    ("AgentServerMessage", "exec_server_control_message", 5), ("AgentServerMessage", "interaction_query", 7),
    ("InteractionUpdate", "partial_tool_call", 7), ("InteractionUpdate", "heartbeat", 13),
    ("InteractionUpdate", "turn_ended", 14), ("InteractionUpdate", "step_completed", 17), ("ToolCall", "mcp_tool_call", 15),
    ("ExecServerMessage", "exec_id", 15), ("ExecServerMessage", "request_context_args", 10),
    ("ExecServerMessage", "mcp_args", 11), ("ExecClientMessage", "shell_result", 2), ("ExecClientMessage", "read_result", 7),
    ("ExecResult", "rejected", 3), ("InteractionAnswer", "rejected", 2), ("TurnEnded", "reasoning_tokens", 5),
    ("CustomErrorDetails", "analytics_metadata", 10), ("AvailableModelsRequest", "use_model_parameters", 5),
    ("AvailableModel", "parameter_definitions", 29), ("AvailableModel", "variants", 30), ("AvailableModel", "is_hidden", 35),
    ("AvailableModel", "legacy_slugs", 36), ("AvailableModel", "id_aliases", 37), ("ModelVariant", "variant_string", 9),
    ("ModelVariant", "legacy_slug", 11),
]  # fmt: skip


@pytest.mark.parametrize(("message", "name", "number"), FIELD_NUMBERS)
def test_field_numbers_follow_the_documents(message, name, number):
    assert getattr(pb, message).DESCRIPTOR.fields_by_name[name].number == number


def test_heartbeat_bytes_and_real_update_required_vector():
    assert pb.AgentClientMessage(client_heartbeat=pb.ClientHeartbeat()).SerializeToString() == b"\x3a\x00"
    from tests.fake_cursor.agent_frames import update_required_body

    [detail] = update_required_body()["details"]
    assert detail["value"] == REAL_UPDATE_REQUIRED  # byte for byte the real service's answer


def test_both_schemas_load_in_one_process():
    from app.cursor.proto import aiserver_pb2

    assert pb.DESCRIPTOR.package == "fakecursor.agent" and aiserver_pb2.DESCRIPTOR.package == "aiserver.v1"


def test_timing_from_the_environment():
    assert Timing.from_env({}) == Timing(5.0, 1.0, 60.0) and Timing().deadline == 15.0
    assert Timing.from_env({"FAKE_AGENT_HEARTBEAT_SECONDS": "0.25"}).deadline == 0.75
    with pytest.raises(ValueError):
        Timing.from_env({"FAKE_AGENT_HEARTBEAT_SECONDS": "0"})


def test_harness_knows_the_agent_paths():
    assert set(AGENT_PATHS) == set(AgentService().routes)


# -- RunSSE: refused before any turn -----------------------------------------------------------


def _run_sse(fake, headers=None, body=None, method="POST", request_id=None, **overrides):
    request_id = request_id or str(uuid.uuid4())
    headers = headers if headers is not None else run_sse_headers(TOKEN, request_id, **overrides)
    body = body if body is not None else envelope(pb.BidiRequestId(request_id=request_id).SerializeToString())
    return requests.request(method, fake.url + RUN_SSE, data=body, headers=headers, timeout=10)


REFUSALS = [
    ({"Content-Type": "application/proto"}, 415, "invalid_argument"),
    ({"Content-Type": "application/connect+json"}, 415, "invalid_argument"),
    ({"connect-protocol-version": None}, 400, "invalid_argument"),
    ({"Authorization": None}, 401, "unauthenticated"),
    ({"Authorization": f"Bearer {TOKEN},abc123"}, 401, "unauthenticated"),
    ({"Authorization": "Bearer crsr_" + "a" * 40}, 401, "unauthenticated"),
    ({"x-cursor-client-type": None}, 403, "permission_denied"),
    ({"x-cursor-client-type": "ide", "x-cursor-client-version": "3.18.9"}, 403, "permission_denied"),
    ({"x-cursor-client-version": "3.18.9"}, 403, "permission_denied"),
    ({"x-cursor-client-version": "cli-3.9"}, 403, "permission_denied"),
    ({"x-cursor-client-version": "cli-2026.13.01-e373342"}, 403, "permission_denied"),
    ({"x-cursor-client-version": "cli-2026.10.01-E373342"}, 403, "permission_denied"),
    ({"x-cursor-client-type": "sdk"}, 403, "permission_denied"),
    ({"x-cursor-client-version": None}, 403, "permission_denied"),
    ({"x-ghost-mode": None}, 400, "invalid_argument"),
    ({"x-ghost-mode": "yes"}, 400, "invalid_argument"),
    ({"x-cursor-streaming": None}, 400, "invalid_argument"),
    ({"x-request-id": None}, 400, "invalid_argument"),
    ({"x-request-id": str(uuid.uuid4())}, 400, "invalid_argument"),
]


@pytest.mark.parametrize(("overrides", "status", "code"), REFUSALS)
def test_run_sse_identity_refusals(fake, overrides, status, code):
    response = _run_sse(fake, **overrides)
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert response.headers["Content-Type"] == "application/json"
    assert fake.agent_turns() == []
    [record] = fake.agent_requests(RUN_SSE)
    assert record["accepted"] is False and record["reason"]


def test_run_sse_refuses_get(fake):
    assert _run_sse(fake, method="GET", body=b"").status_code == 405


@pytest.mark.parametrize(
    "body",
    [
        b"",
        envelope(pb.BidiRequestId(request_id=str(uuid.uuid4())).SerializeToString()) * 2,  # two envelopes
        envelope(b"\x0a\x03abc", flags=1),  # compressed flag
        envelope(b"\xff\xff\xff"),  # not a BidiRequestId
        envelope(pb.BidiRequestId(request_id="request-1").SerializeToString()),  # not a UUID
    ],
)
def test_run_sse_body_must_be_one_envelope_with_a_uuid(fake, body):
    response = _run_sse(fake, body=body)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_argument")


def test_run_sse_request_id_cannot_be_reused(fake):
    request_id = str(uuid.uuid4())
    first = AgentClient(fake.url, request_id=request_id)
    first.open()
    try:
        assert _run_sse(fake, request_id=request_id).status_code == 409
    finally:
        first.close()


@pytest.mark.parametrize(
    ("client_type", "version"), [("cli", STALE_CLI_VERSION), ("cli", "cli-2026.09.30-abcdef0"), ("sdk", "sdk-1.0.29")]
)
def test_stale_client_gets_cursors_update_required(fake, client_type, version):
    response = _run_sse(fake, **{"x-cursor-client-type": client_type, "x-cursor-client-version": version})
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/connect+proto"
    body = response.content
    assert body[0] == 2 and int.from_bytes(body[1:5], "big") == len(body) - 5  # one end-of-stream frame
    trailer = json.loads(body[5:])
    assert (
        trailer["error"]["code"] == "resource_exhausted"
        and error_of(trailer) == "ERROR_GPT_4_VISION_PREVIEW_RATE_LIMIT"
    )
    assert trailer["error"]["details"][0]["value"] == REAL_UPDATE_REQUIRED
    debug = trailer["error"]["details"][0]["debug"]
    assert debug["details"]["title"] == "Update Required" and debug["details"]["analyticsMetadata"] == {
        "actionRequired": "payment"
    }
    [turn] = fake.agent_turns()
    assert turn["outcome"] == "refused" and turn["reason"] == "Update Required"


@pytest.mark.parametrize(("client_type", "version"), [("cli", "cli-2026.10.01-e373342"), ("sdk", "sdk-1.0.30")])
def test_versions_at_the_floor_are_served(fake, client_type, version):
    client = AgentClient(fake.url, headers={"x-cursor-client-type": client_type, "x-cursor-client-version": version})
    client.open()
    client.send_run(valid_run_request())
    assert client.wait_end().trailer == {}
    client.close()


def test_headers_come_at_once_then_the_turn_waits_for_appends(fake):
    client = AgentClient(fake.url)
    started = time.monotonic()
    response = client.open(timeout=2)
    assert response.status_code == 200 and time.monotonic() - started < 1
    assert response.headers["Content-Type"] == "application/connect+proto"
    time.sleep(0.5)
    assert only_heartbeats_since(client.turn, 0) and client.turn.trailer is None
    client.send_run(valid_run_request("late"))
    assert client.wait_end().text == "Echo: late"
    client.close()


# -- BidiAppend ------------------------------------------------------------------------------


def _open(fake, **options) -> AgentClient:
    client = AgentClient(fake.url, **options)
    assert client.open().status_code == 200
    return client


def test_append_answers_an_empty_bidi_append_response(fake):
    client = _open(fake)
    response = client.send_run(valid_run_request())
    assert response.status_code == 200 and response.content == b""
    assert response.headers["Content-Type"] == "application/proto"
    client.wait_end()
    client.close()


def test_append_to_an_unknown_or_finished_request_is_not_found(fake):
    stranger = AgentClient(fake.url)
    response = stranger.append(pb.AgentClientMessage(client_heartbeat=pb.ClientHeartbeat()))
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    client, _, _ = play(fake, heartbeat=None)
    late = client.append(pb.AgentClientMessage(client_heartbeat=pb.ClientHeartbeat()))
    assert (late.status_code, late.json()["code"]) == (404, "not_found")


def test_append_from_another_account_is_not_found(fake):
    client = _open(fake)
    response = client.append(pb.AgentClientMessage(run_request=valid_run_request()),
                             headers={"Authorization": f"Bearer {make_token('someone_else')}"})  # fmt: skip
    assert response.status_code == 404
    client.close()


@pytest.mark.parametrize(
    ("headers", "status"),
    [({"Content-Type": "application/connect+proto"}, 415), ({"x-request-id": str(uuid.uuid4())}, 400),
     ({"Authorization": None}, 401), ({"x-cursor-client-version": "3.18.9"}, 403), ({"x-ghost-mode": None}, 400)],
)  # fmt: skip
def test_append_identity_refusals(fake, headers, status):
    client = _open(fake)
    response = client.append(pb.AgentClientMessage(run_request=valid_run_request()), headers=headers)
    assert response.status_code == status
    client.close()


def _broken(client: AgentClient, response: requests.Response, message: str) -> None:
    assert (response.status_code, response.json()) == (400, {"code": "invalid_argument", "message": message})
    turn = client.wait_end(timeout=5)
    assert turn.trailer == {"error": {"code": "invalid_argument", "message": message}}


def test_first_message_must_be_a_run_request(fake):
    client = _open(fake)
    response = client.append(pb.AgentClientMessage(client_heartbeat=pb.ClientHeartbeat()))
    _broken(client, response, "First message must be a run request")
    record = record_of(fake, client.request_id)
    assert record["outcome"] == "refused" and record["appends"][0]["status"] == 400
    assert client.append(pb.AgentClientMessage(run_request=valid_run_request()), seqno=0).status_code == 404
    client.close()


@pytest.mark.parametrize("state", ["missing", "empty"])
def test_conversation_state_is_required(fake, state):
    client = _open(fake)
    run = valid_run_request()
    run.ClearField("conversation_state")
    if state == "empty":
        run.conversation_state.SetInParent()
    _broken(client, client.append(pb.AgentClientMessage(run_request=run)), "Conversation state is required")
    client.close()


@pytest.mark.parametrize(("seqno", "message"), [(2, "expected 1, got 2"), (0, "expected 1, got 0")])
def test_seqno_gap_or_repeat_fails_the_turn(fake, seqno, message):
    client = _open(fake, answer=False)
    client.send_run(valid_run_request())
    response = client.append(pb.AgentClientMessage(client_heartbeat=pb.ClientHeartbeat()), seqno=seqno)
    _broken(client, response, f"append_seqno out of order: {message}")
    assert client.append(pb.AgentClientMessage(client_heartbeat=pb.ClientHeartbeat())).status_code == 404
    record = record_of(fake, client.request_id)
    assert [append["status"] for append in record["appends"]] == [200, 400]
    client.close()


@pytest.mark.parametrize(("data", "reason"), [("3A00", "lowercase hex"), ("3a0", "lowercase hex"), ("", "no message"),
                                              ("ffff", "not an AgentClientMessage")])  # fmt: skip
def test_append_data_must_be_lowercase_hex_of_a_message(fake, data, reason):
    client = _open(fake)
    client.send_run(valid_run_request("fake:silence:2"))
    response = client.append(data=data)
    assert response.status_code == 400 and reason in response.json()["message"]
    assert client.wait_end().trailer["error"]["code"] == "invalid_argument"
    client.close()


# -- the run request's meaning ----------------------------------------------------------------


def _set(path: str, value):
    def mutate(run):
        *parents, name = path.split(".")
        target = run
        for parent in parents:
            target = getattr(target, parent)
        setattr(target, name, value)

    return mutate


def _user(run):
    return run.action.user_message_action.user_message


def _action(run):
    return run.action.user_message_action


def _tool(**fields):
    def mutate(run):
        for tool in (run.mcp_tools.tools[0], _action(run).request_context.tools[0]):
            for key, value in fields.items():
                if value is None:
                    tool.ClearField(key)
                else:
                    setattr(tool, key, value)

    return mutate


def _image(run, mime="image/png", data=b"\x89PNG\r\n\x1a\nrest"):
    _user(run).selected_context.selected_images.add(
        uuid=str(uuid.uuid4()), path="image-1.png", mime_type=mime, data=data
    )


def _history(*messages):
    return lambda run: _action(run).conversation_history.messages.extend(messages)


RUN_REFUSALS = [
    ("unknown model", _set("requested_model.model_id", "gpt-9"), "ERROR_BAD_MODEL_NAME", "unknown model"),
    ("variant as id", _set("requested_model.model_id", "grok-4.6-high-fast"), "ERROR_BAD_MODEL_NAME", "unknown model"),
    ("hidden model", _set("requested_model.model_id", "grok-4.7-internal"), "ERROR_BAD_MODEL_NAME", "unknown model"),
    ("not built in", _set("requested_model.built_in_model", False), "ERROR_BAD_MODEL_NAME", "built_in_model"),
    ("unknown parameter", lambda run: run.requested_model.parameters.add(id="turbo", value="true"),
     "ERROR_BAD_MODEL_NAME", "no parameter"),
    ("unlisted value", lambda run: run.requested_model.parameters.add(id="fast", value="yes"),
     "ERROR_BAD_MODEL_NAME", "cannot be"),
    ("no requested model", lambda run: run.ClearField("requested_model"), "ERROR_BAD_MODEL_NAME", "missing"),
    ("model details differ", _set("model_details.model_id", "default"), "ERROR_BAD_REQUEST", "model_details"),
    ("group id differs", _set("conversation_group_id", str(uuid.uuid4())), "ERROR_BAD_REQUEST", "conversation_group_id"),
    ("conversation id", lambda run: (_set("conversation_id", "conv-1")(run), _set("conversation_group_id", "conv-1")(run)),
     "ERROR_BAD_REQUEST", "conversation_id"),
    ("run id", _set("run_id", "run-1"), "ERROR_BAD_REQUEST", "run_id"),
    ("state mode", _set("conversation_state.mode", 2), "ERROR_BAD_REQUEST", "conversation_state.mode"),
    ("message id", lambda run: setattr(_user(run), "message_id", "m1"), "ERROR_BAD_REQUEST", "message_id"),
    ("ask mode", lambda run: setattr(_user(run), "mode", 2), "ERROR_BAD_REQUEST", "mode"),
    ("rich text", lambda run: setattr(_user(run), "rich_text", ""), "ERROR_BAD_REQUEST", "rich_text"),
    ("custom system prompt", _set("custom_system_prompt", ""), "ERROR_BAD_REQUEST", "--system-prompt"),
    ("exclude workspace", _set("exclude_workspace_context", True), "ERROR_BAD_REQUEST", "exclusion"),
    ("system not wrapped", lambda run: setattr(_action(run).prepend_user_messages[0], "text", "Be brief."),
     "ERROR_BAD_REQUEST", "<system>"),
    ("a flag false", lambda run: setattr(_action(run).request_context, "git_status_info_complete", False),
     "ERROR_BAD_REQUEST", "git_status_info_complete"),
    ("no request context", lambda run: _action(run).ClearField("request_context"), "ERROR_BAD_REQUEST",
     "request_context"),
    ("tools not in context", lambda run: run.mcp_tools.tools.append(WEATHER), "ERROR_BAD_REQUEST", "same tools"),
    ("image without the flag", _image, "ERROR_BAD_REQUEST", "client_supports_inline_images"),
    ("not a png", lambda run: (_image(run, data=b"GIF89a..."), _set("client_supports_inline_images", True)(run)),
     "ERROR_BAD_REQUEST", "not image/png"),
    ("tool result for no call", _history(history_user("q"), history_tool("call_1", "custom-user-tools-x", "r")),
     "ERROR_BAD_REQUEST", "unknown call"),
    ("history call name", _history(history_user("q"), history_assistant(calls=[("c1", "get_weather", "{}")])),
     "ERROR_BAD_REQUEST", "wire name"),
    ("history args", _history(history_user("q"), history_assistant(calls=[("c1", "custom-user-tools-x", "{")])),
     "ERROR_BAD_REQUEST", "args_json"),
    ("empty history entry", _history(pb.HistoryMessage()), "ERROR_BAD_REQUEST", "empty"),
    ("results not repeated", _history(history_user("q"), history_assistant(calls=[("c1", "custom-user-tools-x", "{}")]),
                                      history_tool("c1", "custom-user-tools-x", "sunny")),
     "ERROR_BAD_REQUEST", "repeat the tool result"),
]  # fmt: skip


@pytest.mark.parametrize(("mutate", "error", "detail"), [case[1:] for case in RUN_REFUSALS],
                         ids=[case[0] for case in RUN_REFUSALS])  # fmt: skip
def test_run_request_refusals(fake, mutate, error, detail):
    run = valid_run_request()
    mutate(run)
    client = run_turn(fake.url, run)
    turn = client.wait_end()
    client.close()
    assert error_of(turn.trailer) == error and detail in details(turn.trailer).details.detail
    assert turn.of("exec_server_message") == []  # refused before any query
    record = record_of(fake, client.request_id)
    assert record["outcome"] == "refused" and record["run_request"]["run_id"] == run.run_id


def _tooled(mutate, header: bool = True):
    run = valid_run_request(tools=[tool_definition("get_weather"), tool_definition("lookup")])
    mutate(run)
    return run, header


TOOL_REFUSALS = [
    ("no header", lambda run: None, False, "x-cursor-agent-allowed-tools"),
    ("wrong provider", _tool(provider_identifier="custom"), True, "provider_identifier"),
    ("unprefixed name", _tool(name="get_weather"), True, "should be 'custom-user-tools-get_weather'"),
    ("no schema", _tool(input_schema=None, input_schema_json=""), True, "no schema"),
    ("schema differs", _tool(input_schema_json='{"type": "object"}'), True, "differ"),
    ("schema not json", _tool(input_schema_json="{"), True, "not JSON"),
    ("duplicate tool", lambda run: (run.mcp_tools.tools.append(run.mcp_tools.tools[0]),
                                    _action(run).request_context.tools.append(run.mcp_tools.tools[0])),
     True, "declared twice"),
    ("empty mcp_tools", lambda run: (run.mcp_tools.ClearField("tools"), _action(run).request_context.ClearField("tools")),
     True, "holds no tool"),
]  # fmt: skip


@pytest.mark.parametrize(("mutate", "header", "detail"), [case[1:] for case in TOOL_REFUSALS],
                         ids=[case[0] for case in TOOL_REFUSALS])  # fmt: skip
def test_tool_definition_refusals(fake, mutate, header, detail):
    run, _ = _tooled(mutate)
    client = AgentClient(fake.url)
    client.open(tools=header)
    client.send_run(run)
    turn = client.wait_end()
    client.close()
    assert error_of(turn.trailer) == "ERROR_BAD_REQUEST" and detail in details(turn.trailer).details.detail


def test_tool_names_are_sanitized_and_long_ones_hashed(fake):
    long_name = "a.very/long:" + "n" * 60
    tools = [tool_definition("get weather!"), tool_definition(long_name), tool_definition("only_schema_value")]
    tools[1].name = "custom-user-tools-a_very_long_" + "n" * 27 + "-0a1b2c"
    assert len(tools[1].name) == 64
    tools[2].input_schema_json = ""
    _, turn, record = play(fake, tools=tools)
    assert turn.trailer == {} and record["outcome"] == "completed"
    assert record["run_request"]["mcp_tools"]["tools"][0]["name"] == "custom-user-tools-get_weather_"


def test_an_image_with_the_flag_and_model_parameters_are_accepted(fake):
    run = valid_run_request("look", model="grok-4.6", parameters={"effort": "xhigh", "fast": "true"})
    _image(run)
    run.client_supports_inline_images = True
    client = run_turn(fake.url, run)
    assert client.wait_end().trailer == {}
    client.close()


def test_unknown_fields_are_recorded_not_refused(fake):
    run = valid_run_request()
    client = run_turn(fake.url, run, answer=True)
    client.close()
    raw = pb.AgentClientMessage(run_request=run).SerializeToString()
    extra = pb.AgentRunRequest.FromString(run.SerializeToString() + b"\xa0\x06\x01")  # field 100 = 1
    client = AgentClient(fake.url)
    client.open()
    client.send_run(extra)
    assert client.wait_end().trailer == {} and raw
    client.close()
    assert record_of(fake, client.request_id)["unknown_fields"] == ["100"]


# -- stalls: every query must be answered right ----------------------------------------------


def test_turn_stalls_until_request_context_is_answered_right(fake):
    client = AgentClient(fake.url, answer=False, heartbeat=BEAT)
    client.open()
    client.send_run(valid_run_request("patience"))
    query = client.wait_for(is_args("request_context_args")).exec_server_message
    index = len(client.turn.messages)
    time.sleep(0.7)
    assert only_heartbeats_since(client.turn, index) and len(client.turn.messages) - index >= 2
    client.answer_exec(query, exec_id="wrong")  # same id, wrong exec_id
    wrong = pb.ExecClientMessage(id=query.id, exec_id=query.exec_id)
    wrong.request_context_result.rejected.reason = "no"
    client.append(pb.AgentClientMessage(exec_client_message=wrong))  # wrong result kind
    bad_context = pb.ExecClientMessage(id=query.id, exec_id=query.exec_id)
    bad_context.request_context_result.success.request_context.SetInParent()  # flags not true
    client.append(pb.AgentClientMessage(exec_client_message=bad_context))
    time.sleep(0.5)
    assert only_heartbeats_since(client.turn, index)
    client.answer_exec(query)
    client.answer = True
    turn = client.wait_end()
    client.close()
    assert turn.text == "Echo: patience"
    record = record_of(fake, client.request_id)
    [asked] = record["queries"]
    reasons = [wrong["reason"] for wrong in asked["wrong_answers"]]
    assert len(reasons) == 3 and "exec_id" in reasons[0] and "rejected" in reasons[1] and "flags" in reasons[2]
    assert asked["answered_at"] >= asked["sent_at"] + 1.0
    assert len(record["server_heartbeats"]) >= 4


def test_history_turn_sets_and_reads_a_blob_and_stalls_on_wrong_data(fake):
    history = [history_user("first question"), history_assistant("first answer")]
    client = AgentClient(fake.url, answer=False, heartbeat=BEAT)
    client.open()
    client.send_run(valid_run_request("second", history=history))
    context = client.wait_for(is_args("request_context_args")).exec_server_message
    client.answer_exec(context)
    set_query = client.wait_for(lambda m: m.WhichOneof("message") == "kv_server_message").kv_server_message
    assert set_query.WhichOneof("args") == "set_blob_args"
    assert json.loads(set_query.set_blob_args.blob_data)["content"][0]["text"] == "first question"
    client.answer_kv(set_query)
    get_query = client.wait_for(lambda m: m.WhichOneof("message") == "kv_server_message").kv_server_message
    assert get_query.get_blob_args.blob_id == set_query.set_blob_args.blob_id
    wrong = pb.KvClientMessage(id=get_query.id, get_blob_result=pb.GetBlobResult(blob_data=b"other"))
    client.append(pb.AgentClientMessage(kv_client_message=wrong))
    index = len(client.turn.messages)
    time.sleep(0.5)
    assert only_heartbeats_since(client.turn, index)
    client.answer_kv(get_query)
    client.answer = True
    turn = client.wait_end()
    client.close()
    assert turn.text == "Echo: second"
    [state] = turn.of("conversation_checkpoint_update")
    assert list(state.root_prompt_messages_json) == [set_query.set_blob_args.blob_id]
    kinds = [(query["kind"], len(query["wrong_answers"])) for query in record_of(fake, client.request_id)["queries"]]
    assert kinds == [("request_context_args", 0), ("set_blob_args", 0), ("get_blob_args", 1)]


def test_a_turn_without_appends_is_dropped(fake):
    client = _open(fake, answer=False)
    started = time.monotonic()
    turn = client.wait_end(timeout=5)
    client.close()
    assert 3 * HEARTBEAT <= time.monotonic() - started < 3 * HEARTBEAT + 4  # slack for a loaded machine
    assert turn.trailer["error"]["code"] == "deadline_exceeded"
    assert record_of(fake, client.request_id)["outcome"] == "deadline_exceeded"


def test_heartbeats_keep_a_parked_turn_and_their_end_drops_it(fake):
    client = run_turn(fake.url, valid_run_request("fake:tool:get_weather", tools=[WEATHER]), heartbeat=BEAT)
    client.wait_for(is_args("mcp_args"))
    time.sleep(4 * HEARTBEAT)
    assert client.turn.trailer is None
    client.stop_heartbeats()
    turn = client.wait_end(timeout=5)
    client.close()
    assert turn.trailer["error"]["code"] == "deadline_exceeded"
    record = record_of(fake, client.request_id)
    assert record["outcome"] == "deadline_exceeded" and len(record["client_heartbeats"]) >= 8
    assert [append["seqno"] for append in record["appends"]] == list(range(len(record["appends"])))


def test_an_unanswered_query_ends_with_no_exec_result(fake):
    client = AgentClient(fake.url, answer=False, heartbeat=BEAT)
    client.open()
    client.send_run(valid_run_request())
    turn = client.wait_end(timeout=QUERY_TIMEOUT + 3)
    client.close()
    assert turn.trailer == {"error": {"code": "internal", "message": "No exec result"}}
    assert record_of(fake, client.request_id)["outcome"] == "query_timeout"


# -- scenarios -------------------------------------------------------------------------------


def test_echo_frames_in_order(fake):
    _, turn, record = play(fake, "hi there")
    assert turn.text == "Echo: hi there" and all(len(d.text) <= 3 for d in turn.updates("text_delta"))
    kinds = turn.update_kinds()
    assert kinds[0] == "exec_server_message" and kinds[1] == "step_started"
    assert kinds[-4:] == ["token_delta", "step_completed", "conversation_checkpoint_update", "turn_ended"]
    assert turn.trailer == {} and turn.frames[-1] == (2, b"{}")
    [ended] = turn.updates("turn_ended")
    assert {key: getattr(ended, key) for key in scenarios.DEFAULT_USAGE} == scenarios.DEFAULT_USAGE
    assert record["scenario"] == "echo" and record["outcome"] == "completed" and record["text"] == "Echo: hi there"
    assert record["usage"] == scenarios.DEFAULT_USAGE
    assert record["run_request"]["action"]["user_message_action"]["user_message"]["text"] == "hi there"


def test_text_and_chunks(fake):
    _, turn, _ = play(fake, "fake:text:one two  three")
    assert [d.text for d in turn.updates("text_delta")] == ["one", " two", " ", " three"]
    _, turn, _ = play(fake, "fake:chunks:A|B b|C")
    assert [d.text for d in turn.updates("text_delta")] == ["A", "B b", "C"]


def test_reasoning(fake):
    _, turn, record = play(fake, "fake:reasoning")
    assert turn.thinking == "".join(scenarios.REASONING_PIECES) and turn.text == scenarios.REASONING_ANSWER
    [done] = turn.updates("thinking_completed")
    assert done.thinking_duration_ms == scenarios.REASONING_DURATION_MS
    kinds = turn.update_kinds()
    assert kinds.index("thinking_completed") < kinds.index("text_delta")
    assert record["thinking"] == "".join(scenarios.REASONING_PIECES)


def test_usage_numbers_and_snapshots(fake):
    _, turn, record = play(fake, "fake:usage:10:20:30:40:5")
    [ended] = turn.updates("turn_ended")
    assert (ended.input_tokens, ended.output_tokens, ended.cache_read_tokens, ended.cache_write_tokens,
            ended.reasoning_tokens) == (10, 20, 30, 40, 5)  # fmt: skip
    assert record["usage"]["cache_write_tokens"] == 40
    _, turn, _ = play(fake, "fake:usage:7")
    [ended] = turn.updates("turn_ended")
    assert (ended.input_tokens, ended.output_tokens) == (7, scenarios.DEFAULT_USAGE["output_tokens"])
    _, turn, _ = play(fake, "fake:usage_snapshots:100:50:0:0:0")
    first, last = turn.updates("turn_ended")
    assert (first.input_tokens, last.input_tokens, last.output_tokens) == (50, 100, 50)


def test_tool_call_parks_the_run_until_cancel_and_close(fake):
    client = run_turn(fake.url, valid_run_request('fake:tool:get_weather:{"city":"Paris","days":3}', tools=[WEATHER]),
                      heartbeat=BEAT)  # fmt: skip
    exec_message = client.wait_for(is_args("mcp_args")).exec_server_message
    mcp = exec_message.mcp_args
    assert (mcp.name, mcp.tool_name, mcp.provider_identifier) == ("custom-user-tools-get_weather", "get_weather",
                                                                   "custom-user-tools")  # fmt: skip
    assert mcp.args["city"].string_value == "Paris" and mcp.args["days"].number_value == 3.0
    partials = client.turn.updates("partial_tool_call")
    assert len(partials) == 3 and partials[-1].args_text_delta == '{"city":"Paris","days":3}'
    assert all(
        later.args_text_delta.startswith(earlier.args_text_delta) for earlier, later in itertools.pairwise(partials)
    )
    [started] = client.turn.updates("tool_call_started")
    assert started.call_id == mcp.tool_call_id == partials[0].call_id
    assert started.tool_call.mcp_tool_call.args.args["city"].string_value == "Paris"
    index = len(client.turn.messages)
    time.sleep(0.6)
    assert only_heartbeats_since(client.turn, index)
    assert record_of(fake, client.request_id, outcome=False)["parked"] is True
    client.stop_heartbeats()
    assert client.cancel().status_code == 200
    time.sleep(0.3)
    assert only_heartbeats_since(client.turn, index) and client.turn.trailer is None  # cancelled, not ended
    client.close()
    record = record_of(fake, client.request_id)
    assert record["outcome"] == "cancelled" and record["cancel_at"] and record["client_closed_at"]
    assert 0.25 < record["client_closed_at"] - record["cancel_at"] < 1.0
    [call] = record["tool_calls"]
    assert call["call_id"] == mcp.tool_call_id and call["args"] == {"city": "Paris", "days": 3}


def test_two_tool_calls_in_one_step_then_the_follow_up_turn(fake):
    tools = [WEATHER, tool_definition("lookup")]
    conversation_id = str(uuid.uuid4())
    first = run_turn(fake.url, valid_run_request("fake:tools:get_weather,lookup", tools=tools,
                                                 conversation_id=conversation_id), heartbeat=BEAT)  # fmt: skip
    first.wait_for(is_args("mcp_args"))
    second_call = first.wait_for(is_args("mcp_args")).exec_server_message.mcp_args
    kinds = first.turn.update_kinds()
    assert kinds.index("tool_call_started") < kinds.index("partial_tool_call", kinds.index("tool_call_started"))
    assert kinds[-2:] == ["exec_server_message", "exec_server_message"]  # every call's started comes first
    first.cancel()
    first.close()
    calls = record_of(fake, first.request_id)["tool_calls"]
    assert [call["tool_name"] for call in calls] == ["get_weather", "lookup"] and second_call.tool_call_id == calls[1][
        "call_id"
    ]
    results = [(calls[0]["call_id"], calls[0]["name"], "sunny"), (calls[1]["call_id"], calls[1]["name"], "found")]
    history = [
        history_user("fake:tools:get_weather,lookup"),
        history_assistant(calls=[(call["call_id"], call["name"], "{}") for call in calls]),
        *[history_tool(*result) for result in results],
    ]
    _, turn, record = play(
        fake, tool_result_text(results), tools=tools, history=history, conversation_id=conversation_id
    )
    assert turn.text == f"Tool result for {calls[0]['call_id']}: sunny\nTool result for {calls[1]['call_id']}: found"
    assert record["scenario"] == "tool_results"


def test_tool_answered_on_the_same_stream_resumes(fake):
    client = run_turn(fake.url, valid_run_request("fake:tool:get_weather", tools=[WEATHER]), heartbeat=BEAT)
    query = client.wait_for(is_args("mcp_args")).exec_server_message
    result = pb.ExecClientMessage(id=query.id, exec_id=query.exec_id)
    result.mcp_result.success.content.add(text=pb.TextContent(text="22 degrees"))
    client.append(pb.AgentClientMessage(exec_client_message=result))
    turn = client.wait_end()
    client.close()
    assert turn.text == f"Tool result for {query.mcp_args.tool_call_id}: 22 degrees" and turn.trailer == {}


def test_a_tool_the_run_request_does_not_declare_is_a_bad_request(fake):
    _, turn, record = play(fake, "fake:tool:rm_rf", tools=[WEATHER])
    assert error_of(turn.trailer) == "ERROR_BAD_REQUEST" and "rm_rf" in details(turn.trailer).details.detail
    assert record["outcome"] == "refused"


ERROR_CLASSES = [
    ("ERROR_NOT_LOGGED_IN", "unauthenticated"), ("BAD_API_KEY", "unauthenticated"),
    ("ERROR_BAD_USER_API_KEY", "unauthenticated"), ("ERROR_BAD_MODEL_NAME", "invalid_argument"),
    ("ERROR_TIMEOUT", "deadline_exceeded"), ("ERROR_GPT_4_VISION_PREVIEW_RATE_LIMIT", "resource_exhausted"),
    ("ERROR_DEPRECATED", "internal"), ("ERROR_RESOURCE_EXHAUSTED", "resource_exhausted"),
    ("ERROR_CONVERSATION_TOO_LONG", "invalid_argument"), ("ERROR_USAGE_PRICING_REQUIRED", "resource_exhausted"),
    ("ERROR_USAGE_PRICING_REQUIRED_CHANGEABLE", "resource_exhausted"), ("ERROR_RATE_LIMITED", "resource_exhausted"),
    ("ERROR_RATE_LIMITED_CHANGEABLE", "resource_exhausted"), ("ERROR_CUSTOM", "internal"),
    ("ERROR_HOOKS_BLOCKED", "permission_denied"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "code"), ERROR_CLASSES)
def test_error_classes(fake, name, code):
    _, turn, record = play(fake, f"fake:error:{name}")
    full = name if name.startswith("ERROR_") else f"ERROR_{name}"
    assert turn.trailer["error"]["code"] == code and error_of(turn.trailer) == full
    assert turn.trailer["error"]["details"][0]["debug"]["error"] == full
    assert turn.messages == [] or only_heartbeats_since(turn, 0)  # before any query
    assert record["outcome"] == "error" and record["reason"] == full


def test_error_mid_and_bad_error_names(fake):
    _, turn, _ = play(fake, "fake:error_mid:RATE_LIMITED")
    assert turn.text == "".join(scenarios.MID_ERROR_PIECES) and error_of(turn.trailer) == "ERROR_RATE_LIMITED"
    _, turn, _ = play(fake, "fake:error:NO_SUCH_THING")
    assert error_of(turn.trailer) == "ERROR_BAD_REQUEST" and "NO_SUCH_THING" in details(turn.trailer).details.detail


def test_soft_block_is_a_clean_end_with_nothing_in_it(fake):
    _, turn, record = play(fake, "fake:soft_block")
    assert turn.update_kinds() == ["exec_server_message"] and turn.trailer == {}
    assert record["outcome"] == "soft_block"


def test_cut_and_garbage_after_end(fake):
    _, turn, record = play(fake, "fake:cut")
    assert turn.text == "".join(scenarios.CUT_PIECES) and turn.trailer is None and turn.error is not None
    assert record["outcome"] == "cut"
    _, turn, _ = play(fake, "fake:garbage_after_end")
    assert turn.text == scenarios.COMPLETE_TEXT and turn.trailer == {} and turn.chunks[-1] == b"\x00junk!\n"


def test_slow_first_frame_and_silence(fake):
    client = AgentClient(fake.url, heartbeat=BEAT)
    client.open()
    sent = time.monotonic()
    client.send_run(valid_run_request("fake:slow_first_frame:1"))
    turn = client.wait_end()
    client.close()
    assert turn.frame_times[0] - sent >= 1.0 and turn.text == scenarios.LATE_TEXT
    _, turn, _ = play(fake, "fake:silence:1")
    before = next(i for i, m in enumerate(turn.messages) if m.interaction_update.WhichOneof("update") == "text_delta")
    gap = turn.frame_times[before + 1] - turn.frame_times[before]
    assert gap >= 1.0 and turn.text == "".join(scenarios.SILENCE_PIECES)


def test_ticks_big_unicode_gzip(fake):
    _, turn, _ = play(fake, "fake:ticks:5:100")
    assert turn.text == "".join(f"tick {i} " for i in range(5))
    _, turn, record = play(fake, "fake:big:100000")
    assert len(turn.text) == 98 * 1024 and record["text_length"] == 98 * 1024
    assert max(len(chunk) for chunk in turn.chunks) > 64 * 1024  # many frames per write
    _, turn, _ = play(fake, "fake:unicode")
    assert turn.text == scenarios.UNICODE_TEXT and all(len(chunk) <= 5 for chunk in turn.chunks[1:])
    _, turn, _ = play(fake, "fake:gzip")
    assert turn.text == "".join(scenarios.GZIP_PIECES)
    assert {flags for flags, payload in turn.frames if b"frames" in payload or flags & 1} == {1}


def test_gzip_needs_the_accept_encoding(fake):
    client = AgentClient(fake.url, headers={"connect-accept-encoding": None})
    client.open()
    client.send_run(valid_run_request("fake:gzip"))
    assert error_of(client.wait_end().trailer) == "ERROR_BAD_REQUEST"
    client.close()


def test_interaction_query_must_be_rejected(fake):
    client = AgentClient(fake.url, heartbeat=BEAT)
    client.open()
    client.send_run(valid_run_request("fake:interaction"))
    query = client.wait_for(lambda m: m.WhichOneof("message") == "interaction_query").interaction_query
    assert query.WhichOneof("query") == "web_search"
    approve = pb.InteractionResponse(id=query.id, web_search=pb.InteractionAnswer(approved=pb.Approved()))
    client.append(pb.AgentClientMessage(interaction_response=approve))
    index = len(client.turn.messages)
    time.sleep(0.5)
    assert only_heartbeats_since(client.turn, index)
    client.respond(pb.AgentServerMessage(interaction_query=query))
    turn = client.wait_end()
    client.close()
    assert turn.text == scenarios.INTERACTION_BEFORE + scenarios.INTERACTION_AFTER
    [asked] = [q for q in record_of(fake, client.request_id)["queries"] if q["family"] == "interaction"]
    assert "approved" in asked["wrong_answers"][0]["reason"] and asked["answered_at"]


def test_builtin_execs_must_get_typed_rejections(fake):
    client = AgentClient(fake.url, heartbeat=BEAT)
    client.open()
    client.send_run(valid_run_request("fake:builtin_exec"))
    shell = client.wait_for(is_args("shell_args")).exec_server_message
    read = client.wait_for(is_args("read_args")).exec_server_message
    assert shell.shell_args.command == scenarios.SHELL_COMMAND and read.read_args.path == scenarios.READ_PATH
    success = pb.ExecClientMessage(
        id=shell.id, exec_id=shell.exec_id, shell_result=pb.ExecResult(success=pb.ExecSuccess())
    )
    client.append(pb.AgentClientMessage(exec_client_message=success))
    untyped = pb.ExecClientMessage(
        id=read.id, exec_id=read.exec_id, shell_result=pb.ExecResult(rejected=pb.ExecRejected())
    )
    client.append(pb.AgentClientMessage(exec_client_message=untyped))  # rejected, but as a shell result
    index = len(client.turn.messages)
    time.sleep(0.5)
    assert only_heartbeats_since(client.turn, index)
    client.answer_exec(shell)
    client.answer_exec(read)
    turn = client.wait_end()
    client.close()
    assert turn.text == scenarios.BUILTIN_BEFORE + scenarios.BUILTIN_AFTER
    [control] = turn.of("exec_server_control_message")
    assert control.abort.id == shell.id
    wrong = {q["kind"]: q["wrong_answers"] for q in record_of(fake, client.request_id)["queries"]}
    assert "success" in wrong["shell_args"][0]["reason"] and "read_result" in wrong["read_args"][0]["reason"]


def test_kv_round_trips_and_reads_back_earlier_turns_blobs(fake):
    conversation_id = str(uuid.uuid4())
    first, turn, record = play(fake, "fake:kv", conversation_id=conversation_id)
    assert turn.text == scenarios.KV_TEXT
    kinds = [query["kind"] for query in record["queries"]]
    assert kinds == ["request_context_args", "set_blob_args", "get_blob_args", "get_blob_args"]
    history = [history_user("fake:kv"), history_assistant(scenarios.KV_TEXT)]
    client = AgentClient(fake.url, heartbeat=BEAT)
    client.blobs = dict(first.blobs)  # the client's store keeps what earlier turns set
    client.open()
    client.send_run(valid_run_request("again", history=history, conversation_id=conversation_id))
    assert client.wait_end().text == scenarios.KV_TEXT
    client.close()
    reads = [q for q in record_of(fake, client.request_id)["queries"] if q["kind"] == "get_blob_args"]
    assert len(reads) == 4 and all(q["answered_at"] for q in reads)  # history blob, new, unknown, earlier


def test_kv_stalls_when_an_earlier_blob_was_forgotten(fake):
    conversation_id = str(uuid.uuid4())
    play(fake, "fake:kv", conversation_id=conversation_id)
    client = AgentClient(fake.url, heartbeat=BEAT)  # a client that lost its store
    client.open()
    client.send_run(valid_run_request("fake:kv", conversation_id=conversation_id))
    with pytest.raises(TimeoutError):
        client.wait_end(timeout=1)
    assert client.turn.text == "" and client.turn.trailer is None
    client.close()
    forgotten = [q for q in record_of(fake, client.request_id)["queries"] if q["wrong_answers"]]
    assert len(forgotten) == 1 and forgotten[0]["answered_at"] is None


def test_checkpoint_scenario(fake):
    _, turn, _ = play(fake, "fake:checkpoint")
    middle, final = turn.of("conversation_checkpoint_update")
    assert (
        bytes(range(32)) in list(middle.root_prompt_messages_json) and final.mode == 1 and final.agent_type == "agent"
    )
    assert turn.text == "".join(scenarios.CHECKPOINT_PIECES)


def test_directive_found_in_history_newest_first_and_unknown_ones(fake):
    history = [history_user("fake:text:old"), history_assistant("old"), history_user("fake:reasoning"),
               history_assistant("x")]  # fmt: skip
    _, turn, record = play(fake, "plain follow-up", history=history)
    assert record["scenario"] == "reasoning"
    _, turn, _ = play(fake, "fake:nonsense")
    assert error_of(turn.trailer) == "ERROR_BAD_REQUEST" and "nonsense" in details(turn.trailer).details.detail
    _, turn, _ = play(fake, "fake:slow_headers:2")
    assert "slowheaders" in details(turn.trailer).details.detail


# -- accounts --------------------------------------------------------------------------------


@pytest.mark.parametrize(("user", "error"), [("user_ratelimited_1", "ERROR_FREE_USER_RATE_LIMIT_EXCEEDED"),
                                             ("user_loggedout_1", "ERROR_NOT_LOGGED_IN"),
                                             ("user_quotaout_1", "ERROR_FREE_USER_USAGE_LIMIT")])  # fmt: skip
def test_failing_accounts(fake, user, error):
    _, turn, _ = play(fake, token=make_token(user))
    assert error_of(turn.trailer) == error


def test_slow_headers_account(fake):
    client = AgentClient(fake.url, make_token("user_slowheaders1_x"))
    started = time.monotonic()
    client.open()
    assert time.monotonic() - started >= 1.0
    client.send_run(valid_run_request())
    assert client.wait_end().trailer == {}
    client.close()


def test_free_plan_cannot_use_paid_models(fake):
    _, turn, _ = play(fake, token=make_token("user_freeplan_1"), model="claude-4.5-sonnet")
    assert error_of(turn.trailer) == "ERROR_BAD_MODEL_NAME"
    _, turn, _ = play(fake, token=make_token("user_freeplan_1"), model="grok-4.6")
    assert turn.trailer == {}


# -- catalog and key exchange ----------------------------------------------------------------


def _catalog(fake, path, body=b"", token=TOKEN, **headers):
    return requests.post(fake.url + path, data=body, headers=identity_headers(token, **headers), timeout=10)


def test_available_models_with_parameters(fake):
    body = pb.AvailableModelsRequest(use_model_parameters=True).SerializeToString()
    response = _catalog(fake, "/aiserver.v1.AiService/AvailableModels", body)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/proto"
    models = {model.name: model for model in pb.AvailableModelsResponse.FromString(response.content).models}
    assert {"default", "composer-2.5", "grok-4.6", "claude-4.5-sonnet", "gpt-5.6-luna", "grok-4.7-internal"} <= set(
        models
    )
    assert models["grok-4.7-internal"].is_hidden and not models["grok-4.6"].is_hidden
    grok = models["grok-4.6"]
    assert {p.id: list(p.values) for p in grok.parameter_definitions}["effort"] == ["low", "medium", "high", "xhigh"]
    variant = next(v for v in grok.variants if v.variant_string == "grok-4.6-high-fast")
    assert variant.legacy_slug == "cursor-grok-4.6-high-fast"
    assert {(p.id, p.value) for p in variant.parameters} == {("effort", "high"), ("fast", "true")}
    assert list(models["claude-4.5-sonnet"].id_aliases) == ["claude-sonnet-4-5"]
    assert models["claude-4.5-sonnet"].supports_thinking and models["claude-4.5-sonnet"].supports_images
    assert [p.id for p in models["composer-2.5"].parameter_definitions] == ["fast"]
    names = pb.AvailableModelsResponse.FromString(response.content).model_names
    assert "grok-4.7-internal" not in names


def test_available_models_without_parameters_and_for_a_free_plan(fake):
    response = _catalog(fake, "/aiserver.v1.AiService/AvailableModels")
    models = pb.AvailableModelsResponse.FromString(response.content).models
    assert models and all(not m.parameter_definitions and not m.variants for m in models)
    free = _catalog(fake, "/aiserver.v1.AiService/AvailableModels", token=make_token("user_freeplan_2"))
    free_names = {m.name for m in pb.AvailableModelsResponse.FromString(free.content).models}
    assert free_names < {m.name for m in models} and "gpt-5.6-luna" not in free_names
    assert fake.catalog_calls() == 2


def test_get_usable_models(fake):
    response = _catalog(fake, "/agent.v1.AgentService/GetUsableModels")
    models = pb.GetUsableModelsResponse.FromString(response.content).models
    assert [m.model_id for m in models] == [m.name for m in catalog.MODELS if not m.hidden]
    assert fake.counts()["get_usable_models"] == 1


@pytest.mark.parametrize("path", ["/aiserver.v1.AiService/AvailableModels", "/agent.v1.AgentService/GetUsableModels"])
def test_catalog_refusals(fake, path):
    assert _catalog(fake, path, **{"Content-Type": "application/json"}).status_code == 415
    assert _catalog(fake, path, **{"x-cursor-client-type": "ide"}).status_code == 403
    assert _catalog(fake, path, **{"Authorization": None}).status_code == 401
    stale = _catalog(fake, path, **{"x-cursor-client-version": STALE_CLI_VERSION})
    assert stale.status_code == 429 and stale.json()["details"][0]["value"] == REAL_UPDATE_REQUIRED
    logged_out = _catalog(fake, path, token=make_token("user_loggedout_2"))
    assert logged_out.status_code == 401 and logged_out.json()["details"][0]["debug"]["error"] == "ERROR_NOT_LOGGED_IN"


def _exchange(fake, key, content_type="application/json", body=b"{}"):
    headers = {"Authorization": f"Bearer {key}", "Content-Type": content_type}
    return requests.post(fake.url + "/auth/exchange_user_api_key", data=body, headers=headers, timeout=10)


def test_key_exchange(fake):
    key = "crsr_" + "Ab3" * 12
    response = _exchange(fake, key)
    assert response.status_code == 200
    token = response.json()["accessToken"]
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["sub"] == f"auth0|user_{key.removeprefix('crsr_')}" and claims["type"] == "session"
    assert abs(claims["exp"] - time.time() - 60 * 86400) < 60
    _, turn, _ = play(fake, token=token)  # the exchanged token is a bearer the agent service takes
    assert turn.trailer == {}
    for bad in ("crsr_short", "sk-" + "a" * 40, "crsr_revoked" + "a" * 30, "crsr_" + "a" * 31 + "!"):
        refused = _exchange(fake, bad)
        assert (refused.status_code, refused.json()["message"]) == (401, "Invalid User API Key")
    assert _exchange(fake, key, content_type="application/proto").status_code == 415
    assert _exchange(fake, key, body=b"[]").status_code == 400
    assert fake.key_exchanges() == 1 and fake.counts()["exchange_user_api_key"] == 7


def test_exchanged_keys_carry_account_markers():
    assert (
        "ratelimited"
        in json.loads(base64.urlsafe_b64decode(exchanged_token("crsr_ratelimited" + "a" * 30).split(".")[1] + "=="))[
            "sub"
        ]
    )


# -- the record ------------------------------------------------------------------------------


def test_record_shape_and_the_requests_record(fake):
    client, _, record = play(fake, "shape", system="Sys text.")
    assert set(record) >= {
        "request_id", "started_at", "headers", "client_type", "client_version", "user_id", "run_request",
        "unknown_fields", "scenario", "appends", "client_heartbeats", "server_heartbeats", "queries", "stray_answers",
        "tool_calls", "parked", "text", "thinking", "usage", "cancel_at", "client_closed_at", "ended_at", "outcome",
        "reason",
    }  # fmt: skip
    assert record["request_id"] == client.request_id and record["headers"]["x-request-id"] == client.request_id
    assert record["appends"][0]["kind"] == "run_request" and record["appends"][0]["message"]["run_request"]
    prepend = record["run_request"]["action"]["user_message_action"]["prepend_user_messages"][0]["text"]
    assert prepend == "<system>\nSys text.\n</system>" and record["client_type"] == "cli"
    [query] = record["queries"]
    assert query["family"] == "exec" and query["answered_at"] >= query["sent_at"]
    paths = [r["path"] for r in fake.requests()]
    assert paths[0] == RUN_SSE and APPEND in paths and fake.chat_requests() == [] and fake.account_requests() == []
    assert fake.agent_requests(RUN_SSE)[0]["accepted"] is True
    fake.clear()
    assert fake.agent_turns() == [] and fake.counts() == {}


def test_client_closing_a_silent_stream_is_noticed_at_once(fake):
    client = run_turn(fake.url, valid_run_request("fake:silence:5"), heartbeat=BEAT)
    client.wait_for(lambda m: m.interaction_update.WhichOneof("update") == "text_delta")
    closed = time.time()
    client.close()
    record = record_of(fake, client.request_id)
    assert record["outcome"] == "client_closed" and record["client_closed_at"] - closed < 0.3


def test_every_agent_scenario_is_documented():
    readme = (ROOT / "tests" / "fake_cursor" / "README.md").read_text()
    table = readme[readme.index("## Agent scenarios") : readme.index("## Catalog")]
    missing = [name for name in scenarios.AGENT_SCENARIOS if f"`{name}" not in table and name != "tool_results"]
    assert missing == [] and "tool results" in table
