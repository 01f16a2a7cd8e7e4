"""One-time start-up work for a server: runs once in gunicorn's master before it binds the
port (gunicorn.conf.py `on_starting`), or in the process itself when there is no master.

Kept free of Flask and requests imports (see app/__init__.py).
"""

from __future__ import annotations

import sys
import time

from app.services.admin_token import ensure_admin_token
from app.services.request_log import RequestLog
from app.services.runtime_config import CONFIG_KEY, RuntimeConfigService
from app.services.token_file import locked, read_and_normalise
from app.services.token_pool import TOKENS_KEY, TokenPool
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
    store = open_store(settings.data_dir, settings.store_url, check=True)
    notes = []
    try:
        if store.shared:
            notes = _join(store, settings)
        else:
            RuntimeConfigService(store, settings).reset_to_environment()
            TokenPool(store, settings.token_list_file).reload()
            RequestLog(store, settings.request_logs_limit).reset_counters_from_entries()
        store.put(SERVER_KEY, {"started_at": time.time()})
    finally:
        store.close()
    _prepared = settings
    _announce(settings, admin, notes)


def _join(store, settings: Settings) -> list[str]:
    """Start-up on a store that other instances may be serving from right now: the state is
    the running gateway's, so only what is missing is seeded (the token list from this host's
    file, the runtime config from this environment) and the counters are left alone (resetting
    `active` would break the count of requests in flight elsewhere). Two instances starting on
    an empty store at the same moment may both seed; the last seed wins, which is as good."""
    if store.get(CONFIG_KEY) is None:
        RuntimeConfigService(store, settings).reset_to_environment()
    pool = TokenPool(store, settings.token_list_file)
    if store.get(TOKENS_KEY) is None:
        pool.reload()
        return []
    with locked(settings.token_list_file):
        on_file = len(read_and_normalise(settings.token_list_file))  # still created and normalised
    return [
        f"note: the shared store already holds {len(pool.entries())} tokens; {settings.token_list_file} "
        f"({on_file} tokens) was not loaded (POST /tokens/reload loads it into the shared pool)"
    ]


def _announce(settings: Settings, admin, notes: list[str]) -> None:
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731 - one-liner printer
    say(f"cursor-api v{VERSION} starting on 0.0.0.0:{settings.port}")
    if admin.created_now:
        say(f"AUTH_TOKEN is not set: generated admin token {admin.value}")
        say(f"  kept in {admin.path} (reused on every start; set AUTH_TOKEN to choose your own)")
    elif admin.path:
        say(f"AUTH_TOKEN is not set: using the admin token kept in {admin.path}")
    for name in settings.ignored_variables:
        say(f"note: {name} is set but has no effect in this version (see .env.example)")
    for note in notes:
        say(note)
