"""Responses kept for `previous_response_id` and `GET /v1/responses/{id}` (D35): in the store,
so any worker or instance continues a conversation, for RESPONSES_TTL_SECONDS.

Each document holds the response object and the conversation's items up to it (the earlier
items, this request's input, this response's output as input items), so a later turn needs one
read. It belongs to the credential that made it: the document keeps a digest of it, never the
credential, and anyone else is told it does not exist.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from app import errors
from app.errors import ApiError
from app.services.auth import bearer_value
from app.store import Store

RESPONSE_KEY = "response:"


def owner_of(authorization: str | None) -> str:
    """The digest a stored response is filed under for this `Authorization` header value;
    401 without a bearer."""
    bearer = bearer_value(authorization)
    if bearer is None:
        raise errors.unauthorized()
    return hashlib.sha256(bearer.strip().encode()).hexdigest()


def not_found(response_id: str, param: str | None = None) -> ApiError:
    code = "previous_response_not_found" if param else "not_found"
    status = 400 if param else 404
    return ApiError(status, code, f"Response with id '{response_id}' not found.", param=param)


class StoredResponses:
    def __init__(self, store: Store, ttl_seconds: float) -> None:
        self._store = store
        self._ttl = ttl_seconds

    def save(self, owner: str, response: dict, items: Sequence[Any]) -> None:
        document = {"owner": owner, "response": response, "items": list(items)}
        self._store.put_expiring(RESPONSE_KEY + response["id"], document, self._ttl)

    def response(self, owner: str, response_id: str) -> dict:
        """The response object; 404 when it is absent, expired or someone else's."""
        return self._document(owner, response_id, None)["response"]

    def items(self, owner: str, response_id: str) -> list[Any]:
        """The items a turn after `response_id` continues; 400 previous_response_not_found."""
        return self._document(owner, response_id, "previous_response_id")["items"]

    def _document(self, owner: str, response_id: str, param: str | None) -> dict:
        document = self._store.get_expiring(RESPONSE_KEY + response_id)
        if document is None or document.get("owner") != owner:
            raise not_found(response_id, param)
        return document
