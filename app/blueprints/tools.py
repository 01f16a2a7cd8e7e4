"""Helper routes (SPEC §11.2–11.4): hashes, checksums, timestamp headers and calibration (all
local), and an account's profile (`/userinfo`)."""

from __future__ import annotations

import datetime
from typing import Any

from flask import Blueprint, Response, request

from app.blueprints import gateway, json_response, text_response
from app.blueprints.bodies import json_body
from app.cursor.checksum import checksum_kiloseconds, random_hash, repair_checksum, tsheader
from app.cursor.session_token import parse_claims
from app.errors import ApiError
from app.json_body import expect, optional

bp = Blueprint("tools", __name__)


@bp.get("/get-hash")
def get_hash() -> Response:
    return text_response(random_hash())


@bp.get("/get-checksum")
def get_checksum() -> Response:
    """A new random checksum, or the repair of `?checksum=` (note: `+` in a query decodes to a
    space unless sent as %2B)."""
    return text_response(repair_checksum(request.args.get("checksum", "")))


@bp.get("/get-tsheader")
def get_tsheader() -> Response:
    return text_response(tsheader())


def _token_field(body: Any) -> str | None:
    expect(body, dict, "body", "a JSON object")
    return optional(body, "token", str, "a string")


def local_time_with_offset(epoch: int) -> str:
    """`2025-01-20 12:34:56 +08:00`."""
    moment = datetime.datetime.fromtimestamp(epoch).astimezone()
    offset = moment.strftime("%z")
    return f"{moment:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"


@bp.post("/basic-calibration")
@json_body(_token_field)
def basic_calibration(token: str | None) -> Response:
    if not token:
        return json_response({"status": "error", "message": "未提供授权令牌"})
    try:
        credential = gateway().auth.direct_credential(token)
    except ApiError:
        return json_response({"status": "error", "message": "无效令牌或无效校验和"})
    claims = parse_claims(credential.token)
    assert claims is not None  # direct_credential accepted it
    return json_response(
        {
            "status": "success",
            "message": "校验成功",
            "user_id": claims.user_id,
            "create_at": local_time_with_offset(claims.time),
            "checksum_time": checksum_kiloseconds(credential.checksum),
        }
    )


@bp.post("/userinfo")
@json_body(_token_field)
def userinfo(value: str | None) -> Response:
    gw = gateway()
    token = gw.auth.token_of(value) if value else None
    profile = gw.usage.fetch(token, gw.config.current().proxies) if token else None
    return json_response(profile if profile is not None else {"error": "No data"})
