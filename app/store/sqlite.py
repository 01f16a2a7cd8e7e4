"""SQLite backend: one file in DATA_DIR shared by every gunicorn worker on the host.

WAL mode lets readers run beside a writer; synchronous=NORMAL makes each commit durable against
a crash of the process (kill -9), which is what the gateway promises, without an fsync per
request. Writers serialise on SQLite's own lock (`BEGIN IMMEDIATE`), so read-modify-write is
atomic across processes. Statements never yield to gevent, so greenlets of one worker cannot
interleave inside a transaction either.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

from app.store.base import Store
from app.store.json_doc import dumps as _dumps

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS documents (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS request_logs (id INTEGER PRIMARY KEY AUTOINCREMENT, entry TEXT NOT NULL);
"""


def _serialised(method):
    """One operation at a time on the shared connection. Under gevent no statement yields, so
    this never waits; it matters when plain threads share the store (tests, tools)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper


class SqliteStore(Store):
    def __init__(self, path: str) -> None:
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def _write(self) -> _Transaction:
        return _Transaction(self._db)

    # -- counters -------------------------------------------------------------------------
    @_serialised
    def incr(self, name: str, amount: int = 1) -> int:
        row = self._db.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value RETURNING value",
            (name, amount),
        ).fetchone()
        return row[0]

    @_serialised
    def counter(self, name: str) -> int:
        row = self._db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        return row[0] if row else 0

    @_serialised
    def set_counter(self, name: str, value: int) -> None:
        self._db.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    # -- documents ------------------------------------------------------------------------
    @_serialised
    def get(self, key: str) -> Any | None:
        row = self._db.execute("SELECT value FROM documents WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    @_serialised
    def put(self, key: str, value: Any) -> None:
        self._db.execute(
            "INSERT INTO documents (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, _dumps(value)),
        )

    @_serialised
    def update(self, key: str, change: Callable[[Any | None], Any]) -> Any:
        with self._write():
            new = change(self.get(key))
            self.put(key, new)
        return new

    # -- request log ----------------------------------------------------------------------
    @_serialised
    def log_append(self, entry: dict, limit: int) -> int:
        with self._write():
            log_id = self._db.execute(
                "INSERT INTO request_logs (entry) VALUES (?) RETURNING id", (_dumps(entry),)
            ).fetchone()[0]
            self._db.execute("DELETE FROM request_logs WHERE id <= ?", (log_id - limit,))
        return log_id

    @_serialised
    def log_update(self, log_id: int, patch: dict) -> None:
        self._db.execute("UPDATE request_logs SET entry = json_patch(entry, ?) WHERE id = ?", (_dumps(patch), log_id))

    @_serialised
    def log_entries(self) -> list[dict]:
        rows = self._db.execute("SELECT id, entry FROM request_logs ORDER BY id").fetchall()
        return [{"id": log_id, **json.loads(entry)} for log_id, entry in rows]

    @_serialised
    def close(self) -> None:
        self._db.close()


class _Transaction:
    """`BEGIN IMMEDIATE` … `COMMIT`: takes the write lock up front so a read-modify-write cannot
    be interleaved with another process's write (a deferred transaction could deadlock)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
