"""One chat request's life: build the upstream request, account for it, call Cursor, and
turn the upstream events into content pieces for the blueprint to shape (SPEC §6.4–6.14).

Every failure ends here as an ApiError with the reference's status and code (D18), after the
request log says what happened (D6). Nothing here knows about HTTP responses or SSE.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field

from app import errors
from app.answer_rules import AnswerRules
from app.cursor.client import CursorClient, Upstream
from app.cursor.errors import (
    CursorError,
    EmptyAnswer,
    ProtocolError,
    ReadError,
    TransportError,
    UpstreamError,
    UpstreamTimeout,
    is_stale_client,
)
from app.cursor.events import (
    ContentStart,
    Event,
    FilledPrompt,
    ReasoningDelta,
    StreamEnd,
    TextDelta,
    ToolCall,
    Usage,
    WebReferences,
)
from app.cursor.generations import GENERATIONS, Generation, GenerationOptions, UpstreamAnswer, UpstreamCredential
from app.cursor.keys import KeyOptions
from app.cursor.messages import ChatTurn
from app.errors import ApiError
from app.openai_request import ChatRequest
from app.services.access_tokens import AccessTokens
from app.services.auth import ChatCredential
from app.services.background import run_in_background
from app.services.debug_log import DebugLog
from app.services.image_fetch import ImageFetcher
from app.services.metrics import count_upstream_error
from app.services.models import ModelCatalogService
from app.services.request_log import LoggedRequest, RequestLog
from app.services.runtime_config import RuntimeConfig
from app.services.token_health import Verdict, verdict_for
from app.services.token_pool import NoUsableToken, TokenPool
from app.services.usage import AccountUsage, effective_rule, is_exhausted, rule_selects
from app.services.vision import ImageLimits, ImageResolver
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
    """This process's outbound client and its protocol generation, rebuilt when the proxy
    setting changes (SPEC §12.1). In-flight requests keep the connection they have."""

    def __init__(self, upstream: Upstream, protocol: str = "legacy", options: GenerationOptions | None = None) -> None:
        self._upstream = upstream
        self._protocol = protocol
        self._options = options
        self._proxies: ProxySetting | None = None
        self._client: CursorClient | None = None
        self._generation: Generation | None = None

    @property
    def protocol(self) -> str:
        return self._protocol

    def get(self, proxies: ProxySetting) -> CursorClient:
        if self._client is None or proxies != self._proxies:
            previous = self._client
            self._client = CursorClient(
                self._upstream,
                proxy_url=proxies.url if proxies.mode == "url" else None,
                use_environment_proxy=proxies.mode == "system",
            )
            self._generation = None
            self._proxies = proxies
            if previous is not None:
                previous.close()
        return self._client

    def generation(self, proxies: ProxySetting) -> Generation:
        """The configured generation (D25) on the client for `proxies`."""
        client = self.get(proxies)
        if self._generation is None:
            assert self._options is not None or self._protocol == "legacy"
            self._generation = GENERATIONS[self._protocol](client, self._options)  # type: ignore[arg-type]
        return self._generation


@dataclass(frozen=True, slots=True)
class StreamTimeouts:
    first_frame: float  # SERVICE_TIMEOUT: for the response headers, then again for the first read
    idle: float  # STREAM_IDLE_TIMEOUT: between upstream reads
    max_answer_chars: int = 32 * 1024 * 1024  # ANSWER_MAX_CHARS: a non-streamed answer's bound


Output = TextDelta | ReasoningDelta | ToolCall
"""What a front shows the client: answer text, reasoning and tool calls, in upstream order."""


@dataclass(slots=True)
class Answer:
    """A whole non-streamed answer, kept as its pieces (joined once) and bounded in size: a
    huge upstream answer must not take a worker's memory (issue #14)."""

    max_chars: int
    texts: list[str] = field(default_factory=list)
    reasonings: list[str] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage | None = None
    size: int = 0

    def add(self, piece: Output) -> None:
        if isinstance(piece, ToolCall):
            self.tool_calls.append(piece)
            return
        self.size += len(piece.text)
        if self.size > self.max_chars:
            raise AnswerTooLarge(self.max_chars)
        (self.texts if isinstance(piece, TextDelta) else self.reasonings).append(piece.text)

    @property
    def text(self) -> str:
        return "".join(self.texts)

    @property
    def reasoning(self) -> str:
        return "".join(self.reasonings)


