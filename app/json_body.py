"""Reading JSON request bodies with the reference's statuses (SPEC §4.1): 415 for a non-JSON
content type, 400 for invalid JSON (also JSON nested deeper than the parser goes: never a 500,
D31), 422 for valid JSON of the wrong shape. Shape errors name the offending field; on
`{ROUTE_PREFIX}/v1/*` they are 400 instead (D31, `as_openai_error`). Unknown keys are ignored
everywhere."""

from __future__ import annotations

import json
from typing import Any

from app.errors import ApiError


def is_json_content_type(mimetype: str) -> bool:
    """`application/json` or any `application/*+json` (what axum's Json extractor accepts)."""
    return mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))


def parse_json_body(mimetype: str, body: bytes) -> Any:
    if not is_json_content_type(mimetype):
        raise ApiError(415, "unsupported_media_type", "Expected request with `Content-Type: application/json`")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"Failed to parse the request body as JSON: {exc}") from None
    except RecursionError:
        raise ApiError(400, "invalid_json", "Failed to parse the request body as JSON: nested too deeply") from None


def shape_error(param: str, problem: str) -> ApiError:
    return ApiError(
        422,
        "invalid_request_body",
        f"Failed to deserialize the JSON body into the target type: {param}: {problem}",
        param=param,
    )


def as_openai_error(error: ApiError) -> ApiError:
    """D31: on the OpenAI routes a shape error is a 400 (`invalid_request_error`, with `param`),
    as OpenAI answers, not the reference's 422."""
    if error.status != 422:
        return error
    return ApiError(400, error.code, error.message, param=error.param)


def expect(value: Any, kind: type, param: str, what: str) -> Any:
    """`value` when it is of `kind`, else a 422 naming `param`."""
    # JSON true/false are Python bools, and bool is a subclass of int: never let one pass as
    # another kind.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise shape_error(param, f"expected {what}")
    return value


def optional(body: dict, key: str, kind: type, what: str, default: Any = None) -> Any:
    """An optional field: absent or null gives the default."""
    value = body.get(key)
    return default if value is None else expect(value, kind, key, what)
