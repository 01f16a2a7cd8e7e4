"""The pool of Cursor session tokens used for admin and shared-token chats (SPEC §7).

The list and the rotation counter live in the store, so every gunicorn worker (and every
instance sharing the store) rotates through one list in one global order (D19). The `.tokens`
file stays the operator's copy: every change writes it atomically first, then the store, both
under the file lock, so a change acknowledged to a client is on disk and visible everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass

from app.cursor.checksum import repair_checksum, with_fresh_tsheader
from app.cursor.session_token import strip_token_prefix, validate_token
from app.services.token_file import TokenLine, format_token_lines, locked, read_and_normalise, write_atomically
from app.store import Store

TOKENS_KEY = "tokens"
ROTATION_COUNTER = "token_rotation"


@dataclass(frozen=True, slots=True)
class PoolToken:
    token: str
    checksum: str  # with a current timestamp header, ready to send


@dataclass(frozen=True, slots=True)
class NewToken:
    token: str
    checksum: str | None = None


@dataclass(frozen=True, slots=True)
class Deletion:
    removed: int
    failed_tokens: list[str]  # requested but not in the pool, in request order
    remaining: list[str]


class TokenPool:
    def __init__(self, store: Store, path: str) -> None:
        self._store = store
        self._path = path

    # -- reading -----------------------------------------------------------------------------
    def entries(self) -> list[dict]:
        """Stored entries in order: {"token", "checksum", "profile"?}."""
        return self._store.get(TOKENS_KEY) or []

    def entries_for_display(self) -> list[dict]:
        """Entries with current timestamp headers (what rc4's periodic refresh would show)."""
        return [{**entry, "checksum": with_fresh_tsheader(entry["checksum"])} for entry in self.entries()]

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

    # -- changing ----------------------------------------------------------------------------
    def replace(self, lines: list[TokenLine]) -> None:
        """Install a freshly loaded list; profiles are cleared (SPEC §7.2 step 6)."""
        self._store.put(TOKENS_KEY, [{"token": line.token, "checksum": line.checksum} for line in lines])

    def set_profile(self, token: str, profile: dict) -> None:
        """Attach a fetched profile to the first entry with this token (SPEC §6.5)."""

        def attach(entries: list[dict] | None) -> list[dict]:
            entries = entries or []
            for entry in entries:
                if entry["token"] == token:
                    entry["profile"] = profile
                    break
            return entries

        self._store.update(TOKENS_KEY, attach)

    def reload(self) -> int:
        """Re-read the file (SPEC §7.5)."""
        with locked(self._path):
            lines = read_and_normalise(self._path)
            self.replace(lines)
        return len(lines)

    def update(self, text: str) -> int:
        """Replace the file's content verbatim, then load it normalised (SPEC §7.6)."""
        with locked(self._path):
            write_atomically(self._path, text)
            lines = read_and_normalise(self._path)
            self.replace(lines)
        return len(lines)

    def add(self, candidates: list[NewToken]) -> tuple[int, int]:
        """Append valid tokens not already pooled, in request order, deduplicated (D10).
        Returns (added, total). The file is rewritten only when something was added."""
        with locked(self._path):
            entries = self.entries()
            known = {entry["token"] for entry in entries}
            added = []
            for candidate in candidates:
                token = strip_token_prefix(candidate.token)
                if token in known or validate_token(token) is None:
                    continue
                known.add(token)
                added.append({"token": token, "checksum": repair_checksum(candidate.checksum or "")})
            if added:
                self._save(entries + added)
            return len(added), len(entries) + len(added)

    def delete(self, tokens: list[str]) -> Deletion:
        """Remove exact matches (no prefix stripping); the file is rewritten only when something
        was removed (SPEC §7.8)."""
        with locked(self._path):
            entries = self.entries()
            pooled = {entry["token"] for entry in entries}
            doomed = set(tokens)
            kept = [entry for entry in entries if entry["token"] not in doomed]
            if len(kept) != len(entries):
                self._save(kept)
            return Deletion(
                removed=len(entries) - len(kept),
                failed_tokens=[token for token in tokens if token not in pooled],
                remaining=[entry["token"] for entry in kept],
            )

    def _save(self, entries: list[dict]) -> None:
        """File first, then the store: an acknowledged change is always on disk."""
        write_atomically(self._path, format_token_lines([TokenLine(e["token"], e["checksum"]) for e in entries]))
        self._store.put(TOKENS_KEY, entries)
