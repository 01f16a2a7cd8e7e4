"""WSGI entry point: `gunicorn -c gunicorn.conf.py wsgi:app`.

gevent's monkey-patching must come before anything imports socket or ssl.
"""

from gevent import monkey

monkey.patch_all()

from app import create_app  # noqa: E402  (must follow the patch)

app = create_app()
