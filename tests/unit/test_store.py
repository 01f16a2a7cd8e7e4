"""The store, against each backend (SQLite in DATA_DIR, a real redis-server): counters and
documents shared across processes, the log ring, and STORE_URL handling."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable

import pytest
import redis

from app.settings import Settings, SettingsError
from app.store import Store, StoreUnavailable, open_store
from tests.support import FullDisk, free_port, running_redis

OpenStore = Callable[[], Store]


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def location(request, tmp_path) -> tuple[str, str | None]:
    """(data_dir, store_url) of an empty store; each process opens its own with `open_store`."""
    if request.param == "sqlite":
        return str(tmp_path), None
    server = request.getfixturevalue("redis_server")
    server.flush()
    return str(tmp_path), server.url


@pytest.fixture
def reopen(location) -> OpenStore:
    return lambda: open_store(*location)


def _increment(location: tuple[str, str | None], times: int) -> None:
    store = open_store(*location)
    for _ in range(times):
        store.incr("n")
        store.update("doc", lambda old: (old or 0) + 1)
    store.close()


def test_counters_and_updates_are_atomic_across_processes(location, reopen):
    reopen().close()
    workers = [multiprocessing.Process(target=_increment, args=(location, 200)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    store = reopen()
    assert store.counter("n") == 800 and store.get("doc") == 800


def test_counters_and_documents(reopen):
    store = reopen()
    assert store.counter("never") == 0 and store.get("never") is None
    assert store.incr("c") == 1 and store.incr("c", 5) == 6 and store.incr("c", -7) == -1
    store.set_counter("c", 42)
    assert store.counter("c") == 42
    store.put("doc", {"name": "Zoë", "list": [], "nested": {"empty": {}}})
    assert store.get("doc") == {"name": "Zoë", "list": [], "nested": {"empty": {}}}
    seen = []
    assert store.update("fresh", lambda old: seen.append(old) or ["made"]) == ["made"]
    assert seen == [None] and store.get("fresh") == ["made"]
    store.close()
    assert reopen().get("fresh") == ["made"]


def test_expiring_documents_vanish_and_live_apart_from_plain_ones(reopen):
    store = reopen()
    store.put_expiring("resp", {"output": ["Zoë"]}, seconds=60)
    store.put_expiring("brief", [1], seconds=0.2)
    store.put("resp", "plain")
    assert store.get_expiring("resp") == {"output": ["Zoë"]} and store.get("resp") == "plain"
    assert store.get_expiring("brief") == [1] and store.get_expiring("never") is None
    time.sleep(0.3)
    assert store.get_expiring("brief") is None
    store.put_expiring("later", True, seconds=60)  # a write drops what has vanished (SQLite)
    store.close()
    reopened = reopen()
    assert reopened.get_expiring("resp") == {"output": ["Zoë"]} and reopened.get_expiring("brief") is None


def test_log_ring_keeps_the_newest_with_increasing_ids(reopen):
    store = reopen()
    ids = [store.log_append({"model": f"m{i}"}, limit=2) for i in range(3)]
    assert ids == [1, 2, 3]
    assert [e["id"] for e in store.log_entries()] == [2, 3]
    store.log_update(3, {"timing": {"total": 1.5}, "status": "success"})
    store.log_update(3, {"timing": {"first": 0.5}})
    assert store.log_entries()[-1] == {
        "id": 3,
        "model": "m2",
        "timing": {"total": 1.5, "first": 0.5},
        "status": "success",
    }
    store.log_update(99, {"status": "gone"})  # rotated out: ignored
    assert [e["id"] for e in store.log_entries()] == [2, 3]
    store.close()
    reopened = reopen()
    assert reopened.log_append({"model": "after restart"}, limit=2) == 4


def test_log_update_is_a_merge_patch(reopen):
    store = reopen()
    log_id = store.log_append({"a": {"b": 1, "c": 2}, "gone": True, "attempts": []}, limit=10)
    store.log_update(log_id, {"a": {"b": None, "d": [1]}, "gone": None, "attempts": [{"token": "x"}]})
    assert store.log_entries() == [{"id": log_id, "a": {"c": 2, "d": [1]}, "attempts": [{"token": "x"}]}]
    assert next(iter(store.log_entries()[0])) == "id"


def test_a_smaller_limit_after_a_restart_trims_the_older_entries(reopen):
    store = reopen()
    for i in range(5):
        store.log_append({"n": i}, limit=10)
    store.close()
    store = reopen()
    assert store.log_append({"n": 5}, limit=2) == 6
    assert [e["n"] for e in store.log_entries()] == [4, 5]


# -- Redis only ----------------------------------------------------------------------------


def test_redis_keys_are_namespaced(redis_server):
    redis_server.flush()
    store = open_store("unused", redis_server.url)
    store.incr("n")
    store.put("doc", 1)
    store.log_append({}, limit=5)
    with redis.Redis.from_url(redis_server.url) as client:
        keys = [key.decode() for key in client.keys("*")]
    assert keys and all(key.startswith("cursor-api:") for key in keys)


def _use_inherited(store: Store, results) -> None:
    results.put(store.incr("forked"))


def test_a_redis_store_used_before_a_fork_works_in_the_child(redis_server):
    redis_server.flush()
    store = open_store("unused", redis_server.url)
    assert store.incr("forked") == 1  # the parent now holds a connection
    results = multiprocessing.get_context("fork").Queue()
    child = multiprocessing.get_context("fork").Process(target=_use_inherited, args=(store, results))
    child.start()
    child.join(30)
    assert results.get(timeout=5) == 2 and store.incr("forked") == 3


def test_an_unreachable_redis_stops_start_up_without_showing_the_password():
    url = f"redis://admin:hunter2@127.0.0.1:{free_port()}/0"
    with pytest.raises(StoreUnavailable) as raised:
        open_store("unused", url, check=True)
    message = str(raised.value)
    assert message.startswith("STORE_URL redis://***@127.0.0.1:") and "hunter2" not in message


def test_a_wrong_redis_password_is_reported_without_showing_it(tmp_path):
    with running_redis(tmp_path / "redis", password="right-one") as server:
        with pytest.raises(StoreUnavailable) as raised:
            open_store("unused", server.url.replace("right-one", "hunter2"), check=True)
        assert "STORE_URL" in str(raised.value) and "hunter2" not in str(raised.value)
        open_store("unused", server.url, check=True).close()


def test_a_bad_store_url_is_reported_without_its_password():
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"STORE_URL": "postgres://app:hunter2@db/state"})
    assert "STORE_URL" in str(raised.value) and "hunter2" not in str(raised.value)


def test_the_redis_lock_lets_one_holder_in_at_a_time_across_connections(redis_server):
    import threading
    import time

    redis_server.flush()
    first, second = open_store("unused", redis_server.url), open_store("unused", redis_server.url)
    order: list[str] = []
    with first.exclusive("tokens"):
        waiter = threading.Thread(target=lambda: _hold(second, order))
        waiter.start()
        time.sleep(0.2)
        order.append("first done")
    waiter.join(timeout=5)
    assert order == ["first done", "second in"]
    with first.exclusive("tokens"):  # released by its holder: free again at once
        pass


def _hold(store: Store, order: list[str]) -> None:
    with store.exclusive("tokens"):
        order.append("second in")


# -- issue #14: counters with an expiry, one write per log transition, outages -----------------


def test_a_window_counter_counts_until_it_vanishes(reopen):
    import time

    store = reopen()
    assert store.hits("guess:a") == (0, 0.0)
    assert [store.hit("guess:a", 0.4)[0] for _ in range(3)] == [1, 2, 3]
    count, left = store.hits("guess:a")
    assert count == 3 and 0 < left <= 0.4
    assert reopen().hits("guess:a")[0] == 3  # every process sees it
    assert store.hits("guess:b") == (0, 0.0)
    time.sleep(0.5)
    assert store.hits("guess:a") == (0, 0.0)
    assert store.hit("guess:a", 10)[0] == 1  # a new window


def test_log_writes_carry_their_counters_in_the_same_step(reopen):
    store = reopen()
    log_id = store.log_append({"status": "pending"}, limit=1, counters={"total": 1, "active": 1})
    assert (store.counter("total"), store.counter("active")) == (1, 1)
    store.log_update(log_id, {"status": "in_progress"}, {"active": -1})
    assert store.counter("active") == 0 and store.log_entries()[0]["status"] == "in_progress"
    store.log_append({"status": "pending"}, limit=1)  # rotates the first entry out
    store.log_update(log_id, {"status": "failed"}, {"error": 1})  # counted all the same
    assert store.counter("error") == 1 and [e["id"] for e in store.log_entries()] == [log_id + 1]


def test_sqlite_failures_are_store_errors_and_the_store_recovers(tmp_path):
    from app.store import StoreError
    from app.store.sqlite import SqliteStore

    store = SqliteStore(str(tmp_path / "s.sqlite3"))
    store.put("doc", 1)
    disk = FullDisk.under(store)
    for write in (lambda: store.incr("n"), lambda: store.put("doc", 2), lambda: store.update("doc", lambda v: v + 1),
                  lambda: store.log_append({}, 5, {"n": 1}), lambda: store.hit("w", 5)):  # fmt: skip
        with pytest.raises(StoreError, match="database or disk is full"):
            write()
    assert store.get("doc") == 1 and store.counter("n") == 0  # reads still work; nothing half-done
    disk.full = False
    assert store.update("doc", lambda v: v + 1) == 2 and store.incr("n") == 1


def test_a_commit_that_fails_is_rolled_back_not_left_open(tmp_path):
    """A transaction whose COMMIT fails (disk full at the last moment) must not stay open, or
    every later write fails with 'cannot start a transaction within a transaction'."""
    import sqlite3

    from app.store import StoreError
    from app.store.sqlite import SqliteStore

    store = SqliteStore(str(tmp_path / "s.sqlite3"))
    real = store._db

    class FailingCommit(FullDisk):
        def execute(self, sql: str, *args):
            if self.full and sql == "COMMIT":
                raise sqlite3.OperationalError("database or disk is full")
            return real.execute(sql, *args)

    failing = store._db = FailingCommit(real)
    with pytest.raises(StoreError):
        store.update("doc", lambda v: 1)
    failing.full = False
    assert store.update("doc", lambda v: (v or 0) + 10) == 10


def test_redis_failures_are_store_errors(tmp_path):
    from app.store import StoreError

    with running_redis(tmp_path / "redis") as server:
        store = open_store("unused", server.url)
        store.incr("n")
    for call in (lambda: store.incr("n"), lambda: store.get("doc"), lambda: store.log_entries(),
                 lambda: store.hit("w", 5), lambda: store.log_update(1, {}, {"n": 1})):  # fmt: skip
        with pytest.raises(StoreError):
            call()


def test_a_redis_that_dies_during_a_token_change_frees_the_lock_within_seconds(tmp_path):
    """The lock key outlives the holder's release when Redis is gone at that moment (and comes
    back from its dump with the key): it must expire in seconds, not block changes for 29 s."""
    import time

    from app.store.redis import LOCK_TTL_SECONDS

    with running_redis(tmp_path / "redis") as server:
        first = open_store("unused", server.url)
        with first.exclusive("tokens"):
            with redis.Redis.from_url(server.url) as client:
                client.save()  # the dump holds the lock key and its expiry
            server.stop()
        # the release failed (Redis was down); it comes back with the key
        server.start()
        second = open_store("unused", server.url)
        asked = time.monotonic()
        with second.exclusive("tokens"):
            waited = time.monotonic() - asked
    assert waited < 10  # seconds, not the 29 s of the 30-second expiry there was
    assert LOCK_TTL_SECONDS <= 5


def test_the_redis_lock_is_renewed_while_held(redis_server):
    """A short expiry must not let a second holder in while the first still holds the lock."""
    import threading
    import time

    from app.store.redis import LOCK_TTL_SECONDS

    redis_server.flush()
    first, second = open_store("unused", redis_server.url), open_store("unused", redis_server.url)
    order: list[str] = []
    with first.exclusive("tokens"):
        waiter = threading.Thread(target=lambda: _hold(second, order))
        waiter.start()
        time.sleep(LOCK_TTL_SECONDS * 2)
        order.append("first done")
    waiter.join(timeout=10)
    assert order == ["first done", "second in"]
