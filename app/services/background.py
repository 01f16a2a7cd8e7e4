"""Running a function beside the request that started it."""

from __future__ import annotations

import threading
from collections.abc import Callable

import gevent
from gevent import monkey


def run_in_background(function: Callable[..., None], *args: object) -> None:
    """Under gunicorn's gevent workers a bare greenlet: a monkey-patched `threading.Thread`
    costs several times more to start (its locks and events), once per chat. Elsewhere (the
    app built in-process by tests and tools) a daemon thread."""
    if monkey.is_module_patched("threading"):
        gevent.spawn(function, *args)
    else:
        threading.Thread(target=function, args=args, daemon=True).start()
