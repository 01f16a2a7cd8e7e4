"""A store outage is an answer, not a traceback storm (issue #14 item 5), with the SQLite store on
a full disk: a clear 503 in the client's shape, logged once per interval, counted in /metrics;
answers in flight are not cut, the counters come out right, and the gateway recovers by itself
once the disk has room again. (A dead Redis: tests/e2e/test_store_hardening.py.)"""

from __future__ import annotations

import logging
import time

import pytest

from app.services import store_outage
from app.services.request_log import Backlog
from tests.api.sse import sse_payloads
from tests.support import ADMIN, FullDisk, chat, log_entries, make_token


@pytest.fixture(autouse=True)
def fresh_log_interval(monkeypatch):
    """Each test starts a new logging interval, and replays waiting writes quickly."""
    monkeypatch.setattr(store_outage, "_throttle", store_outage._Throttle())
    monkeypatch.setattr(Backlog, "RETRY_SECONDS", (0.05, 0.1))


def store_errors(client) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    return sum(
        float(line.split()[-1]) for line in text.splitlines() if line.startswith("cursor_api_store_errors_total")
    )


def counters(client):
    return client.application.extensions["gateway"].request_log.counters()


def settle(condition, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "did not happen in time"
        time.sleep(0.05)


def test_a_full_disk_is_a_clear_503_logged_once_and_counted(make_gateway, caplog):
    client = make_gateway(tokens=[make_token("user_disk")])
    assert chat(client, "hi").status_code == 200
    before = store_errors(client)
    disk = FullDisk.under(client.application.extensions["gateway"].store)
    caplog.set_level(logging.INFO)

    answers = [chat(client, "hi") for _ in range(20)] + [chat(client, "hi", stream=True)]
    answers.append(client.post("/tokens/add", json=[{"token": make_token("user_more")}], headers=ADMIN))
    answers.append(client.post("/config", json={"action": "update", "enable_slow_pool": True}, headers=ADMIN))
    for answer in answers:
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
        error = answer.get_json()["error"]
        assert (error["code"], error["type"]) == ("store_unavailable", "api_error")
        assert "store is unavailable" in error["message"] and "disk is full" not in error["message"]
    assert store_errors(client) - before >= len(answers)  # /metrics answers through the outage
    outage = [record for record in caplog.records if "store is unavailable" in record.getMessage()]
    assert len(outage) == 1 and "database or disk is full" in outage[0].getMessage()
    assert not any(record.exc_info for record in caplog.records)  # no traceback, let alone one each

    disk.full = False  # space again: nothing to restart
    assert chat(client, "hi").status_code == 200
    settle(lambda: [entry["status"] for entry in log_entries(client)] == ["success", "success"])
    assert (counters(client).total, counters(client).active, counters(client).error) == (2, 0, 0)


def test_an_outage_in_the_middle_of_answers_cuts_none_and_leaves_no_counter_stuck(make_gateway, monkeypatch):
    client = make_gateway(tokens=[make_token("user_midway")])
    gateway = client.application.extensions["gateway"]
    disk = FullDisk.under(gateway.store)
    disk.full = False
    opened = gateway.request_log.start

    def start_then_fill_the_disk(**request):
        record = opened(**request)  # counted and logged `pending`; then the disk fills
        disk.full = True
        return record

    monkeypatch.setattr(gateway.request_log, "start", start_then_fill_the_disk)
    answer = chat(client, "fake:text:one two three")
    assert answer.status_code == 200 and answer.get_json()["choices"][0]["message"]["content"] == "one two three"
    assert counters(client).active == 1  # what the store still says: the changes wait
    disk.full = False  # (room for the next request's entry)
    streamed = chat(client, "fake:text:four five", stream=True)
    assert streamed.status_code == 200 and sse_payloads(streamed.get_data(as_text=True))[-1] == "[DONE]"

    disk.full = False
    settle(lambda: counters(client).active == 0)
    assert (counters(client).total, counters(client).error) == (2, 0)
    settle(lambda: [entry["status"] for entry in log_entries(client)] == ["success", "success"])
