"""Admin authentication for the management routes, with Flask-HTTPAuth, and the limit on
guessing the gateway's secrets, for every route.

The bearer is taken from the header exactly (SPEC: case-sensitive `Bearer ` prefix, no
trimming), not through werkzeug's Authorization parser, which lower-cases the scheme and reads
a token containing `=` as key/value parameters.

The client address the guessing limit counts by is gunicorn's REMOTE_ADDR: the peer of the
connection, or the client a trusted proxy names with the PROXY protocol (gunicorn's
`proxy_protocol` and `proxy_allow_ips`). X-Forwarded-For is not read: gunicorn.conf.py trusts
forwarding headers from every peer (`forwarded_allow_ips = "*"`), so any client could name
itself anew with each guess. Behind an HTTP proxy every client therefore shares the proxy's
address and its budget of failures (README, "Security").
"""

from __future__ import annotations

from flask import Response, request
from flask_httpauth import HTTPTokenAuth
from werkzeug.datastructures import Authorization

from app.blueprints import credential_header, gateway
from app.errors import ApiError
from app.services import store_outage
from app.services.auth import bearer_value
from app.store import StoreError


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


def client_address() -> str:
    return request.remote_addr or "unknown"


def _guess() -> str | None:
    """The request's bearer when it can only be meant as one of the gateway's secrets (not a
    user's own Cursor token or key); None otherwise."""
    bearer = bearer_value(credential_header())
    if bearer is None or gateway().auth.is_user_credential(bearer):
        return None
    return bearer


def refuse_guessers() -> None:
    """Before every request: an address past its failures gets 429 for any secret it sends,
    without the secret being compared."""
    guesses = gateway().auth.guesses
    if guesses is None or _guess() is None:
        return
    wait = guesses.retry_after(client_address())
    if wait is not None:
        raise ApiError(429, "too_many_attempts", f"Too many failed authentication attempts; retry in {wait} s",
                       retry_after=wait)  # fmt: skip


def count_failed_guess(response: Response) -> Response:
    """After every request: a bearer that is none of the secrets counts against the address
    when the answer depended on it: a 401, or /health (200 either way, with the admin's stats
    or without)."""
    gw = gateway()
    guesses = gw.auth.guesses
    asked = response.status_code == 401 or (request.endpoint == "health.health" and response.status_code == 200)
    if guesses is None or not asked:
        return response
    try:
        bearer = _guess()
        if bearer is not None and not gw.auth.is_pool_user(bearer, gw.config.current()):
            guesses.failed(client_address())
    except StoreError as error:
        store_outage.report(error, "counting a failed authentication")
    return response
