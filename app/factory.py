"""The Flask application: blueprints, error rendering, body limit, CORS."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, Response, current_app, request
from flask_cors import CORS
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import BaseConverter

from app import boot
from app.blueprints import (
    chat,
    config,
    health,
    json_response,
    keys,
    logs,
    messages,
    metrics,
    models,
    openapi,
    pages,
    request_id,
    responses,
    text_response,
    tokens,
    tools,
)
from app.blueprints.admin_auth import count_failed_guess, refuse_guessers
from app.errors import ApiError
from app.gateway import build_gateway
from app.services import store_outage
from app.services.chat import ClientLeft
from app.services.metrics import count_http_request
from app.settings import Settings, load_dotenv_file
from app.store import StoreError

# Werkzeug's HTTP errors on the OpenAI routes, as OpenAI-shaped bodies (D18).
_OPENAI_CODES = {404: "not_found", 405: "method_not_allowed", 408: "request_timeout", 413: "request_too_large"}
STORE_RETRY_AFTER_SECONDS = 5


def build_app(settings: Settings | None = None) -> Flask:
    if settings is None:
        load_dotenv_file()
        settings = Settings.from_env()
    boot.prepare(settings)
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = settings.request_body_limit_bytes  # D17: exactly this
    app.extensions["gateway"] = build_gateway(settings)
    prefix = settings.route_prefix
    app.register_blueprint(chat.bp, url_prefix=_literal_rule_prefix(app, prefix))
    app.register_blueprint(messages.bp, url_prefix=_literal_rule_prefix(app, prefix))
    app.register_blueprint(models.bp, url_prefix=_literal_rule_prefix(app, prefix))
    app.register_blueprint(responses.bp, url_prefix=_literal_rule_prefix(app, prefix))
    for blueprint in (health.bp, metrics.bp, openapi.bp, pages.bp, tokens.bp, keys.bp, tools.bp, config.bp, logs.bp):
        app.register_blueprint(blueprint)
    CORS(
        app,
        origins="*",
        send_wildcard=True,
        expose_headers="*",
        allow_headers="*",
        methods=["GET", "HEAD", "POST", "OPTIONS"],
        max_age=86400,
    )
    _register_error_handlers(app, f"{prefix}/v1/", f"{prefix}/v1/messages")
    app.before_request(refuse_guessers)
    app.before_request(_refuse_long_chunked_bodies)
    app.after_request(count_failed_guess)
    app.after_request(_count_for_metrics)
    app.after_request(pages.add_security_headers)
    app.after_request(_add_request_id)
    return app


def _refuse_long_chunked_bodies() -> None:
    """D17 for bodies without a Content-Length (chunked): werkzeug stops reading them at
    MAX_CONTENT_LENGTH and hands on the part read as if it were the whole body; a longer one is
    a 413, as with a Content-Length."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if not limit or request.content_length is not None:
        return
    if "chunked" not in request.headers.get("Transfer-Encoding", "").lower():
        return
    if len(request.get_data(cache=True)) >= limit and request.input_stream.read(1):
        raise RequestEntityTooLarge()


_PREFIX_VALUE = "_route_prefix_"


def _literal_rule_prefix(app: Flask, prefix: str) -> str | None:
    """ROUTE_PREFIX as werkzeug rule text that matches it literally. In a rule `<…>` is a
    variable (and a lone `<` an error), so each segment holding a `<` becomes a converter that
    matches exactly that text; the value it captures is dropped before the view is called."""
    if "<" not in prefix:
        return prefix or None
    parts = []
    for index, segment in enumerate(prefix.split("/")):
        if "<" not in segment:
            parts.append(segment)
            continue
        name = f"route_prefix_{index}"
        app.url_map.converters[name] = type(name, (_LiteralSegment,), {"regex": re.escape(segment), "text": segment})
        parts.append(f"<{name}:{_PREFIX_VALUE}{index}>")
    if _drop_prefix_values not in app.url_value_preprocessors[None]:
        app.url_value_preprocessor(_drop_prefix_values)
    return "/".join(parts)


class _LiteralSegment(BaseConverter):
    text = ""

    def to_url(self, value: Any) -> str:
        return self.text


def _drop_prefix_values(endpoint: str | None, values: dict[str, Any] | None) -> None:
    if values:
        for key in [key for key in values if key.startswith(_PREFIX_VALUE)]:
            del values[key]


def _add_request_id(response: Response) -> Response:
    response.headers["x-request-id"] = request_id()  # D33: ours, whatever the client sent
    return response


def _count_for_metrics(response: Response) -> Response:
    # The route template, not the path: paths are the client's to invent, templates are few.
    route = request.url_rule.rule if request.url_rule is not None else "unmatched"
    count_http_request(route, request.method, response.status_code)
    return response


def _register_error_handlers(app: Flask, openai_root: str, anthropic_root: str) -> None:
    def on_openai_route() -> bool:
        return request.path.startswith(openai_root)

    def on_anthropic_route() -> bool:
        # The Messages front and anything under it (an unknown subpath's 404 too) answer as Anthropic does (D35).
        return request.path == anthropic_root or request.path.startswith(f"{anthropic_root}/")

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        body = error.anthropic_body() if on_anthropic_route() else error.openai_body()
        return json_response(body, error.status, error.headers())

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        if on_openai_route():
            code = _OPENAI_CODES.get(status, "http_error")
            response = api_error(ApiError(status, code, error.description or error.name))
        elif status == 413:
            response = text_response("length limit exceeded", 413)
        else:
            response = Response(b"", status=status)  # the reference answers 404/405 with no body
        if status == 405:
            response.headers["Allow"] = ", ".join(getattr(error, "valid_methods", None) or [])
        return response

    @app.errorhandler(StoreError)
    def store_unavailable(error: StoreError) -> Response:
        # One answer for a store outage wherever it is met: counted, logged once per interval,
        # and a 503 the client can retry (OpenAI-shaped on /v1/*, the same JSON elsewhere).
        store_outage.report(error, f"answering {request.method} {request.url_rule or request.path}")
        message = "The gateway's state store is unavailable; retry shortly"
        return api_error(ApiError(503, "store_unavailable", message, retry_after=STORE_RETRY_AFTER_SECONDS))

    @app.errorhandler(ClientLeft)
    def client_left(error: ClientLeft) -> Response:
        # Nobody is there to read a non-streamed answer; the log entry says why (D34).
        return Response(status=499)

    @app.errorhandler(RecursionError)
    def too_deep(error: RecursionError) -> Response:
        # D31: a body nested deeper than Python can walk is the client's error, never a 500.
        message = "The request body is nested too deeply"
        if on_openai_route():
            return api_error(ApiError(400, "invalid_json", message))
        return text_response(message, 400)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        # Never a traceback to the client; the server log keeps it.
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return api_error(ApiError(500, "internal_error", "The gateway failed to handle this request"))
