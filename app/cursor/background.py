"""Running a function beside the caller, for the library's own helpers (the agent heartbeat).

app/cursor may not import the services, so this is the library's copy of the rule in
app/services/background.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import gevent
from gevent import monkey


def run_in_background(function: Callable[..., None], *args: object) -> None:
    """Under gunicorn's gevent workers a bare greenlet (a monkey-patched `threading.Thread`
    costs several times more to start); elsewhere (tests, tools) a daemon thread."""
    if monkey.is_module_patched("threading"):
        gevent.spawn(function, *args)
    else:
        threading.Thread(target=function, args=args, daemon=True).start()
