"""The KV blobs an agent turn stored (set_blob), kept in the store for the same conversation's
later turns, which the server may ask for them (get_blob; docs/AGENT_WIRE.md §4). Bounded per
conversation, newest kept."""

from __future__ import annotations

from collections.abc import Mapping

from app.store import Store

BLOBS_KEY = "agent-blobs:"
MAX_BLOBS = 64
MAX_BYTES = 1024 * 1024


class ConversationBlobs:
    def __init__(self, store: Store) -> None:
        self._store = store

    def load(self, conversation_id: str) -> dict[bytes, bytes]:
        kept = self._store.get(BLOBS_KEY + conversation_id) or {}
        return {bytes.fromhex(blob_id): bytes.fromhex(data) for blob_id, data in kept.items()}

    def save(self, conversation_id: str, blobs: Mapping[bytes, bytes]) -> None:
        def merge(kept: dict | None) -> dict:
            merged = dict(kept or {})
            for blob_id, data in blobs.items():
                merged.pop(blob_id.hex(), None)  # re-inserted last: the newest
                merged[blob_id.hex()] = data.hex()
            while merged and (len(merged) > MAX_BLOBS or sum(map(len, merged.values())) > 2 * MAX_BYTES):
                merged.pop(next(iter(merged)))
            return merged

        self._store.update(BLOBS_KEY + conversation_id, merge)
