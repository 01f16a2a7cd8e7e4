"""Chat against the strict fake of Cursor's service: what goes upstream and what comes back
(SPEC §6.6–6.13; §18 rows 32–50, 99, 100)."""

from __future__ import annotations

import base64
import re

import pytest

from tests.api.sse import joined_content, sse_payloads
from tests.support import ADMIN, chat, checksum_for, image_message, log_entries, make_token, png
from tests.unit.vectors import VECTORS

CAPTURE = VECTORS["capture"]
CHATCMPL_ID = re.compile(r"^chatcmpl-[0-9a-f]{32}$")


def data_url(data: bytes, kind: str = "png") -> str:
    return f"data:image/{kind};base64,{base64.b64encode(data).decode()}"


# -- what the upstream receives ------------------------------------------------------------


def test_upstream_request_has_every_header_and_always_present_field(gateway, upstream):
    assert chat(gateway, "hi").status_code == 200
    [received] = upstream.chat_requests()
    assert received["accepted"], received["reason"]
    headers = {k.lower(): v for k, v in received["headers"].items()}
    assert headers["content-type"] == "application/connect+proto"
    assert headers["connect-protocol-version"] == "1"
    assert headers["user-agent"] == "connect-es/1.6.1"
    assert headers["x-cursor-client-version"] == "0.42.5"
    assert headers["x-cursor-timezone"] == "Asia/Shanghai"
    assert headers["x-ghost-mode"] == "true"
    assert re.fullmatch(r"[0-9a-f]{64}", headers["x-client-key"])
    trace = re.fullmatch(r"Root=([0-9a-f-]{36})", headers["x-amzn-trace-id"]).group(1)
    assert headers["x-request-id"] == trace
    assert len(headers["x-cursor-checksum"]) == 137
    assert "transfer-encoding" not in headers and "content-length" in headers
    assert "x-co" not in headers
    for field in (
        "allow_long_file_scan",
        "is_bash",
        "can_handle_filenames_after_language_ids",
        "long_context_mode",
        "is_eval",
        "runnable_code_blocks",
        "should_cache",
    ):
        assert field in received["present_fields"], field
    assert "use_web" not in received["present_fields"]
    assert received["request"]["model_details"]["model_name"] == "gpt-4o"


def test_default_instructions_or_system_text(make_gateway, upstream):
    client = make_gateway(tokens=[make_token()])
    chat(client, "hi")
    messages = [
        {"role": "system", "content": "Be terse."},
        {"role": "system", "content": [{"type": "text", "text": "Use English."}]},
        {"role": "user", "content": "hi"},
    ]
    client.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": messages}, headers=ADMIN)
    default, custom = upstream.chat_requests()
    assert default["request"]["explicit_context"]["context"] == "Respond in Chinese by default"
    assert custom["request"]["explicit_context"]["context"] == "Be terse.\n\nUse English."
    blank = make_gateway(tokens=[make_token()], DEFAULT_INSTRUCTIONS="")
    upstream.clear()
    chat(blank, "hi")
    assert "explicit_context" not in upstream.chat_requests()[0]["request"]


def test_conversation_is_normalised_to_alternate(gateway, upstream):
    messages = [{"role": "assistant", "content": "a1"}, {"role": "assistant", "content": "a2"}]
    gateway.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": messages}, headers=ADMIN)
    conversation = upstream.chat_requests()[0]["request"]["conversation"]
    assert [(m.get("type"), m.get("text", "")) for m in conversation] == [
        ("MESSAGE_TYPE_HUMAN", ""),
        ("MESSAGE_TYPE_AI", "a1"),
        ("MESSAGE_TYPE_HUMAN", ""),
        ("MESSAGE_TYPE_AI", "a2"),
        ("MESSAGE_TYPE_HUMAN", ""),
    ]


def test_external_links_from_the_last_user_message(gateway, upstream):
    chat(gateway, "read @https://example.com/x and @notaurl please")
    links = upstream.chat_requests()[0]["request"]["external_links"]
    assert [link["url"] for link in links] == ["https://example.com/x"]


def test_web_search_models_use_stream_chat_web(gateway, upstream):
    response = chat(gateway, "news", model="gpt-4o-online")
    assert response.status_code == 200 and response.get_json()["model"] == "gpt-4o-online"
    [received] = upstream.chat_requests()
    assert received["path"] == "/aiserver.v1.AiService/StreamChatWeb"
    assert received["request"]["use_web"] == "full_search"
    assert received["request"]["model_details"]["model_name"] == "gpt-4o"


