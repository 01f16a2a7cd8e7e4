"""The SQLite store: counters and documents shared across processes, the log ring."""
from __future__ import annotations

import multiprocessing

from app.store.sqlite import SqliteStore


def _increment(path: str, times: int) -> None:
    store = SqliteStore(path)
    for _ in range(times):
        store.incr("n")
        store.update("doc", lambda old: (old or 0) + 1)
    store.close()


def test_counters_and_updates_are_atomic_across_processes(tmp_path):
    path = str(tmp_path / "s.sqlite3")
    SqliteStore(path).close()
    workers = [multiprocessing.Process(target=_increment, args=(path, 200)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    store = SqliteStore(path)
    assert store.counter("n") == 800 and store.get("doc") == 800


def test_log_ring_keeps_the_newest_with_increasing_ids(tmp_path):
    store = SqliteStore(str(tmp_path / "s.sqlite3"))
    ids = [store.log_append({"model": f"m{i}"}, limit=2) for i in range(3)]
    assert ids == [1, 2, 3]
    assert [e["id"] for e in store.log_entries()] == [2, 3]
    store.log_update(3, {"timing": {"total": 1.5}, "status": "success"})
    store.log_update(3, {"timing": {"first": 0.5}})
    assert store.log_entries()[-1] == {"id": 3, "model": "m2", "timing": {"total": 1.5, "first": 0.5}, "status": "success"}
    store.log_update(99, {"status": "gone"})  # rotated out: ignored
    store.close()
    reopened = SqliteStore(str(tmp_path / "s.sqlite3"))
    assert reopened.log_append({"model": "after restart"}, limit=2) == 4
