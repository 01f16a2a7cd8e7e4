"""`POST /logs` (SPEC §9.3): every entry for the admin; a user's own entries for a bearer that
holds their token (`token` or `token,checksum`)."""

from __future__ import annotations

import time

from flask import Blueprint, Response, request

from app.blueprints import gateway, json_response
from app.blueprints.health import local_time_text
from app.services.auth import bearer_value

bp = Blueprint("logs", __name__)


@bp.post("/logs")
def logs() -> Response:
    gw = gateway()
    bearer = bearer_value(request.headers.get("Authorization"))
    if bearer is None:
        return Response(b"", status=401)
    now = local_time_text(time.time())
    if gw.auth.is_admin(bearer):
        counters = gw.request_log.counters()
        return json_response(
            {
                "status": "success",
                "total": counters.total,
                "active": counters.active,
                "error": counters.error,
                "logs": gw.request_log.entries(),
                "timestamp": now,
            }
        )
    token = gw.auth.token_of(bearer)
    own = [entry for entry in gw.request_log.entries() if token and entry["token_info"]["token"] == token]
    if not own:
        return Response(b"", status=401)
    return json_response({"status": "success", "total": len(own), "logs": own, "timestamp": now})