def test_long_context_and_slow_pool_flags(make_gateway, upstream):
    slow = make_gateway(tokens=[make_token()], ENABLE_SLOW_POOL="true")
    chat(slow, "hi", model="gpt-4o-128k")
    normal = make_gateway(tokens=[make_token()])
    chat(normal, "hi")
    first, second = upstream.chat_requests()
    assert first["request"]["long_context_mode"] is True
    assert first["request"]["model_details"]["enable_slow_pool"] is True
    assert "enable_slow_pool" not in second["request"]["model_details"]
    assert second["request"]["long_context_mode"] is False


def test_pool_rotation_is_round_robin(make_gateway, upstream):
    tokens = [make_token(f"user_rot{i}") for i in range(3)]
    client = make_gateway(tokens=tokens)
    for _ in range(4):
        assert chat(client, "hi").status_code == 200
    used = [r["headers"]["Authorization"].removeprefix("Bearer ") for r in upstream.chat_requests()]
    assert used == [tokens[0], tokens[1], tokens[2], tokens[0]]


def test_upstream_connections_are_reused(gateway, upstream):
    before = upstream.connections()
    for _ in range(5):  # cursor-small: no background usage check opening connections of its own
        assert chat(gateway, "hi", model="cursor-small").status_code == 200
        assert (
            chat(gateway, "hi", model="cursor-small", stream=True).get_data(as_text=True).endswith("data: [DONE]\n\n")
        )
    assert upstream.connections() - before <= 2  # one for the ten chats, one for this probe


def test_reverse_proxy_host_routes_through_the_relay():
    from app.cursor.client import Upstream, chat_headers

    upstream = Upstream(reverse_proxy_host="relay.example")
    url, routing = upstream.locate(upstream.api2_base_url, "/aiserver.v1.AiService/StreamChat")
    assert url == "https://relay.example/aiserver.v1.AiService/StreamChat"
    assert routing == {"x-co": "api2.cursor.sh"}
    assert chat_headers("t", "c", routing)["x-co"] == "api2.cursor.sh"
    web_url, web_routing = upstream.locate(upstream.web_base_url, "/api/usage")
    assert (web_url, web_routing) == ("https://relay.example/api/usage", {"x-co": "www.cursor.com"})


# -- images --------------------------------------------------------------------------------


def test_base64_images_are_sent_with_dimensions(gateway, upstream):
    image = png(3, 2)
    response = gateway.post("/v1/chat/completions", json=image_message(data_url(image)), headers=ADMIN)
    assert response.status_code == 200, response.get_data(as_text=True)
    [sent] = upstream.chat_requests()[0]["request"]["conversation"][0]["images"]
    assert base64.b64decode(sent["data"]) == image
    assert sent["dimension"] == {"width": 3, "height": 2}


def test_http_images_are_dropped_in_base64_mode(gateway, upstream):
    gateway.post("/v1/chat/completions", json=image_message("https://example.invalid/a.png"), headers=ADMIN)
    assert "images" not in upstream.chat_requests()[0]["request"]["conversation"][0]


def test_http_images_are_fetched_in_all_mode(make_gateway, upstream, image_server):
    client = make_gateway(tokens=[make_token()], VISION_ABILITY="all", IMAGE_FETCH_ALLOW_PRIVATE="true")
    response = client.post("/v1/chat/completions", json=image_message(f"{image_server}/cat.png"), headers=ADMIN)
    assert response.status_code == 200, response.get_data(as_text=True)
    [sent] = upstream.chat_requests()[0]["request"]["conversation"][0]["images"]
    assert sent["dimension"] == {"width": 4, "height": 5}


def test_vision_none_forwards_no_images(make_gateway, upstream):
    client = make_gateway(tokens=[make_token()], VISION_ABILITY="none")
    assert (
        client.post("/v1/chat/completions", json=image_message(data_url(png(1, 1))), headers=ADMIN).status_code == 200
    )
    assert "images" not in upstream.chat_requests()[0]["request"]["conversation"][0]


