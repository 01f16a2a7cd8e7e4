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

Every redis-py error leaves as StoreError. The token-change lock has a short expiry that its
holder renews while it holds it, so a holder that died, or a Redis that went away during a
change, blocks the next change for at most a few seconds.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import redis

from app.store.base import Store, StoreError, translating
from app.store.json_doc import dumps, merge_patch

log = logging.getLogger(__name__)
_translated = translating(redis.RedisError)

DEFAULT_PREFIX = "cursor-api:"

# KEYS: id counter, id index (sorted set), entry key prefix, then counters to add. ARGV: entry
# JSON, limit, then the counters' amounts. Entry keys are built inside the script, which a single
# Redis (with or without replicas) allows; Redis Cluster would not, and is not supported.
_LOG_APPEND = """
local id = redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[3] .. id, ARGV[1])
redis.call('ZADD', KEYS[2], id, id)
local floor = id - tonumber(ARGV[2])
for _, old in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', floor)) do
  redis.call('DEL', KEYS[3] .. old)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', floor)
for i = 4, #KEYS do redis.call('INCRBY', KEYS[i], ARGV[i - 1]) end
return id
"""

# KEYS: the window counter. ARGV: the window in milliseconds. Returns {value, ms left}.
_HIT = """
local value = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if value == 1 or left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {value, left}
"""


