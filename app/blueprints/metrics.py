"""`GET /metrics` (issue #5): the Prometheus text format, summed over all gunicorn workers.
Open like `/health`: it carries counts and timings, never a token."""

from __future__ import annotations

from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST

from app.blueprints import gateway
from app.services.metrics import exposition
from app.services.token_health import shown

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Response:
    pool = gateway().pool
    body = exposition(lambda: [shown(entry.get("health"))["state"] for entry in pool.entries()])
    return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST})
