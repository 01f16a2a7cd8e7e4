"""Request accounting: the log ring of SPEC §9 and the counters of SPEC §6.14, in the store.

Entries get ids from the store (unique, increasing, across workers and restarts) and are
written as they change, so they survive a crash, not only a graceful shutdown (D13, D24).
Counter rule: `total` counts authenticated requests, `active` those waiting for upstream
headers, and `error` every request whose entry ends `failed` (or that the usage check blocks).
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass

from app.store import Store

TOTAL, ACTIVE, ERROR = "requests_total", "requests_active", "requests_error"


def rfc3339_now() -> str:
    """Local time with offset, `Z` for UTC (SPEC §9.2)."""
    stamp = datetime.datetime.now().astimezone().isoformat()
    return stamp.removesuffix("+00:00") + "Z" if stamp.endswith("+00:00") else stamp


@dataclass(frozen=True, slots=True)
class Counters:
    total: int
    active: int
    error: int


class RequestLog:
    def __init__(self, store: Store, limit: int) -> None:
        self._store = store
        self._limit = limit

    def start(self, *, model: str, token: str, checksum: str, stream: bool) -> int:
        """Count an authenticated request and create its `pending` entry (SPEC §6.4)."""
        self._store.incr(TOTAL)
        self._store.incr(ACTIVE)
        entry = {
            "timestamp": rfc3339_now(),
            "model": model,
            "token_info": {"token": token, "checksum": checksum},
            "timing": {"total": 0},
            "stream": stream,
            "status": "pending",
        }
        return self._store.log_append(entry, self._limit)

    def blocked(self) -> None:
        """The usage pre-check refused an authenticated request: counted, never logged."""
        self._store.incr(TOTAL)
        self._store.incr(ERROR)

    def upstream_answered(self, log_id: int) -> None:
        """Response headers arrived: no longer active, `success` until something fails."""
        self._store.incr(ACTIVE, -1)
        self._store.log_update(log_id, {"status": "success"})

    def failed_before_answer(self, log_id: int, error: str) -> None:
        """Timeout or transport error: the request never got upstream headers."""
        self._store.incr(ACTIVE, -1)
        self.failed(log_id, error)

    def failed(self, log_id: int, error: str, total: float | None = None) -> None:
        self._store.incr(ERROR)
        patch: dict = {"status": "failed", "error": error}
        if total is not None:
            patch["timing"] = {"total": round(total, 3)}
        self._store.log_update(log_id, patch)

    def finished(self, log_id: int, total: float, first: float | None) -> None:
        timing = {"total": round(total, 3), "first": round(total if first is None else first, 3)}
        self._store.log_update(log_id, {"timing": timing})

    def set_profile(self, log_id: int, profile: dict) -> None:
        self._store.log_update(log_id, {"token_info": {"profile": profile}})

    def set_prompt(self, log_id: int, prompt: str) -> None:
        self._store.log_update(log_id, {"prompt": prompt})

    def entries(self) -> list[dict]:
        return self._store.log_entries()

    def counters(self) -> Counters:
        return Counters(self._store.counter(TOTAL), self._store.counter(ACTIVE), self._store.counter(ERROR))

    def reset_counters_from_entries(self) -> None:
        """At start-up (SPEC §2.2 step 5): total = entries kept, error = failed ones, active 0."""
        entries = self.entries()
        self._store.set_counter(TOTAL, len(entries))
        self._store.set_counter(ERROR, sum(1 for e in entries if e.get("status") == "failed"))
        self._store.set_counter(ACTIVE, 0)
