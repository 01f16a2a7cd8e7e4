"""gunicorn settings (Heroku/Render style: `web: gunicorn -c gunicorn.conf.py wsgi:app`).

Settings are read and checked here, in the master, so a bad variable stops the server with a
clear message before the port is opened; one-time start-up work runs in `on_starting`.
"""

import math
import os
import shutil
import sys
import tempfile

from app import worker as _worker
from app.settings import Settings, SettingsError, load_dotenv_file

load_dotenv_file()
try:
    _settings = Settings.from_env()
except SettingsError as error:
    print(f"cursor-api cannot start:\n{error}", file=sys.stderr, flush=True)
    sys.exit(2)

bind = f"0.0.0.0:{_settings.port}"
# gunicorn's gevent worker with a deadline on every client read, room kept for new clients and
# a shutdown that does not wait for idle keep-alive connections (app/worker.py).
worker_class = "app.worker.GatewayWorker"
_worker.configure(
    header_timeout=_settings.client_header_timeout,
    body_timeout=_settings.client_body_timeout,
    keepalive_timeout=_settings.client_keepalive_timeout,
)
# One gevent worker per core serves thousands of streams; WEB_CONCURRENCY overrides.
workers = _settings.web_concurrency or (os.cpu_count() or 1)
worker_connections = 4000
# The gevent worker's heartbeat runs in its own greenlet, so `timeout` never cuts a long
# stream; it only restarts a worker that is truly stuck.
timeout = 60
graceful_timeout = 30  # the longest SIGTERM waits for streams in flight; idle connections close at once
# Keep-alive stays on; how long an idle connection is kept is CLIENT_KEEPALIVE_TIMEOUT (the worker's).
keepalive = max(1, math.ceil(_settings.client_keepalive_timeout))
accesslog = None
errorlog = "-"
forwarded_allow_ips = "*"


# /metrics sums every worker's samples from files in this directory (prometheus_client's
# multiprocess mode). It must be set before prometheus_client is imported and must not hold
# samples of an earlier run, so each start gets a fresh one unless the operator chose it.
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _metrics_dir:
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    os.makedirs(_metrics_dir)
    _own_metrics_dir = None
else:
    _own_metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="cursor-api-metrics-")


# gunicorn's control socket (`gunicornc`) defaults to one path per user ($XDG_RUNTIME_DIR or
# ~/.gunicorn/gunicorn.ctl), which a second instance on the host would take over and whose file
# either instance's stop would delete. Each start gets its own, in a private temporary directory
# (its path is logged at start), unless the operator names one with --control-socket.
_control_dir = tempfile.mkdtemp(prefix="cursor-api-control-")
control_socket = os.path.join(_control_dir, "gunicorn.ctl")


def on_starting(server):
    from app import boot

    # The master forks the gevent workers, which patch ssl after the fork: it must not import
    # redis-py (which imports ssl) itself, so its Redis start-up work runs in a child.
    boot.prepare(_settings, keep_redis_out=True)


def child_exit(server, worker):
    # A dead worker's gauges (active streams) must stop counting; its counters stay summed.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(_own_metrics_dir, ignore_errors=True)
    shutil.rmtree(_control_dir, ignore_errors=True)
