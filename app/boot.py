"""One-time start-up work for a server: runs once in gunicorn's master before it binds the
port (gunicorn.conf.py `on_starting`), or in the process itself when there is no master.

Kept free of Flask and requests imports (see app/__init__.py).
"""
from __future__ import annotations

import sys
import time

from app.services.admin_token import ensure_admin_token
from app.services.request_log import RequestLog
from app.services.runtime_config import RuntimeConfigService
from app.services.token_pool import TokenPool
from app.settings import VERSION, Settings
from app.store import open_store

SERVER_KEY = "server"
_prepared: Settings | None = None  # inherited by forked gunicorn workers


def prepare(settings: Settings) -> None:
    """SPEC §2.2 steps 3–7, once per server start; a no-op when already done for the same
    settings in this process or in the master it was forked from."""
    global _prepared
    if _prepared == settings:
        return
    admin = ensure_admin_token(settings.auth_token, settings.data_dir)
    store = open_store(settings.data_dir, settings.store_url)
    try:
        RuntimeConfigService(store, settings).reset_to_environment()
        TokenPool(store, settings.token_list_file).reload()
        RequestLog(store, settings.request_logs_limit).reset_counters_from_entries()
        store.put(SERVER_KEY, {"started_at": time.time()})
    finally:
        store.close()
    _prepared = settings
    _announce(settings, admin)


def _announce(settings: Settings, admin) -> None:
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731 - one-liner printer
    say(f"cursor-api v{VERSION} starting on 0.0.0.0:{settings.port}")
    if admin.created_now:
        say(f"AUTH_TOKEN is not set: generated admin token {admin.value}")
        say(f"  kept in {admin.path} (reused on every start; set AUTH_TOKEN to choose your own)")
    elif admin.path:
        say(f"AUTH_TOKEN is not set: using the admin token kept in {admin.path}")
    for name in settings.ignored_variables:
        say(f"note: {name} is set but has no effect in this version (see .env.example)")
