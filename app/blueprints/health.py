"""`GET /health` (SPEC §10, decisions D4 and D5): public status, and stats for the admin."""

from __future__ import annotations

import datetime
import time

import psutil
from flask import Blueprint, Response, request

from app.blueprints import gateway, json_response
from app.boot import SERVER_KEY
from app.services.auth import bearer_value
from app.settings import MODEL_IDS, VERSION

bp = Blueprint("health", __name__)

_UNPREFIXED_ENDPOINTS = (
    "/tokens", "/tokens/get", "/tokens/update", "/tokens/add", "/tokens/delete", "/logs",
    "/env-example", "/config", "/static/{path}", "/about", "/readme", "/api", "/get-hash",
    "/get-checksum", "/get-tsheader", "/basic-calibration", "/userinfo", "/build-key",
)  # fmt: skip


def endpoints(prefix: str) -> list[str]:
    return [f"{prefix}/v1/chat/completions", f"{prefix}/v1/models", *_UNPREFIXED_ENDPOINTS]


def local_time_text(epoch: float) -> str:
    """`2025-01-20 12:34:56.123456789 +08:00`, the reference's display form."""
    moment = datetime.datetime.fromtimestamp(epoch).astimezone()
    offset = moment.strftime("%z")
    return f"{moment:%Y-%m-%d %H:%M:%S.%f}000 {offset[:3]}:{offset[3:]}"


@bp.get("/health")
def health() -> Response:
    gw = gateway()
    started_at = (gw.store.get(SERVER_KEY) or {}).get("started_at", time.time())
    body: dict = {"status": "healthy", "version": VERSION, "uptime": int(time.time() - started_at)}
    if gw.auth.is_admin(bearer_value(request.headers.get("Authorization"))):
        counters = gw.request_log.counters()
        body["stats"] = {
            "started": local_time_text(started_at),
            "total_requests": counters.total,
            "active_requests": counters.active,
            "system": {
                "memory": {"rss": psutil.Process().memory_info().rss},
                "cpu": {"usage": psutil.cpu_percent(interval=0.2)},  # system-wide, as specified
            },
        }
    body["models"] = list(MODEL_IDS)
    body["endpoints"] = endpoints(gw.settings.route_prefix)
    return json_response(body)
