"""Chat Completions parameters the gateway applies or refuses itself (D31–D33), against the fake."""

from __future__ import annotations

import re

from tests.api.sse import joined_content, sse_payloads
from tests.support import ADMIN, chat, log_entries

SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}


def finish_of(payloads: list) -> str:
    return [p for p in payloads if isinstance(p, dict) and p.get("choices")][-1]["choices"][0]["finish_reason"]


def test_every_response_has_our_request_id_and_the_log_keeps_it(gateway):
    answer = chat(gateway, "fake:text:A B C", headers={**ADMIN, "x-request-id": "mine"})
    request_id = answer.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    [entry] = log_entries(gateway)
    assert entry["request_id"] == request_id
    assert re.fullmatch(r"[0-9a-f]{32}", gateway.get("/health").headers["x-request-id"])
    refused = gateway.post("/v1/chat/completions", json={"model": 5}, headers=ADMIN)
    assert re.fullmatch(r"[0-9a-f]{32}", refused.headers["x-request-id"])
    assert refused.headers["x-request-id"] != request_id


def test_file_and_audio_parts_are_refused_naming_the_part(gateway):
    for kind in ("file", "input_audio"):
        content = [{"type": "text", "text": "hi"}, {"type": kind, kind: {}}]
        body = {"model": "gpt-4o", "messages": [{"role": "user", "content": content}]}
        response = gateway.post("/v1/chat/completions", json=body, headers=ADMIN)
        assert response.status_code == 400
        error = response.get_json()["error"]
        assert error["code"] == "unsupported_content" and error["param"] == "messages[0].content[1]"


def test_stop_cuts_the_answer_streamed_or_not(gateway):
    whole = chat(gateway, "fake:text:one two three four", stop=["thr", "zz"]).get_json()
    assert whole["choices"][0]["message"]["content"] == "one two "
    assert whole["choices"][0]["finish_reason"] == "stop"
    streamed = sse_payloads(chat(gateway, "fake:text:one two three four", stream=True, stop="o t").get_data(True))
    assert joined_content(streamed) == "one tw" and finish_of(streamed) == "stop"
    assert [entry["status"] for entry in log_entries(gateway)] == ["success", "success"]


def test_stop_parameter_shape(gateway):
    too_many = chat(gateway, "hi", stop=["a", "b", "c", "d", "e"])
    assert too_many.status_code == 400 and too_many.get_json()["error"]["param"] == "stop"
    wrong = chat(gateway, "hi", stop=[1])
    assert wrong.status_code == 400 and wrong.get_json()["error"]["param"] == "stop[0]"


def test_max_tokens_cuts_with_finish_reason_length(gateway):
    whole = chat(gateway, "fake:text:aaaa bbbb cccc dddd", max_tokens=2).get_json()
    assert whole["choices"][0]["message"]["content"] == "aaaa b"  # cl100k: aaaa, then  b|bbb
    assert whole["choices"][0]["finish_reason"] == "length"
    streamed = sse_payloads(
        chat(gateway, "fake:text:aaaa bbbb cccc", stream=True, max_completion_tokens=1).get_data(True)
    )
    assert joined_content(streamed) == "aaaa" and finish_of(streamed) == "length"
    assert chat(gateway, "hi", max_tokens=0).get_json()["error"]["param"] == "max_tokens"


def test_json_object_adds_an_instruction_and_strips_fences(gateway, upstream):
    body = chat(gateway, 'fake:text:```json\n{"a": 1}\n```', response_format={"type": "json_object"}).get_json()
    assert body["choices"][0]["message"]["content"] == '{"a": 1}'
    context = upstream.chat_requests()[-1]["request"]["explicit_context"]["context"]
    assert "JSON" in context


def test_json_schema_answer_checked_or_refused(gateway):
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": SCHEMA, "strict": True}}
    good = chat(gateway, 'fake:text:{"a": 1}', response_format=fmt).get_json()
    assert good["choices"][0]["message"]["content"] == '{"a": 1}'
    bad = chat(gateway, 'fake:text:{"a": "one"}', response_format=fmt).get_json()
    message = bad["choices"][0]["message"]
    assert message["content"] is None and "schema" in message["refusal"]
    streamed = sse_payloads(chat(gateway, "fake:text:no json", stream=True, response_format=fmt).get_data(True))
    refusals = [p["choices"][0]["delta"].get("refusal") for p in streamed if isinstance(p, dict) and p.get("choices")]
    assert any(refusals) and joined_content(streamed) == ""
    invalid = chat(gateway, "hi", response_format={"type": "json_schema", "json_schema": {"schema": {"type": 5}}})
    assert invalid.status_code == 400 and invalid.get_json()["error"]["param"] == "response_format.json_schema.schema"


def test_outputs_cursor_cannot_give_are_refused(gateway):
    for extra, param in (({"logprobs": True}, "logprobs"), ({"modalities": ["text", "audio"]}, "modalities")):
        response = chat(gateway, "hi", **extra)
        assert response.status_code == 400 and response.get_json()["error"]["param"] == param
    ignored = chat(gateway, "fake:text:A", temperature=0.2, top_p=0.5, seed=1, presence_penalty=1, user="u")
    assert ignored.status_code == 200
