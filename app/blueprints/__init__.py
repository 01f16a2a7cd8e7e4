"""The HTTP layer: one blueprint per endpoint group. Handlers parse, call a service, and shape
the answer; the logic lives in app/services."""

from __future__ import annotations

import uuid

from flask import Response, current_app, g, request

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


def credential_header() -> str | None:
    """The request's credential as an `Authorization` header value. Anthropic's clients send
    theirs as `x-api-key`, which the Messages front takes too (D35), so the guessing limit counts
    it there; elsewhere only `Authorization` carries credentials."""
    api_key = request.headers.get("x-api-key")
    if api_key is not None and request.blueprint == "messages":
        return f"Bearer {api_key}"
    return request.headers.get("Authorization")


def json_response(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(body), status=status, headers=headers, mimetype="application/json")


def text_response(text: str, status: int = 200, content_type: str = "text/plain;charset=utf-8") -> Response:
    response = Response(text, status=status)
    response.headers["Content-Type"] = content_type  # exact form the reference sends (no space)
    return response
