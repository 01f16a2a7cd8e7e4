"""`POST /build-key` (SPEC §11.6): a dynamic key for a token,checksum pair."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from app.blueprints import gateway, json_response
from app.blueprints.bodies import json_body
from app.cursor.keys import USAGE_ALL, USAGE_CUSTOM, USAGE_DEFAULT, USAGE_DISABLED, KeyOptions, build_key
from app.errors import ApiError
from app.json_body import expect, optional, shape_error
from app.services.auth import bearer_value
from app.settings import known_models

bp = Blueprint("keys", __name__)
USAGE_TYPES = {"default": USAGE_DEFAULT, "disabled": USAGE_DISABLED, "all": USAGE_ALL, "custom": USAGE_CUSTOM}


def _usage_check(body: dict) -> tuple[int, tuple[str, ...]] | None:
    rule = optional(body, "usage_check_models", dict, "an object")
    if rule is None:
        return None
    kind = expect(rule.get("type"), str, "usage_check_models.type", "a string")
    if kind not in USAGE_TYPES:
        raise shape_error(
            "usage_check_models.type", f"unknown variant `{kind}`, expected one of {', '.join(USAGE_TYPES)}"
        )
    ids = optional(rule, "model_ids", str, "a comma-separated string", "")
    models = known_models(ids) if kind == "custom" else ()
    return USAGE_TYPES[kind], models


def _parse(body: Any) -> tuple[str, KeyOptions]:
    expect(body, dict, "body", "a JSON object")
    if "auth_token" not in body:
        raise shape_error("auth_token", "missing field `auth_token`")
    options = KeyOptions(
        disable_vision=optional(body, "disable_vision", bool, "a boolean"),
        enable_slow_pool=optional(body, "enable_slow_pool", bool, "a boolean"),
        include_web_references=optional(body, "include_web_references", bool, "a boolean"),
        usage_check=_usage_check(body),
    )
    return expect(body["auth_token"], str, "auth_token", "a string"), options


@bp.post("/build-key")
@json_body(_parse)
def build(request_body: tuple[str, KeyOptions]) -> Response:
    gw = gateway()
    config = gw.config.current()
    bearer = bearer_value(request.headers.get("Authorization"))
    # Open to anyone while sharing is off; with a shared token, only its holders and the admin.
    if config.share_token and not (bearer is not None and gw.auth.is_pool_user(bearer, config)):
        return json_response({"error": "Unauthorized"}, 401)
    auth_token, options = request_body
    try:
        credential = gw.auth.direct_credential(auth_token)
    except ApiError:
        return json_response({"error": "Invalid auth token"}, 400)
    return json_response({"key": build_key(credential.token, credential.checksum, options, gw.settings.key_prefix)})
