"""One chat request's life: build the upstream request, account for it, call Cursor, and
turn the upstream events into content pieces for the blueprint to shape (SPEC §6.4–6.14).

Every failure ends here as an ApiError with the reference's status and code (D18), after the
request log says what happened (D6). Nothing here knows about HTTP responses or SSE.
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator

from app import errors
from app.cursor.client import ChatResponse, CursorClient, Upstream
from app.cursor.convert import build_chat_request, encode_chat_body
from app.cursor.errors import (
    CursorError,
    ProtocolError,
    ReadError,
    TransportError,
    UpstreamError,
    UpstreamTimeout,
)
from app.cursor.events import ContentStart, Event, FilledPrompt, StreamEnd, TextDelta, WebReferences
from app.cursor.keys import KeyOptions
from app.errors import ApiError
from app.openai_request import ChatRequest
from app.services.auth import ChatCredential
from app.services.debug_log import DebugLog
from app.services.image_fetch import ImageFetcher
from app.services.request_log import RequestLog
from app.services.token_health import Verdict, verdict_for
from app.services.token_pool import TokenPool
from app.services.runtime_config import RuntimeConfig
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


class ChatService:
    def __init__(self, settings: Settings, request_log: RequestLog, clients: ClientProvider, usage: AccountUsage,
                 pool: TokenPool, debug_log: DebugLog) -> None:
        self._settings = settings
        self._pool = pool
        self._log = request_log
        self._clients = clients
        self._usage = usage
        self._debug = debug_log

    def _health_reporter(self, credential: ChatCredential) -> Reporter:
        """Upstream outcomes update the health of pooled tokens only; a user's own token or key
        is theirs to worry about."""
        if credential.source != "pool":
            return lambda verdict: None
        return lambda verdict: self._pool.report(credential.token, verdict)

    def start(self, request: ChatRequest, credential: ChatCredential, config: RuntimeConfig) -> UpstreamChat:
        """Resolve images, account for the request, send it, and return once Cursor's response
        headers arrived. Raises ApiError (the request log already records the failure)."""
        options = ChatOptions.effective(config, credential.key_options)
        client = self._clients.get(config.proxies)
        settings = self._settings
        fetcher = ImageFetcher(
            client, allow_private=settings.image_fetch_allow_private, max_bytes=settings.image_max_bytes,
            timeout=settings.image_fetch_timeout,
        )
        resolver = ImageResolver(config.vision_ability, fetcher.fetch, settings.image_max_bytes)
        messages = [resolver.resolve(message, options.vision_disabled) for message in request.messages]
        if self._usage.blocks(credential.token, request.base_model):
            self._log.blocked()
            raise errors.unauthorized()
        log_id = self._log.start(
            model=request.model, token=credential.token, checksum=credential.checksum, stream=request.stream
        )
        report = self._health_reporter(credential)
        if rule_selects(effective_rule(config.usage_check, credential.key_options), request.base_model):
            self._usage.refresh_in_background(credential.token, log_id, config.proxies)
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
            self._log.failed_before_answer(log_id, "Failed to encode chat message")
            raise errors.request_failed("Failed to encode chat message") from None
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
            self._log.failed_before_answer(log_id, "Request timeout")
            raise errors.request_failed("Request timeout", 504) from None
        except TransportError as exc:
            self._log.failed_before_answer(log_id, str(exc))
            raise errors.request_failed(str(exc)) from None
        except UpstreamError as exc:  # a non-Connect answer: headers came, the body says why
            self._log.upstream_answered(log_id)
            self._log.failed(log_id, exc.log_text)
            report(verdict_for(exc.error_name, exc.label))
            raise api_error_from_upstream(exc) from None
        self._log.upstream_answered(log_id)
        timeouts = StreamTimeouts(first_frame=settings.service_timeout, idle=settings.stream_idle_timeout)
        return UpstreamChat(response, self._log, log_id, options.include_web_references, self._debug, timeouts, report)


@dataclass(frozen=True, slots=True)
class StreamTimeouts:
    first_frame: float  # SERVICE_TIMEOUT: from response headers to the first upstream read
    idle: float  # STREAM_IDLE_TIMEOUT: between upstream reads


_END = object()  # the pump's "upstream finished" marker
TICK_SECONDS = 1.0  # how often a waiting stream looks up: a client that left is noticed this fast


Reporter = Callable[[Verdict], None]


class UpstreamChat:
    """An upstream answer being read. Timing starts when its headers arrived (D16).

    A pump thread (a greenlet under gunicorn's gevent) reads Cursor's body into a queue, so
    the side that answers the client can wait with deadlines: send keep-alives while Cursor is
    silent, end the stream when it stays silent too long, and notice a client that left."""

    def __init__(
        self, response: ChatResponse, request_log: RequestLog, log_id: int, include_web_references: bool,
        debug_log: DebugLog, timeouts: StreamTimeouts, report: Reporter,
    ) -> None:
        self._response = response
        self._log = request_log
        self._log_id = log_id
        self._include_web_references = include_web_references
        self._debug = debug_log
        self._timeouts = timeouts
        self._report = report
        self._started = time.monotonic()
        self._first_content_at: float | None = None
        self._saw_stream_end = False
        self._settled = threading.Lock()  # taken once: by the outcome that is logged
        self._queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self._paced: Iterator[list[str] | None] | None = None

    # -- reading ----------------------------------------------------------------------------
    def read_all(self) -> str:
        """Non-streaming: the whole answer (SPEC §6.13)."""
        text = "".join(piece for batch in self.paced(None) if batch for piece in batch)
        if not text:
            raise self._fail_with(errors.request_failed("Empty response received"), "Empty response received")
        self.finish()
        return text

    def pre_read(self, patience: float | None) -> list[str] | None:
        """Streaming: wait for the first content, the end or an error before any byte goes to
        the client, so upstream errors still become HTTP statuses (SPEC §6.12, D2). Waits at
        most `patience` seconds: None means Cursor said nothing yet and the response should
        start anyway, with keep-alives (a later error then travels in-band, D20)."""
        self._paced = self.paced(min(TICK_SECONDS, patience) if patience else TICK_SECONDS)
        give_up = time.monotonic() + patience if patience else float("inf")
        for batch in self._paced:
            if batch:
                return batch
            if time.monotonic() >= give_up:
                return None
        if not self._saw_stream_end:
            raise self._fail_with(errors.request_failed("Empty stream response"), "Empty stream response")
        self.finish()
        return []

    def remaining(self) -> Iterator[list[str] | None]:
        """Streaming, after `pre_read`: content batches as they arrive, None at each second
        without content. Raises ApiError for a failure or timeout (sent in-band)."""
        assert self._paced is not None
        return self._paced

    def paced(self, tick: float | None) -> Iterator[list[str] | None]:
        """Content batches as they arrive; None after every `tick` seconds without content."""
        deadline, what = self._started + self._timeouts.first_frame, "No response from Cursor in time"
        while True:
            wait = deadline - time.monotonic()
            if wait <= 0:
                raise self._fail_with(errors.request_failed(what, 504), what)
            try:
                item = self._queue.get(timeout=wait if tick is None else min(wait, tick))
            except queue.Empty:
                if time.monotonic() < deadline:
                    yield None
                continue
            if item is _END:
                return
            if isinstance(item, ApiError):
                raise item
            deadline, what = time.monotonic() + self._timeouts.idle, "Cursor stopped sending (stream idle timeout)"
            yield item if item else None

    def close(self) -> None:
        """Close the upstream connection at once. Before the answer was complete, that means
        the client went away, and the log says so."""
        self._settle_failed("Client disconnected")
        self._response.abort()

    # -- internals --------------------------------------------------------------------------
    def _pump(self) -> None:
        try:
            for batch in self._content_batches():
                self._queue.put(batch)
            self._queue.put(_END)
        except ApiError as error:
            self._queue.put(error)
        except Exception as exc:  # noqa: BLE001 - the pump must end with a report, never die silently
            if not self._settled.locked():  # else the request is over and reading stopped on purpose
                self._queue.put(self._fail_with(errors.request_failed(f"Failed to read response chunk: {exc}"), str(exc)))
        finally:
            self._response.close()

    def _content_batches(self) -> Iterator[list[str]]:
        """One list per network read (empty when it carried no content: still a sign of life).
        Reads on past the end-of-stream frame to the end of the body: bytes after it are a
        broken upstream, and a fully read response returns its connection to the pool."""
        try:
            for events in self._response.batches():
                yield [piece for piece in map(self._content_of, events) if piece]
        except CursorError as exc:
            raise self._fail(exc) from None

    def _content_of(self, event: Event) -> str | None:
        if isinstance(event, TextDelta):
            return self._content(event.text)
        if isinstance(event, WebReferences):
            return self._content(event.to_markdown()) if self._include_web_references else None
        if isinstance(event, FilledPrompt):
            self._log.set_prompt(self._log_id, event.text)
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

    def finish(self) -> None:
        """The answer was delivered: log its timing (total, and first content) as its outcome."""
        if self._settled.acquire(blocking=False):
            now = time.monotonic()
            first = None if self._first_content_at is None else self._first_content_at - self._started
            self._log.finished(self._log_id, now - self._started, first)
            self._report(Verdict("ok"))

    def _fail(self, exc: CursorError) -> ApiError:
        if isinstance(exc, UpstreamError):
            self._report(verdict_for(exc.error_name, exc.label))
            return self._fail_with(api_error_from_upstream(exc), exc.log_text)
        if isinstance(exc, UpstreamTimeout):
            return self._fail_with(errors.request_failed(str(exc), 504), str(exc))
        if isinstance(exc, ProtocolError):
            self._debug.write(f"malformed upstream response: {exc}")
            return self._fail_with(errors.request_failed(f"Invalid upstream response: {exc}"), str(exc))
        assert isinstance(exc, ReadError)
        detail = f"Failed to read response chunk: {exc}"
        return self._fail_with(errors.request_failed(detail), detail)

    def _fail_with(self, error: ApiError, log_text: str) -> ApiError:
        self._settle_failed(log_text)
        return error

    def _settle_failed(self, log_text: str) -> None:
        """Log the failure unless the request's outcome was already logged: each request is
        counted once, whoever notices first (the pump, a timeout, or the client leaving)."""
        if self._settled.acquire(blocking=False):
            self._log.failed(self._log_id, log_text, total=time.monotonic() - self._started)
