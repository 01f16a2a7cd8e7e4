"""Page-content overrides (SPEC §4.3, §8): ten GET paths whose content an operator can replace
at run time. They live in the store, so they apply on every worker and survive restarts
(D24: durable as written, not only at shutdown)."""

from __future__ import annotations

from app.store import Store

PAGES_KEY = "page_overrides"
PAGE_PATHS = (
    "/", "/logs", "/config", "/tokens", "/static/shared-styles.css", "/static/shared.js",
    "/about", "/readme", "/api", "/build-key",
)  # fmt: skip
DEFAULT = {"type": "default"}


class PageOverrides:
    def __init__(self, store: Store) -> None:
        self._store = store

    def get(self, path: str) -> dict | None:
        """The override for a page path ({"type": "default"} when none), None for other paths."""
        if path not in PAGE_PATHS:
            return None
        return (self._store.get(PAGES_KEY) or {}).get(path, DEFAULT)

    def set(self, path: str, content: dict) -> None:
        def change(pages: dict | None) -> dict:
            pages = dict(pages or {})
            if content["type"] == "default":
                pages.pop(path, None)
            else:
                pages[path] = content
            return pages

        self._store.update(PAGES_KEY, change)
