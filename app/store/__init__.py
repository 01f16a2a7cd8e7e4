"""Where state shared between requests lives (decision D19), behind one small interface.

`open_store(data_dir, store_url)` picks the backend: SQLite in DATA_DIR by default, Redis for
`redis://` and `rediss://`. Everything the services share across gunicorn workers (and, with
Redis, across instances) goes through `Store`; nothing lives only in a global. A failure of the
store itself is a `StoreError`, whichever backend.
"""

from __future__ import annotations

import os

from app.settings import redact_url
from app.store.base import Store, StoreError


class StoreUnavailable(RuntimeError):
    """The store named by STORE_URL cannot be used. A RuntimeError, so gunicorn reports it as a
    one-line `Error:` and exits instead of printing a traceback."""


def open_store(data_dir: str, store_url: str | None, *, check: bool = False) -> Store:
    """The store named by STORE_URL, or the SQLite file in DATA_DIR. With `check`, a store on
    another server is contacted now (start-up), instead of at its first use."""
    if store_url and store_url.startswith(("redis://", "rediss://")):
        return _open_redis(store_url, check)
    from app.store.sqlite import SqliteStore

    if store_url and store_url.startswith("sqlite:///"):
        return SqliteStore(store_url.removeprefix("sqlite:///"))
    if store_url:
        raise StoreUnavailable(f"STORE_URL {redact_url(store_url)} names no known backend")
    return SqliteStore(os.path.join(data_dir, "gateway.sqlite3"))


def _open_redis(url: str, check: bool) -> Store:
    from app.store.redis import RedisStore

    store = None
    try:
        store = RedisStore(url)
        if check:
            store.ping()
    except (StoreError, ValueError) as error:
        if store is not None:
            store.close()
        # redis-py's messages name host and port, never the password; the URL is masked.
        raise StoreUnavailable(f"STORE_URL {redact_url(url)}: cannot use Redis: {error}") from None
    return store


__all__ = ["Store", "StoreError", "StoreUnavailable", "open_store"]