class AnswerTooLarge(Exception):
    """A non-streamed answer grew past ANSWER_MAX_CHARS."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


@dataclass(frozen=True, slots=True)
class Failure:
    """Why an upstream answer failed: what the client is told, what the log says, and what it
    says about the token (for token health and failover)."""

    error: ApiError
    log_text: str
    verdict: Verdict
    retryable: bool  # the token's fault or the connection's: another token may succeed
    kind: str  # the error class /metrics counts: timeout, connection, protocol, rate_limited, …


class ClientLeft(Exception):
    """The client closed its connection before a non-streamed answer was complete."""


class AttemptFailed(Exception):
    """An answer failed before anything reached the client: the request may go on elsewhere."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.log_text)
        self.failure = failure


_RETRYABLE_VERDICTS = frozenset({"rate_limited", "auth_failed", "usage_exhausted"})


class _Ended(enum.Enum):
    END = "the upstream answer has ended"


TICK_SECONDS = 0.25  # how often a waiting answer looks up: a client that left is noticed this fast (D34)
Reporter = Callable[[Verdict], None]


STALE_CLIENT_HINT = (
    "Cursor refused this gateway's client version: set CURSOR_CLIENT_VERSION to the build id of a "
    "current Cursor CLI (its installer's download URL names it)"
)
DEPRECATED_HINT = "Cursor no longer serves this protocol generation: set CURSOR_PROTOCOL=agent (the default)"


