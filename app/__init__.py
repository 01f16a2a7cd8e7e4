"""cursor-api for Python: an OpenAI-compatible gateway to Cursor's chat service.

`create_app()` is the application factory. Flask is imported inside it on purpose: gunicorn's
master imports `app.boot` for one-time start-up work before forking gevent workers, and must
not import Flask (which imports ssl) before those workers monkey-patch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from app.settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    from app.factory import build_app

    return build_app(settings)
