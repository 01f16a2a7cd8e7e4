"""One error type for the gateway's HTTP answers, rendered the way OpenAI clients read them.

Decision D18: on `{ROUTE_PREFIX}/v1/*` every error body is
`{"error": {"message", "type", "param", "code"}}`, keeping the reference's status codes and
`code` strings. Admin routes keep their reference shapes and build their own bodies. Under
`{ROUTE_PREFIX}/v1/messages` (the Anthropic front, D35) the same error takes Anthropic's shape,
`{"type": "error", "error": {"type", "message"}}`.
"""

from __future__ import annotations


def error_type_for(status: int) -> str:
    """OpenAI's `type` for a status; the `openai` SDK picks its exception class by status."""
    if status in (401, 403):
        return "authentication_error"
    if status == 429:
        return "rate_limit_error"
    if status >= 500:
        return "api_error"
    return "invalid_request_error"


# Anthropic's error types by status; the `anthropic` SDK picks its exception class by status.
_ANTHROPIC_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    529: "overloaded_error",
}


def anthropic_error_type(status: int) -> str:
    default = "api_error" if status >= 500 else "invalid_request_error"
    return _ANTHROPIC_TYPES.get(status, default)


class ApiError(Exception):
    """An answer the gateway gives instead of a completion."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        param: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.retry_after = retry_after

    def openai_body(self) -> dict:
        return {
            "error": {
                "message": self.message,
                "type": error_type_for(self.status),
                "param": self.param,
                "code": self.code,
            }
        }

    def anthropic_body(self) -> dict:
        """Anthropic's error object has no `param`: the message names it, as Anthropic's do."""
        message = self.message
        if self.param is not None and self.param not in message:
            message = f"{self.param}: {message}"
        return {"type": "error", "error": {"type": anthropic_error_type(self.status), "message": message}}

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}


# The reference's gateway-originated errors (SPEC §6.11), one constructor each.
def model_not_supported(model: str) -> ApiError:
    return ApiError(400, "model_not_supported", f"Model '{model}' is not supported", param="model")


def empty_messages() -> ApiError:
    return ApiError(400, "empty_messages", "Message array cannot be empty", param="messages")


def unauthorized(reason: str | None = None) -> ApiError:
    """401 with the reference's message, plus what is wrong when we know (never the value)."""
    message = "Invalid authorization token" + (f": {reason}" if reason else "")
    return ApiError(401, "unauthorized", message)


def no_tokens() -> ApiError:
    return ApiError(503, "no_tokens", "No available tokens")


def no_usable_token(retry_after: int | None, reasons: list[str]) -> ApiError:
    """Every pooled token is cooling down (429, retry later) or disabled (503)."""
    why = "; ".join(reasons)
    if retry_after is not None:
        wait = max(retry_after, 1)
        return ApiError(
            429, "tokens_cooling_down", f"All tokens are cooling down ({why}); retry in {wait} s", retry_after=wait
        )
    return ApiError(503, "no_usable_tokens", f"No usable tokens: all are disabled ({why}); re-enable them on /tokens")


def request_failed(detail: str, status: int = 500) -> ApiError:
    return ApiError(status, "request_failed", f"Request failed: {detail}")
