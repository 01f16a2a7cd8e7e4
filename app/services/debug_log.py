"""Diagnostic lines appended to DEBUG_LOG_FILE when DEBUG is on (SPEC §2.5).

Used for upstream anomalies (malformed frames, undecodable bodies). Lines never contain
tokens or checksums.
"""

from __future__ import annotations

import datetime


class DebugLog:
    def __init__(self, enabled: bool, path: str) -> None:
        self.enabled = enabled
        self._path = path

    def write(self, message: str) -> None:
        if not self.enabled:
            return
        stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        with open(self._path, "a", encoding="utf-8") as handle:
            handle.write(f"{stamp} - {message}\n")
