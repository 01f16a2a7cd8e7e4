"""End to end: the real `openai` SDK against the gateway under real gunicorn with gevent
workers, talking to the strict fake of Cursor's service (issue #2, "How we will know")."""

from __future__ import annotations

import base64
import concurrent.futures

import openai
import pytest

from tests.support import checksum_for, gateway_env, make_token, png, running_gateway
from tests.unit.vectors import VECTORS

CAPTURE = VECTORS["capture"]


@pytest.fixture(scope="module")
def server(fake, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("gateway")
    tokens = [make_token(f"user_e2e{i}") for i in range(2)]
    (data_dir / ".tokens").write_text("\n".join(f"{t},{checksum_for(t)}" for t in tokens))
    env = gateway_env(data_dir, fake.url, REQUEST_BODY_LIMIT_MB="32")
    with running_gateway(env, workers=2) as running:
        yield running


@pytest.fixture
def client(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="admin-secret", max_retries=0, timeout=30)


@pytest.fixture
def own_client(server) -> openai.OpenAI:
    """A user bringing their own token: upstream errors on it leave the pool's health alone."""
    token = make_token("user_own_e2e")
    return openai.OpenAI(
        base_url=f"{server.url}/v1", api_key=f"{token},{checksum_for(token)}", max_retries=0, timeout=30
    )


def test_non_streaming_answer(client):
    completion = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "fake:text:Hi from Cursor"}]
    )
    assert completion.choices[0].message.content == "Hi from Cursor"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "gpt-4o"


def test_streaming_answer_of_the_real_capture(client):
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "fake:capture:5"}], stream=True
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == CAPTURE["text"]
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_rate_limit_raises_rate_limit_error(own_client):
    with pytest.raises(openai.RateLimitError) as caught:
        own_client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "fake:error:ERROR_FREE_USER_RATE_LIMIT_EXCEEDED"}],
            stream=True,
        )
    assert caught.value.status_code == 429


def test_bad_credential_raises_authentication_error(server):
    bad = openai.OpenAI(base_url=f"{server.url}/v1", api_key="not-a-token", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])


def test_unknown_model_raises_bad_request_with_code(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.code == "model_not_supported"


def test_mid_stream_error_raises_instead_of_truncating(own_client):
    stream = own_client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "fake:error_mid:ERROR_FREE_USER_RATE_LIMIT_EXCEEDED"}],
        stream=True,
    )
    received = []
    with pytest.raises(openai.APIError):
        for chunk in stream:
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received)  # what came before the error was delivered


def test_direct_token_bearer(server):
    token = make_token("user_direct_e2e")
    direct = openai.OpenAI(base_url=f"{server.url}/v1", api_key=f"{token},{checksum_for(token)}", max_retries=0)
    completion = direct.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "ping"}])
    assert completion.choices[0].message.content == "Echo: ping"


def test_twenty_megabyte_image_body_within_a_32_mb_limit(client, fake):
    image = png(1, 1) + b"\x00" * (15 * 1024 * 1024)  # trailing bytes after IEND: still a PNG
    url = f"data:image/png;base64,{base64.b64encode(image).decode()}"
    fake.clear()
    completion = client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {
                "role": "user",
                "content": [{"type": "text", "text": "describe"}, {"type": "image_url", "image_url": {"url": url}}],
            }
        ],
    )
    assert completion.choices[0].message.content == "Echo: describe"
    [sent] = fake.chat_requests()[0]["request"]["conversation"][0]["images"]
    assert sent["dimension"] == {"width": 1, "height": 1}


def test_bad_requests_leave_the_workers_healthy(server, client):
    import requests

    url = f"{server.url}/v1/chat/completions"
    auth = {"Authorization": "Bearer admin-secret"}
    assert requests.post(url, data=b"{", headers={**auth, "Content-Type": "application/json"}).status_code == 400
    assert requests.post(url, data=b"{}", headers={**auth, "Content-Type": "text/plain"}).status_code == 415
    assert requests.post(url, json={"model": "gpt-4o", "messages": []}, headers=auth).status_code == 400
    bad_image = {
        "model": "gpt-4o",
        "messages": [
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}
        ],
    }
    assert requests.post(url, json=bad_image, headers=auth).json()["error"]["code"] == "invalid_image"
    too_big = requests.post(url, data=b"x" * (33 * 1024 * 1024), headers={**auth, "Content-Type": "application/json"})
    assert too_big.status_code == 413
    # every worker still answers correctly
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(
                lambda i: (
                    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": f"n{i}"}])
                    .choices[0]
                    .message.content
                ),
                range(16),
            )
        )
    assert answers == [f"Echo: n{i}" for i in range(16)]


def test_pool_rotation_is_global_across_workers(server, fake):
    import requests

    fake.clear()
    auth = {"Authorization": "Bearer admin-secret"}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(
                lambda i: (
                    requests.post(
                        f"{server.url}/v1/chat/completions",
                        headers=auth,
                        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]},
                    ).status_code
                ),
                range(20),
            )
        )
    assert statuses == [200] * 20
    used = [r["headers"]["Authorization"] for r in fake.chat_requests()]
    assert sorted(used.count(t) for t in set(used)) == [10, 10]


def test_client_disconnect_closes_the_upstream_at_once(client, fake):
    import time

    fake.clear()
    stream = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "fake:ticks:200:50"}], stream=True
    )
    iterator = iter(stream)
    assert "tick 0" in next(iterator).choices[0].delta.content
    stream.close()  # the user pressed stop
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and not fake.chat_requests()[0].get("client_closed"):
        time.sleep(0.05)
    assert fake.chat_requests()[0].get("client_closed"), "the gateway kept reading a stream nobody wants"


def test_client_leaving_during_a_silence_is_noticed_within_a_second(client, fake, server):
    import time

    import requests

    fake.clear()
    stream = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "fake:silence:30"}], stream=True
    )
    iterator = iter(stream)
    assert next(iterator).choices[0].delta.content == "Before the silence. "
    closed_at = time.time()
    stream.close()  # Cursor is silent: the gateway is writing nothing that could fail
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not fake.chat_requests()[0].get("client_closed"):
        time.sleep(0.05)
    record = fake.chat_requests()[0]
    assert record.get("client_closed") and record["client_closed_at"] - closed_at < 1.5
    entries = requests.post(f"{server.url}/logs", headers={"Authorization": "Bearer admin-secret"}).json()["logs"]
    assert entries[-1]["error"] == "Client disconnected"


def test_dead_proxy_fails_cleanly(tmp_path, fake):
    from tests.support import free_port

    env = gateway_env(tmp_path, fake.url, PROXIES=f"http://127.0.0.1:{free_port()}")
    token = make_token("user_proxy")
    (tmp_path / ".tokens").write_text(f"{token},{checksum_for(token)}")
    with running_gateway(env, workers=1) as server:
        proxied = openai.OpenAI(base_url=f"{server.url}/v1", api_key="admin-secret", max_retries=0)
        with pytest.raises(openai.InternalServerError) as caught:
            proxied.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        assert caught.value.body["code"] == "request_failed"
