"""One chat request's life: build the upstream request, account for it, call Cursor, and
turn the upstream events into content pieces for the blueprint to shape (SPEC §6.4–6.14).

Every failure ends here as an ApiError with the reference's status and code (D18), after the
request log says what happened (D6). Nothing here knows about HTTP responses or SSE.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from app import errors
from app.cursor.client import ChatResponse, CursorClient, Upstream
from app.cursor.convert import build_chat_request, encode_chat_body
from app.cursor.errors import (
    CursorError,
    ProtocolError,
    TransportError,
    UpstreamError,
    UpstreamTimeout,
)
from app.cursor.events import ContentStart, Event, FilledPrompt, StreamEnd, TextDelta, WebReferences
from app.cursor.keys import KeyOptions
from app.errors import ApiError
from app.openai_request import ChatRequest
from app.services.auth import ChatCredential
from app.services.background import run_in_background
from app.services.debug_log import DebugLog
from app.services.image_fetch import ImageFetcher
from app.services.metrics import count_upstream_error
from app.services.request_log import LoggedRequest, RequestLog
from app.services.runtime_config import RuntimeConfig
from app.services.token_health import Verdict, verdict_for
from app.services.token_pool import NoUsableToken, TokenPool
from app.services.usage import AccountUsage, effective_rule, rule_selects
from app.services.vision import ImageResolver
from app.settings import ProxySetting, Settings, VisionAbility


@dataclass(frozen=True, slots=True)
class ChatOptions:
    """The per-request options of SPEC §6.3: the global settings, each overridden by a dynamic
    key that sets it."""

    vision_disabled: bool
    slow_pool: bool
    include_web_references: bool

    @classmethod
    def effective(cls, config: RuntimeConfig, key: KeyOptions | None) -> ChatOptions:
        key = key or KeyOptions()
        return cls(
            vision_disabled=_first_set(key.disable_vision, config.vision_ability is VisionAbility.NONE),
            slow_pool=_first_set(key.enable_slow_pool, config.enable_slow_pool),
            include_web_references=_first_set(key.include_web_references, config.include_web_references),
        )


def _first_set(override: bool | None, default: bool) -> bool:
    return default if override is None else override


def api_error_from_upstream(exc: UpstreamError) -> ApiError:
    """An upstream error trailer as the client's error (SPEC §6.11, D18): the upstream's title
    (or Connect code) becomes `code`, its detail the message."""
    return ApiError(exc.http_status, exc.label, exc.detail or exc.label)


class ClientProvider:
    """This process's outbound client, rebuilt when the proxy setting changes (SPEC §12.1).
    In-flight requests keep the connection they have."""

    def __init__(self, upstream: Upstream) -> None:
        self._upstream = upstream
        self._proxies: ProxySetting | None = None
        self._client: CursorClient | None = None

    def get(self, proxies: ProxySetting) -> CursorClient:
        if self._client is None or proxies != self._proxies:
            previous = self._client
            self._client = CursorClient(
                self._upstream,
                proxy_url=proxies.url if proxies.mode == "url" else None,
                use_environment_proxy=proxies.mode == "system",
            )
            self._proxies = proxies
            if previous is not None:
                previous.close()
        return self._client


@dataclass(frozen=True, slots=True)
class StreamTimeouts:
    first_frame: float  # SERVICE_TIMEOUT: from response headers to the first upstream read
    idle: float  # STREAM_IDLE_TIMEOUT: between upstream reads


@dataclass(frozen=True, slots=True)
class Failure:
    """Why an upstream answer failed: what the client is told, what the log says, and what it
    says about the token (for token health and failover)."""

    error: ApiError
    log_text: str
    verdict: Verdict
    retryable: bool  # the token's fault or the connection's: another token may succeed
    kind: str  # the error class /metrics counts: timeout, connection, protocol, rate_limited, …


class AttemptFailed(Exception):
    """An answer failed before anything reached the client: the request may go on elsewhere."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.log_text)
        self.failure = failure


