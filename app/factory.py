"""The Flask application: blueprints, error rendering, body limit, CORS."""

from __future__ import annotations

from flask import Flask, Response, request
from flask_cors import CORS
from werkzeug.exceptions import HTTPException

from app import boot
from app.blueprints import (
    chat,
    config,
    health,
    json_response,
    keys,
    logs,
    metrics,
    models,
    openapi,
    pages,
    text_response,
    tokens,
    tools,
)
from app.errors import ApiError
from app.gateway import build_gateway
from app.services.metrics import count_http_request
from app.settings import Settings, load_dotenv_file

# Werkzeug's HTTP errors on the OpenAI routes, as OpenAI-shaped bodies (D18).
_OPENAI_CODES = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}


def build_app(settings: Settings | None = None) -> Flask:
    if settings is None:
        load_dotenv_file()
        settings = Settings.from_env()
    boot.prepare(settings)
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = settings.request_body_limit_bytes  # D17: exactly this
    app.extensions["gateway"] = build_gateway(settings)
    prefix = settings.route_prefix
    app.register_blueprint(chat.bp, url_prefix=prefix or None)
    app.register_blueprint(models.bp, url_prefix=prefix or None)
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
    _register_error_handlers(app, f"{prefix}/v1/")
    app.after_request(_count_for_metrics)
    return app


def _count_for_metrics(response: Response) -> Response:
    # The route template, not the path: paths are the client's to invent, templates are few.
    route = request.url_rule.rule if request.url_rule is not None else "unmatched"
    count_http_request(route, request.method, response.status_code)
    return response


def _register_error_handlers(app: Flask, openai_root: str) -> None:
    def on_openai_route() -> bool:
        return request.path.startswith(openai_root)

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        return json_response(error.openai_body(), error.status, error.headers())

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

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        # Never a traceback to the client; the server log keeps it.
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return api_error(ApiError(500, "internal_error", "The gateway failed to handle this request"))
