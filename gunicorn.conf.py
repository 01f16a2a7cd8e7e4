"""gunicorn settings (Heroku/Render style: `web: gunicorn -c gunicorn.conf.py wsgi:app`).

Settings are read and checked here, in the master, so a bad variable stops the server with a
clear message before the port is opened; one-time start-up work runs in `on_starting`.
"""

import os
import shutil
import sys
import tempfile

from app.settings import Settings, SettingsError, load_dotenv_file

load_dotenv_file()
try:
    _settings = Settings.from_env()
except SettingsError as error:
    print(f"cursor-api cannot start:\n{error}", file=sys.stderr, flush=True)
    sys.exit(2)

bind = f"0.0.0.0:{_settings.port}"
worker_class = "gevent"
# One gevent worker per core serves thousands of streams; WEB_CONCURRENCY overrides.
workers = _settings.web_concurrency or (os.cpu_count() or 1)
worker_connections = 4000
# The gevent worker's heartbeat runs in its own greenlet, so `timeout` never cuts a long
# stream; it only restarts a worker that is truly stuck.
timeout = 60
graceful_timeout = 30
keepalive = 75  # longer than typical load balancers' idle timeout (Heroku 55 s, ALB 60 s)
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


def on_starting(server):
    from app import boot

    boot.prepare(_settings)


def child_exit(server, worker):
    # A dead worker's gauges (active streams) must stop counting; its counters stay summed.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(_own_metrics_dir, ignore_errors=True)