_RETRYABLE_VERDICTS = frozenset({"rate_limited", "auth_failed", "usage_exhausted"})
_END = object()  # the pump's "upstream finished" marker
TICK_SECONDS = 1.0  # how often a waiting stream looks up: a client that left is noticed this fast
Reporter = Callable[[Verdict], None]


def failure_of(exc: CursorError, debug: DebugLog) -> Failure:
    """The client's error and the log's words for an upstream failure (SPEC §6.10–6.13)."""
    if isinstance(exc, UpstreamError):
        verdict = verdict_for(exc.error_name, exc.label)
        kind = "upstream_error" if verdict.kind == "neutral" else verdict.kind
        return Failure(api_error_from_upstream(exc), exc.log_text, verdict, verdict.kind in _RETRYABLE_VERDICTS, kind)
    if isinstance(exc, UpstreamTimeout):
        return timed_out(str(exc))
    if isinstance(exc, TransportError):
        return Failure(errors.request_failed(str(exc)), str(exc), Verdict("neutral"), True, "connection")
    if isinstance(exc, ProtocolError):
        debug.write(f"malformed upstream response: {exc}")
        error = errors.request_failed(f"Invalid upstream response: {exc}")
        return Failure(error, str(exc), Verdict("neutral"), False, "protocol")
    return unreadable(exc)


def timed_out(what: str) -> Failure:
    return Failure(errors.request_failed(what, 504), what, Verdict("neutral"), False, "timeout")


def empty_answer(what: str) -> Failure:
    return Failure(errors.request_failed(what), what, Verdict("neutral"), False, "empty_response")


def unreadable(exc: Exception) -> Failure:
    detail = f"Failed to read response chunk: {exc}"
    return Failure(errors.request_failed(detail), detail, Verdict("neutral"), False, "read_error")


