"""Cursor API keys (`crsr_…`): exchanged for a session JWT that the agent calls accept
(AGENT_WIRE §1, PROTOCOL_AGENT §8). The caller caches the token until near its expiry, so one
exchange serves many chats."""

from __future__ import annotations

import json
from dataclasses import dataclass

import requests

from app.cursor.agent.errors import agent_error_from_body
from app.cursor.errors import UpstreamError
from app.cursor.http import Poster
from app.cursor.session_token import token_expiry

EXCHANGE_PATH = "/auth/exchange_user_api_key"
_BODY_LIMIT = 65536


@dataclass(frozen=True, slots=True)
class ExchangedToken:
    """The session token an API key stands for, and when it expires (unix seconds, its `exp`)."""

    access_token: str
    expires_at: int


def _json_object(body: bytes) -> dict:
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _refusal_text(body: bytes) -> str:
    """What the refusal says: a Connect `message` or a bare `error` string, if either is there."""
    parsed = _json_object(body)
    text = parsed.get("message") or parsed.get("error")
    return text if isinstance(text, str) else ""


def _access_token(body: bytes) -> str | None:
    token = _json_object(body).get("accessToken")
    return token if isinstance(token, str) and token else None


def exchange_api_key(session: requests.Session, base_url: str, key: str, timeout: float) -> ExchangedToken:
    """POST `{}` with the key as bearer; the answer is `{"accessToken": "<jwt>"}`.

    Raises UpstreamError (401 for a key Cursor refuses; 502 for an answer without a usable
    token), UpstreamTimeout, TransportError or ReadError."""
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json", "accept": "application/json"}
    url = base_url.rstrip("/") + EXCHANGE_PATH
    response, body = Poster(session).post_and_read(url, headers, b"{}", timeout=timeout, limit=_BODY_LIMIT)
    if response.status_code == 401:
        reason = _refusal_text(body) or "the key was refused"
        raise UpstreamError(401, "unauthenticated", detail=f"Cursor API key exchange failed: {reason}")
    if response.status_code != 200:
        raise agent_error_from_body(response.status_code, response.headers.get("Content-Type", ""), body)
    token = _access_token(body)
    expires_at = token_expiry(token) if token else None
    if token is None or expires_at is None:
        raise UpstreamError(502, "bad_gateway", detail="the API key exchange answered without a session token")
    return ExchangedToken(token, expires_at)
