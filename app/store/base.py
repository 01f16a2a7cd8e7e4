"""The store interface: a few primitives the services build on.

Kept deliberately small so a shared-server backend (Redis, issue 5) can be added without
touching the services: atomic counters, JSON documents with atomic read-modify-write, and the
request-log ring.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import Any


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

    # -- request log ring -----------------------------------------------------------------
    @abstractmethod
    def log_append(self, entry: dict, limit: int) -> int:
        """Append an entry, give it the next id (unique and increasing across all processes
        and restarts), drop entries beyond the newest `limit`, and return the id."""

    @abstractmethod
    def log_update(self, log_id: int, patch: dict) -> None:
        """Merge `patch` into the entry (RFC 7396: nested objects merge, null deletes).
        A missing entry (already rotated out) is ignored."""

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
