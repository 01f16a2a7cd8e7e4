"""SQLite backend: one file in DATA_DIR shared by every gunicorn worker on the host.

WAL mode lets readers run beside a writer; synchronous=NORMAL makes each commit durable against
a crash of the process (kill -9), which is what the gateway promises, without an fsync per
request. Writers serialise on SQLite's own lock (`BEGIN IMMEDIATE`), so read-modify-write is
atomic across processes. Statements never yield to gevent, so greenlets of one worker cannot
interleave inside a transaction either.

The file holds every pooled token and the shared token: it is created 0600 (and made 0600 when
it exists), whatever the umask, and SQLite gives its -wal and -shm files the database's mode.
Errors of SQLite or of the file system (a full disk, a read-only folder) leave as StoreError; a
transaction that failed half-way is rolled back, so the connection works again once the disk
does.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from app.store.base import Store, translating
from app.store.json_doc import dumps as _dumps

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS windows (name TEXT PRIMARY KEY, value INTEGER NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS documents (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS expiring_documents (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS request_logs (id INTEGER PRIMARY KEY AUTOINCREMENT, entry TEXT NOT NULL);
"""
PRIVATE_FILE = 0o600
_COMPANIONS = ("-wal", "-shm", "-journal")
_translated = translating(sqlite3.Error, OSError)


def _serialised(method):
    """One operation at a time on the shared connection, its failures as StoreError. Under
    gevent no statement yields, so the lock never waits; it matters when plain threads share
    the store (tests, tools)."""
    translated = _translated(method)

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            return translated(self, *args, **kwargs)

    return wrapper


def make_private(path: str) -> None:
    """The database file exists and is 0600; companions already on disk are 0600 too."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)
    for suffix in _COMPANIONS:
        with contextlib.suppress(FileNotFoundError):
            os.chmod(path + suffix, PRIVATE_FILE)


class SqliteStore(Store):
    @_translated
    def __init__(self, path: str) -> None:
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, mode=0o700, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        make_private(path)
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except BaseException:
            self._db.close()
            raise

    def _write(self) -> _Transaction:
        return _Transaction(self._db)

    # -- counters -------------------------------------------------------------------------
    @_serialised
    def incr(self, name: str, amount: int = 1) -> int:
        return self._add(name, amount)

    def _add(self, name: str, amount: int) -> int:
        row = self._db.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value RETURNING value",
            (name, amount),
        ).fetchone()
        return row[0]

    def _add_all(self, counters: Mapping[str, int] | None) -> None:
        for name, amount in (counters or {}).items():
            self._add(name, amount)

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

    # -- counters with an expiry ----------------------------------------------------------
    @_serialised
    def hit(self, name: str, window: float) -> tuple[int, float]:
        now = time.time()
        with self._write():
            # A vanished window starts again at 1; rows of vanished windows are dropped as we go,
            # so the table holds only the addresses seen within the last window.
            self._db.execute("DELETE FROM windows WHERE expires <= ? AND name != ?", (now, name))
            value, expires = self._db.execute(
                "INSERT INTO windows (name, value, expires) VALUES (?, 1, ?) ON CONFLICT(name) DO UPDATE SET "
                "value = CASE WHEN expires <= ? THEN 1 ELSE value + 1 END, "
                "expires = CASE WHEN expires <= ? THEN excluded.expires ELSE expires END "
                "RETURNING value, expires",
                (name, now + window, now, now),
            ).fetchone()
        return value, max(expires - now, 0.0)

    @_serialised
    def hits(self, name: str) -> tuple[int, float]:
        now = time.time()
        row = self._db.execute(
            "SELECT value, expires FROM windows WHERE name = ? AND expires > ?", (name, now)
        ).fetchone()
        return (row[0], row[1] - now) if row else (0, 0.0)

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

    # -- documents that expire ------------------------------------------------------------
    @_serialised
    def put_expiring(self, key: str, value: Any, seconds: float) -> None:
        now = time.time()
        with self._write():
            # Vanished documents are dropped as new ones come, so the table holds only the
            # documents of the last `seconds`.
            self._db.execute("DELETE FROM expiring_documents WHERE expires <= ?", (now,))
            self._db.execute(
                "INSERT INTO expiring_documents (key, value, expires) VALUES (?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires = excluded.expires",
                (key, _dumps(value), now + seconds),
            )

    @_serialised
    def get_expiring(self, key: str) -> Any | None:
        row = self._db.execute(
            "SELECT value FROM expiring_documents WHERE key = ? AND expires > ?", (key, time.time())
        ).fetchone()
        return json.loads(row[0]) if row else None

    # -- request log ----------------------------------------------------------------------
    @_serialised
    def log_append(self, entry: Mapping[str, Any], limit: int, counters: Mapping[str, int] | None = None) -> int:
        with self._write():
            log_id = self._db.execute(
                "INSERT INTO request_logs (entry) VALUES (?) RETURNING id", (_dumps(entry),)
            ).fetchone()[0]
            self._db.execute("DELETE FROM request_logs WHERE id <= ?", (log_id - limit,))
            self._add_all(counters)
        return log_id

    @_serialised
    def log_update(self, log_id: int, patch: Mapping[str, Any], counters: Mapping[str, int] | None = None) -> None:
        statement = "UPDATE request_logs SET entry = json_patch(entry, ?) WHERE id = ?"
        if not counters:
            self._db.execute(statement, (_dumps(patch), log_id))
            return
        with self._write():
            self._db.execute(statement, (_dumps(patch), log_id))
            self._add_all(counters)

    @_serialised
    def log_entries(self) -> list[dict]:
        rows = self._db.execute("SELECT id, entry FROM request_logs ORDER BY id").fetchall()
        return [{"id": log_id, **json.loads(entry)} for log_id, entry in rows]

    @_serialised
    def close(self) -> None:
        self._db.close()


class _Transaction:
    """`BEGIN IMMEDIATE` … `COMMIT`: takes the write lock up front so a read-modify-write cannot
    be interleaved with another process's write (a deferred transaction could deadlock). A
    transaction that cannot commit (disk full) is rolled back, never left open: the next one
    would fail with "cannot start a transaction within a transaction" for good."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        if self._db.in_transaction:  # left open by a failure we could not roll back then
            self._rollback()
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self._rollback()
            return
        try:
            self._db.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("ROLLBACK")