class ChatService:
    def __init__(
        self,
        settings: Settings,
        request_log: RequestLog,
        clients: ClientProvider,
        usage: AccountUsage,
        pool: TokenPool,
        debug_log: DebugLog,
    ) -> None:
        self._settings = settings
        self._pool = pool
        self._log = request_log
        self._clients = clients
        self._usage = usage
        self._debug = debug_log

    def start(
        self, request: ChatRequest, credential: ChatCredential, config: RuntimeConfig, patience: float | None
    ) -> tuple[UpstreamChat, list[str] | None]:
        """Send the request and pre-read its answer (SPEC §6.12 step 2): the first content, or
        [] for a clean end without any, or None when `patience` ran out (streams start anyway).
        A pool token that fails before anything reached the client is replaced by the next
        usable one, up to MAX_TOKEN_RETRIES times (issue #6); a user's own token or key never
        is. Raises ApiError; the request log already records the outcome and every attempt."""
        options = ChatOptions.effective(config, credential.key_options)
        client = self._clients.get(config.proxies)
        settings = self._settings
        fetcher = ImageFetcher(
            client,
            allow_private=settings.image_fetch_allow_private,
            max_bytes=settings.image_max_bytes,
            timeout=settings.image_fetch_timeout,
        )
        resolver = ImageResolver(config.vision_ability, fetcher.fetch, settings.image_max_bytes)
        messages = [resolver.resolve(message, options.vision_disabled) for message in request.messages]
        if self._usage.blocks(credential.token, request.base_model):
            self._log.blocked()
            raise errors.unauthorized()
        record = self._log.start(
            model=request.model, token=credential.token, checksum=credential.checksum, stream=request.stream
        )
        if rule_selects(effective_rule(config.usage_check, credential.key_options), request.base_model):
            self._usage.refresh_in_background(credential.token, record.id, config.proxies)
        try:
            body = encode_chat_body(
                build_chat_request(
                    messages,
                    model_name=request.base_model,
                    default_instructions=settings.default_instructions,
                    web_search=request.web_search,
                    slow_pool=options.slow_pool,
                )
            )
        except (ValueError, UnicodeError):
            record.failed("Failed to encode chat message")
            raise errors.request_failed("Failed to encode chat message") from None
        retries = settings.max_token_retries if credential.source == "pool" else 0
        while True:
            report = self._health_reporter(credential)
            try:
                upstream = self._attempt(client, body, request, credential, options, record, report)
                first = upstream.pre_read(patience)
                if record.failed_over:
                    record.attempt(credential.token, "answered")
                return upstream, first
            except AttemptFailed as attempt:
                failure = attempt.failure
                count_upstream_error(failure.kind)
                report(failure.verdict)
                replacement = self._replacement(failure, retries)
                if replacement is None:
                    if record.failed_over:
                        record.attempt(credential.token, failure.log_text)
                    record.failed(failure.log_text)
                    raise failure.error from None
                record.attempt(credential.token, failure.log_text)
                record.switch_token(replacement.token, replacement.checksum)
                credential, retries = replacement, retries - 1

    def _replacement(self, failure: Failure, retries: int) -> ChatCredential | None:
        if not (failure.retryable and retries > 0):
            return None
        try:
            picked = self._pool.next_token()
        except NoUsableToken:
            return None
        return ChatCredential(picked.token, picked.checksum, "pool") if picked else None

    def _attempt(
        self,
        client: CursorClient,
        body: bytes,
        request: ChatRequest,
        credential: ChatCredential,
        options: ChatOptions,
        record: LoggedRequest,
        report: Reporter,
    ) -> UpstreamChat:
        settings = self._settings
        try:
            response = client.open_chat(
                body,
                token=credential.token,
                checksum=credential.checksum,
                web=request.web_search,
                timeout=settings.service_timeout,
                idle_timeout=settings.stream_idle_timeout,
            )
        except UpstreamTimeout:
            raise AttemptFailed(timed_out("Request timeout")) from None
        except CursorError as exc:  # transport error, or a non-Connect answer
            if isinstance(exc, UpstreamError):
                record.answered()
            raise AttemptFailed(failure_of(exc, self._debug)) from None
        record.answered()
        timeouts = StreamTimeouts(first_frame=settings.service_timeout, idle=settings.stream_idle_timeout)
        return UpstreamChat(
            response, record, request.stream, options.include_web_references, self._debug, timeouts, report
        )

    def _health_reporter(self, credential: ChatCredential) -> Reporter:
        """Upstream outcomes update the health of pooled tokens only; a user's own token or key
        is theirs to worry about."""
        if credential.source != "pool":
            return lambda verdict: None
        return lambda verdict: self._pool.report(credential.token, verdict)


