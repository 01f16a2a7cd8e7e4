"""Request-log entries of processes that are gone (issue #14 item 7): which ones a start marks
`interrupted`, and the counters they still held."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from app.services.request_log import ACTIVE, ERROR, TOTAL, RequestLog, current_owner
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
