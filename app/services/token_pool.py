"""The pool of Cursor session tokens used for admin and shared-token chats (SPEC §7.3).

The list and the rotation counter live in the store, so every gunicorn worker (and every
instance sharing the store) rotates through one list in one global order (D19).
"""
from __future__ import annotations

from dataclasses import dataclass

from app.cursor.checksum import with_fresh_tsheader
from app.services.token_file import TokenLine
from app.store import Store

TOKENS_KEY = "tokens"
ROTATION_COUNTER = "token_rotation"


@dataclass(frozen=True, slots=True)
class PoolToken:
    token: str
    checksum: str  # with a current timestamp header, ready to send


class TokenPool:
    def __init__(self, store: Store) -> None:
        self._store = store

    def entries(self) -> list[dict]:
        """Stored entries in order: {"token", "checksum", "profile"?}."""
        return self._store.get(TOKENS_KEY) or []

    def replace(self, lines: list[TokenLine]) -> None:
        """Install a freshly loaded list; profiles are cleared (SPEC §7.2 step 6)."""
        self._store.put(TOKENS_KEY, [{"token": line.token, "checksum": line.checksum} for line in lines])

    def next_token(self) -> PoolToken | None:
        """The next token in round-robin order, or None when the pool is empty. The counter is
        shared by all callers and never reset when the list changes (SPEC §7.3)."""
        entries = self.entries()
        if not entries:
            return None
        position = self._store.incr(ROTATION_COUNTER) - 1
        entry = entries[position % len(entries)]
        # Refreshing the timestamp header on use is equivalent to rc4's periodic refresh
        # (PROTOCOL §5.2) and needs no background task.
        return PoolToken(entry["token"], with_fresh_tsheader(entry["checksum"]))
