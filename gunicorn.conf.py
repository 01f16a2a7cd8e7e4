"""gunicorn settings (Heroku/Render style: `web: gunicorn -c gunicorn.conf.py wsgi:app`).

Settings are read and checked here, in the master, so a bad variable stops the server with a
clear message before the port is opened; one-time start-up work runs in `on_starting`.
"""
import os
import sys

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


def on_starting(server):
    from app import boot

    boot.prepare(_settings)
