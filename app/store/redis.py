"""Redis backend: one store shared by every instance behind a load balancer (STORE_URL=redis://…).

Keys live under one prefix (`cursor-api:` by default) so the gateway can share a Redis with
other programs. Connections are opened lazily, on the first command of each process, and
redis-py's pool drops connections inherited across a fork, so gunicorn's master and workers
never share a socket. Under gevent the calls yield like any patched socket.

Read-modify-write (`update`, `log_update`) uses WATCH/MULTI with an optimistic retry rather than
a Lua script: the change is Python code (a callable, or a merge patch whose JSON must round-trip
exactly, which Lua's cjson does not do for empty arrays), so it cannot run inside Redis. Appending
to the log is a short Lua script instead: taking the id, writing the entry and trimming the ring
must happen as one step, or another process could trim an entry that is not written yet, and the
entry's JSON passes through the script untouched.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import redis

from app.store.base import Store
from app.store.json_doc import dumps, merge_patch

DEFAULT_PREFIX = "cursor-api:"

# KEYS: id counter, id index (sorted set), entry key prefix. ARGV: entry JSON, limit. Entry keys
# are built inside the script, which a single Redis (with or without replicas) allows; Redis
# Cluster would not, and is not supported.
_LOG_APPEND = """
local id = redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[3] .. id, ARGV[1])
redis.call('ZADD', KEYS[2], id, id)
local floor = id - tonumber(ARGV[2])
for _, old in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', floor)) do
  redis.call('DEL', KEYS[3] .. old)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', floor)
return id
"""


# Deletes the lock only if it is still ours (it may have expired and been taken by another).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
LOCK_TTL_SECONDS = 30  # a holder that died frees the lock after this long
LOCK_WAIT_SECONDS = 30
LOCK_POLL_SECONDS = 0.005


class RedisStore(Store):
    shared = True

    def __init__(self, url: str, prefix: str = DEFAULT_PREFIX) -> None:
        # A bounded socket timeout: a Redis that stops answering fails requests instead of
        # hanging them; the default retry reconnects after a dropped connection.
        self._redis = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=10)
        self._prefix = prefix
        self._log_next_id = f"{prefix}log:next_id"
        self._log_ids = f"{prefix}log:ids"
        self._log_entry = f"{prefix}log:entry:"
        self._append = self._redis.register_script(_LOG_APPEND)
        self._release = self._redis.register_script(_RELEASE)

    def ping(self) -> None:
        """Raises redis.RedisError when the server cannot be reached or refuses us."""
        self._redis.ping()

    # -- counters -------------------------------------------------------------------------
    def incr(self, name: str, amount: int = 1) -> int:
        return self._redis.incrby(self._counter(name), amount)

    def counter(self, name: str) -> int:
        return int(self._redis.get(self._counter(name)) or 0)

    def set_counter(self, name: str, value: int) -> None:
        self._redis.set(self._counter(name), value)

    # -- documents ------------------------------------------------------------------------
    def get(self, key: str) -> Any | None:
        return _loads(self._redis.get(self._document(key)))

    def put(self, key: str, value: Any) -> None:
        self._redis.set(self._document(key), dumps(value))

    def update(self, key: str, change: Callable[[Any | None], Any]) -> Any:
        return self._rewrite(self._document(key), change, missing_ok=True)

    # -- request log ----------------------------------------------------------------------
    def log_append(self, entry: dict, limit: int) -> int:
        keys = [self._log_next_id, self._log_ids, self._log_entry]
        return int(self._append(keys=keys, args=[dumps(entry), limit]))

    def log_update(self, log_id: int, patch: dict) -> None:
        self._rewrite(f"{self._log_entry}{log_id}", lambda entry: merge_patch(entry, patch), missing_ok=False)

    def log_entries(self) -> list[dict]:
        ids = [int(raw) for raw in self._redis.zrange(self._log_ids, 0, -1)]  # type: ignore[arg-type]  # members, no scores
        if not ids:
            return []
        raws = self._redis.mget([f"{self._log_entry}{log_id}" for log_id in ids])
        # An entry trimmed between the two reads is simply not listed.
        return [{"id": log_id, **json.loads(raw)} for log_id, raw in zip(ids, raws, strict=True) if raw is not None]

    # -- mutual exclusion -------------------------------------------------------------------
    @contextlib.contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """A lock key with an owner token and an expiry (SET NX PX): instances on other hosts
        share no file lock, so they take turns here. Waiting polls (a gevent sleep yields)."""
        key, owner = f"{self._prefix}lock:{name}", os.urandom(16).hex()
        give_up = time.monotonic() + LOCK_WAIT_SECONDS
        while not self._redis.set(key, owner, nx=True, px=LOCK_TTL_SECONDS * 1000):
            if time.monotonic() > give_up:
                raise TimeoutError(f"the store lock {name!r} stayed taken for {LOCK_WAIT_SECONDS} s")
            time.sleep(LOCK_POLL_SECONDS)
        try:
            yield
        finally:
            self._release(keys=[key], args=[owner])

    def close(self) -> None:
        self._redis.close()

    # -- helpers --------------------------------------------------------------------------
    def _counter(self, name: str) -> str:
        return f"{self._prefix}counter:{name}"

    def _document(self, key: str) -> str:
        return f"{self._prefix}doc:{key}"

    def _rewrite(self, key: str, change: Callable[[Any | None], Any], *, missing_ok: bool) -> Any:
        """Optimistic read-modify-write: EXEC fails if another client wrote the key after our
        WATCH, and then we read again. `missing_ok=False` leaves an absent key absent."""
        with self._redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    old = _loads(pipe.get(key))
                    if old is None and not missing_ok:
                        pipe.unwatch()
                        return None
                    new = change(old)
                    pipe.multi()
                    pipe.set(key, dumps(new))
                    pipe.execute()
                    return new
                except redis.WatchError:
                    continue


def _loads(raw: bytes | str | None) -> Any | None:
    return None if raw is None else json.loads(raw)
