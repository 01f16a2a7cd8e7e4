"""Long streams: keep-alives while Cursor is silent, a bounded pre-read, first-frame and idle
timeouts (issue #5 item 2). Not timed: they check what is sent, with short settings."""

from __future__ import annotations

from tests.api.sse import joined_content, sse_payloads
from tests.support import chat, log_entries, make_token


def events_of(body: str) -> list[str]:
    return [event for event in body.split("\n\n") if event]


def test_keep_alive_comments_while_cursor_is_silent(make_gateway):
    client = make_gateway(tokens=[make_token()], SSE_KEEPALIVE_SECONDS="1")
    body = chat(client, "fake:silence:3", stream=True).get_data(as_text=True)
    events = events_of(body)
    comments = [e for e in events if e.startswith(":")]
    assert 1 <= len(comments) <= 4 and all(c == ": keep-alive" for c in comments)
    first_comment = events.index(": keep-alive")
    assert first_comment > 0  # after the first content, during the silence
    data = sse_payloads("".join(f"{e}\n\n" for e in events if not e.startswith(":")))
    assert joined_content(data) == "Before the silence. After it." and data[-1] == "[DONE]"


def test_no_keep_alives_when_disabled(make_gateway):
    client = make_gateway(tokens=[make_token()], SSE_KEEPALIVE_SECONDS="0")
    assert ": keep-alive" not in chat(client, "fake:silence:2", stream=True).get_data(as_text=True)


def test_pre_read_waits_at_most_the_keep_alive_interval(make_gateway):
    client = make_gateway(tokens=[make_token()], SSE_KEEPALIVE_SECONDS="1")
    response = chat(client, "fake:slow_first_frame:2", stream=True)
    assert response.status_code == 200
    events = events_of(response.get_data(as_text=True))
    assert events[0] == ": keep-alive"  # the response started before Cursor said anything
    assert joined_content(sse_payloads("".join(f"{e}\n\n" for e in events if not e.startswith(":")))) == "Late start."


def test_a_stream_starts_before_cursors_response_headers(make_gateway):
    """Issue #13 item 5: Cursor silent before its headers still gets keep-alives, and the later
    timeout arrives in-band instead of a 504 after the wait."""
    client = make_gateway(tokens=[make_token()], SSE_KEEPALIVE_SECONDS="0.5", SERVICE_TIMEOUT="2")
    response = chat(client, "fake:slow_headers:4", stream=True)
    events = events_of(response.get_data(as_text=True))
    assert response.status_code == 200 and events[0] == ": keep-alive"
    payloads = sse_payloads("".join(f"{e}\n\n" for e in events if not e.startswith(":")))
    assert payloads[-1] == "[DONE]" and "Request timeout" in payloads[-2]["error"]["message"]
    assert log_entries(client)[0]["status"] == "failed"


def test_first_frame_timeout_before_the_response_started_is_504(make_gateway):
    client = make_gateway(tokens=[make_token()], SSE_KEEPALIVE_SECONDS="0", SERVICE_TIMEOUT="1")
    response = chat(client, "fake:slow_first_frame:3", stream=True)
    assert response.status_code == 504
    assert "No response from Cursor in time" in response.get_json()["error"]["message"]
    assert log_entries(client)[0]["status"] == "failed"


def test_first_frame_timeout_after_the_response_started_is_in_band(make_gateway):
    client = make_gateway(tokens=[make_token()], SSE_KEEPALIVE_SECONDS="0.5", SERVICE_TIMEOUT="1")
    response = chat(client, "fake:slow_first_frame:3", stream=True)
    events = events_of(response.get_data(as_text=True))
    assert response.status_code == 200 and events[0] == ": keep-alive"
    payloads = sse_payloads("".join(f"{e}\n\n" for e in events if not e.startswith(":")))
    assert payloads[-1] == "[DONE]" and payloads[-2]["error"]["code"] == "request_failed"


def test_idle_timeout_ends_the_stream_with_an_error(make_gateway):
    client = make_gateway(tokens=[make_token()], STREAM_IDLE_TIMEOUT="1", SSE_KEEPALIVE_SECONDS="0.4")
    payloads = sse_payloads(
        "".join(
            f"{e}\n\n"
            for e in events_of(chat(client, "fake:silence:4", stream=True).get_data(as_text=True))
            if not e.startswith(":")
        )
    )
    assert joined_content(payloads[:-2]) == "Before the silence. "
    assert "idle" in payloads[-2]["error"]["message"] and payloads[-1] == "[DONE]"
    entry = log_entries(client)[0]
    assert entry["status"] == "failed" and "idle" in entry["error"]


def test_idle_timeout_applies_to_non_streaming_requests_too(make_gateway):
    client = make_gateway(tokens=[make_token()], STREAM_IDLE_TIMEOUT="1")
    response = chat(client, "fake:silence:4")
    assert response.status_code == 504 and "idle" in response.get_json()["error"]["message"]
