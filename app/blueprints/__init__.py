"""The HTTP layer: one blueprint per endpoint group. Handlers parse, call a service, and shape
the answer; the logic lives in app/services."""

from __future__ import annotations

import uuid

from flask import Response, current_app, g

from app.gateway import Gateway
from app.openai_format import dumps


def gateway() -> Gateway:
    return current_app.extensions["gateway"]


def request_id() -> str:
    """This request's id (D33): a fresh uuid4 hex, never the client's; sent back as
    `x-request-id` and kept in the request's log entry."""
    value = g.get("request_id")
    if value is None:
        value = g.request_id = uuid.uuid4().hex
    return value


def json_response(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(body), status=status, headers=headers, mimetype="application/json")


def text_response(text: str, status: int = 200, content_type: str = "text/plain;charset=utf-8") -> Response:
    response = Response(text, status=status)
    response.headers["Content-Type"] = content_type  # exact form the reference sends (no space)
    return response