def test_unusable_images_get_400_invalid_image(gateway, upstream):
    animated = (
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00"
        + (b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00") * 2
        + b"\x3b"
    )
    for url, _reason in (
        (data_url(animated, "gif"), "animated"),
        ("data:image/png;base64,@@@", "base64"),
        (data_url(b"not an image at all"), "format"),
    ):
        response = gateway.post("/v1/chat/completions", json=image_message(url), headers=ADMIN)
        assert response.status_code == 400, url[:40]
        error = response.get_json()["error"]
        assert error["code"] == "invalid_image" and "messages[0]" in error["message"]
        assert error["param"] == "messages[0].content[1].image_url"
    assert upstream.chat_requests() == []  # refused before anything went upstream


# -- what comes back -----------------------------------------------------------------------


def test_non_streaming_completion_shape(gateway):
    response = chat(gateway, "fake:text:Hello there world")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    assert CHATCMPL_ID.match(body["id"])
    assert body["object"] == "chat.completion" and body["model"] == "gpt-4o"
    assert body["choices"] == [
        {"index": 0, "message": {"role": "assistant", "content": "Hello there world"}, "finish_reason": "stop"}
    ]
    assert body["usage"] == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


def test_streaming_chunk_format(gateway):
    response = chat(gateway, "fake:text:A B C", stream=True)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    payloads = sse_payloads(response.get_data(as_text=True))
    first, *middle, final, done = payloads
    assert done == "[DONE]"
    assert first["object"] == "chat.completion.chunk" and first["model"] == "gpt-4o"
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": "A"}
    assert first["choices"][0]["finish_reason"] is None
    for chunk in middle:
        assert "role" not in chunk["choices"][0]["delta"]
    assert final["choices"] == [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    # D33: every chunk of one answer carries the same id, created and model
    chunks = payloads[:-1]
    assert len({(p["id"], p["created"], p["model"]) for p in chunks}) == 1 and CHATCMPL_ID.match(first["id"])
    assert joined_content(payloads) == "A B C"


@pytest.mark.parametrize("scenario", ["fake:chunks:A|B|C", "fake:oneshot", "fake:gzip"])
def test_streamed_text_arrives_exactly_once(gateway, scenario):
    streamed = joined_content(sse_payloads(chat(gateway, scenario, stream=True).get_data(as_text=True)))
    whole = chat(gateway, scenario).get_json()["choices"][0]["message"]["content"]
    assert streamed == whole and whole
    if scenario.startswith("fake:chunks"):
        assert streamed == "ABC"


def test_unicode_split_across_frames_and_gzip_boundaries(gateway):
    from tests.fake_cursor.scenarios import UNICODE_TEXT

    streamed = joined_content(sse_payloads(chat(gateway, "fake:unicode", stream=True).get_data(as_text=True)))
    assert streamed == UNICODE_TEXT
    assert chat(gateway, "fake:unicode").get_json()["choices"][0]["message"]["content"] == UNICODE_TEXT


@pytest.mark.parametrize("chunk", ["", ":1", ":7", ":4096"])
def test_real_capture_replays_exactly(gateway, chunk):
    streamed = sse_payloads(chat(gateway, f"fake:capture{chunk}", stream=True).get_data(as_text=True))
    assert joined_content(streamed) == CAPTURE["text"]
    assert len(streamed) == CAPTURE["sse_deltas_without_web_refs_count"]
    assert streamed[0]["choices"][0]["delta"] == CAPTURE["sse_first_three"][0]["delta"]
    assert (
        chat(gateway, f"fake:capture{chunk}").get_json()["choices"][0]["message"]["content"]
        == CAPTURE["rc4_openai_nonstream_content_without_web_refs"]
    )


def test_real_capture_with_web_references(make_gateway):
    client = make_gateway(tokens=[make_token()], INCLUDE_WEB_REFERENCES="true")
    body = chat(client, "fake:capture").get_json()
    assert body["choices"][0]["message"]["content"] == CAPTURE["rc4_openai_nonstream_content_with_web_refs"]
    streamed = joined_content(sse_payloads(chat(client, "fake:capture:64", stream=True).get_data(as_text=True)))
    assert streamed == CAPTURE["rc4_openai_nonstream_content_with_web_refs"]


def test_web_references_sorted_deduplicated_or_omitted(make_gateway):
    on = chat(make_gateway(tokens=[make_token()], INCLUDE_WEB_REFERENCES="true"), "fake:web").get_json()
    text = on["choices"][0]["message"]["content"]
    assert text.startswith("WebReferences:\n1. [")
    block = text.split("\n\n", 1)[0]
    urls = re.findall(r"\]\((.*?)\)", block)
    assert urls == sorted(urls) and len(urls) == len(set(urls))
    off = chat(make_gateway(tokens=[make_token()]), "fake:web").get_json()
    assert "WebReferences" not in off["choices"][0]["message"]["content"]


def test_echoed_web_reference_block_is_stripped_upstream(gateway, upstream):
    messages = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "WebReferences:\n1. [T](https://a)\n\nThe answer."},
        {"role": "user", "content": "more"},
    ]
    gateway.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": messages}, headers=ADMIN)
    assert upstream.chat_requests()[0]["request"]["conversation"][1]["text"] == "The answer."


