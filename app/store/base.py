"""The store interface: a few primitives the services build on.

Kept deliberately small so a shared-server backend (Redis, issue 5) can be added without
touching the services: atomic counters, counters that expire, JSON documents with atomic
read-modify-write, JSON documents that expire, and the request-log ring. Every backend reports a failure of the store
itself (a full disk, a read-only data folder, an unreachable Redis) as one `StoreError`, so the
gateway answers it in one place (a 503, app/factory.py).
"""

from __future__ import annotations

import contextlib
import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class StoreError(Exception):
    """The store could not do what was asked, for a reason of its own (disk full, read-only,
    unreachable, corrupt), not because of the caller's data. The backend's error is chained as
    `__cause__`; the message is safe to log (no credentials)."""


def translating(*causes: type[BaseException]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A backend method whose `causes` (sqlite3.Error, redis.RedisError, OSError) leave it as a
    StoreError."""

    def decorate(method: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(method)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(*args, **kwargs)
            except causes as error:
                raise StoreError(f"{type(error).__name__}: {error}") from error

        return wrapper

    return decorate


class Store(ABC):
    # True when other instances (other hosts) may use the same store at the same time: start-up
    # then joins the running gateway instead of resetting its state (app/boot.py).
    shared: bool = False

    # -- counters -------------------------------------------------------------------------
    @abstractmethod
    def incr(self, name: str, amount: int = 1) -> int:
        """Add `amount` to counter `name` (created at 0) and return the new value, atomically
        across every process sharing the store."""

    @abstractmethod
    def counter(self, name: str) -> int:
        """The counter's value, 0 when it was never set."""

    @abstractmethod
    def set_counter(self, name: str, value: int) -> None: ...

    # -- counters with an expiry (a fixed window) -------------------------------------------
    @abstractmethod
    def hit(self, name: str, window: float) -> tuple[int, float]:
        """Add one to counter `name`, which starts at 0 and vanishes `window` seconds after the
        hit that created it; return its new value and the seconds until it vanishes."""

    @abstractmethod
    def hits(self, name: str) -> tuple[int, float]:
        """What `hit` would see without adding: (0, 0.0) once the counter has vanished."""

    # -- JSON documents -------------------------------------------------------------------
    @abstractmethod
    def get(self, key: str) -> Any | None:
        """The document stored under `key`, or None."""

    @abstractmethod
    def put(self, key: str, value: Any) -> None: ...

    @abstractmethod
    def update(self, key: str, change: Callable[[Any | None], Any]) -> Any:
        """Replace the document with `change(old)` atomically (no other writer in between)
        and return the new value. `change` must be quick and must not do I/O."""

    # -- JSON documents that expire ----------------------------------------------------------
    @abstractmethod
    def put_expiring(self, key: str, value: Any, seconds: float) -> None:
        """Keep a document for `seconds`, then let it vanish: for documents made per request,
        which must not pile up. A namespace of its own, apart from `put`'s."""

    @abstractmethod
    def get_expiring(self, key: str) -> Any | None:
        """The document `put_expiring` kept under `key`, or None once it has vanished."""

    # -- request log ring -----------------------------------------------------------------
    @abstractmethod
    def log_append(self, entry: Mapping[str, Any], limit: int, counters: Mapping[str, int] | None = None) -> int:
        """Append an entry, give it the next id (unique and increasing across all processes
        and restarts), drop entries beyond the newest `limit`, add `counters` (name → amount),
        all as one step, and return the id."""

    @abstractmethod
    def log_update(self, log_id: int, patch: Mapping[str, Any], counters: Mapping[str, int] | None = None) -> None:
        """Merge `patch` into the entry (RFC 7396: nested objects merge, null deletes) and add
        `counters`, as one step. A missing entry (already rotated out) is left missing; the
        counters are added all the same (they count requests, not entries)."""

    @abstractmethod
    def log_entries(self) -> list[dict]:
        """All entries, oldest first, each with its `id` first."""

    # -- mutual exclusion -------------------------------------------------------------------
    @contextlib.contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Held by one caller at a time among all instances sharing the store, for a change
        that also does I/O outside the store (a file). A store that is not shared is only used
        by one host's processes, whose file lock already excludes each other: nothing to hold."""
        yield

    @abstractmethod
    def close(self) -> None: ...
