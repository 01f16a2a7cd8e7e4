"""Request accounting: the log ring of SPEC §9 and the counters of SPEC §6.14, in the store.

Entries get ids from the store (unique, increasing, across workers and restarts) and are
written as they change, so they survive a crash, not only a graceful shutdown (D13, D24).
Counter rule: `total` counts authenticated requests, `active` those waiting for upstream
headers, and `error` every request whose entry ends `failed` (or that the usage check blocks).
"""

from __future__ import annotations

import datetime
import threading
import time
from dataclasses import dataclass

from app.services.metrics import ChatMetrics
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


def masked(token: str) -> str:
    """Enough of a token to tell pooled accounts apart, not enough to use it."""
    return f"{token[:12]}…{token[-6:]}" if len(token) > 24 else "…"


class LoggedRequest:
    """One request's entry and its share of the counters. Each transition happens at most once
    (a request leaves `active` once, ends once), whichever part of the gateway gets there first:
    the answering side, a timeout, or the client leaving."""

    def __init__(self, store: Store, log_id: int, metrics: ChatMetrics, created: float) -> None:
        self._store = store
        self.id = log_id
        self._metrics = metrics
        self._created = created  # monotonic; the metrics measure from here, the log from headers (D16)
        self._answered_at: float | None = None
        self._answered = False
        self._settled = threading.Lock()
        self._attempts: list[dict] = []

    @property
    def settled(self) -> bool:
        return self._settled.locked()

    def answered(self) -> None:
        """Upstream headers arrived: no longer active, `success` until something fails."""
        if not self._answered:
            self._answered = True
            self._answered_at = time.monotonic()
            self._store.incr(ACTIVE, -1)
            self._store.log_update(self.id, {"status": "success"})

    def attempt(self, token: str, result: str) -> None:
        """One try of a request that failed over between pool tokens: the token (masked) and
        what came of it (the error, or "answered")."""
        self._attempts.append({"token": masked(token), "result": result})
        self._store.log_update(self.id, {"attempts": self._attempts})

    @property
    def failed_over(self) -> bool:
        return bool(self._attempts)

    def switch_token(self, token: str, checksum: str) -> None:
        self._store.log_update(self.id, {"token_info": {"token": token, "checksum": checksum, "profile": None}})

    def failed(self, error: str, total: float | None = None) -> None:
        self._fail(error, total, "failed")

    def client_disconnected(self, total: float) -> None:
        self._fail("Client disconnected", total, "client_disconnected")

    def _fail(self, error: str, total: float | None, outcome: str) -> None:
        if self._settled.acquire(blocking=False):
            if not self._answered:
                self._answered = True
                self._store.incr(ACTIVE, -1)
            self._store.incr(ERROR)
            patch: dict = {"status": "failed", "error": error}
            if total is not None:
                patch["timing"] = {"total": round(total, 3)}
            self._store.log_update(self.id, patch)
            self._metrics.ended(outcome, time.monotonic() - self._created, None)

    def finished(self, total: float, first: float | None) -> None:
        """The answer was delivered; `first` is the first content's time after the upstream
        headers (None: there was no content)."""
        if self._settled.acquire(blocking=False):
            timing = {"total": round(total, 3), "first": round(total if first is None else first, 3)}
            self._store.log_update(self.id, {"timing": timing})
            first_byte = None
            if first is not None and self._answered_at is not None:
                first_byte = self._answered_at - self._created + first
            self._metrics.ended("success", time.monotonic() - self._created, first_byte)

    def set_prompt(self, prompt: str) -> None:
        self._store.log_update(self.id, {"prompt": prompt})


class RequestLog:
    def __init__(self, store: Store, limit: int) -> None:
        self._store = store
        self._limit = limit

    def start(self, *, model: str, token: str, checksum: str, stream: bool) -> LoggedRequest:
        """Count an authenticated request and create its `pending` entry (SPEC §6.4)."""
        created = time.monotonic()
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
        log_id = self._store.log_append(entry, self._limit)
        return LoggedRequest(self._store, log_id, ChatMetrics(model, stream), created)

    def blocked(self) -> None:
        """The usage pre-check refused an authenticated request: counted, never logged."""
        self._store.incr(TOTAL)
        self._store.incr(ERROR)

    def set_profile(self, log_id: int, profile: dict) -> None:
        self._store.log_update(log_id, {"token_info": {"profile": profile}})

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
