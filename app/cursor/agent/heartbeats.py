"""The heartbeat of every open agent turn (AGENT_WIRE §2: a `client_heartbeat` append every few
seconds, or the server drops the turn), from one timer loop per client.

A turn costs no greenlet of its own (issue #15): the loop wakes when the oldest turn is due and
sends that turn's beat beside it (a beat is an HTTP call and may be slow). A turn that ends
within the interval, as most do, costs a list entry and nothing else. The beats are decoupled
from the turn's reader on purpose: a reader held up by a slow client must not starve them.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Protocol

from app.cursor.background import run_in_background


class Beating(Protocol):
    def beat(self) -> bool:
        """Send one heartbeat; False once the turn needs none any more."""


class Heartbeats:
    def __init__(self, interval: float) -> None:
        self._interval = interval
        # Every turn waits the same interval, so the order they are due in is the order they
        # were added in: a queue, not a heap.
        self._due: collections.deque[tuple[float, Beating]] = collections.deque()
        self._lock = threading.Lock()
        self._running = False

    def add(self, turn: Beating) -> None:
        """Beat `turn` every interval, from one interval on, until its `beat` says stop."""
        if self._schedule(turn):
            run_in_background(self._loop)

    def _schedule(self, turn: Beating) -> bool:
        """Queue the next beat of `turn`; True when the caller must run the loop."""
        with self._lock:
            self._due.append((time.monotonic() + self._interval, turn))
            if self._running:
                return False
            self._running = True
            return True

    def _loop(self) -> None:
        while True:
            with self._lock:
                if not self._due:
                    self._running = False
                    return
                due, turn = self._due[0]
                now = time.monotonic()
                if due <= now:
                    self._due.popleft()
            if due > now:
                time.sleep(due - now)
                continue
            run_in_background(self._beat, turn)

    def _beat(self, turn: Beating) -> None:
        if turn.beat() and self._schedule(turn):
            self._loop()
