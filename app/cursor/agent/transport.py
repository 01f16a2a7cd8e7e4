"""One agent turn over HTTP/1.1 with `requests` (AGENT_WIRE §1–§2): the RunSSE read side, the
BidiAppend write side and the heartbeat. It moves bytes; what they mean is the codec's
(run_request, client_messages, stream).

An `AgentTurn` behaves like the legacy ChatResponse (app/cursor/client.py): it is open once the
RunSSE headers arrived and the run request was appended, `batches()` yields the events of each
network read, `abort()` stops a read from another greenlet, `close()` ends the turn. The
heartbeats of all turns come from the client's one `Heartbeats` loop.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping

import requests

from app.cursor.agent.client_messages import append_body, cancel, heartbeat, run_sse_body
from app.cursor.agent.errors import agent_error_from_body
from app.cursor.agent.heartbeats import Heartbeats
from app.cursor.agent.run_request import PreparedTurn
from app.cursor.agent.stream import TurnDecoder
from app.cursor.agent.unary import ERROR_BODY_LIMIT, AgentIdentity, call_unary
from app.cursor.background import run_in_background
from app.cursor.errors import CursorError
from app.cursor.events import Event
from app.cursor.framing import MIB
from app.cursor.http import Poster, StreamReader, read_bounded
from app.cursor.proto import agent_pb2

RUN_SSE_PATH = "/agent.v1.AgentService/RunSSE"
BIDI_APPEND_PATH = "/aiserver.v1.BidiService/BidiAppend"
STREAM_CONTENT_TYPE = "application/connect+proto"
ALLOWED_TOOLS = "mcp_tool_call"
CANCEL_TIMEOUT = 1.0
"""A client that leaves must have ended its turn within a second (D34): the cancel gets no longer."""


class AgentClient:
    """Opens agent turns on a shared keep-alive session (the appends reuse its connections)."""

    def __init__(
        self,
        session: requests.Session,
        base_url: str,
        identity: AgentIdentity,
        *,
        heartbeat_seconds: float = 5.0,
        max_frame_bytes: int = 16 * MIB,
        max_decompressed_bytes: int = 16 * MIB,
    ) -> None:
        self._poster = Poster(session)
        self._base_url = base_url.rstrip("/")
        self.identity = identity
        self._heartbeats = Heartbeats(heartbeat_seconds)
        self._limits = (max_frame_bytes, max_decompressed_bytes)

    def open_turn(
        self,
        turn: PreparedTurn,
        *,
        token: str,
        timeout: float,
        idle_timeout: float | None = None,
        blobs: Mapping[bytes, bytes] | None = None,
    ) -> AgentTurn:
        """Open RunSSE, wait up to `timeout` for its headers, append the run request (seqno 0)
        and start the heartbeat. `blobs` are the conversation's KV blobs from earlier turns.

        Raises UpstreamTimeout, TransportError, or UpstreamError (RunSSE answered with something
        other than a Connect stream, or the run request's append was refused)."""
        headers = {
            **self.identity.headers(token, turn.request_id),
            "content-type": STREAM_CONTENT_TYPE,
            "connect-accept-encoding": "gzip",
            "x-cursor-streaming": "true",
        }
        if turn.has_tools:
            headers["x-cursor-agent-allowed-tools"] = ALLOWED_TOOLS
        url = self._base_url + RUN_SSE_PATH
        response = self._poster.post(url, headers, run_sse_body(turn.request_id), timeout=timeout, stream=True)
        content_type = response.headers.get("Content-Type", "")
        if response.status_code != 200 or content_type.split(";")[0].strip() != STREAM_CONTENT_TYPE:
            with response:
                excerpt = read_bounded(response, ERROR_BODY_LIMIT)
            raise agent_error_from_body(response.status_code, content_type, excerpt)
        writer = _Appender(
            self._poster,
            self._base_url + BIDI_APPEND_PATH,
            self.identity.headers(token, turn.request_id),
            turn.request_id,
            timeout,
        )
        agent_turn = AgentTurn(
            response,
            TurnDecoder(turn, blobs, max_frame_bytes=self._limits[0], max_decompressed_bytes=self._limits[1]),
            writer,
            idle_timeout,
        )
        try:
            writer.append(turn.run_request)
        except BaseException:
            response.close()
            raise
        self._heartbeats.add(writer)
        return agent_turn


class _Appender:
    """The write side of one turn: every append goes through one lock, so the seqnos reach the
    server strictly rising and contiguous from 0, whichever greenlet sends."""

    def __init__(self, poster: Poster, url: str, headers: dict[str, str], request_id: str, timeout: float) -> None:
        self._poster = poster
        self._url = url
        self._headers = headers
        self._request_id = request_id
        self._timeout = timeout
        self._lock = threading.Lock()
        self._seqno = 0
        self.closed = False

    def append(self, message: agent_pb2.AgentClientMessage) -> bool:
        """Append unless the turn was closed meanwhile (nothing may follow the cancel); False
        when it was. Raises UpstreamError (refused), UpstreamTimeout or TransportError."""
        with self._lock:
            if self.closed:
                return False
            self._send(message, self._timeout)
            return True

    def close_with(self, message: agent_pb2.AgentClientMessage | None) -> None:
        """The last append of the turn (the cancel, when one is owed); nothing after it, and
        only the first call counts."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            if message is not None:
                self._send(message, min(self._timeout, CANCEL_TIMEOUT))

    def beat(self) -> bool:
        """One heartbeat (for Heartbeats); False once the turn is closed or failing (its reader
        learns why from the stream)."""
        try:
            return self.append(heartbeat())
        except CursorError:
            return False

    def _send(self, message: agent_pb2.AgentClientMessage, timeout: float) -> None:
        seqno = self._seqno
        self._seqno += 1  # taken even when the append fails: the server may have counted it
        call_unary(
            self._poster, self._url, self._headers, append_body(message, self._request_id, seqno), timeout=timeout
        )


class AgentTurn:
    """An open turn, read by one thread (or greenlet) through `batches()`."""

    def __init__(
        self, response: requests.Response, decoder: TurnDecoder, writer: _Appender, idle_timeout: float | None
    ) -> None:
        self._response = response
        self._decoder = decoder
        self._writer = writer
        self._reader = StreamReader(response, idle_timeout)
        self._closed = False

    @property
    def stored_blobs(self) -> dict[bytes, bytes]:
        """The KV blobs the server stored this turn, for the conversation's later turns."""
        return self._decoder.stored_blobs

    def batches(self, tick: float | None = None) -> Iterator[list[Event] | None]:
        """The events of each network read, in order, and None after every `tick` seconds
        without one (never, when `tick` is None); the server's queries in a read are answered
        before its events are handed over. Ends after the end-of-stream frame, or after the
        last tool call of a parked step (the server sends only heartbeats then).

        Raises UpstreamError (error trailer, refused append), EmptyAnswer (the soft block),
        ProtocolError, ReadError (connection broken) or UpstreamTimeout (idle too long)."""
        while True:
            data = self._reader.read(tick)
            if data is None:
                yield None
                continue
            if not data:
                self._decoder.finish()
                return
            events, replies = self._decoder.feed(data)
            for reply in replies:
                self._writer.append(reply)  # after an abort it is not sent: the reader wakes to the shutdown
            if self._decoder.ended:
                self._writer.close_with(None)  # the server finished the turn: nothing may follow, not even a beat
            yield events
            if self._decoder.turn_over and not self._decoder.ended:
                return

    def abort(self) -> None:
        """Stop the turn from another thread or greenlet (the client left, or gave up on it).
        The server hears it as AGENT_WIRE §2 says, `cancel_action` first, then RunSSE closed:
        the socket is shut down once the cancel was sent, which wakes the reader at once. That
        happens beside the caller, so abort() itself never waits on the network."""
        run_in_background(self._leave)

    def close(self) -> None:
        """End the turn; called by the thread that reads it. A turn the server has not finished
        (a parked tool call, a client that left, a broken read) gets `cancel_action` first,
        then RunSSE is closed."""
        if self._closed:
            return
        self._closed = True
        try:
            self._end_turn()
        finally:
            self._response.close()

    def _end_turn(self) -> None:
        """The turn's last append: the cancel, unless the server has finished the turn itself.
        It is a courtesy: whatever the answer, the turn is over for us."""
        with contextlib.suppress(CursorError):
            self._writer.close_with(None if self._decoder.ended else cancel())

    def _leave(self) -> None:
        self._end_turn()
        self._reader.interrupt()
