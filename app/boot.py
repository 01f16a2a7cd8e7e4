"""One-time start-up work for a server: runs once in gunicorn's master before it binds the
port (gunicorn.conf.py `on_starting`), or in the process itself when there is no master.

Kept free of Flask and requests imports (see app/__init__.py). In gunicorn's master it also
keeps redis-py out: redis-py imports ssl and holds references to its classes, and gevent must
patch ssl before that happens, which it does in each worker after the fork. So with a Redis
store the master does its store work in a short-lived forked child (`_in_child`).

Every problem it finds is a `StartupError` naming the variable to fix (DATA_DIR, STORE_URL,
TOKEN_LIST_FILE): gunicorn prints it as one `Error:` line and exits before binding the port.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
import time
import traceback
from collections.abc import Callable

from app.services.admin_token import AdminToken, ensure_admin_token
from app.services.request_log import RequestLog, begin_boot
from app.services.runtime_config import CONFIG_KEY, RuntimeConfigService
from app.services.token_file import locked, read_and_normalise, remove_leftovers
from app.services.token_pool import TOKENS_KEY, TokenPool
from app.settings import VERSION, Settings, redact_url
from app.store import Store, StoreError, StoreUnavailable, open_store

SERVER_KEY = "server"
PRIVATE_FOLDER = 0o700
_prepared: Settings | None = None  # inherited by forked gunicorn workers
_ADMIN_TOKEN_LEFTOVER = re.compile(r"\.admin_token-[a-z0-9_]{8}")


class StartupError(RuntimeError):
    """The server cannot start; the message names the variable to fix. A RuntimeError, so
    gunicorn reports it as a one-line `Error:` and exits instead of printing a traceback."""


def prepare(settings: Settings, *, keep_redis_out: bool = False) -> None:
    """SPEC §2.2 steps 3–7, once per server start; a no-op when already done for the same
    settings in this process or in the master it was forked from. `keep_redis_out`: this is
    gunicorn's master, which must not import redis-py (see the module's docstring)."""
    global _prepared
    if _prepared == settings:
        return
    begin_boot()
    if settings.auth_token is None or not settings.store_url:
        prepare_data_dir(settings.data_dir)
    admin = _in_data_dir(settings.data_dir, lambda: ensure_admin_token(settings.auth_token, settings.data_dir))
    redis = bool(settings.store_url and settings.store_url.startswith(("redis://", "rediss://")))
    notes = _in_child(lambda: _prepare_store(settings)) if redis and keep_redis_out else _prepare_store(settings)
    _prepared = settings
    _announce(settings, admin, notes)


def prepare_data_dir(path: str) -> None:
    """DATA_DIR exists, is a folder only its owner can enter (0700: it holds the store and the
    admin token), and can be written; leftovers of an interrupted admin-token write are gone."""
    try:
        os.makedirs(path, mode=PRIVATE_FOLDER, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise StartupError(f"DATA_DIR {path} is a file, not a folder: point DATA_DIR at a folder") from None
    except OSError as error:
        raise StartupError(f"DATA_DIR {path} cannot be created: {error.strerror}") from None
    if not os.path.isdir(path):
        raise StartupError(f"DATA_DIR {path} is a file, not a folder: point DATA_DIR at a folder")
    try:
        if os.stat(path).st_mode & 0o077:
            os.chmod(path, PRIVATE_FOLDER)
    except PermissionError:
        print(f"warning: DATA_DIR {path} is not ours to make private (0700)", file=sys.stderr, flush=True)
    try:
        with tempfile.TemporaryFile(dir=path):
            pass
        for name in os.listdir(path):
            if _ADMIN_TOKEN_LEFTOVER.fullmatch(name):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(path, name))
    except OSError as error:
        raise StartupError(f"DATA_DIR {path} is not writable: {error.strerror}") from None


def _in_data_dir(data_dir: str, work: Callable[[], AdminToken]) -> AdminToken:
    try:
        return work()
    except OSError as error:
        raise StartupError(f"DATA_DIR {data_dir}: cannot keep the admin token there: {error.strerror}") from None


def _prepare_store(settings: Settings) -> list[str]:
    """The store's share of the start: schema, token list, runtime config, counters, and the
    log entries of processes that are gone."""
    where = f"STORE_URL {redact_url(settings.store_url)}" if settings.store_url else f"DATA_DIR {settings.data_dir}"
    try:
        store = open_store(settings.data_dir, settings.store_url, check=True)
    except StoreError as error:
        raise StartupError(f"{where}: cannot open the store: {error}") from None
    notes: list[str] = []
    try:
        _tidy_token_file(settings.token_list_file)
        interrupted = RequestLog(store, settings.request_logs_limit).interrupt_orphans(shared=store.shared)
        if store.shared:
            notes = _join(store, settings)
        else:
            RuntimeConfigService(store, settings).reset_to_environment()
            TokenPool(store, settings.token_list_file).reload()
            RequestLog(store, settings.request_logs_limit).reset_counters_from_entries()
        store.put(SERVER_KEY, {"started_at": time.time()})
        if interrupted:
            notes.append(f"note: {interrupted} requests of a process that is gone were marked interrupted")
    except StoreError as error:
        raise StartupError(f"{where}: the store cannot be used: {error}") from None
    except OSError as error:
        name = error.filename or settings.token_list_file
        raise StartupError(f"TOKEN_LIST_FILE {settings.token_list_file}: {name}: {error.strerror}") from None
    finally:
        store.close()
    return notes


def _tidy_token_file(path: str) -> None:
    with locked(path):
        removed = remove_leftovers(path)
    if removed:
        print(f"note: removed {len(removed)} temporary token files left by a crash", file=sys.stderr, flush=True)


def _join(store: Store, settings: Settings) -> list[str]:
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


def _in_child(work: Callable[[], list[str]]) -> list[str]:
    """`work()` run in a forked child that reports through a pipe and exits: what it imports
    never loads in this process. Its StartupError (or any failure) is raised here."""
    reading, writing = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            os.close(reading)
            try:
                answer: dict = {"notes": work()}
            except (StartupError, StoreUnavailable) as error:
                answer = {"error": str(error)}
            except BaseException as error:  # reported to the parent, which fails the start
                answer = {"error": f"start-up failed: {error!r}\n{traceback.format_exc()}"}
            with os.fdopen(writing, "w", encoding="utf-8") as pipe:
                json.dump(answer, pipe)
        except BaseException:  # a child must not return into gunicorn's master
            code = 1
        finally:
            os._exit(code)
    os.close(writing)
    with os.fdopen(reading, encoding="utf-8") as pipe:
        raw = pipe.read()
    os.waitpid(pid, 0)
    answer = json.loads(raw) if raw else {"error": "start-up work ended without an answer"}
    if "error" in answer:
        raise StartupError(answer["error"])
    return answer["notes"]


def _announce(settings: Settings, admin: AdminToken, notes: list[str]) -> None:
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
