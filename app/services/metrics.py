"""Prometheus metrics (issue #5): what the gateway did, for `GET /metrics`.

Under gunicorn every worker is its own process, so the metrics use prometheus_client's
multiprocess mode: `gunicorn.conf.py` points PROMETHEUS_MULTIPROC_DIR at a fresh directory
before anything imports prometheus_client, each worker writes its samples there, and a scrape
of any worker adds them all up. Without that variable (tests building the app in-process)
the ordinary in-memory registry is used.

The metric objects are module-level because prometheus_client registers each name once per
process; label values are bounded (route templates, listed models, fixed outcome and error
classes), so a hostile client cannot grow the series without limit.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from app.settings import MODEL_IDS
from app.store import StoreError

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
_LISTED_MODELS: set[str] = set(MODEL_IDS)  # grows by the live catalog's ids (bounded by Cursor)
# First content can take seconds on slow models; whole answers can take minutes.
_FIRST_BYTE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)

HTTP_REQUESTS = Counter("cursor_api_http_requests", "HTTP requests answered, by route template, method and status",
                        ["route", "method", "status"])  # fmt: skip
CHAT_REQUESTS = Counter("cursor_api_chat_requests", "Chat completions by model and outcome "
                        "(success, failed, client_disconnected)", ["model", "outcome"])  # fmt: skip
FIRST_BYTE = Histogram("cursor_api_chat_time_to_first_byte_seconds", "From the chat request's arrival to its "
                       "first content", ["model"], buckets=_FIRST_BYTE_BUCKETS)  # fmt: skip
DURATION = Histogram("cursor_api_chat_duration_seconds", "From the chat request's arrival to its end", ["model"],
                     buckets=_DURATION_BUCKETS)  # fmt: skip
ACTIVE_STREAMS = Gauge("cursor_api_active_streams", "Streaming chats in progress", multiprocess_mode="livesum")
UPSTREAM_ERRORS = Counter("cursor_api_upstream_errors", "Failed upstream attempts by error class", ["kind"])
STORE_ERRORS = Counter("cursor_api_store_errors", "Store operations that failed (disk full, read-only, unreachable)")


def register_model_labels(model_ids: Iterable[str]) -> None:
    """The live catalog's ids are labels too (D27); names clients invent stay "other"."""
    _LISTED_MODELS.update(model_ids)


TOKENS = Counter("cursor_api_chat_tokens", "Tokens Cursor counted for chats, by model and kind", ["model", "kind"])


def model_label(model: str) -> str:
    """The requested model without `-online` when listed; "other" for names clients invent
    (PASS_ANY_CLAUDE lets any claude* name through)."""
    base = model.removesuffix("-online")
    return base if base in _LISTED_MODELS else "other"


class ChatMetrics:
    """One chat's share of the metrics; `ended` counts it exactly once (the request log
    guarantees a single settlement)."""

    def __init__(self, model: str, stream: bool) -> None:
        self._model = model_label(model)
        self._stream = stream
        if stream:
            ACTIVE_STREAMS.inc()

    def tokens(self, usage: Mapping[str, Any]) -> None:
        """A chat's usage (D29) by kind: prompt, completion, cached and reasoning tokens."""
        counts = {
            "prompt": usage.get("prompt_tokens", 0),
            "completion": usage.get("completion_tokens", 0),
            "cached": usage.get("prompt_tokens_details", {}).get("cached_tokens", 0),
            "reasoning": usage.get("completion_tokens_details", {}).get("reasoning_tokens", 0),
        }
        for kind, amount in counts.items():
            if amount:
                TOKENS.labels(self._model, kind).inc(amount)

    def ended(self, outcome: str, duration: float, first_byte: float | None) -> None:
        CHAT_REQUESTS.labels(self._model, outcome).inc()
        DURATION.labels(self._model).observe(duration)
        if first_byte is not None:
            FIRST_BYTE.labels(self._model).observe(first_byte)
        if self._stream:
            ACTIVE_STREAMS.dec()


def count_http_request(route: str, method: str, status: int) -> None:
    HTTP_REQUESTS.labels(route, method, str(status)).inc()


def count_upstream_error(kind: str) -> None:
    UPSTREAM_ERRORS.labels(kind).inc()


def count_store_error() -> None:
    STORE_ERRORS.inc()


class _TokenHealth:
    """Tokens by health state, read from the shared store at scrape time (so it is the same
    figure whichever worker answers)."""

    def __init__(self, states: Callable[[], Iterable[str]]) -> None:
        self._states = states

    def collect(self):
        family = GaugeMetricFamily("cursor_api_tokens", "Pooled tokens by health state", labels=["state"])
        counts = dict.fromkeys(("healthy", "cooling", "disabled"), 0)
        for state in self._states():
            counts[state] = counts.get(state, 0) + 1
        for state, count in counts.items():
            family.add_metric([state], count)
        yield family


def exposition(token_states: Callable[[], Iterable[str]]) -> bytes:
    """The text format of every metric: all workers' samples plus the token gauge."""
    if os.environ.get(MULTIPROCESS_DIR_VARIABLE):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        process_metrics = generate_latest(registry)
    else:
        from prometheus_client import REGISTRY

        process_metrics = generate_latest(REGISTRY)
    tokens = CollectorRegistry()
    tokens.register(_TokenHealth(token_states))
    try:
        return process_metrics + generate_latest(tokens)
    except StoreError:  # during a store outage the scrape still shows the process metrics
        count_store_error()
        return process_metrics
