"""Admin authentication for the management routes, with Flask-HTTPAuth.

The bearer is taken from the header exactly (SPEC: case-sensitive `Bearer ` prefix, no
trimming), not through werkzeug's Authorization parser, which lower-cases the scheme and reads
a token containing `=` as key/value parameters.
"""

from __future__ import annotations

from flask import request
from flask_httpauth import HTTPTokenAuth
from werkzeug.datastructures import Authorization

from app.blueprints import gateway
from app.services.auth import bearer_value


class ExactBearerAuth(HTTPTokenAuth):
    def get_auth(self) -> Authorization | None:
        value = bearer_value(request.headers.get("Authorization"))
        return None if value is None else Authorization("bearer", token=value)


def admin_auth() -> ExactBearerAuth:
    """An admin-only guard; each route group sets its own error body (SPEC §5.1)."""
    auth = ExactBearerAuth(scheme="Bearer")

    @auth.verify_token
    def verify(token: str) -> bool | None:
        return True if gateway().auth.is_admin(token) else None

    return auth
