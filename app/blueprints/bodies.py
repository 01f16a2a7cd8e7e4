"""JSON bodies on the management routes: parsed before authentication (SPEC §4.1: body errors
take precedence), errors as plain text, like the reference."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import request

from app.blueprints import text_response
from app.errors import ApiError
from app.json_body import parse_json_body


def json_body(parse: Callable[[Any], Any]):
    """Decorator: call the view with `parse(json)` as its first argument. Put it above the
    auth decorator so it runs first."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            try:
                value = parse(parse_json_body(request.mimetype, request.get_data(cache=False)))
            except ApiError as error:
                return text_response(error.message, error.status)
            return view(value, *args, **kwargs)

        return wrapper

    return decorate
