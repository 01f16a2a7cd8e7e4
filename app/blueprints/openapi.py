"""`GET /openapi.json`: the machine-readable description of the public routes (issue #6)."""

from __future__ import annotations

import functools

from flask import Blueprint, Response

from app.blueprints import gateway, json_response
from app.openapi import openapi_document

bp = Blueprint("openapi", __name__)


@functools.lru_cache(maxsize=4)
def _document(route_prefix: str) -> dict:
    return openapi_document(route_prefix)


@bp.get("/openapi.json")
def describe() -> Response:
    return json_response(_document(gateway().settings.route_prefix))
