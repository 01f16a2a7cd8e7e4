"""The pool of Cursor session tokens used for admin and shared-token chats (SPEC §7).

The list and the rotation counter live in the store, so every gunicorn worker (and every
instance sharing the store) rotates through one list in one global order (D19). The `.tokens`
file stays the operator's copy: every change writes it atomically first, then the store, under
the file lock and the store's lock, so a change acknowledged to a client is on disk and visible
everywhere.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from app.cursor.checksum import repair_checksum, with_fresh_tsheader
from app.cursor.session_token import is_api_key, strip_token_prefix, validate_token
from app.services import store_outage
from app.services.records import Profile, TokenEntry
from app.services.token_file import (
    TokenLine,
    format_token_lines,
    locked,
    parse_token_text,
    read_and_normalise,
    write_atomically,
)
from app.services.token_health import HEALTHY, Verdict, next_health, shown, usable
from app.store import Store, StoreError

TOKENS_KEY = "tokens"
ROTATION_COUNTER = "token_rotation"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PoolToken:
    token: str
    checksum: str  # with a current timestamp header, ready to send


class NoUsableToken(Exception):
    """Every pooled token is cooling down (`retry_after` seconds until the first is usable
    again) or disabled (`retry_after` None)."""

    def __init__(self, retry_after: int | None, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.retry_after = retry_after
        self.reasons = reasons


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
        # Tokens with a health record when this process last rotated: an "ok" for any other
        # token changes nothing, so the common case skips re-reading the whole list per chat.
        self._with_health: frozenset[str] = frozenset()

    # -- reading -----------------------------------------------------------------------------
    def entries(self) -> list[TokenEntry]:
        """Stored entries in order: {"token", "checksum", "health"?, "profile"?}."""
        return self._store.get(TOKENS_KEY) or []

    def entries_for_display(self) -> list[TokenEntry]:
        """Entries with current timestamp headers (what rc4's periodic refresh would show) and
        their health."""
        now = time.time()
        return [
            {**entry, "checksum": with_fresh_tsheader(entry["checksum"]), "health": shown(entry.get("health"), now)}
            for entry in self.entries()
        ]

    def next_token(self) -> PoolToken | None:
        """The next usable token in round-robin order; None when the pool is empty; raises
        NoUsableToken when every token is cooling down or disabled. The counter is shared by
        all callers and never reset when the list changes (SPEC §7.3); unusable tokens are
        stepped over, so the usable ones keep one global order."""
        entries = self.entries()
        self._with_health = frozenset(entry["token"] for entry in entries if "health" in entry)
        if not entries:
            return None
        now = time.time()
        if not any(usable(entry.get("health"), now) for entry in entries):
            raise self._why_none_usable(entries, now)
        while True:
            entry = entries[(self._store.incr(ROTATION_COUNTER) - 1) % len(entries)]
            if usable(entry.get("health"), now):
                # A fresh timestamp header on use is equivalent to rc4's periodic refresh
                # (PROTOCOL §5.2) and needs no background task.
                return PoolToken(entry["token"], with_fresh_tsheader(entry["checksum"]))

    @staticmethod
    def _why_none_usable(entries: list[TokenEntry], now: float) -> NoUsableToken:
        cooling = [entry["health"]["until"] for entry in entries if entry.get("health", HEALTHY)["state"] == "cooling"]
        reasons = sorted({entry["health"].get("reason") or entry["health"]["state"] for entry in entries})
        return NoUsableToken(math.ceil(min(cooling) - now) if cooling else None, reasons)

    def report(self, token: str, verdict: Verdict) -> None:
        """Record what an upstream answer says about a pooled token (no-op for other tokens).
        Best effort: a store outage loses this verdict (counted and logged), never the answer
        being written."""
        now = time.time()

        def change(entries: list[TokenEntry] | None) -> list[TokenEntry]:
            for entry in entries or []:
                if entry["token"] == token:
                    health = next_health(entry.get("health", HEALTHY), verdict, now)
                    if health is HEALTHY:
                        entry.pop("health", None)
                    else:
                        entry["health"] = health
            return entries or []

        if verdict.kind == "ok" and token not in self._with_health:
            return  # the common case: nothing to write
        try:
            self._store.update(TOKENS_KEY, change)
        except StoreError as error:
            store_outage.report(error, "recording a token's health")

    def enable(self, tokens: list[str]) -> list[str]:
        """Make tokens healthy again (an operator's decision); returns those not in the pool."""
        wanted = set(tokens)

        def change(entries: list[TokenEntry] | None) -> list[TokenEntry]:
            for entry in entries or []:
                if entry["token"] in wanted:
                    entry.pop("health", None)
            return entries or []

        self._store.update(TOKENS_KEY, change)
        pooled = {entry["token"] for entry in self.entries()}
        return [token for token in tokens if token not in pooled]

    # -- changing ----------------------------------------------------------------------------
    def replace(self, lines: list[TokenLine]) -> None:
        """Install a freshly loaded list; profiles are cleared (SPEC §7.2 step 6)."""
        self._store.put(TOKENS_KEY, [{"token": line.token, "checksum": line.checksum} for line in lines])

    def set_profile(self, token: str, profile: Profile) -> None:
        """Attach a fetched profile to the first entry with this token (SPEC §6.5)."""

        def attach(entries: list[TokenEntry] | None) -> list[TokenEntry]:
            entries = entries or []
            for entry in entries:
                if entry["token"] == token:
                    entry["profile"] = profile
                    break
            return entries

        self._store.update(TOKENS_KEY, attach)

    def reload(self) -> int:
        """Re-read the file (SPEC §7.5)."""
        with locked(self._path), self._store.exclusive(TOKENS_KEY):
            lines = read_and_normalise(self._path)
            self.replace(lines)
        return len(lines)

    def update(self, text: str) -> int:
        """Replace the file's content, then load it normalised (SPEC §7.6). The file ends as the
        normalised content either way, so it is written once, normalised."""
        lines = parse_token_text(text)
        with locked(self._path), self._store.exclusive(TOKENS_KEY):
            write_atomically(self._path, format_token_lines(lines))
            self.replace(lines)
        return len(lines)

    def add(self, candidates: list[NewToken]) -> tuple[int, int]:
        """Append valid tokens not already pooled, in request order, deduplicated (D10).
        Returns (added, total). The file is rewritten only when something was added."""

        def compute(entries: list[TokenEntry]) -> tuple[list[TokenEntry] | None, tuple[int, int]]:
            known = {entry["token"] for entry in entries}
            added: list[TokenEntry] = []
            for candidate in candidates:
                token = strip_token_prefix(candidate.token)
                if token in known or (validate_token(token) is None and not is_api_key(token)):
                    continue
                known.add(token)
                added.append({"token": token, "checksum": repair_checksum(candidate.checksum or "")})
            return (entries + added if added else None), (len(added), len(entries) + len(added))

        return self._change(compute)

    def delete(self, tokens: list[str]) -> Deletion:
        """Remove exact matches (no prefix stripping); the file is rewritten only when something
        was removed (SPEC §7.8)."""
        doomed = set(tokens)

        def compute(entries: list[TokenEntry]) -> tuple[list[TokenEntry] | None, Deletion]:
            pooled = {entry["token"] for entry in entries}
            kept = [entry for entry in entries if entry["token"] not in doomed]
            deletion = Deletion(
                removed=len(entries) - len(kept),
                failed_tokens=[token for token in tokens if token not in pooled],
                remaining=[entry["token"] for entry in kept],
            )
            return (kept if deletion.removed else None), deletion

        return self._change(compute)

    def _change(self, compute: Callable[[list[TokenEntry]], tuple[list[TokenEntry] | None, T]]) -> T:
        """Apply `compute` (entries → new entries or None for no change, and a result): file
        first, then the store, so an acknowledged change is on disk and a failed file write
        (OSError) changes nothing. List changes take turns: the file lock among this host's
        processes, the store's lock among instances sharing it. Health and profiles are written
        by chats without either lock, so the latest of those are kept when the list is stored."""
        with locked(self._path), self._store.exclusive(TOKENS_KEY):
            new_entries, result = compute(self.entries())
            if new_entries is not None:
                write_atomically(
                    self._path, format_token_lines([TokenLine(e["token"], e["checksum"]) for e in new_entries])
                )
                self._store.update(TOKENS_KEY, lambda current: _with_latest_state(new_entries, current or []))
            return result


def _with_latest_state(entries: list[TokenEntry], current: list[TokenEntry]) -> list[TokenEntry]:
    """`entries` with each token's health and profile as `current` has them now."""
    latest = {entry["token"]: entry for entry in current}
    merged: list[TokenEntry] = []
    for entry in entries:
        kept: TokenEntry = {"token": entry["token"], "checksum": entry["checksum"]}
        now = latest.get(entry["token"])
        if now is not None and "health" in now:
            kept["health"] = now["health"]
        if now is not None and "profile" in now:
            kept["profile"] = now["profile"]
        merged.append(kept)
    return merged
