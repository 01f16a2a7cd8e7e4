"""A store outage, reported the way an operator can read it: every failed store operation is
counted (`cursor_api_store_errors_total` on /metrics), and logged at most once per interval per
process, with how many failures the interval held, instead of a traceback per request."""

from __future__ import annotations

import logging
import threading
import time

from app.services.metrics import count_store_error
from app.store import StoreError

log = logging.getLogger("cursor_api.store")
LOG_INTERVAL_SECONDS = 30.0


class _Throttle:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: float | None = None
        self._unreported = 0

    def due(self) -> int | None:
        """None while within the interval (the failure is tallied); else the failures tallied
        since the last report."""
        now = time.monotonic()
        with self._lock:
            if self._last is not None and now - self._last < LOG_INTERVAL_SECONDS:
                self._unreported += 1
                return None
            self._last, tallied, self._unreported = now, self._unreported, 0
            return tallied


_throttle = _Throttle()


def report(error: StoreError, doing: str) -> None:
    """Count a failed store operation and log it unless this interval already did."""
    count_store_error()
    tallied = _throttle.due()
    if tallied is not None:
        more = f" ({tallied} more store failures since the last report)" if tallied else ""
        log.error("the store is unavailable while %s: %s%s", doing, error, more)


def recovered(doing: str) -> None:
    log.warning("the store is available again (%s)", doing)
