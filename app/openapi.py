"""The OpenAPI 3.1 description of the public routes, served at `/openapi.json`.

Written by hand from SPEC §4–§11 rather than generated: Flask routes carry no schemas, and a
description that states the contract (enums, required fields, bodies) is what lets the fuzz
tests (tests/fuzz) generate both valid and deliberately invalid requests for every route.
"""

from __future__ import annotations

from typing import Any

from app.services.pages import PAGE_PATHS
from app.settings import MODEL_IDS, VERSION

_STRING = {"type": "string"}
_BOOL = {"type": "boolean"}
_ADMIN: list[dict] = [{"bearer": []}]
_OPEN: list[dict] = []


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _text(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/plain": {"schema": _STRING}}}


def _operation(summary: str, responses: dict[str, Any], security: list[dict], body: dict | None = None,
               parameters: list[dict] | None = None) -> dict[str, Any]:  # fmt: skip
    operation: dict[str, Any] = {"summary": summary, "security": security, "responses": responses}
    if body is not None:
        operation["requestBody"] = {"required": True, **_json(body)}
    if parameters:
        operation["parameters"] = parameters
    return operation


def _page(summary: str) -> dict[str, Any]:
    return {"get": _operation(summary, {"200": {"description": "HTML page (or its override)"}}, _OPEN)}


_OPENAI_ERROR = _object({"error": _object(
    {"message": _STRING, "type": _STRING, "param": {"type": ["string", "null"]}, "code": {"type": ["string", "null"]}},
    ("message", "type"),
)})  # fmt: skip

_CONTENT_PART = {"oneOf": [
    _object({"type": {"const": "text"}, "text": _STRING}, ("type", "text")),
    _object({"type": {"const": "image_url"}, "image_url": _object({"url": _STRING}, ("url",))}, ("type", "image_url")),
]}  # fmt: skip

_CHAT_REQUEST = _object({
    "model": {"type": "string", "enum": [*MODEL_IDS, *(f"{model}-online" for model in MODEL_IDS)]},
    "messages": {"type": "array", "minItems": 1, "items": _object({
        "role": {"enum": ["system", "developer", "user", "human", "assistant", "ai"]},
        "content": {"oneOf": [_STRING, {"type": "array", "items": _CONTENT_PART}]},
    }, ("role", "content"))},
    "stream": _BOOL,
}, ("model", "messages"))  # fmt: skip

_RESPONSES_CONTENT = {"oneOf": [_STRING, {"type": "array", "items": _object(
    {"type": {"enum": ["input_text", "output_text"]}, "text": _STRING}, ("type", "text"))}]}  # fmt: skip

_RESPONSES_REQUEST = _object({
    "model": {"type": "string", "enum": list(MODEL_IDS)},
    "input": {"oneOf": [_STRING, {"type": "array", "minItems": 1, "items": {"oneOf": [
        _object({"type": {"const": "message"}, "role": {"enum": ["user", "system", "developer", "assistant"]},
                 "content": _RESPONSES_CONTENT}, ("role", "content")),
        _object({"type": {"const": "function_call_output"}, "call_id": _STRING, "output": _STRING},
                ("type", "call_id", "output")),
    ]}}]},
    "instructions": _STRING,
    "stream": _BOOL,
    "store": _BOOL,
    "previous_response_id": _STRING,
    "max_output_tokens": {"type": "integer", "minimum": 1},
    "text": _object({"format": _object({"type": {"enum": ["text", "json_object"]}}, ("type",))}),
    "tools": {"type": "array", "items": _object({"type": {"const": "function"}, "name": _STRING,
                                                  "parameters": {"type": "object"}}, ("type", "name"))},
}, ("model", "input"))  # fmt: skip

_TEXT_BLOCK = _object({"type": {"const": "text"}, "text": _STRING}, ("type", "text"))
_IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"]
_ANTHROPIC_BLOCK = {"oneOf": [
    _TEXT_BLOCK,
    _object({"type": {"const": "image"}, "source": _object(
        {"type": {"const": "base64"}, "media_type": {"enum": _IMAGE_TYPES}, "data": _STRING},
        ("type", "media_type", "data"))}, ("type", "source")),
    _object({"type": {"const": "tool_use"}, "id": _STRING, "name": _STRING, "input": {"type": "object"}},
            ("type", "id", "name", "input")),
    _object({"type": {"const": "tool_result"}, "tool_use_id": _STRING,
             "content": {"oneOf": [_STRING, {"type": "array", "items": _TEXT_BLOCK}]}, "is_error": _BOOL},
            ("type", "tool_use_id")),
]}  # fmt: skip


def _messages_request(counting: bool) -> dict[str, Any]:
    properties = {
        "model": {"type": "string", "enum": list(MODEL_IDS)},
        "max_tokens": {"type": "integer", "minimum": 1},
        "system": {"oneOf": [_STRING, {"type": "array", "items": _TEXT_BLOCK}]},
        "messages": {"type": "array", "minItems": 1, "items": _object({
            "role": {"enum": ["user", "assistant"]},
            "content": {"oneOf": [_STRING, {"type": "array", "items": _ANTHROPIC_BLOCK}]},
        }, ("role", "content"))},
        "stop_sequences": {"type": "array", "items": _STRING},
        "stream": _BOOL,
        "thinking": {"oneOf": [
            _object({"type": {"const": "enabled"}, "budget_tokens": {"type": "integer", "minimum": 1024}},
                    ("type", "budget_tokens")),
            _object({"type": {"enum": ["disabled", "adaptive"]}}, ("type",)),
        ]},
        "tools": {"type": "array", "items": _object(
            {"name": _STRING, "description": _STRING, "input_schema": {"type": "object"}}, ("name", "input_schema"))},
        "tool_choice": {"oneOf": [
            _object({"type": {"enum": ["auto", "any", "none"]}}, ("type",)),
            _object({"type": {"const": "tool"}, "name": _STRING}, ("type", "name")),
        ]},
        "temperature": {"type": "number"},
        "metadata": {"type": "object"},
    }  # fmt: skip
    if counting:
        del properties["max_tokens"], properties["stream"]
        return _object(properties, ("model", "messages"))
    return _object(properties, ("model", "max_tokens", "messages"))


_TOKEN_BODY = _object({"token": _STRING})

_USAGE_RULE = _object({"type": {"enum": ["none", "default", "all", "list"]}, "content": _STRING}, ("type",))

_CONFIG_REQUEST = _object({
    "action": {"enum": ["get", "update", "reset"]},
    "path": {"enum": ["", *PAGE_PATHS]},
    "content": {"oneOf": [
        _object({"type": {"const": "default"}}, ("type",)),
        _object({"type": {"enum": ["text", "html"]}, "content": _STRING}, ("type", "content")),
    ]},
    "vision_ability": {"enum": ["none", "disabled", "base64", "base64-only", "all", "base64-http"]},
    "enable_slow_pool": _BOOL,
    "enable_all_claude": _BOOL,
    "usage_check_models": _USAGE_RULE,
    "enable_dynamic_key": _BOOL,
    "share_token": _STRING,
    "proxies": _STRING,
    "include_web_references": _BOOL,
}, ("action",))  # fmt: skip

_BUILD_KEY_REQUEST = _object({
    "auth_token": _STRING,
    "disable_vision": _BOOL,
    "enable_slow_pool": _BOOL,
    "include_web_references": _BOOL,
    "usage_check_models": _object({"type": {"enum": ["default", "disabled", "all", "custom"]}, "model_ids": _STRING},
                                  ("type",)),
}, ("auth_token",))  # fmt: skip

_BODY_ERRORS = {
    "400": _text("The body is not valid JSON"),
    "413": _text("The body exceeds REQUEST_BODY_LIMIT_MB"),
    "415": _text("The body is not application/json"),
    "422": _text("Valid JSON of the wrong shape"),
}
_STATUS_JSON = {"description": "JSON answer", **_json({"type": "object"})}


def _chat() -> dict[str, Any]:
    errors = {
        status: {"description": "OpenAI-shaped error", **_json(_OPENAI_ERROR)}
        for status in ("400", "401", "403", "404", "413", "415", "422", "429", "500", "502", "503", "504")
    }
    ok = {
        "description": "A chat.completion object, or an SSE stream of chat.completion.chunk objects when `stream`",
        "content": {"application/json": {"schema": {"type": "object"}}, "text/event-stream": {"schema": _STRING}},
    }
    return {"post": _operation("OpenAI chat completions, answered by Cursor", {"200": ok, **errors}, _ADMIN,
                               _CHAT_REQUEST)}  # fmt: skip


def _responses() -> dict[str, Any]:
    errors = {
        status: {"description": "OpenAI-shaped error", **_json(_OPENAI_ERROR)}
        for status in ("400", "401", "403", "404", "413", "415", "429", "500", "502", "503", "504")
    }
    ok = {
        "description": "A response object, or an SSE stream of Responses events when `stream`",
        "content": {"application/json": {"schema": {"type": "object"}}, "text/event-stream": {"schema": _STRING}},
    }
    stored = {"200": {"description": "The stored response object", **_json({"type": "object"})},
              "401": errors["401"], "404": errors["404"]}  # fmt: skip
    response_id = [{"name": "response_id", "in": "path", "required": True, "schema": _STRING}]
    return {
        "create": {"post": _operation("OpenAI Responses API, answered by Cursor", {"200": ok, **errors}, _ADMIN,
                                      _RESPONSES_REQUEST)},
        "retrieve": {"get": _operation("A stored response, for the credential that made it", stored, _ADMIN,
                                       parameters=response_id)},
    }  # fmt: skip


def _messages() -> dict[str, Any]:
    """The Anthropic front (D35): `x-api-key` or the bearer, errors in Anthropic's shape."""
    anthropic_error = _object({"type": {"const": "error"}, "error": _object(
        {"type": _STRING, "message": _STRING}, ("type", "message"))}, ("type", "error"))  # fmt: skip
    errors = {
        status: {"description": "Anthropic-shaped error", **_json(anthropic_error)}
        for status in ("400", "401", "403", "404", "413", "415", "429", "500", "502", "503", "504")
    }
    headers = [
        {"name": name, "in": "header", "required": False, "schema": _STRING}
        for name in ("x-api-key", "anthropic-version")
    ]
    ok = {
        "description": "A message object, or an SSE stream of Anthropic's message events when `stream`",
        "content": {"application/json": {"schema": {"type": "object"}}, "text/event-stream": {"schema": _STRING}},
    }
    count = {"description": "An estimate", **_json(_object({"input_tokens": {"type": "integer"}}, ("input_tokens",)))}
    return {
        "create": {"post": _operation("Anthropic Messages API, answered by Cursor", {"200": ok, **errors}, _ADMIN,
                                      _messages_request(counting=False), parameters=headers)},
        "count": {"post": _operation("The input tokens of a message, estimated with tiktoken's cl100k_base",
                                     {"200": count, **errors}, _ADMIN, _messages_request(counting=True),
                                     parameters=headers)},
    }  # fmt: skip


def _admin_post(summary: str, body: dict | None = None) -> dict[str, Any]:
    responses = {"200": _STATUS_JSON, "401": {"description": "Not the admin token"}}
    if body is not None:
        responses.update(_BODY_ERRORS)
    return {"post": _operation(summary, responses, _ADMIN, body)}


def _text_get(summary: str, parameters: list[dict] | None = None) -> dict[str, Any]:
    return {"get": _operation(summary, {"200": _text(summary)}, _OPEN, parameters=parameters)}


def openapi_document(route_prefix: str = "") -> dict[str, Any]:
    """The description; `route_prefix` is ROUTE_PREFIX, which moves only the `/v1` routes."""
    token_list = _object({"tokens": _STRING}, ("tokens",))
    token_names = _object({"tokens": {"type": "array", "items": _STRING}}, ("tokens",))
    new_tokens = {"type": "array", "items": _object({"token": _STRING, "checksum": {"type": ["string", "null"]}},
                                                    ("token",))}  # fmt: skip
    deletion = _object(
        {
            "tokens": {"type": "array", "items": _STRING},
            "expectation": {"enum": ["simple", "updated_tokens", "failed_tokens", "detailed"]},
        }
    )
    config = _admin_post("Read, change or reset the runtime settings and page overrides", _CONFIG_REQUEST)
    config["post"]["responses"]["500"] = {"description": "Unknown page path (SPEC §8.2): nothing applied"}
    config |= _page("Config page")
    logs = _admin_post("Request logs: all for the admin, a token's own for that token") | _page("Log viewer page")
    build_key = _page("Key builder page")
    build_key["post"] = _operation(
        "Build a dynamic key for a token,checksum pair",
        {"200": _STATUS_JSON, "400": {"description": "Invalid auth token"}, "401": {"description": "Sharing is on and "
         "the bearer is neither the shared token nor the admin token"}, **_BODY_ERRORS},
        _ADMIN, _BUILD_KEY_REQUEST)  # fmt: skip
    checksum = [{"name": "checksum", "in": "query", "required": False, "schema": _STRING}]
    messages = _messages()
    responses = _responses()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "cursor-api",
            "version": VERSION,
            "description": "An OpenAI-compatible gateway to Cursor's AI backend.",
        },
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            f"{route_prefix}/v1/chat/completions": _chat(),
            f"{route_prefix}/v1/messages": messages["create"],
            f"{route_prefix}/v1/messages/count_tokens": messages["count"],
            f"{route_prefix}/v1/responses": responses["create"],
            f"{route_prefix}/v1/responses/{{response_id}}": responses["retrieve"],
            f"{route_prefix}/v1/models": {"get": _operation("The model list", {"200": _STATUS_JSON}, _OPEN)},
            f"{route_prefix}/v1/models/{{model_id}}": {
                "get": _operation(
                    "One model of the list",
                    {"200": _STATUS_JSON, "404": {"description": "No such model"}},
                    _OPEN,
                    parameters=[{"name": "model_id", "in": "path", "required": True, "schema": _STRING}],
                )
            },
            "/health": {"get": _operation("Health; `stats` too for the admin", {"200": _STATUS_JSON}, _OPEN)},
            "/tokens/get": _admin_post("The token pool with health and profiles"),
            "/tokens/reload": _admin_post("Reload the token file"),
            "/tokens/update": _admin_post("Replace the token file", token_list),
            "/tokens/add": _admin_post("Add tokens", new_tokens),
            "/tokens/delete": _admin_post("Delete tokens", deletion),
            "/tokens/enable": _admin_post("Re-enable cooling or disabled tokens", token_names),
            "/config": config,
            "/config/doctor": {
                "post": _operation(
                    "Check each protocol generation with a pool token and name the setting to change",
                    {
                        "200": _STATUS_JSON,
                        "401": {"description": "Not the admin"},
                        "409": {"description": "No usable token"},
                    },
                    _ADMIN,
                )
            },
            "/logs": logs,
            "/build-key": build_key,
            "/basic-calibration": {
                "post": _operation(
                    "Check a token,checksum pair locally", {"200": _STATUS_JSON, **_BODY_ERRORS}, _OPEN, _TOKEN_BODY
                )
            },
            "/userinfo": {
                "post": _operation(
                    "A token's account profile", {"200": _STATUS_JSON, **_BODY_ERRORS}, _OPEN, _TOKEN_BODY
                )
            },
            "/get-hash": _text_get("A new random machine hash"),
            "/get-checksum": _text_get("A new checksum, or the repair of `checksum`", checksum),
            "/get-tsheader": _text_get("The current timestamp header"),
            "/env-example": _text_get("The documented environment variables"),
            "/static/{name}": {
                "get": _operation(
                    "Shared stylesheet and script",
                    {"200": {"description": "The asset"}, "404": {"description": "No such asset"}},
                    _OPEN,
                    parameters=[
                        {
                            "name": "name",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "enum": ["shared-styles.css", "shared.js"]},
                        }
                    ],
                )
            },
            "/": _page("Redirect to /health (or its override)"),
            "/about": _page("Redirect to /readme (or its override)"),
            "/readme": _page("The README as HTML"),
            "/api": _page("Token tools and the model list"),
            "/tokens": _page("Token manager page"),
            "/openapi.json": {"get": _operation("This description", {"200": _STATUS_JSON}, _OPEN)},
        },
    }
