"""Request-log entries of processes that are gone (issue #14 item 7): which ones a start marks
`interrupted`, and the counters they still held."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from app.services.request_log import (
    ACTIVE,
    ANSWERED_WRITE_DELAY,
    ERROR,
    TOTAL,
    Counters,
    RequestLog,
    current_owner,
)
from app.store.sqlite import SqliteStore


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def store(tmp_path):
    store = SqliteStore(str(tmp_path / "s.sqlite3"))
    yield store
    store.close()


def add(store, status: str, **owner) -> int:
    """An entry owned by a process of this host from an earlier start that is gone, unless
    `owner` says otherwise."""
    entry = {"model": "gpt-4o", "status": status, "token_info": {"token": "t", "checksum": "c"}}
    entry["owner"] = {"host": socket.gethostname(), "pid": dead_pid(), "boot": "an-earlier-start", **owner}
    counted = {TOTAL: 1, ACTIVE: 1 if status == "pending" else 0}
    return store.log_append(entry, 100, counted)


def statuses(store) -> list[str]:
    return [entry["status"] for entry in store.log_entries()]


def test_on_a_shared_store_only_this_hosts_dead_processes_are_interrupted(store):
    mine = current_owner()
    add(store, "pending")  # pending, this host, process gone
    add(store, "in_progress")  # in progress, this host, process gone
    add(store, "pending", host="another-host")  # another instance's: it may be serving it now
    add(store, "in_progress", pid=mine["pid"])  # this host, process alive
    add(store, "in_progress", boot=mine["boot"], pid=dead_pid())  # this start's own
    add(store, "success")
    add(store, "pending")
    store.log_append({"status": "pending"}, 100)  # no owner: an older version's, maybe still serving
    assert RequestLog(store, 100).interrupt_orphans(shared=True) == 3
    assert statuses(store) == ["interrupted", "interrupted", "pending", "in_progress", "in_progress", "success",
                               "interrupted", "pending"]  # fmt: skip
    # Each pending one still counted active; every interrupted one is an error.
    assert (store.counter(ACTIVE), store.counter(ERROR)) == (3 - 2, 3)
    interrupted = store.log_entries()[0]
    assert "owner" not in interrupted and "ended before the answer was complete" in interrupted["error"]


def test_on_a_store_of_this_host_alone_every_earlier_start_is_gone(store):
    mine = current_owner()
    add(store, "pending", host="renamed-host")
    add(store, "in_progress", pid=mine["pid"])  # a pid reused since: still an earlier start's
    add(store, "in_progress", boot=mine["boot"], pid=mine["pid"])
    store.log_append({"status": "pending"}, 100)  # no owner: an older version's
    assert RequestLog(store, 100).interrupt_orphans(shared=False) == 3
    assert statuses(store) == ["interrupted", "interrupted", "in_progress", "interrupted"]
    log = RequestLog(store, 100)
    log.reset_counters_from_entries()
    assert log.counters().error == 3 and log.counters().active == 0


class CountingStore(SqliteStore):
    """Counts the entry updates, the writes a chat makes after its entry's first."""

    updates = 0

    def log_update(self, *args, **kwargs):
        self.updates += 1
        return super().log_update(*args, **kwargs)


def started(store, monkeypatch, seconds_after_headers: float):
    """A request whose upstream headers arrived `seconds_after_headers` ago."""
    log = RequestLog(store, 100)
    record = log.start(model="gpt-4o", token="t", checksum="c", stream=True)
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now - seconds_after_headers)
    record.answered()
    monkeypatch.setattr(time, "monotonic", lambda: now)
    return log, record


@pytest.fixture
def counting_store(tmp_path):
    store = CountingStore(str(tmp_path / "s.sqlite3"))
    yield store
    store.close()


def test_a_short_answer_goes_from_pending_to_its_end_in_one_write(counting_store, monkeypatch):
    log, record = started(counting_store, monkeypatch, 0.0)
    record.keep_up()
    assert statuses(counting_store) == ["pending"] and log.counters().active == 1  # headers, not yet written
    record.finished(0.2, 0.1)
    assert counting_store.updates == 1
    assert statuses(counting_store) == ["success"] and log.counters().active == 0


def test_a_longer_answer_says_in_progress_once_it_is_due(counting_store, monkeypatch):
    log, record = started(counting_store, monkeypatch, ANSWERED_WRITE_DELAY)
    record.keep_up()
    record.keep_up()
    assert statuses(counting_store) == ["in_progress"] and log.counters().active == 0
    record.failed("cut")
    assert counting_store.updates == 2
    assert statuses(counting_store) == ["failed"] and log.counters() == Counters(total=1, active=0, error=1)


def test_a_failure_before_the_in_progress_write_leaves_active_right(counting_store, monkeypatch):
    log, record = started(counting_store, monkeypatch, 0.0)
    record.client_disconnected(0.1)
    record.keep_up()  # settled: nothing more is written
    assert counting_store.updates == 1 and log.counters() == Counters(total=1, active=0, error=1)