def failure_of(exc: CursorError, debug: DebugLog) -> Failure:
    """The client's error and the log's words for an upstream failure (SPEC §6.10–6.13)."""
    if isinstance(exc, UpstreamError) and (is_stale_client(exc) or exc.error_name == "ERROR_DEPRECATED"):
        # The gateway's configuration, not the token: no cooldown, no failover; the operator
        # is told which setting to change (D25, D26).
        hint = STALE_CLIENT_HINT if is_stale_client(exc) else DEPRECATED_HINT
        said = ": ".join(part for part in (exc.title, exc.detail) if part)
        error = ApiError(502, "upstream_refused_client", f"{hint} (Cursor said: {said or exc.label})")
        return Failure(error, f"{hint} ({said or exc.label})", Verdict("neutral"), False, "upstream_error")
    if isinstance(exc, EmptyAnswer):  # the silent soft block: Cursor's doing, so a bad gateway
        return Failure(errors.request_failed(str(exc), 502), str(exc), Verdict("neutral"), False, "empty_response")
    if isinstance(exc, UpstreamError):
        verdict = verdict_for(exc.error_name, exc.label)
        if verdict.kind == "neutral" and exc.http_status == 429:  # a rate limit without Cursor's details
            verdict = Verdict("rate_limited", exc.label)
        kind = "upstream_error" if verdict.kind == "neutral" else verdict.kind
        return Failure(api_error_from_upstream(exc), exc.log_text, verdict, verdict.kind in _RETRYABLE_VERDICTS, kind)
    if isinstance(exc, UpstreamTimeout):
        return timed_out(str(exc))
    if isinstance(exc, TransportError):
        return Failure(errors.request_failed(str(exc)), str(exc), Verdict("neutral"), True, "connection")
    if isinstance(exc, ReadError):
        # Cut before anything reached the client (the only time a failure is retried): another
        # token, or a new connection, may well get the answer.
        detail = f"Failed to read response chunk: {exc}"
        return Failure(errors.request_failed(detail), detail, Verdict("neutral"), True, "read_error")
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
        access: AccessTokens,
        models: ModelCatalogService,
    ) -> None:
        self._settings = settings
        self._pool = pool
        self._log = request_log
        self._clients = clients
        self._usage = usage
        self._debug = debug_log
        self._access = access
        self._models = models

    def start(
        self,
        request: ChatRequest,
        credential: ChatCredential,
        config: RuntimeConfig,
        patience: float | None,
        request_id: str | None = None,
        front: str = "chat.completions",
    ) -> tuple[UpstreamChat, list[Output] | None]:
        """Send the request and pre-read its answer (SPEC §6.12 step 2): the first output, or
        [] for a clean end without any, or None when `patience` ran out (streams start anyway,
        even before Cursor's response headers). A pool token that fails before anything reached
        the client is replaced by the next usable one, up to MAX_TOKEN_RETRIES times (issue #6);
        a user's own token or key never is. Raises ApiError; the request log already records the
        outcome and every attempt."""
        options = ChatOptions.effective(config, credential.key_options)
        generation = self._clients.generation(config.proxies)
        settings = self._settings
        if request.tools and not generation.supports_tools:
            raise ApiError(400, "unsupported_parameter", "tools need CURSOR_PROTOCOL=agent", param="tools")
        access_token = self._access.access_token(credential.token, config.proxies)
        model, parameters = self._models.resolve(
            request.base_model, access_token, config.proxies, request.reasoning_effort
        )
        fetcher = ImageFetcher(
            config.proxies,
            allow_private=settings.image_fetch_allow_private,
            max_bytes=settings.image_max_bytes,
            timeout=settings.image_fetch_timeout,
        )
        resolver = ImageResolver(config.vision_ability, fetcher.fetch, ImageLimits.of(settings))
        messages = resolver.resolve_all(request.messages, options.vision_disabled)
        profile = self._usage.latest_profile(credential.token)
        if profile is not None and is_exhausted(profile, request.base_model):
            self._log.blocked()
            raise errors.unauthorized()
        rule = effective_rule(config.usage_check, credential.key_options)
        checked = rule_selects(rule, request.base_model, self._models.live)
        fetch_profile = checked and self._usage.claim_refresh(credential.token)
        record = self._log.start(
            model=request.model,
            token=credential.token,
            checksum=credential.checksum,
            stream=request.stream,
            request_id=request_id,
            front=front,
            profile=profile if checked and not fetch_profile else None,  # in the same write
        )
        if fetch_profile:
            self._usage.refresh_in_background(credential.token, record.id, config.proxies)
        turn = ChatTurn(
            model=model,
            messages=tuple(messages),
            parameters=parameters,
            tools=request.tools,
            instructions=request.instructions,
            default_instructions=settings.default_instructions,
            web_search=request.web_search,
            slow_pool=options.slow_pool,
        )
        retries = settings.max_token_retries if credential.source == "pool" else 0
        while True:
            report = self._health_reporter(credential)
            try:
                upstream = self._attempt(generation, turn, request, credential, access_token, options, record, report)
                first = upstream.pre_read(patience)
                if record.failed_over:
                    record.attempt(credential.token, "answered")
                return upstream, first
            except AttemptFailed as attempt:
                failure = attempt.failure
                count_upstream_error(failure.kind)
                report(failure.verdict)
                replacement = self._replacement(failure, retries, config.proxies)
                if replacement is None:
                    if record.failed_over:
                        record.attempt(credential.token, failure.log_text)
                    record.failed(failure.log_text)
                    raise failure.error from None
                record.attempt(credential.token, failure.log_text)
                credential, access_token = replacement
                record.switch_token(credential.token, credential.checksum)
                retries -= 1

    def _replacement(self, failure: Failure, retries: int, proxies: ProxySetting) -> tuple[ChatCredential, str] | None:
        if not (failure.retryable and retries > 0):
            return None
        try:
            picked = self._pool.next_token()
        except NoUsableToken:
            return None
        if picked is None:
            return None
        try:
            access_token = self._access.access_token(picked.token, proxies)
        except ApiError:
            return None
        return ChatCredential(picked.token, picked.checksum, "pool"), access_token

    def _attempt(
        self,
        generation: Generation,
        turn: ChatTurn,
        request: ChatRequest,
        credential: ChatCredential,
        access_token: str,
        options: ChatOptions,
        record: LoggedRequest,
        report: Reporter,
    ) -> UpstreamChat:
        settings = self._settings
        upstream_credential = UpstreamCredential(access_token, credential.checksum)

        def open_answer() -> UpstreamAnswer:
            return generation.open(
                turn, upstream_credential, timeout=settings.service_timeout, idle_timeout=settings.stream_idle_timeout
            )

        timeouts = StreamTimeouts(
            first_frame=settings.service_timeout,
            idle=settings.stream_idle_timeout,
            max_answer_chars=settings.answer_max_chars,
        )
        return UpstreamChat(
            open_answer, record, request.stream, options.include_web_references, self._debug, timeouts, report
        )

    def _health_reporter(self, credential: ChatCredential) -> Reporter:
        """Upstream outcomes update the health of pooled tokens only; a user's own token or key
        is theirs to worry about."""
        if credential.source != "pool":
            return lambda verdict: None
        return lambda verdict: self._pool.report(credential.token, verdict)


