"""`GET /metrics` under real gunicorn (issue #5 item 5): the text parses with
prometheus_client's own parser, and the figures are the sum of what both workers did."""

from __future__ import annotations

import collections
import concurrent.futures
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support import ADMIN, checksum_for, gateway_env, make_token, running_gateway


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    response = requests.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def chat(url: str, text: str, *, model: str = "gpt-4o", stream: bool = False, headers=ADMIN) -> requests.Response:
    body = {"model": model, "messages": [{"role": "user", "content": text}], "stream": stream}
    return requests.post(f"{url}/v1/chat/completions", json=body, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def server(fake, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("metrics")
    # The first pooled account is always rate-limited: one failover, then it cools down.
    tokens = [make_token("user_ratelimited_metrics"), make_token("user_metrics_ok")]
    (data_dir / ".tokens").write_text("\n".join(f"{t},{checksum_for(t)}" for t in tokens))
    with running_gateway(gateway_env(data_dir, fake.url), workers=2) as running:
        yield running


def test_metrics_count_what_happened_across_workers(server):
    own = make_token("user_metrics_own")
    own_headers = {"Authorization": f"Bearer {own},{checksum_for(own)}"}
    assert [chat(server.url, "fake:text:hi").status_code for _ in range(4)] == [200] * 4
    streams = [chat(server.url, "fake:ticks:3:20", model="gpt-4o-mini", stream=True) for _ in range(2)]
    assert all(s.status_code == 200 and "tick 2" in s.text for s in streams)
    assert chat(server.url, "hi", model="no-such-model").status_code == 400
    assert chat(server.url, "fake:error:ERROR_BAD_REQUEST", headers=own_headers).status_code == 400

    scrapes = [scrape(server.url) for _ in range(6)]  # new connections: answered by either worker
    assert _same_but_for_scrapes(scrapes)
    samples = scrapes[-1]
    chats = "cursor_api_chat_requests_total"
    assert value(samples, chats, model="gpt-4o", outcome="success") == 4
    assert value(samples, chats, model="gpt-4o-mini", outcome="success") == 2
    assert value(samples, chats, model="gpt-4o", outcome="failed") == 1
    first_byte = "cursor_api_chat_time_to_first_byte_seconds_count"
    assert value(samples, first_byte, model="gpt-4o") == 4
    assert value(samples, first_byte, model="gpt-4o-mini") == 2
    assert value(samples, "cursor_api_chat_duration_seconds_count", model="gpt-4o") == 5
    assert value(samples, "cursor_api_upstream_errors_total", kind="rate_limited") == 1
    assert value(samples, "cursor_api_upstream_errors_total", kind="upstream_error") == 1
    http = "cursor_api_http_requests_total"
    assert value(samples, http, route="/v1/chat/completions", method="POST", status="200") == 6
    assert value(samples, http, route="/v1/chat/completions", method="POST", status="400") == 2
    assert value(samples, "cursor_api_tokens", state="healthy") == 1
    assert value(samples, "cursor_api_tokens", state="cooling") == 1
    assert value(samples, "cursor_api_tokens", state="disabled") == 0
    assert value(samples, "cursor_api_active_streams") == 0


def _same_but_for_scrapes(scrapes: list[dict]) -> bool:
    """Every worker shows the same sums; only the count of scrapes themselves moves on."""

    def without_scrapes(samples: dict) -> dict:
        return {key: v for key, v in samples.items() if ("route", "/metrics") not in key[1]}

    return all(without_scrapes(s) == without_scrapes(scrapes[0]) for s in scrapes[1:])


def test_active_streams_counts_a_stream_in_progress(server):
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        running = pool.submit(chat, server.url, "fake:silence:3", stream=True)
        deadline = time.monotonic() + 2.5
        while value(scrape(server.url), "cursor_api_active_streams") != 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert value(scrape(server.url), "cursor_api_active_streams") == 1
        assert running.result().status_code == 200
    assert value(scrape(server.url), "cursor_api_active_streams") == 0


def test_metrics_never_show_a_token(server):
    text = requests.get(f"{server.url}/metrics", timeout=10).text
    assert "eyJ" not in text and "user_metrics" not in text
    assert collections.Counter(line.split("{")[0] for line in text.splitlines() if line.startswith("# TYPE"))


def test_every_front_is_counted_by_its_route(server):
    """D35: the Responses and Messages fronts appear in /metrics under their own route templates,
    and their chats in the chat counters like any other."""
    before = scrape(server.url)
    body = {"model": "gpt-4o", "input": "fake:text:hi"}
    assert requests.post(f"{server.url}/v1/responses", json=body, headers=ADMIN, timeout=30).status_code == 200
    message = {"model": "gpt-4o", "max_tokens": 64, "messages": [{"role": "user", "content": "fake:text:hi"}]}
    headers = {"x-api-key": ADMIN["Authorization"].removeprefix("Bearer ")}
    assert requests.post(f"{server.url}/v1/messages", json=message, headers=headers, timeout=30).status_code == 200
    assert requests.post(f"{server.url}/v1/messages", json={}, headers=headers, timeout=30).status_code == 400
    after = scrape(server.url)
    http = "cursor_api_http_requests_total"

    def added(route: str, status: str) -> float:
        labels = {"route": route, "method": "POST", "status": status}
        return value(after, http, **labels) - value(before, http, **labels)

    assert added("/v1/responses", "200") == 1
    assert added("/v1/messages", "200") == 1 and added("/v1/messages", "400") == 1
    chats = "cursor_api_chat_requests_total"
    assert (
        value(after, chats, model="gpt-4o", outcome="success") - value(before, chats, model="gpt-4o", outcome="success")
        == 2
    )