# Deletes the lock only if it is still ours (it may have expired and been taken by another).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# Extends the lock only if it is still ours. ARGV: owner, expiry in milliseconds.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
LOCK_TTL_SECONDS = 3.0  # a holder that died (or lost Redis) frees the lock after this long
LOCK_RENEW_SECONDS = 1.0  # while held, the expiry is pushed back this often
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
        self._hit = self._redis.register_script(_HIT)
        self._release = self._redis.register_script(_RELEASE)
        self._renew = self._redis.register_script(_RENEW)

    @_translated
    def ping(self) -> None:
        """Raises StoreError when the server cannot be reached or refuses us."""
        self._redis.ping()

    # -- counters -------------------------------------------------------------------------
    @_translated
    def incr(self, name: str, amount: int = 1) -> int:
        return self._redis.incrby(self._counter(name), amount)

    @_translated
    def counter(self, name: str) -> int:
        return int(self._redis.get(self._counter(name)) or 0)

    @_translated
    def set_counter(self, name: str, value: int) -> None:
        self._redis.set(self._counter(name), value)

    # -- counters with an expiry ----------------------------------------------------------
    @_translated
    def hit(self, name: str, window: float) -> tuple[int, float]:
        value, left = self._hit(keys=[self._window(name)], args=[max(int(window * 1000), 1)])
        return int(value), int(left) / 1000

    @_translated
    def hits(self, name: str) -> tuple[int, float]:
        with self._redis.pipeline() as pipe:
            pipe.get(self._window(name))
            pipe.pttl(self._window(name))
            value, left = pipe.execute()
        return (int(value), max(int(left), 0) / 1000) if value is not None else (0, 0.0)

    # -- documents ------------------------------------------------------------------------
    @_translated
    def get(self, key: str) -> Any | None:
        return _loads(self._redis.get(self._document(key)))

    @_translated
    def put(self, key: str, value: Any) -> None:
        self._redis.set(self._document(key), dumps(value))

    @_translated
    def update(self, key: str, change: Callable[[Any | None], Any]) -> Any:
        return self._rewrite(self._document(key), change, missing_ok=True)

    # -- documents that expire ------------------------------------------------------------
    @_translated
    def put_expiring(self, key: str, value: Any, seconds: float) -> None:
        self._redis.set(self._expiring(key), dumps(value), px=max(int(seconds * 1000), 1))

    @_translated
    def get_expiring(self, key: str) -> Any | None:
        return _loads(self._redis.get(self._expiring(key)))

    # -- request log ----------------------------------------------------------------------
    @_translated
    def log_append(self, entry: Mapping[str, Any], limit: int, counters: Mapping[str, int] | None = None) -> int:
        names = list(counters or {})
        keys = [self._log_next_id, self._log_ids, self._log_entry, *map(self._counter, names)]
        return int(self._append(keys=keys, args=[dumps(entry), limit, *(counters or {}).values()]))

    @_translated
    def log_update(self, log_id: int, patch: Mapping[str, Any], counters: Mapping[str, int] | None = None) -> None:
        self._rewrite(
            f"{self._log_entry}{log_id}", lambda entry: merge_patch(entry, patch), missing_ok=False, counters=counters
        )

    @_translated
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
        """A lock key with an owner token and a short expiry (SET NX PX) that a helper thread (a
        greenlet under gevent) renews while the lock is held: instances on other hosts share no
        file lock, so they take turns here. Waiting polls (a gevent sleep yields). Releasing is
        tried twice; if Redis is gone by then, the key expires within LOCK_TTL_SECONDS."""
        key, owner = f"{self._prefix}lock:{name}", os.urandom(16).hex()
        self._acquire(key, owner, name)
        held = threading.Event()
        renewer = threading.Thread(target=self._keep, args=(key, owner, held), name=f"lock:{name}", daemon=True)
        renewer.start()
        try:
            yield
        finally:
            held.set()
            self._give_back(key, owner)

    @_translated
    def _acquire(self, key: str, owner: str, name: str) -> None:
        give_up = time.monotonic() + LOCK_WAIT_SECONDS
        while not self._redis.set(key, owner, nx=True, px=int(LOCK_TTL_SECONDS * 1000)):
            if time.monotonic() > give_up:
                raise StoreError(f"the store lock {name!r} stayed taken for {LOCK_WAIT_SECONDS} s")
            time.sleep(LOCK_POLL_SECONDS)

    def _keep(self, key: str, owner: str, released: threading.Event) -> None:
        while not released.wait(LOCK_RENEW_SECONDS):
            with contextlib.suppress(redis.RedisError):  # the next round tries again
                self._renew(keys=[key], args=[owner, int(LOCK_TTL_SECONDS * 1000)])

    def _give_back(self, key: str, owner: str) -> None:
        for attempt in range(2):
            try:
                self._release(keys=[key], args=[owner])
                return
            except redis.RedisError as error:
                if attempt:
                    log.warning("store lock %s not released (%s); it expires within %s s", key, error, LOCK_TTL_SECONDS)
                else:
                    time.sleep(0.05)

    def close(self) -> None:
        self._redis.close()

    # -- helpers --------------------------------------------------------------------------
    def _counter(self, name: str) -> str:
        return f"{self._prefix}counter:{name}"

    def _document(self, key: str) -> str:
        return f"{self._prefix}doc:{key}"

    def _expiring(self, key: str) -> str:
        return f"{self._prefix}expiring:{key}"

    def _window(self, name: str) -> str:
        return f"{self._prefix}window:{name}"

    def _rewrite(
        self,
        key: str,
        change: Callable[[Any | None], Any],
        *,
        missing_ok: bool,
        counters: Mapping[str, int] | None = None,
    ) -> Any:
        """Optimistic read-modify-write: EXEC fails if another client wrote the key after our
        WATCH, and then we read again. `missing_ok=False` leaves an absent key absent; the
        `counters` are added in the same transaction either way."""
        with self._redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    old = _loads(pipe.get(key))
                    new = None if old is None and not missing_ok else change(old)
                    pipe.multi()
                    if new is not None or missing_ok:
                        pipe.set(key, dumps(new))
                    for name, amount in (counters or {}).items():
                        pipe.incrby(self._counter(name), amount)
                    if len(pipe):
                        pipe.execute()
                    else:
                        pipe.reset()
                    return new
                except redis.WatchError:
                    continue


def _loads(raw: bytes | str | None) -> Any | None:
    return None if raw is None else json.loads(raw)