class UpstreamChat:
    """An upstream answer being opened and read. Timing starts when its headers arrived (D16).

    A helper (a greenlet under gunicorn's gevent) opens the answer and only reports; the
    greenlet answering the client reads it itself, with deadlines, and settles the outcome: it
    sends keep-alives while Cursor is silent (even before its response headers), ends the
    stream when it stays silent too long, notices a client that left, and, until the first
    output, lets a failure be retried elsewhere. The reads wait at most a tick for data, so
    those checks need no second greenlet reading for it (issue #15)."""

    def __init__(
        self,
        open_answer: Callable[[], UpstreamAnswer],
        record: LoggedRequest,
        stream: bool,
        include_web_references: bool,
        debug_log: DebugLog,
        timeouts: StreamTimeouts,
        report: Reporter,
    ) -> None:
        self._open_answer = open_answer
        self._response: UpstreamAnswer | None = None
        self._open_failure: Failure | None = None
        self._opened = threading.Event()
        self._aborted = False
        self._reading = False  # a greenlet is inside the response's read: only abort() reaches it
        self._released = False
        self._stream = stream
        self._record = record
        self._include_web_references = include_web_references
        self._debug = debug_log
        self._timeouts = timeouts
        self._report = report
        self._requested = time.monotonic()
        self._started = self._requested  # moved to the response headers' arrival when they come
        self._first_content_at: float | None = None
        self._saw_stream_end = False
        self._on_probation = True  # until the pre-read ends, a failure may be retried elsewhere
        self.usage: Usage | None = None
        run_in_background(self._open)
        self._paced: Iterator[list[Output] | None] | None = None

    # -- reading ----------------------------------------------------------------------------
    def pre_read(self, patience: float | None) -> list[Output] | None:
        """Wait for the first output, the end or an error before any byte goes to the client,
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
                raise AttemptFailed(empty_answer(self._empty_text()))
            return []
        finally:
            self._on_probation = False

    def _empty_text(self) -> str:
        # The same words streamed or not (issue #14): the client asked for one answer either way.
        return "Empty response received"

    def read_all(
        self,
        first: list[Output] | None,
        client_gone: Callable[[], bool] = lambda: False,
        rules: AnswerRules | None = None,
    ) -> Answer:
        """Non-streaming, after `pre_read`: the whole answer (SPEC §6.13), shaped by `rules`
        (D32: reading stops once they say the answer is complete). A client that leaves
        meanwhile ends the upstream turn within a second (D34): ClientLeft."""
        answer = Answer(self._timeouts.max_answer_chars)
        rules = rules or AnswerRules()
        looked = time.monotonic()
        try:
            for piece in rules.feed(first or []):
                answer.add(piece)
            for batch in [] if rules.done else self.remaining():
                if batch is None or time.monotonic() - looked >= TICK_SECONDS:
                    looked = time.monotonic()
                    if client_gone():
                        raise ClientLeft()
                for piece in rules.feed(batch or []):
                    answer.add(piece)
                if rules.done:
                    break
            for piece in rules.flush():
                answer.add(piece)
        except AnswerTooLarge as too_large:
            what = f"the answer is longer than {too_large.limit} characters (ANSWER_MAX_CHARS): ask with stream: true"
            failure = Failure(errors.request_failed(what, 502), what, Verdict("neutral"), False, "protocol")
            raise self._settle(failure) from None
        if not (answer.text or answer.tool_calls or answer.reasoning or rules.done or rules.refusal):
            raise self._settle(empty_answer(self._empty_text()))
        answer.usage = self.usage
        self.finish()
        return answer

    def live(
        self,
        first: list[Output] | None,
        rules: AnswerRules,
        keepalive: float | None,
        client_gone: Callable[[], bool],
    ) -> Iterator[list[Output] | None]:
        """Streaming, after `pre_read`: what each front writes, in order. A non-empty batch of
        shaped output (`rules` applied: D32), or None when the client should get a keep-alive
        (right away when Cursor said nothing yet, then every `keepalive` seconds of silence).
        Ends when the answer is complete (the caller then writes its finish and calls
        `finish`); raises ClientLeft when the client closed while nothing was being written (a
        write would notice by itself), ApiError for a failure (sent in-band)."""
        last_write = time.monotonic()
        if first is None:  # Cursor is still silent: start the stream anyway
            yield None
        elif shaped_first := rules.feed(first):
            yield shaped_first
        for pieces in [] if rules.done else self.remaining():
            shaped = rules.feed(pieces) if pieces else []  # held back text writes nothing yet
            if shaped:
                last_write = time.monotonic()
                yield shaped
            if rules.done:  # a stop sequence or the token limit: the answer is complete
                break
            if shaped:
                continue
            if client_gone():
                raise ClientLeft()
            if keepalive and time.monotonic() - last_write >= keepalive:
                last_write = time.monotonic()
                yield None
        tail = rules.flush()
        if tail:
            yield tail

    def remaining(self) -> Iterator[list[Output] | None]:
        """After `pre_read`: output batches as they arrive, None at each second without
        output. Raises ApiError for a failure or timeout (sent in-band when streaming)."""
        assert self._paced is not None
        return self._paced

    def paced(self, tick: float) -> Iterator[list[Output] | None]:
        """Output batches as they arrive; None after every `tick` seconds without output. The
        first deadline covers the response headers and then, again, the first read."""
        response = yield from self._opening(tick)
        if response is None:
            return  # the client left, or the answer was given up, while it opened
        deadline, what = self._started + self._timeouts.first_frame, "No response from Cursor in time"
        batches = response.batches(tick)
        try:
            while not self._aborted:
                events = self._next_read(batches)
                self._record.keep_up()
                if events is _Ended.END:
                    return
                if isinstance(events, Failure):
                    raise self._settle(events)
                now = time.monotonic()
                if events is None:
                    if now >= deadline:
                        raise self._settle(timed_out(what))
                    yield None
                    continue
                deadline, what = now + self._timeouts.idle, "Cursor stopped sending (stream idle timeout)"
                yield [piece for piece in map(self._output_of, events) if piece] or None
        finally:
            self._release()

    def _opening(self, tick: float) -> Generator[None, None, UpstreamAnswer | None]:
        """None at every tick until the answer is open (within the first deadline); then the
        open answer, or None when it was given up meanwhile. Raises as `paced`."""
        deadline = self._requested + self._timeouts.first_frame
        while not self._opened.wait(max(0.0, min(tick, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                raise self._settle(timed_out("Request timeout"))
            yield None
        if self._open_failure is not None:
            raise self._settle(self._open_failure)
        return self._response

    def _next_read(self, batches: Iterator[list[Event] | None]) -> list[Event] | Failure | _Ended | None:
        """The next item of `batches` (END after the last), or the Failure it raised."""
        self._reading = True
        try:
            return next(batches, _Ended.END)
        except CursorError as exc:
            return failure_of(exc, self._debug)
        except Exception as exc:
            return unreadable(exc)
        finally:
            self._reading = False

    def finish(self) -> None:
        """The answer was delivered: log its timing (total, and first content) and usage."""
        if not self._record.settled:
            now = time.monotonic()
            first = None if self._first_content_at is None else self._first_content_at - self._started
            usage = usage_body(self.usage) if self.usage is not None else None
            self._record.finished(now - self._started, first, usage)
            self._report(Verdict("ok"))

    def close(self) -> None:
        """Stop reading at once. Before the answer was complete, that means the client went
        away, and the log says so."""
        self._record.client_disconnected(total=time.monotonic() - self._started)
        self._aborted = True
        self._stop_reading()

    # -- internals --------------------------------------------------------------------------
    def _settle(self, failure: Failure) -> Exception:
        """The failure as the exception to raise: retryable while on probation, else final
        (logged once, and the token's health told)."""
        self._aborted = True
        self._stop_reading()
        if self._on_probation:
            return AttemptFailed(failure)
        count_upstream_error(failure.kind)
        self._report(failure.verdict)
        self._record.failed(failure.log_text, total=time.monotonic() - self._started)
        return failure.error

    def _stop_reading(self) -> None:
        """End the upstream answer now: a greenlet inside its read is woken by abort() and
        releases it itself; otherwise it is released here."""
        if self._reading and self._response is not None:
            self._response.abort()
        else:
            self._release()

    def _release(self) -> None:
        if self._response is not None and not self._released:
            self._released = True
            self._response.close()

    def _open(self) -> None:
        """Open the answer (the helper's whole job); a failure is kept for the reader. Cursor's
        response headers count as the answer's start (D16)."""
        try:
            response = self._open_answer()
        except UpstreamTimeout:
            self._open_failure = timed_out("Request timeout")
            return
        except CursorError as exc:  # a transport error, or a refusal before the stream
            if isinstance(exc, UpstreamError):
                self._record.answered()
            self._open_failure = failure_of(exc, self._debug)
            return
        except (ValueError, UnicodeError):
            self._open_failure = Failure(
                errors.request_failed("Failed to encode chat message"),
                "Failed to encode chat message",
                Verdict("neutral"),
                False,
                "protocol",
            )
            return
        except Exception as exc:  # never leave the reader without an outcome
            self._open_failure = unreadable(exc)
            return
        else:
            self._started = time.monotonic()
            self._record.answered()
            if self._aborted:  # the client left, or a deadline passed, while the answer opened
                response.close()
            else:
                self._response = response
        finally:
            self._opened.set()

    def _output_of(self, event: Event) -> Output | None:
        if isinstance(event, TextDelta):
            return TextDelta(self._content(event.text))
        if isinstance(event, WebReferences):
            return TextDelta(self._content(event.to_markdown())) if self._include_web_references else None
        if isinstance(event, (ReasoningDelta, ToolCall)):
            return event
        if isinstance(event, Usage):
            self.usage = event
        elif isinstance(event, FilledPrompt):
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


def usage_body(usage: Usage) -> dict:
    """OpenAI's usage object for the upstream's count (D29)."""
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.prompt_tokens + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }
