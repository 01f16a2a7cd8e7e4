"""`GET {ROUTE_PREFIX}/v1/models` (SPEC §11.1): the fixed list, no auth."""

from __future__ import annotations

from flask import Blueprint, Response

from app.blueprints import json_response
from app.openai_format import model_list

bp = Blueprint("models", __name__)


@bp.get("/v1/models")
def list_models() -> Response:
    return json_response(model_list())
