"""The shapes of what the services keep in the store, as named types (issue #13 item 7).

The store holds JSON documents; these TypedDicts say what the services put there and read back:
a pooled token's entry (with its health and profile), an account's profile, a request-log entry.
Token health has its own type beside the rules that change it (`token_health.Health`).
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

from app.services.token_health import Health


class UsageBucket(TypedDict):
    """One usage bucket of an account (PROTOCOL §6.2)."""

    requests: int
    tokens: int
    requests_total: NotRequired[int]
    max_requests: NotRequired[int]
    max_tokens: NotRequired[int]


class ProfileUser(TypedDict):
    email: str
    name: str
    id: str
    updated_at: str  # ISO 8601, local time


class Membership(TypedDict):
    membership_type: Literal["free", "free_trial", "pro", "enterprise"]
    days_remaining_on_trial: int
    payment_id: NotRequired[str]


class Profile(TypedDict):
    """An account's profile as fetched (app/cursor/profile.py) and kept (`profile:<token>`)."""

    usage: dict[str, UsageBucket]  # "premium", "standard", "unknown"
    user: ProfileUser
    stripe: Membership


class TokenEntry(TypedDict):
    """One pooled token in the store's `tokens` list, in rotation order."""

    token: str
    checksum: str
    health: NotRequired[Health]  # absent: healthy
    profile: NotRequired[Profile]


LogStatus = Literal["pending", "in_progress", "success", "failed", "interrupted"]


class TokenInfo(TypedDict):
    token: str
    checksum: str
    profile: NotRequired[Profile]


class Timing(TypedDict):
    total: float
    first: NotRequired[float]


class Attempt(TypedDict):
    """One try of a request that failed over between pool tokens."""

    token: str  # masked
    result: str


class Owner(TypedDict):
    """The process answering a request, kept while the request is in flight, so that a start
    can tell the entries of processes that are gone (app/services/request_log.py)."""

    host: str
    pid: int
    boot: str  # one id per server start, shared by its gunicorn workers


class LogEntry(TypedDict):
    """A request-log entry (SPEC §9.2). `pending` waits for upstream headers, `in_progress` is
    being answered; `success`, `failed` and `interrupted` are final."""

    id: NotRequired[int]  # given by the store; first when read
    timestamp: str
    model: str
    token_info: TokenInfo
    timing: Timing
    stream: bool
    status: LogStatus
    prompt: NotRequired[str]
    error: NotRequired[str]
    attempts: NotRequired[list[Attempt]]
    owner: NotRequired[Owner]  # only while pending or in progress; never shown
    request_id: NotRequired[str]  # the response's x-request-id (D33)
    front: NotRequired[str]  # the API it came through: chat.completions, responses, messages (D35)