class UpstreamChat:
    """An upstream answer being read. Timing starts when its headers arrived (D16).

    A pump thread (a greenlet under gunicorn's gevent) reads Cursor's body into a queue and
    only reports; the answering side waits with deadlines and settles the outcome: it sends
    keep-alives while Cursor is silent, ends the stream when it stays silent too long, notices a
    client that left, and, until the first content, lets a failure be retried elsewhere."""

    def __init__(
        self,
        response: ChatResponse,
        record: LoggedRequest,
        stream: bool,
        include_web_references: bool,
        debug_log: DebugLog,
        timeouts: StreamTimeouts,
        report: Reporter,
    ) -> None:
        self._response = response
        self._stream = stream
        self._record = record
        self._include_web_references = include_web_references
        self._debug = debug_log
        self._timeouts = timeouts
        self._report = report
        self._started = time.monotonic()
        self._first_content_at: float | None = None
        self._saw_stream_end = False
        self._on_probation = True  # until the pre-read ends, a failure may be retried elsewhere
        self._queue: queue.Queue = queue.Queue()
        run_in_background(self._pump)
        self._paced: Iterator[list[str] | None] | None = None

    # -- reading ----------------------------------------------------------------------------
    def pre_read(self, patience: float | None) -> list[str] | None:
        """Wait for the first content, the end or an error before any byte goes to the client,
        so upstream errors still become HTTP statuses (SPEC §6.12, D2) or can be retried. Waits
        at most `patience` seconds: None means Cursor said nothing yet and a stream should start
        anyway, with keep-alives (a later error then travels in-band, D20). Raises
        AttemptFailed."""
        self._paced = self.paced(min(TICK_SECONDS, patience) if patience else TICK_SECONDS)
        give_up = time.monotonic() + patience if patience else float("inf")
        try:
            for batch in self._paced:
                if batch:
                    return batch
                if time.monotonic() >= give_up:
                    return None
            if not self._saw_stream_end:
                raise AttemptFailed(
                    empty_answer("Empty stream response" if self._stream else "Empty response received")
                )
            return []
        finally:
            self._on_probation = False

    def read_all(self, first: list[str] | None) -> str:
        """Non-streaming, after `pre_read`: the whole answer (SPEC §6.13)."""
        text = "".join(first or []) + "".join(piece for batch in self.remaining() if batch for piece in batch)
        if not text:
            raise self._settle(empty_answer("Empty response received"))
        self.finish()
        return text

    def remaining(self) -> Iterator[list[str] | None]:
        """After `pre_read`: content batches as they arrive, None at each second without
        content. Raises ApiError for a failure or timeout (sent in-band when streaming)."""
        assert self._paced is not None
        return self._paced

    def paced(self, tick: float) -> Iterator[list[str] | None]:
        """Content batches as they arrive; None after every `tick` seconds without content."""
        deadline, what = self._started + self._timeouts.first_frame, "No response from Cursor in time"
        while True:
            wait = deadline - time.monotonic()
            if wait <= 0:
                raise self._settle(timed_out(what))
            try:
                item = self._queue.get(timeout=min(wait, tick))
            except queue.Empty:
                if time.monotonic() < deadline:
                    yield None
                continue
            if item is _END:
                return
            if isinstance(item, Failure):
                raise self._settle(item)
            deadline, what = time.monotonic() + self._timeouts.idle, "Cursor stopped sending (stream idle timeout)"
            yield item if item else None

    def finish(self) -> None:
        """The answer was delivered: log its timing (total, and first content) as its outcome."""
        if not self._record.settled:
            now = time.monotonic()
            first = None if self._first_content_at is None else self._first_content_at - self._started
            self._record.finished(now - self._started, first)
            self._report(Verdict("ok"))

    def close(self) -> None:
        """Stop reading at once. Before the answer was complete, that means the client went
        away, and the log says so."""
        self._record.client_disconnected(total=time.monotonic() - self._started)
        self._response.abort()

    # -- internals --------------------------------------------------------------------------
    def _settle(self, failure: Failure) -> Exception:
        """The failure as the exception to raise: retryable while on probation, else final
        (logged once, and the token's health told)."""
        self._response.abort()
        if self._on_probation:
            return AttemptFailed(failure)
        count_upstream_error(failure.kind)
        self._report(failure.verdict)
        self._record.failed(failure.log_text, total=time.monotonic() - self._started)
        return failure.error

    def _pump(self) -> None:
        try:
            for events in self._response.batches():
                self._queue.put([piece for piece in map(self._content_of, events) if piece])
            self._queue.put(_END)
        except CursorError as exc:
            self._queue.put(failure_of(exc, self._debug))
        except Exception as exc:
            self._queue.put(unreadable(exc))
        finally:
            self._response.close()

    def _content_of(self, event: Event) -> str | None:
        if isinstance(event, TextDelta):
            return self._content(event.text)
        if isinstance(event, WebReferences):
            return self._content(event.to_markdown()) if self._include_web_references else None
        if isinstance(event, FilledPrompt):
            self._record.set_prompt(event.text)
        elif isinstance(event, StreamEnd):
            self._saw_stream_end = True
        else:
            assert isinstance(event, ContentStart)
        return None

    def _content(self, text: str) -> str:
        if self._first_content_at is None:
            self._first_content_at = time.monotonic()
            text = text.removeprefix("\n\n")  # rc4.2 trims the first piece (D7)
        return text