# -- upstream failures ---------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
def test_rate_limit_trailer_becomes_429(gateway, stream):
    response = chat(gateway, "fake:error:ERROR_FREE_USER_RATE_LIMIT_EXCEEDED", stream=stream)
    assert response.status_code == 429
    assert response.mimetype == "application/json"  # a real HTTP error, not an SSE body
    assert response.get_json()["error"]["type"] == "rate_limit_error"


@pytest.mark.parametrize(
    "name,status",
    [
        ("ERROR_NOT_LOGGED_IN", 403),
        ("ERROR_BAD_API_KEY", 401),
        ("ERROR_FREE_USER_USAGE_LIMIT", 500),
        ("ERROR_BAD_MODEL_NAME", 400),
    ],
)
def test_error_trailers_map_to_the_reference_statuses(gateway, name, status):
    token = make_token("user_direct_errors")  # a user's own token: pool health is not involved
    own = {"Authorization": f"Bearer {token},{checksum_for(token)}"}
    assert chat(gateway, f"fake:error:{name}", headers=own).status_code == status
    assert chat(gateway, f"fake:error:{name}:gzip", stream=True, headers=own).status_code == status


def test_error_without_details_is_500_with_the_connect_code(gateway):
    response = chat(gateway, "fake:error_nodetails")
    assert response.status_code == 500


def test_mid_stream_error_is_sent_in_band_then_done(gateway):
    response = chat(gateway, "fake:error_mid:ERROR_FREE_USER_RATE_LIMIT_EXCEEDED", stream=True)
    assert response.status_code == 200
    payloads = sse_payloads(response.get_data(as_text=True))
    assert payloads[-1] == "[DONE]"
    assert payloads[-2]["error"]["type"] == "rate_limit_error"
    assert joined_content(payloads[:-2])  # the text before the error was delivered


def test_connection_cut_mid_stream_is_reported_in_band(gateway):
    payloads = sse_payloads(chat(gateway, "fake:cut", stream=True).get_data(as_text=True))
    assert payloads[-1] == "[DONE]" and "Failed to read response chunk" in payloads[-2]["error"]["message"]
    cut = chat(gateway, "fake:cut")
    assert cut.status_code == 500 and "Failed to read response chunk" in cut.get_json()["error"]["message"]


@pytest.mark.parametrize(
    "stream,message",
    [(True, "Request failed: Empty response received"), (False, "Request failed: Empty response received")],
)
def test_empty_upstream_body(gateway, stream, message):
    response = chat(gateway, "fake:empty", stream=stream)
    assert response.status_code == 500
    assert response.get_json()["error"] == {
        "message": message,
        "type": "api_error",
        "param": None,
        "code": "request_failed",
    }


def test_upstream_timeout_is_504(make_gateway):
    client = make_gateway(tokens=[make_token()], SERVICE_TIMEOUT="1")
    response = chat(client, "fake:slow_headers:3")
    assert response.status_code == 504
    assert response.get_json()["error"]["message"] == "Request failed: Request timeout"
    assert response.get_json()["error"]["code"] == "request_failed"


def test_unreachable_upstream_is_500(make_gateway, tmp_path):
    from tests.support import free_port

    client = make_gateway(tokens=[make_token()], CURSOR_API2_BASE_URL=f"http://127.0.0.1:{free_port()}")
    response = chat(client, "hi")
    assert response.status_code == 500
    assert response.get_json()["error"]["message"].startswith("Request failed: ")


