"""The token-pool API (SPEC §7.4–7.8), admin only, with the reference's exact bodies."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from app.blueprints import gateway, json_response
from app.blueprints.admin_auth import admin_auth
from app.blueprints.bodies import json_body
from app.json_body import expect, optional, shape_error
from app.services.token_pool import NewToken

bp = Blueprint("tokens", __name__)

# /tokens/get, /reload and /update answer an unauthorised caller with an empty 401;
# /tokens/add and /delete with a JSON body (SPEC §5.1).
quiet_auth = admin_auth()
loud_auth = admin_auth()
EXPECTATIONS = ("simple", "updated_tokens", "failed_tokens", "detailed")
FILE_ERROR = {"status": "error", "error": "Failed to update token list file", "message": "无法更新token list文件"}


@quiet_auth.error_handler
def unauthorized_empty(status: int) -> Response:
    return Response(b"", status=401)


@loud_auth.error_handler
def unauthorized_json(status: int) -> Response:
    return json_response({"status": "error", "error": "unauthorized", "message": "Invalid authorization token"}, 401)


def _parse_update(body: Any) -> str:
    expect(body, dict, "body", "a JSON object")
    if "tokens" not in body:
        raise shape_error("tokens", "missing field `tokens`")
    return expect(body["tokens"], str, "tokens", "a string")


def _parse_add(body: Any) -> list[NewToken]:
    items = expect(body, list, "body", "a JSON array of {token, checksum?}")
    parsed = []
    for index, item in enumerate(items):
        expect(item, dict, f"[{index}]", "an object")
        if "token" not in item:
            raise shape_error(f"[{index}].token", "missing field `token`")
        token = expect(item["token"], str, f"[{index}].token", "a string")
        checksum = item.get("checksum")
        if checksum is not None:
            expect(checksum, str, f"[{index}].checksum", "a string or null")
        parsed.append(NewToken(token, checksum))
    return parsed


def _parse_delete(body: Any) -> tuple[list[str], str]:
    expect(body, dict, "body", "a JSON object")
    tokens = optional(body, "tokens", list, "an array of strings", [])
    for index, token in enumerate(tokens):
        expect(token, str, f"tokens[{index}]", "a string")
    expectation = optional(body, "expectation", str, "a string", "simple")
    if expectation not in EXPECTATIONS:
        raise shape_error("expectation", f"unknown variant `{expectation}`, expected one of {', '.join(EXPECTATIONS)}")
    return tokens, expectation


@bp.post("/tokens/get")
@quiet_auth.login_required
def get_tokens() -> Response:
    tokens = gateway().pool.entries_for_display()
    return json_response({"status": "success", "tokens": tokens, "tokens_count": len(tokens)})


@bp.post("/tokens/reload")
@quiet_auth.login_required
def reload_tokens() -> Response:
    count = gateway().pool.reload()
    return json_response({"status": "success", "tokens_count": count, "message": "Token list has been reloaded"})


@bp.post("/tokens/update")
@json_body(_parse_update)
@quiet_auth.login_required
def update_tokens(text: str) -> Response:
    try:
        count = gateway().pool.update(text)
    except OSError:
        return Response(b"", status=500)
    return json_response(
        {"status": "success", "tokens_count": count, "message": "Token files have been updated and reloaded"}
    )


@bp.post("/tokens/add")
@json_body(_parse_add)
@loud_auth.login_required
def add_tokens(candidates: list[NewToken]) -> Response:
    try:
        added, total = gateway().pool.add(candidates)
    except OSError:
        return json_response(FILE_ERROR, 500)
    message = "New tokens have been added and reloaded" if added else "No new tokens were added"
    return json_response({"status": "success", "tokens_count": total, "message": message})


@bp.post("/tokens/delete")
@json_body(_parse_delete)
@loud_auth.login_required
def delete_tokens(request_body: tuple[list[str], str]) -> Response:
    tokens, expectation = request_body
    try:
        result = gateway().pool.delete(tokens)
    except OSError:
        return json_response(FILE_ERROR, 500)
    body: dict = {"status": "success"}
    if expectation in ("updated_tokens", "detailed"):
        body["updated_tokens"] = result.remaining
    if expectation in ("failed_tokens", "detailed"):
        body["failed_tokens"] = result.failed_tokens
    return json_response(body)


def _parse_enable(body: Any) -> list[str]:
    expect(body, dict, "body", "a JSON object")
    tokens = optional(body, "tokens", list, "an array of strings", [])
    for index, token in enumerate(tokens):
        expect(token, str, f"tokens[{index}]", "a string")
    return tokens


@bp.post("/tokens/enable")
@json_body(_parse_enable)
@loud_auth.login_required
def enable_tokens(tokens: list[str]) -> Response:
    """Make cooling or disabled tokens usable again (issue #6)."""
    missing = gateway().pool.enable(tokens)
    return json_response({"status": "success", "enabled": len(tokens) - len(missing), "failed_tokens": missing})
