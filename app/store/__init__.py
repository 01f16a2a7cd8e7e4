"""Where state shared between requests lives (decision D19), behind one small interface.

`open_store(settings)` picks the backend: SQLite in DATA_DIR by default. Everything the
services share across gunicorn workers goes through `Store`; nothing lives only in a global.
"""
from __future__ import annotations

import os

from app.store.base import Store


def open_store(data_dir: str, store_url: str | None) -> Store:
    """The store named by STORE_URL, or the SQLite file in DATA_DIR."""
    from app.store.sqlite import SqliteStore

    if store_url and store_url.startswith("sqlite:///"):
        return SqliteStore(store_url.removeprefix("sqlite:///"))
    if store_url:
        raise NotImplementedError(f"STORE_URL backend not available yet: {store_url.split(':', 1)[0]}")
    return SqliteStore(os.path.join(data_dir, "gateway.sqlite3"))


__all__ = ["Store", "open_store"]
