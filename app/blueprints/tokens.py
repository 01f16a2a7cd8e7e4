"""The token-pool API (SPEC §7.4–7.8), admin only."""
from __future__ import annotations

from flask import Blueprint, Response

from app.blueprints import gateway, json_response
from app.blueprints.admin_auth import admin_auth
from app.cursor.checksum import with_fresh_tsheader

bp = Blueprint("tokens", __name__)
auth = admin_auth()


@auth.error_handler
def unauthorized_empty(status: int) -> Response:
    return Response(b"", status=401)


@bp.post("/tokens/get")
@auth.login_required
def get_tokens() -> Response:
    tokens = [
        {**entry, "checksum": with_fresh_tsheader(entry["checksum"])} for entry in gateway().pool.entries()
    ]
    return json_response({"status": "success", "tokens": tokens, "tokens_count": len(tokens)})