def test_non_connect_upstream_answer_is_an_error_not_an_empty_reply(gateway):
    response = chat(gateway, "fake:http_error:503")
    assert response.status_code >= 500
    assert "503" in response.get_json()["error"]["message"]


@pytest.mark.parametrize("scenario", ["fake:bomb", "fake:huge_frame", "fake:garbage_after_end", "fake:cut_mid_frame"])
def test_malformed_upstream_bodies_are_clean_errors(gateway, scenario):
    response = chat(gateway, scenario)
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "request_failed"
    assert gateway.get("/health").status_code == 200


def test_debug_log_records_malformed_upstream_bodies(make_gateway, tmp_path):
    log = tmp_path / "debug.log"
    client = make_gateway(tokens=[make_token()], DEBUG="true", DEBUG_LOG_FILE=str(log))
    chat(client, "fake:garbage_after_end")
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d - ", log.read_text())
    assert "eyJ" not in log.read_text()  # never a token in the log


# -- the request log each chat leaves (SPEC §6.4, §9.2; D6, D16) -----------------------------


def test_log_entry_of_a_streamed_success(gateway):
    chat(gateway, "fake:capture:512", stream=True, model="gpt-4o-mini").get_data()
    [entry] = log_entries(gateway)
    assert entry["status"] == "success" and entry["stream"] is True and entry["model"] == "gpt-4o-mini"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)", entry["timestamp"])
    assert entry["timing"]["total"] > 0 and 0 < entry["timing"]["first"] <= entry["timing"]["total"]
    assert all(round(value, 3) == value for value in entry["timing"].values())
    assert entry["prompt"].startswith("<|BEGIN_SYSTEM|>")  # this request's entry (D3)
    assert len(entry["token_info"]["checksum"]) == 137 and "error" not in entry


@pytest.mark.parametrize(
    "scenario,stream,error",
    [
        ("fake:error:ERROR_FREE_USER_RATE_LIMIT_EXCEEDED", True, "Fake failure"),
        ("fake:error:ERROR_FREE_USER_RATE_LIMIT_EXCEEDED", False, "Fake failure"),
        ("fake:error_nodetails", False, "internal"),
        ("fake:empty", True, "Empty response received"),
        ("fake:empty", False, "Empty response received"),
        ("fake:error_mid:ERROR_GENERIC_RATE_LIMIT_EXCEEDED", True, "Fake failure"),
    ],
)
def test_failed_chats_are_logged_failed_with_the_reason(gateway, scenario, stream, error):
    chat(gateway, scenario, stream=stream).get_data()
    [entry] = log_entries(gateway)
    assert (entry["status"], entry["error"]) == ("failed", error)
    counters = gateway.application.extensions["gateway"].request_log.counters()
    assert (counters.total, counters.active, counters.error) == (1, 0, 1)


def test_timeout_is_logged(make_gateway):
    client = make_gateway(tokens=[make_token()], SERVICE_TIMEOUT="1")
    chat(client, "fake:slow_headers:3")
    [entry] = log_entries(client)
    assert (entry["status"], entry["error"]) == ("failed", "Request timeout")


def test_direct_bearer_is_logged_with_the_bare_token(gateway):
    token = make_token("user_logged")
    chat(gateway, "hi", headers={"Authorization": f"Bearer user_logged%3A%3A{token},{checksum_for(token)}"})
    assert log_entries(gateway)[0]["token_info"]["token"] == token


def test_validation_and_auth_failures_are_not_counted(gateway):
    chat(gateway, "hi", model="nope")
    chat(gateway, "hi", headers={"Authorization": "Bearer wrong"})
    assert log_entries(gateway) == []
    assert gateway.application.extensions["gateway"].request_log.counters().total == 0


def test_a_non_streamed_answer_is_bounded_in_size(make_gateway):
    """Issue #14 item 2: a huge upstream answer is refused, not kept whole in the worker."""
    client = make_gateway(tokens=[make_token("user_big")], ANSWER_MAX_CHARS="100000")
    refused = chat(client, "fake:big:300000")
    assert refused.status_code == 502 and "ANSWER_MAX_CHARS" in refused.get_json()["error"]["message"]
    assert log_entries(client)[-1]["status"] == "failed"
    streamed = chat(client, "fake:big:300000", stream=True)
    assert len(joined_content(sse_payloads(streamed.get_data(as_text=True)))) >= 300000  # streams are not bounded
