"""What the gateway sent upstream for one OpenAI request, taken from the fake's record, so that
the relay's and the fake's load is exactly that: on `legacy` the one StreamChat request; on
`agent` the RunSSE request and the BidiAppend writes, which bench/agent.py replays."""

from __future__ import annotations

import requests

from bench.agent import HEARTBEAT
from tests.fake_cursor.harness import FakeCursor
from tests.fake_cursor.proto import agent_fake_pb2 as pb

RUN_SSE = "/agent.v1.AgentService/RunSSE"
APPEND = "/aiserver.v1.BidiService/BidiAppend"
SKIPPED_HEADERS = {"host", "content-length", "transfer-encoding"}  # the generator writes its own
TURN_HEADERS = {"x-request-id"}  # an agent chat's own: bench/agent.py sets it per turn


def _post(gateway_url: str, key: str, openai_body: dict, *, whole: bool) -> None:
    with requests.post(
        f"{gateway_url}/v1/chat/completions",
        json=openai_body,
        stream=True,
        timeout=60,
        headers={"Authorization": f"Bearer {key}"},
    ) as response:
        response.raise_for_status()
        if whole:
            for _ in response.iter_content(None):
                pass
        else:  # the request is upstream; the rest of a slow reply is not needed
            next(response.iter_content(1), None)


def _headers(record: dict, skipped: set[str]) -> dict[str, str]:
    return {name: value for name, value in record["headers"].items() if name.lower() not in skipped}


def capture_legacy(fake: FakeCursor, gateway_url: str, key: str, openai_body: dict) -> dict:
    """(path, headers, body) of the StreamChat request the gateway made."""
    fake.clear()
    _post(gateway_url, key, openai_body, whole=False)
    [record] = fake.chat_requests()
    if not record["accepted"] or record["reason"]:
        raise RuntimeError(f"the fake refused the gateway's request: {record['reason']}")
    return {
        "path": record["path"],
        "headers": _headers(record, SKIPPED_HEADERS),
        "body": bytes.fromhex(record["body_hex"]),
    }


def capture_agent(fake: FakeCursor, gateway_url: str, key: str, openai_body: dict) -> dict:
    """The template of the gateway's agent chat (bench/agent.py's AgentChat), read to its end so
    that every write is in the record; plus `writes`, the kinds of the writes, in order. Refuses
    a chat with a write the floor does not replay: only the run request, the answers to exec
    queries and heartbeats are."""
    fake.clear()
    _post(gateway_url, key, openai_body, whole=True)
    [turn] = fake.agent_turns()
    if turn["outcome"] != "completed" or turn["stray_answers"] or any(q["wrong_answers"] for q in turn["queries"]):
        raise RuntimeError(f"the gateway's agent chat did not go cleanly: {turn}")
    [run_sse] = fake.agent_requests(RUN_SSE)
    records = fake.agent_requests(APPEND)
    appends = sorted(
        (pb.BidiAppendRequest.FromString(bytes.fromhex(record["body_hex"])) for record in records),
        key=lambda append: append.append_seqno,
    )
    messages = [pb.AgentClientMessage.FromString(bytes.fromhex(append.data)) for append in appends]
    kinds = [message.WhichOneof("message") for message in messages]
    if not kinds or kinds[0] != "run_request":
        raise RuntimeError(f"the gateway's first write was not the run request: {kinds}")
    exec_kinds = {query["id"]: query["kind"] for query in turn["queries"] if query["family"] == "exec"}
    answers = {}
    for append, message, kind in zip(appends[1:], messages[1:], kinds[1:], strict=True):
        if kind == "exec_client_message":
            answers[exec_kinds[message.exec_client_message.id]] = append.data  # the bytes as sent, in hex
        elif message != HEARTBEAT:
            raise RuntimeError(f"a write the floor does not replay: {kind}")
    return {
        "run_sse_path": RUN_SSE,
        "append_path": APPEND,
        "run_headers": _headers(run_sse, SKIPPED_HEADERS | TURN_HEADERS),
        "append_headers": _headers(records[0], SKIPPED_HEADERS | TURN_HEADERS),
        "run_request_hex": appends[0].data,
        "answers": answers,
        "writes": kinds,
    }
