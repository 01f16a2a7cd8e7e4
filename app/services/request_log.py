"""Request accounting: the log ring of SPEC §9 and the counters of SPEC §6.14, in the store.

Entries get ids from the store (unique, increasing, across workers and restarts) and are
written as they change, so they survive a crash, not only a graceful shutdown (D13, D24).
Counter rule: `total` counts authenticated requests, `active` those waiting for upstream
headers (and, for up to ANSWERED_WRITE_DELAY, those just past them), and `error` every request
whose entry ends `failed` or `interrupted` (or that the usage check blocks). Each change of an
entry and of the counters it implies is one store write, so the two always agree, even across a
store outage or a crash.

An entry is `pending` until upstream headers arrive, `in_progress` while the answer is being
written (written only for an answer that runs longer than ANSWERED_WRITE_DELAY: a short one
goes from `pending` to its end in one write), and `success` only once it was (issue #14 item 7; the reference said `success` at the
headers, and a crash then left answers it cut off marked `success`). While in flight an entry
names its process (`owner`: host, pid, and the server start's boot id), so the next start marks
the entries of processes that are gone `interrupted`.

A write the store refuses while a request is being answered (an outage) does not fail the
answer: it waits in this process's backlog and is replayed, in order, when the store is back.
"""

from __future__ import annotations

import collections
import datetime
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from app.services import store_outage
from app.services.metrics import ChatMetrics
from app.services.records import Attempt, LogEntry, Owner, Profile
from app.store import Store, StoreError

TOTAL, ACTIVE, ERROR = "requests_total", "requests_active", "requests_error"
IN_FLIGHT = ("pending", "in_progress")
INTERRUPTED_ERROR = "Interrupted: the gateway process ended before the answer was complete"
ANSWERED_WRITE_DELAY = 1.0  # seconds after the upstream headers before the entry says `in_progress`
log = logging.getLogger(__name__)


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


# -- which process owns an entry --------------------------------------------------------------
_boot_id = secrets.token_hex(8)
_host = socket.gethostname()


def begin_boot() -> str:
    """A new server start (app.boot.prepare, in gunicorn's master): its workers, forked from
    it, inherit the id; entries of other ids are another start's."""
    global _boot_id, _host
    _boot_id, _host = secrets.token_hex(8), socket.gethostname()
    return _boot_id


def current_owner() -> Owner:
    return {"host": _host, "pid": os.getpid(), "boot": _boot_id}


def process_is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


# -- writes that wait out a store outage -------------------------------------------------------
Write = tuple[int, dict[str, Any], dict[str, int]]


class Backlog:
    """Log-entry changes the store refused, replayed in order by one helper thread (a greenlet
    under gevent) once the store takes them again. Bounded: past LIMIT waiting changes, the
    oldest are dropped (and said so), so an outage cannot grow a worker without end."""

    LIMIT = 10_000
    RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)

    def __init__(self, store: Store) -> None:
        self._store = store
        self._waiting: collections.deque[Write] = collections.deque()
        self._lock = threading.Lock()
        self._replaying = False

    def __len__(self) -> int:
        return len(self._waiting)

    def write(self, log_id: int, patch: dict[str, Any], counters: dict[str, int]) -> None:
        if not self._waiting:
            try:
                self._store.log_update(log_id, patch, counters)
                return
            except StoreError as error:
                store_outage.report(error, "writing the request log")
        self._queue((log_id, patch, counters))

    def _queue(self, write: Write) -> None:
        with self._lock:
            if len(self._waiting) >= self.LIMIT:
                self._waiting.popleft()
                log.warning("store outage: the oldest waiting request-log change was dropped")
            self._waiting.append(write)
            if self._replaying:
                return
            self._replaying = True
        threading.Thread(target=self._replay, name="request-log-backlog", daemon=True).start()

    def _replay(self) -> None:
        attempt = 0
        while True:
            time.sleep(self.RETRY_SECONDS[min(attempt, len(self.RETRY_SECONDS) - 1)])
            try:
                replayed = self._drain()
            except StoreError as error:
                store_outage.report(error, "replaying the request log")
                attempt += 1
                continue
            with self._lock:
                if not self._waiting:
                    self._replaying = False
                    store_outage.recovered(f"{replayed} waiting request-log changes written")
                    return

    def _drain(self) -> int:
        replayed = 0
        while self._waiting:
            self._store.log_update(*self._waiting[0])
            with self._lock:
                self._waiting.popleft()
            replayed += 1
        return replayed


class LoggedRequest:
    """One request's entry and its share of the counters. Each transition happens at most once
    (a request leaves `active` once, ends once), whichever part of the gateway gets there first:
    the answering side, a timeout, or the client leaving. No transition raises for a store
    outage (see Backlog)."""

    def __init__(self, backlog: Backlog, log_id: int, metrics: ChatMetrics, created: float) -> None:
        self._backlog = backlog
        self.id = log_id
        self._metrics = metrics
        self._created = created  # monotonic; the metrics measure from here, the log from headers (D16)
        self._answered_at: float | None = None
        self._answered = False
        self._settled = threading.Lock()
        self._attempts: list[Attempt] = []

    @property
    def settled(self) -> bool:
        return self._settled.locked()

    def _write(self, patch: dict[str, Any], counters: dict[str, int] | None = None) -> None:
        self._backlog.write(self.id, patch, counters or {})

    def answered(self) -> None:
        """Upstream headers arrived: no longer active, `in_progress` until it ends. The entry
        says so once the answer has run for ANSWERED_WRITE_DELAY (see `keep_up`), or in the
        write that ends it: most answers end sooner, and a write less for each is worth that
        lag in `active` and in the status (issue #15)."""
        if self._answered_at is None:
            self._answered_at = time.monotonic()

    def keep_up(self) -> None:
        """Called as the answer is read: writes `in_progress` once it is due."""
        if (
            not self._answered
            and self._answered_at is not None
            and time.monotonic() - self._answered_at >= ANSWERED_WRITE_DELAY
            and not self.settled
        ):
            self._answered = True
            self._write({"status": "in_progress"}, {ACTIVE: -1})

    def attempt(self, token: str, result: str) -> None:
        """One try of a request that failed over between pool tokens: the token (masked) and
        what came of it (the error, or "answered")."""
        self._attempts.append({"token": masked(token), "result": result})
        self._write({"attempts": list(self._attempts)})

    @property
    def failed_over(self) -> bool:
        return bool(self._attempts)

    def switch_token(self, token: str, checksum: str) -> None:
        self._write({"token_info": {"token": token, "checksum": checksum, "profile": None}})

    def failed(self, error: str, total: float | None = None) -> None:
        self._fail(error, total, "failed")

    def client_disconnected(self, total: float) -> None:
        self._fail("Client disconnected", total, "client_disconnected")

    def _fail(self, error: str, total: float | None, outcome: str) -> None:
        if self._settled.acquire(blocking=False):
            counters = {ERROR: 1}
            if not self._answered:
                self._answered = True
                counters[ACTIVE] = -1
            patch: dict[str, Any] = {"status": "failed", "error": error, "owner": None}
            if total is not None:
                patch["timing"] = {"total": round(total, 3)}
            self._write(patch, counters)
            self._metrics.ended(outcome, time.monotonic() - self._created, None)

    def finished(self, total: float, first: float | None, usage: dict[str, Any] | None = None) -> None:
        """The answer was delivered; `first` is the first content's time after the upstream
        headers (None: there was no content); `usage` the upstream's token count (D29)."""
        if self._settled.acquire(blocking=False):
            timing = {"total": round(total, 3), "first": round(total if first is None else first, 3)}
            patch: dict[str, Any] = {"status": "success", "timing": timing, "owner": None}
            if usage is not None:
                patch["usage"] = usage
                self._metrics.tokens(usage)
            counters: dict[str, int] = {}
            if not self._answered:
                self._answered = True
                counters[ACTIVE] = -1
            self._write(patch, counters)
            first_byte = None
            if first is not None and self._answered_at is not None:
                first_byte = self._answered_at - self._created + first
            self._metrics.ended("success", time.monotonic() - self._created, first_byte)

    def set_prompt(self, prompt: str) -> None:
        self._write({"prompt": prompt})


class RequestLog:
    def __init__(self, store: Store, limit: int) -> None:
        self._store = store
        self._limit = limit
        self._backlog = Backlog(store)

    def start(
        self,
        *,
        model: str,
        token: str,
        checksum: str,
        stream: bool,
        request_id: str | None = None,
        front: str = "chat.completions",
        profile: Profile | None = None,
    ) -> LoggedRequest:
        """Count an authenticated request and create its `pending` entry (SPEC §6.4), in one
        store write: a store that refuses it raises StoreError and nothing was counted."""
        created = time.monotonic()
        entry: LogEntry = {
            "timestamp": rfc3339_now(),
            "model": model,
            "token_info": {"token": token, "checksum": checksum},
            "timing": {"total": 0},
            "stream": stream,
            "status": "pending",
            "owner": current_owner(),
        }
        if request_id is not None:
            entry["request_id"] = request_id
        if profile is not None:  # the account as last fetched (the usage check's TTL)
            entry["token_info"]["profile"] = profile
        entry["front"] = front
        log_id = self._store.log_append(entry, self._limit, {TOTAL: 1, ACTIVE: 1})
        return LoggedRequest(self._backlog, log_id, ChatMetrics(model, stream), created)

    def blocked(self) -> None:
        """The usage pre-check refused an authenticated request: counted, never logged."""
        self._store.incr(TOTAL)
        self._store.incr(ERROR)

    def set_profile(self, log_id: int, profile: Profile) -> None:
        self._backlog.write(log_id, {"token_info": {"profile": profile}}, {})

    def entries(self) -> list[LogEntry]:
        """The entries as shown (SPEC §9.2): without the in-flight owner."""
        shown = []
        for entry in self._store.log_entries():
            entry.pop("owner", None)
            shown.append(cast(LogEntry, entry))
        return shown

    def counters(self) -> Counters:
        return Counters(self._store.counter(TOTAL), self._store.counter(ACTIVE), self._store.counter(ERROR))

    def reset_counters_from_entries(self) -> None:
        """At start-up (SPEC §2.2 step 5): total = entries kept, error = failed or interrupted
        ones, active 0."""
        entries = self._store.log_entries()
        self._store.set_counter(TOTAL, len(entries))
        self._store.set_counter(ERROR, sum(1 for e in entries if e.get("status") in ("failed", "interrupted")))
        self._store.set_counter(ACTIVE, 0)

    def interrupt_orphans(self, *, shared: bool) -> int:
        """At start-up: mark `interrupted` the in-flight entries whose process is gone, with the
        counters they still held (an entry still `pending` was still counted active). On a store
        of this host alone, that is every in-flight entry of an earlier start; on a shared store
        other instances are serving, so only this host's entries whose process no longer runs.
        Returns how many were marked."""
        me = current_owner()
        marked = 0
        for entry in self._store.log_entries():
            if entry.get("status") not in IN_FLIGHT:
                continue
            owner: Mapping[str, Any] = entry.get("owner") or {}
            if owner.get("boot") == me["boot"]:
                continue  # this start's own
            if shared and not (owner.get("host") == me["host"] and process_is_gone(int(owner.get("pid", 0)))):
                continue  # another instance's, or alive
            counters = {ERROR: 1, **({ACTIVE: -1} if entry["status"] == "pending" else {})}
            patch = {"status": "interrupted", "error": INTERRUPTED_ERROR, "owner": None}
            self._store.log_update(entry["id"], patch, counters)
            marked += 1
        return marked
