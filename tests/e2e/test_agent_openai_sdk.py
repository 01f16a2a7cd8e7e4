"""End to end on the agent generation (the default): the real `openai` SDK against the gateway
under real gunicorn with two gevent workers, talking to the strict fake (issue #12, "How we will
know")."""

from __future__ import annotations

import socket
import time

import openai
import pytest

from tests.fake_cursor import agent_scenarios
from tests.support import checksum_for, gateway_env, make_token, running_gateway

MODEL = "claude-4.5-sonnet"
API_KEY = "crsr_" + "e2e0" * 10
USAGE = {"prompt": 1600, "completion": 48, "cached": 300, "reasoning": 16}


@pytest.fixture(scope="module")
def server(fake, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("agent-gateway")
    token = make_token("user_agent_e2e")
    (data_dir / ".tokens").write_text(f"{token},{checksum_for(token)}")
    env = gateway_env(data_dir, fake.url, CURSOR_PROTOCOL="agent", CURSOR_AGENT_BASE_URL=fake.url)
    with running_gateway(env, workers=2) as running:
        yield running


@pytest.fixture
def client(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="admin-secret", max_retries=0, timeout=60)


def test_exact_text_with_cursors_usage_streamed_and_not(client):
    whole = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "fake:text:Hi there"}])
    assert whole.choices[0].message.content == "Hi there"
    usage = whole.usage
    assert (usage.prompt_tokens, usage.completion_tokens) == (USAGE["prompt"], USAGE["completion"])
    assert usage.prompt_tokens_details.cached_tokens == USAGE["cached"]
    assert usage.completion_tokens_details.reasoning_tokens == USAGE["reasoning"]
    chunks = list(
        client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "fake:text:Hi there"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hi there"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == USAGE["prompt"] + USAGE["completion"]


def test_reasoning_content(client):
    chunks = list(
        client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "fake:reasoning"}], stream=True
        )
    )
    reasoning = "".join(getattr(c.choices[0].delta, "reasoning_content", None) or "" for c in chunks if c.choices)
    assert reasoning == "".join(agent_scenarios.REASONING_PIECES)


def test_models_list_and_retrieve_are_live(client):
    ids = [model.id for model in client.models.list()]
    assert MODEL in ids and "gpt-4o" not in ids
    assert client.models.retrieve(MODEL).id == MODEL


def test_a_cursor_api_key_is_exchanged_once_for_ten_chats_across_workers(server, fake):
    before = fake.key_exchanges()
    keyed = openai.OpenAI(base_url=f"{server.url}/v1", api_key=API_KEY, max_retries=0, timeout=60)
    for number in range(10):
        answer = keyed.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": f"n{number}"}])
        assert answer.choices[0].message.content == f"Echo: n{number}"
    assert fake.key_exchanges() - before == 1


def test_error_classes_reach_the_sdk_as_typed_exceptions(server):
    own = openai.OpenAI(base_url=f"{server.url}/v1", api_key=make_token("user_own_agent"), max_retries=0, timeout=60)
    cases = [
        ("fake:error:ERROR_RATE_LIMITED", openai.RateLimitError),
        ("fake:error:ERROR_NOT_LOGGED_IN", openai.PermissionDeniedError),
        ("fake:error:ERROR_BAD_MODEL_NAME", openai.BadRequestError),
        ("fake:soft_block", openai.APIStatusError),
    ]
    for text, exception in cases:
        with pytest.raises(exception) as raised:
            own.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": text}])
        assert raised.value.message
    with pytest.raises(openai.BadRequestError, match=r"model_not_found|does not exist"):
        own.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}])


def test_heartbeats_keep_a_20_second_turn_alive(client, fake):
    text = "".join(
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "fake:ticks:20:1000"}], stream=True
        )
        if c.choices
    )
    assert text.count("tick") == 20
    turn = next(turn for turn in reversed(fake.agent_turns()) if turn["scenario"] == "ticks")
    assert turn["outcome"] == "completed" and len(turn["client_heartbeats"]) >= 3
    assert [append["seqno"] for append in turn["appends"]] == list(range(len(turn["appends"])))


@pytest.mark.parametrize("stream", [True, False])
def test_a_client_that_leaves_ends_the_upstream_turn_within_a_second(server, fake, stream):
    body = (
        f'{{"model":"{MODEL}","stream":{str(stream).lower()},'
        '"messages":[{"role":"user","content":"fake:ticks:30:1000"}]}'
    )
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer admin-secret\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request.encode())
        time.sleep(2.5)  # the turn is running upstream
        left_at = time.time()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        turn = next(turn for turn in reversed(fake.agent_turns()) if turn["scenario"] == "ticks")
        if turn["client_closed_at"]:
            break
        time.sleep(0.2)
    assert turn["client_closed_at"] and turn["client_closed_at"] - left_at < 1.5
    assert turn["cancel_at"] is not None


def test_metrics_count_cursors_tokens_by_model(server, client):
    import requests
    from prometheus_client.parser import text_string_to_metric_families

    client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "count me"}])
    families = {
        f.name: f for f in text_string_to_metric_families(requests.get(f"{server.url}/metrics", timeout=10).text)
    }
    samples = {
        sample.labels["kind"]: sample.value
        for sample in families["cursor_api_chat_tokens"].samples
        if sample.name.endswith("_total") and sample.labels["model"] == MODEL
    }
    assert samples["prompt"] >= USAGE["prompt"] and samples["prompt"] % USAGE["prompt"] == 0
    assert samples["completion"] % USAGE["completion"] == 0 and samples["cached"] % USAGE["cached"] == 0
