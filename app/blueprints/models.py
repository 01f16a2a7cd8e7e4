"""`GET {ROUTE_PREFIX}/v1/models` and `/v1/models/{id}` (SPEC §11.1, D27): Cursor's live list on
`agent`, the fixed list on `legacy`; no auth."""

from __future__ import annotations

from flask import Blueprint, Response

from app.blueprints import gateway, json_response

bp = Blueprint("models", __name__)


@bp.get("/v1/models")
def list_models() -> Response:
    gw = gateway()
    return json_response(gw.models.listing(gw.config.current().proxies))


@bp.get("/v1/models/<path:model_id>")
def one_model(model_id: str) -> Response:
    gw = gateway()
    return json_response(gw.models.one(model_id, gw.config.current().proxies))
